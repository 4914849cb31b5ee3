//! Demo data provisioned on the first start of `admit serve` with an empty data directory.

use admit_shared::ports::store::{Index, Query};
use admit_shared::records::{ApiKeyType, Role};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use std::path::Path;

pub const DEMO_EMAIL: &str = "demo@admit.example";
/// Demo data, not a secret: printed on every start so the curl lines keep working.
pub const DEMO_PASSWORD: &str = "demo-pass-2026";

pub struct Demo {
    pub created: bool,
    pub company_id: Option<u64>,
    pub admin_key: Option<String>,
    pub app_key: Option<String>,
}

pub async fn ensure(app: &App) -> Result<Demo, super::Failure> {
    let existing = app
        .store
        .query(&Query::partition(Index::Table, "COUNTER#company").limit(1))
        .await
        .map_err(|e| super::Failure::Failed(e.to_string()))?;
    if !existing.items.is_empty() {
        return Ok(Demo {
            created: false,
            company_id: None,
            admin_key: None,
            app_key: None,
        });
    }
    let company = provision::create_company(app, "Demo Company").await?;
    let c = company.company_id;
    provision::create_team(app, c, "Property Investments", true).await?;
    provision::create_team(app, c, "Equity Investments", true).await?;
    provision::create_team(app, c, "Compliance", false).await?;
    let (_, admin_key) = provision::create_api_key(app, c, ApiKeyType::Admin).await?;
    let (_, app_key) = provision::create_api_key(app, c, ApiKeyType::App).await?;
    provision::create_qr(app, c, "DEMOWALL", None).await?;
    provision::create_user(
        app,
        NewUser {
            email: DEMO_EMAIL,
            password: DEMO_PASSWORD,
            first_name: "Demo",
            last_name: "Admin",
            membership: Some((c, Role::Admin)),
        },
    )
    .await?;
    Ok(Demo {
        created: true,
        company_id: Some(c.get()),
        admin_key: Some(admin_key),
        app_key: Some(app_key),
    })
}

pub fn banner(base: &str, dir: &Path, demo: &Demo) -> String {
    let mut s = String::new();
    if demo.created {
        s.push_str(&format!(
            "Provisioned demo data in {dir}:\n  company {c} \"Demo Company\" with teams Property Investments, Equity Investments (public) and Compliance\n  admin API key: {a}\n  app API key:   {k}\n  (keys are shown only now; `admit apikey create` makes more)\n",
            dir = dir.display(),
            c = demo.company_id.unwrap_or_default(),
            a = demo.admin_key.as_deref().unwrap_or_default(),
            k = demo.app_key.as_deref().unwrap_or_default(),
        ));
    }
    let admin = demo.admin_key.as_deref().unwrap_or("<admin API key>");
    let app_key = demo.app_key.as_deref().unwrap_or("<app API key>");
    s.push_str(&format!(
        "Demo user: {DEMO_EMAIL} / {DEMO_PASSWORD} (user 1, admin of company 1)\nEmail and push are captured in {mail} and {push}.\n\nTry it:\n\
  curl -s -X POST {base}/rest/user/login -H 'Content-Type: application/json' -d '{{\"emailAddress\":\"{DEMO_EMAIL}\",\"password\":\"{DEMO_PASSWORD}\"}}'\n\
  curl -s -X POST {base}/rest/user/logout -H 'x-nextinteract-authtoken: <authToken from the login>'\n\
  curl -s {base}/rest/company/teams/public -H 'x-nextinteract-company-api-key: {app_key}'\n\
  curl -s -X POST {base}/rest/company/membership/teams/assign -H 'x-nextinteract-company-api-key: {admin}' -d '{{\"userId\": 1, \"teams\": [1, 2], \"sendNotification\": true}}'\n\
  curl -s -X POST {base}/rest/user/miinvite -H 'x-nextinteract-authtoken: <authToken>' -d '{{\"companyId\": 1, \"contact\": {{\"firstname\": \"Jane\", \"lastname\": \"Mead\", \"email1\": \"jane@example.com\"}}, \"inviteTeams\": [{{\"teamId\": 1}}]}}'\n\
  curl -s -X POST {base}/rest/user/mi/selfregister -d '{{\"version\": 1, \"apiKey\": \"{app_key}\", \"emailAddress\": \"sam@example.com\", \"firstName\": \"Sam\", \"lastName\": \"Lee\", \"password\": \"Passw0rd-sam\"}}'\n",
        mail = dir.join("mail").display(),
        push = dir.join("push").display(),
    ));
    s
}
