//! Email verification: a self-registered account is unverified until its owner follows the
//! single-use link sent to the address (the welcome email carries it, whatever
//! `sendWelcomeEmail` says about the welcome text). Verifying activates the memberships that
//! waited for it (companies that accept only some email domains).

use crate::app::App;
use crate::domain::activity::ActivityType;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::html;
use crate::domain::secrets::Token;
use crate::domain::{Caller, Id};
use crate::ports::mail::Email;
use crate::ports::store::{StoreError, Write};
use crate::records::outbox::AddressEmail;
use crate::records::verification::{self, AddressToken, Purpose};
use crate::records::{membership, user, Status};
use crate::usecases::account_activity::{self, AccountEvent};
use crate::usecases::failed;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// How long a verification link works.
pub const VERIFY_DAYS: i64 = 7;

/// Called by the dispatcher: issues the token and renders the email. `None` when the account
/// is gone or already verified (nothing to prove, nothing is sent).
pub async fn issue(app: &App, msg: &AddressEmail) -> Result<Option<Email>, StoreError> {
    let store = app.store.as_ref();
    let Some(account) = user::find(store, msg.user_id).await? else {
        return Ok(None);
    };
    if !account.unverified || account.taken_back || account.email != msg.email {
        return Ok(None);
    }
    let expires_at = app.clock.now() + chrono::Duration::days(VERIFY_DAYS);
    let record = AddressToken {
        user_id: msg.user_id,
        email: msg.email.clone(),
        expires_at,
        password_fingerprint: None,
    };
    let link = mint_link(
        app,
        Purpose::Verify,
        &record,
        &msg.link_base,
        VERIFY_PAGE_PATH,
    )
    .await?;
    Ok(Some(verification_email(msg, &link, expires_at)))
}

/// The page a verification email links to (`GET` shows it, `POST` confirms).
pub const VERIFY_PAGE_PATH: &str = "/account/verify";

/// The welcome and verification email: the company (when there is one), what the link does
/// and when it expires.
fn verification_email(msg: &AddressEmail, link: &str, expires_at: DateTime<Utc>) -> Email {
    let mut letter = html::Letter {
        heading: "Confirm your email address".into(),
        greeting: Some("Hello,".into()),
        action: Some(html::Action {
            label: "Confirm my address".into(),
            does: format!(
                "Confirm that {} is yours: the link opens a page where you enter your account's password and choose a new one.",
                msg.email
            ),
            url: link.to_string(),
            expires: Some(format!("on {}", expires_at.format("%-d %B %Y at %H:%M UTC"))),
        }),
        footer: vec!["If you did not register, ignore this email.".into()],
        ..html::Letter::default()
    };
    let subject = match &msg.welcome {
        Some(w) => {
            letter.company = Some(w.company_name.clone());
            letter.heading = format!("Welcome to {}", w.company_name);
            // No text the registrant chose (their name) is shown: anyone may have registered
            // this address, and words of theirs next to a password prompt are a lure.
            letter.paragraphs.push(format!(
                "Welcome to {}. Your account is ready: sign in to the app with {}.",
                w.company_name, msg.email
            ));
            format!("Welcome to {}", w.company_name)
        }
        None => "Confirm your email address".to_string(),
    };
    Email::letter(msg.email.to_string(), subject, &letter)
}

/// Issues a single-use token for `record` (only its hash is stored) and returns the link that
/// carries it: `{link_base}{path}?token=...`.
pub async fn mint_link(
    app: &App,
    purpose: Purpose,
    record: &AddressToken,
    link_base: &str,
    path: &str,
) -> Result<String, StoreError> {
    let prefix = match purpose {
        Purpose::Verify => "ver_",
        Purpose::Reset => "rst_",
    };
    let token = Token::generate(prefix).map_err(|e| StoreError::Internal(e.to_string().into()))?;
    app.store
        .transact(vec![verification::issue(purpose, &token.hash(), record)])
        .await?;
    Ok(format!(
        "{}{path}?token={}",
        link_base.trim_end_matches('/'),
        token.reveal()
    ))
}

fn gone() -> DomainError {
    DomainError::new(
        ErrorKind::RecordNotFound,
        "verification link not found or already used",
    )
}

/// The token's record, checked: known and not expired.
async fn by_token(
    app: &App,
    raw: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Token, AddressToken), DomainError> {
    let token = raw
        .and_then(Token::presented)
        .ok_or_else(|| DomainError::invalid("token is required"))?;
    let record = verification::find(app.store.as_ref(), Purpose::Verify, &token.hash())
        .await
        .map_err(failed(Service::User))?
        .ok_or_else(gone)?;
    if record.expires_at <= now {
        return Err(DomainError::new(
            ErrorKind::Expired,
            "the verification link has expired; log in to the app to get a new one",
        ));
    }
    Ok((token, record))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationPreview {
    pub email_address: String,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// The account's address is verified already (another link of it was followed); the page
    /// says so rather than asking for a password.
    #[serde(skip)]
    pub already_verified: bool,
}

/// What a verification link is for; opening it never uses it up (mail scanners open links).
pub async fn preview(app: &App, token: Option<&str>) -> Result<VerificationPreview, DomainError> {
    let (_, record) = by_token(app, token, app.clock.now()).await?;
    let account = user::find(app.store.as_ref(), record.user_id)
        .await
        .map_err(failed(Service::User))?
        .filter(|u| u.email == record.email && !u.taken_back)
        .ok_or_else(gone)?;
    Ok(VerificationPreview {
        email_address: record.email.to_string(),
        expires_at: record.expires_at,
        already_verified: !account.unverified,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    pub user_id: Id,
    pub email_address: String,
}

/// The writes that activate the memberships of `user` that waited for a verified address.
pub async fn activate_pending(
    app: &App,
    user: Id,
    except: Option<Id>,
) -> Result<Vec<Write>, DomainError> {
    Ok(membership::companies_of(app.store.as_ref(), user)
        .await
        .map_err(failed(Service::User))?
        .iter()
        .filter(|m| m.status == Status::Pending && Some(m.company_id) != except)
        .map(|m| membership::set_status(m, Status::Active))
        .collect())
}

/// How the password holder shows it is them when confirming: their session, or their password.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    Session(&'a crate::records::Session),
    Password(Option<&'a str>),
}

fn proof_needed() -> DomainError {
    DomainError::new(
        ErrorKind::InvalidLogin,
        "sign in (x-nextinteract-authtoken) or give the account's password to confirm",
    )
    .at("password")
}

/// Confirming needs the account's own password holder, not just the mailbox: otherwise
/// someone who registered another person's address would have it verified by its owner's
/// click. (The owner takes such an account back with a password reset or an invitation.)
async fn prove_holder(
    app: &App,
    account: &crate::records::User,
    proof: Proof<'_>,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    match proof {
        Proof::Session(s) if s.user_id == account.user_id => Ok(()),
        Proof::Session(_) => Err(DomainError::new(
            ErrorKind::NotPermitted,
            "this link confirms another account's address",
        )),
        Proof::Password(raw) => {
            let raw = raw.filter(|p| !p.is_empty()).ok_or_else(proof_needed)?;
            let password = crate::domain::Password::presented(raw.to_string())
                .map_err(DomainError::invalid)?;
            crate::usecases::login::check_account_password(
                app,
                account.clone(),
                &password,
                caller,
                now,
            )
            .await
            .map_err(|e| e.at("password"))
        }
    }
}

/// The new password a confirmation sets: required, under the self-registration policy.
fn new_password_of(raw: Option<&str>) -> Result<crate::domain::Password, DomainError> {
    match raw.filter(|p| !p.is_empty()) {
        Some(p) => crate::usecases::accounts::new_password(Some(p.to_string()))
            .map_err(|e| e.at("newPassword")),
        None => Err(DomainError::invalid(
            "newPassword is required: confirming the address sets a new password and signs out every device",
        )
        .at("newPassword")),
    }
}

/// Verifies the address, once, and activates the memberships that waited for it. The
/// holder of the account's password (or session) proves it is theirs, and the mailbox's owner
/// proves the address: they may be two people (a registrant who lured the owner into typing
/// the registrant's password), so confirming sets `new_password`, which only the one at the
/// mailbox now knows, and ends every session and device of the account.
pub async fn confirm(
    app: &App,
    token: Option<&str>,
    proof: Proof<'_>,
    new_password: Option<&str>,
    caller: &Caller,
) -> Result<Verified, DomainError> {
    let now = app.clock.now();
    let (token, record) = by_token(app, token, now).await?;
    let fail = failed(Service::User);
    let store = app.store.as_ref();
    let account = user::find(store, record.user_id)
        .await
        .map_err(&fail)?
        .filter(|u| u.email == record.email && !u.taken_back)
        .ok_or_else(gone)?;
    // A confirmed address has nothing left to confirm: its link sets no password.
    if !account.unverified {
        return Err(gone());
    }
    if matches!(proof, Proof::Password(None | Some(""))) {
        return Err(proof_needed());
    }
    let new_password = new_password_of(new_password)?;
    prove_holder(app, &account, proof, caller, now).await?;
    let hash = crate::usecases::accounts::hash_password(&new_password).await?;
    let mut writes: Vec<Write> = vec![
        verification::use_up(Purpose::Verify, &token.hash()),
        user::replace_password(account.user_id, &account.password_hash, &hash, now),
    ];
    writes.extend(crate::usecases::devices::forget_all(app, account.user_id).await?);
    writes.extend(activate_pending(app, account.user_id, None).await?);
    writes.push(crate::records::events::publish(
        crate::records::events::account_event(
            crate::domain::event::EventType::AccountVerified,
            None,
            account.user_id,
            account.email.as_str(),
            crate::domain::event::Actor::user(account.user_id),
            now,
        ),
    ));
    writes.extend(
        account_activity::record(
            app,
            AccountEvent::of(account.user_id, ActivityType::EmailVerified, caller, now),
        )
        .await
        .map_err(&fail)?,
    );
    account_activity::transact(app, writes)
        .await
        .map_err(|e| crate::usecases::link_used_or_changed(e, 1, gone, fail))?;
    Ok(Verified {
        user_id: account.user_id,
        email_address: account.email.to_string(),
    })
}
