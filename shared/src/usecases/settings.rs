//! A business's settings through the platform family: any active member reads them; security
//! settings are shown only when asked for and to the business's admins, who alone change them.
//! Operators change the same settings with `admit settings set`.

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::Id;
use crate::records::company;
use crate::usecases::invitations::DEFAULT_INVITATION_DAYS;
use crate::usecases::platform::{acting_in, Acting, Principal};
use crate::usecases::{failed, provision};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct SecuritySettings {
    /// Sessions kept in a browser cookie must send `X-Csrf-Token_{BusinessID}`.
    pub csrf_required: bool,
    /// Email domains allowed to self-register (empty: any); they count for verified addresses.
    pub allowed_email_domains: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct BusinessSettings {
    #[serde(rename = "BusinessID")]
    pub business_id: Id,
    pub users_may_invite: bool,
    pub invitation_days: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_assignment_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_settings: Option<SecuritySettings>,
}

fn shown(acting: &Acting, include_security: bool) -> BusinessSettings {
    let s = &acting.settings;
    BusinessSettings {
        business_id: acting.company.company_id,
        users_may_invite: s.users_may_invite.unwrap_or(true),
        invitation_days: s.invitation_days.unwrap_or(DEFAULT_INVITATION_DAYS),
        team_assignment_message: s.team_assignment_message.clone(),
        security_settings: (include_security && acting.is_admin()).then(|| SecuritySettings {
            csrf_required: s.csrf_required.unwrap_or(true),
            allowed_email_domains: s.allowed_email_domains.clone().unwrap_or_default(),
        }),
    }
}

/// `GET /api/businesses/{BusinessID}/settings[?IncludeSecuritySettings=true]`.
pub async fn get(
    app: &App,
    p: &Principal,
    business: Id,
    include_security: bool,
) -> Result<BusinessSettings, DomainError> {
    let acting = acting_in(app, p, Some(business), app.clock.now()).await?;
    Ok(shown(&acting, include_security))
}

/// The settings a `PUT` may change; absent fields stay as they are.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SettingsUpdate {
    pub users_may_invite: Option<bool>,
    pub invitation_days: Option<u32>,
    pub team_assignment_message: Option<String>,
    pub security_settings: Option<SecurityUpdate>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityUpdate {
    pub csrf_required: Option<bool>,
    pub allowed_email_domains: Option<Vec<String>>,
}

/// The stored name and value of each changed setting, validated like `admit settings set`.
async fn changes(
    app: &App,
    business: Id,
    u: SettingsUpdate,
) -> Result<Vec<(&'static str, Value)>, DomainError> {
    let mut out = Vec::new();
    if let Some(v) = u.users_may_invite {
        out.push(("usersMayInvite", json!(v)));
    }
    if let Some(d) = u.invitation_days {
        if !(1..=30).contains(&d) {
            return Err(DomainError::invalid(
                "InvitationDays is a whole number from 1 to 30",
            ));
        }
        out.push(("invitationDays", json!(d)));
    }
    if let Some(m) = u.team_assignment_message {
        let v = provision::setting_value(app, business, "teamAssignmentMessage", &m).await?;
        out.push(("teamAssignmentMessage", v));
    }
    if let Some(s) = u.security_settings {
        if let Some(v) = s.csrf_required {
            out.push(("csrfRequired", json!(v)));
        }
        if let Some(d) = s.allowed_email_domains {
            let v = provision::setting_value(app, business, "allowedEmailDomains", &d.join(","))
                .await?;
            out.push(("allowedEmailDomains", v));
        }
    }
    Ok(out)
}

/// `PUT /api/businesses/{BusinessID}/settings`: the business's admins change settings.
pub async fn put(
    app: &App,
    p: &Principal,
    business: Id,
    update: SettingsUpdate,
) -> Result<BusinessSettings, DomainError> {
    let now = app.clock.now();
    let acting = acting_in(app, p, Some(business), now).await?;
    if !acting.is_admin() {
        return Err(DomainError::new(
            ErrorKind::NotPermitted,
            "only the business's admins change its settings",
        ));
    }
    let changed = changes(app, business, update).await?;
    if !changed.is_empty() {
        app.store
            .transact(vec![company::set_settings(business, changed)])
            .await
            .map_err(failed(Service::Company))?;
    }
    let acting = acting_in(app, p, Some(business), now).await?;
    Ok(shown(&acting, true))
}
