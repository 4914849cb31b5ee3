//! The platform family's principal and the checks every one of its calls makes: which company
//! the call is about (the caller must be an active member, or it is not found), and CSRF for
//! sessions kept in a cookie.

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::secrets::{constant_time_eq, sha256_hex};
use crate::domain::Id;
use crate::records::{company, membership, Company, Membership, Role, Session, Settings};
use crate::usecases::failed;

/// Who calls a platform-family endpoint: the session, whether it came from the browser cookie,
/// and the `X-Csrf-Token_{companyId}` headers the request carried (company id text, value).
#[derive(Debug, Clone)]
pub struct Principal {
    pub session: Session,
    pub via_cookie: bool,
    pub csrf_headers: Vec<(String, String)>,
}

/// The company a call acts in, with the caller's membership and the company's settings.
#[derive(Debug, Clone)]
pub struct Acting {
    pub company: Company,
    pub membership: Membership,
    pub settings: Settings,
}

impl Acting {
    pub fn is_admin(&self) -> bool {
        self.membership.role == Role::Admin
    }
}

fn not_found() -> DomainError {
    DomainError::new(ErrorKind::RecordNotFound, "no such business for this user")
}

/// A company and its settings, read together.
async fn company_and_settings(
    store: &dyn crate::ports::store::Store,
    c: Id,
) -> Result<
    (Option<crate::records::Company>, crate::records::Settings),
    crate::ports::store::StoreError,
> {
    let (found, settings) = tokio::join!(company::find(store, c), company::settings(store, c));
    Ok((found?, settings?))
}

/// The company named by `business` (or the caller's only company when none is named), where
/// the caller is an active member; CSRF checked for cookie sessions when the company requires
/// it (`csrfRequired`, on by default). A company the caller is not in is not found.
pub async fn acting_in(
    app: &App,
    p: &Principal,
    business: Option<Id>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Acting, DomainError> {
    let store = app.store.as_ref();
    let fail = failed(Service::Company);
    let user = p.session.user_id;
    // Named, the business's membership, company and settings are read together (one round
    // trip); otherwise the membership says which business it is.
    let (membership, found) = match business {
        Some(c) => {
            let (m, found) = tokio::join!(
                membership::find(store, c, user),
                company_and_settings(store, c)
            );
            (m.map_err(&fail)?, Some(found))
        }
        None => {
            let mut active: Vec<Membership> = membership::companies_of(store, user)
                .await
                .map_err(&fail)?
                .into_iter()
                .filter(|m| m.is_active_at(now))
                .collect();
            if active.len() > 1 {
                return Err(DomainError::invalid(
                    "you are a member of several businesses: name one with the BusinessID query parameter",
                ));
            }
            (active.pop(), None)
        }
    };
    let membership = membership
        .filter(|m| m.is_active_at(now))
        .ok_or_else(not_found)?;
    let found = match found {
        Some(found) => found,
        None => company_and_settings(store, membership.company_id).await,
    };
    let (company, settings) = found.map_err(&fail)?;
    let company = company
        .filter(|c| c.status == crate::records::Status::Active)
        .ok_or_else(not_found)?;
    check_csrf(
        p,
        company.company_id,
        settings.csrf_required.unwrap_or(true),
    )?;
    Ok(Acting {
        company,
        membership,
        settings,
    })
}

/// A cookie session must carry `X-Csrf-Token_{companyId}` with the CSRF token issued with it
/// (compared by hash, in constant time). Bearer sessions need none: a browser never adds an
/// Authorization header on its own.
pub fn check_csrf(p: &Principal, company: Id, required: bool) -> Result<(), DomainError> {
    if !p.via_cookie || !required {
        return Ok(());
    }
    let refused = |m: &str| DomainError::new(ErrorKind::InvalidAuthToken, m);
    let want = company.to_string();
    let presented = p
        .csrf_headers
        .iter()
        .find(|(c, _)| *c == want)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| refused(&format!("X-Csrf-Token_{company} header is required")))?;
    let expected = p
        .session
        .csrf_hash
        .as_deref()
        .ok_or_else(|| refused("this session has no CSRF token; log in again"))?;
    if !constant_time_eq(
        sha256_hex(presented.trim().as_bytes()).as_bytes(),
        expected.as_bytes(),
    ) {
        return Err(refused(&format!("X-Csrf-Token_{company} is not valid")));
    }
    Ok(())
}
