//! Demo data provisioned on the first start of `admit serve` with an empty data directory, and
//! the banner that tells a newcomer what to try.

use super::Failure;
use admit_shared::domain::{EmailAddress, Id};
use admit_shared::records::{company, counter, membership, user, ApiKeyType, Role, User};
use admit_shared::usecases::provision::{self, NewUser};
use admit_shared::App;
use std::path::Path;

pub const DEMO_EMAIL: &str = "demo@admit.example";
/// Demo data, not a secret: printed on every start so the curl lines keep working.
pub const DEMO_PASSWORD: &str = "demo-pass-2026";

/// What the data directory holds of the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Demo {
    /// Provisioned by this start: the keys are known (and shown) only now.
    Created {
        company_id: Id,
        user_id: Id,
        public_teams: Vec<Id>,
        admin_key: String,
        app_key: String,
    },
    /// The demo user exists from an earlier start; its company, if it still has one.
    Present {
        user_id: Id,
        company_id: Option<Id>,
        public_teams: Vec<Id>,
    },
    /// The data directory already held other data and has no demo user.
    Absent,
}

fn failed(e: impl std::fmt::Display) -> Failure {
    Failure::Failed(e.to_string())
}

/// Provisions the demo into an empty store, or finds the demo user of an earlier start.
pub async fn ensure(app: &App) -> Result<Demo, Failure> {
    if let Some(user) = demo_user(app).await? {
        let company_id = demo_company(app, user.user_id).await?;
        let public_teams = match company_id {
            Some(c) => public_teams(app, c).await?,
            None => Vec::new(),
        };
        return Ok(Demo::Present {
            user_id: user.user_id,
            company_id,
            public_teams,
        });
    }
    if !is_empty(app).await? {
        return Ok(Demo::Absent);
    }
    let company = provision::create_company(app, "Demo Company").await?;
    let c = company.company_id;
    let property = provision::create_team(app, c, "Property Investments", true).await?;
    let equity = provision::create_team(app, c, "Equity Investments", true).await?;
    provision::create_team(app, c, "Compliance", false).await?;
    let (_, admin_key) = provision::create_api_key(app, c, ApiKeyType::Admin).await?;
    let (_, app_key) = provision::create_api_key(app, c, ApiKeyType::App).await?;
    provision::create_qr(app, c, "DEMOWALL", None).await?;
    let user = provision::create_user(
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
    Ok(Demo::Created {
        company_id: c,
        user_id: user.user_id,
        public_teams: vec![property.team_id, equity.team_id],
        admin_key,
        app_key,
    })
}

/// No company and no user has ever been created in the store.
async fn is_empty(app: &App) -> Result<bool, Failure> {
    for kind in ["company", "user"] {
        if counter::issued(app.store.as_ref(), kind)
            .await
            .map_err(failed)?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn demo_user(app: &App) -> Result<Option<User>, Failure> {
    let email = EmailAddress::parse(DEMO_EMAIL).map_err(failed)?;
    user::find_by_email(app.store.as_ref(), &email)
        .await
        .map_err(failed)
}

/// The first company the demo user belongs to.
async fn demo_company(app: &App, user: Id) -> Result<Option<Id>, Failure> {
    Ok(membership::companies_of(app.store.as_ref(), user)
        .await
        .map_err(failed)?
        .first()
        .map(|m| m.company_id))
}

async fn public_teams(app: &App, company: Id) -> Result<Vec<Id>, Failure> {
    Ok(company::teams(app.store.as_ref(), company)
        .await
        .map_err(failed)?
        .into_iter()
        .filter(|t| t.public)
        .map(|t| t.team_id)
        .collect())
}

/// Extracts `authToken` from the login's JSON answer, in any POSIX shell without jq.
const TOKEN_FROM_LOGIN: &str = r#"sed -n 's/.*"authToken" *: *"\([^"]*\)".*/\1/p'"#;

/// What the banner knows of the demo: its user, company, public teams and keys (or
/// placeholders when the keys were shown at an earlier start).
struct Shown<'a> {
    user_id: Id,
    company_id: Option<Id>,
    teams: &'a [Id],
    admin: &'a str,
    app_key: &'a str,
}

/// The banner's opening: what was provisioned, or what is there. `None` when there is no demo.
fn opening<'a>(dir: &Path, demo: &'a Demo, s: &mut String) -> Option<Shown<'a>> {
    let dir = dir.display();
    match demo {
        Demo::Created {
            company_id,
            user_id,
            public_teams,
            admin_key,
            app_key,
        } => {
            s.push_str(&format!(
                "Provisioned demo data in {dir}:\n  company {company_id} \"Demo Company\" with teams Property Investments, Equity Investments (public) and Compliance\n  admin API key: {admin_key}\n  app API key:   {app_key}\n  (keys are shown only now; `admit apikey create` makes more)\n",
            ));
            Some(Shown {
                user_id: *user_id,
                company_id: Some(*company_id),
                teams: public_teams,
                admin: admin_key,
                app_key,
            })
        }
        Demo::Present {
            user_id,
            company_id,
            public_teams,
        } => {
            s.push_str(&format!(
                concat!(
                    "The demo data in {dir} is from an earlier start; its API keys were shown then (admit keeps only their hashes).\n",
                    "For new keys, stop the server and run: admit apikey create --company {c} --type app --data-dir {dir}\n",
                ),
                c = company_id.map_or_else(|| "<company id>".to_string(), |c| c.to_string()),
                dir = dir,
            ));
            Some(Shown {
                user_id: *user_id,
                company_id: *company_id,
                teams: public_teams,
                admin: "<admin API key>",
                app_key: "<app API key>",
            })
        }
        Demo::Absent => {
            s.push_str(&format!(
                concat!(
                    "The data directory {dir} already holds data and no demo user, so no demo data was provisioned\n",
                    "(admit serve provisions it only into an empty data directory).\n",
                    "Use the users and API keys you created there, or start on an empty directory for the demo:\n  ",
                    "admit serve --data-dir .admit-demo\n",
                    "`admit --help` lists the operator commands that create companies, users and keys.\n",
                ),
                dir = dir,
            ));
            None
        }
    }
}

/// The banner `admit serve` prints; `inbox` is the developer inbox's URL when it is served.
pub fn banner(base: &str, dir: &Path, demo: &Demo, inbox: Option<&str>) -> String {
    let mut s = String::new();
    let mut captured = format!(
        "Email and push are captured in {} and {}.\n",
        dir.join("mail").display(),
        dir.join("push").display(),
    );
    if let Some(url) = inbox {
        captured.push_str(&format!(
            "Read the emails in a browser: {url} (an invitation's link opens the page that accepts it).\n"
        ));
    }
    let Some(shown) = opening(dir, demo, &mut s) else {
        s.push_str(&captured);
        return s;
    };
    s.push_str(&try_it(base, &shown, &captured));
    s
}

/// The demo user and the curl lines, pasteable in order (login first, logout last).
fn try_it(base: &str, shown: &Shown<'_>, captured: &str) -> String {
    let Shown {
        user_id,
        company_id,
        teams,
        admin,
        app_key,
    } = shown;
    let membership = match company_id {
        Some(c) => format!("admin of company {c}"),
        None => "in no company".to_string(),
    };
    let company = company_id.map_or_else(|| "<company id>".to_string(), |c| c.to_string());
    let team_list = |n: usize| {
        let ids: Vec<String> = teams.iter().take(n).map(Id::to_string).collect();
        if ids.is_empty() {
            "<team id>".to_string()
        } else {
            ids.join(", ")
        }
    };
    format!(
        concat!(
            "Demo user: {DEMO_EMAIL} / {DEMO_PASSWORD} (user {user_id}, {membership})\n{captured}\n",
            "Try it (paste the lines in order: the first logs in and keeps the token in $TOKEN, the last logs out):\n",
            "TOKEN=$(curl -s -X POST {base}/rest/user/login -H 'Content-Type: application/json' -d '{{\"emailAddress\":\"{DEMO_EMAIL}\",\"password\":\"{DEMO_PASSWORD}\"}}' | {TOKEN_FROM_LOGIN}); echo \"authToken: $TOKEN\"\n",
            "curl -s -w '\\n' {base}/rest/company/teams/public -H 'x-nextinteract-company-api-key: {app_key}'\n",
            "curl -s -w '\\n' -X POST {base}/rest/company/membership/teams/assign -H 'x-nextinteract-company-api-key: {admin}' -d '{{\"userId\": {user_id}, \"teams\": [{teams2}], \"sendNotification\": true}}'\n",
            "curl -s -w '\\n' {base}/rest/user/notifications -H \"x-nextinteract-authtoken: $TOKEN\"\n",
            "curl -s -w '\\n' -X POST {base}/rest/user/miinvite -H \"x-nextinteract-authtoken: $TOKEN\" -d '{{\"companyId\": {company}, \"contact\": {{\"firstname\": \"Jane\", \"lastname\": \"Mead\", \"email1\": \"jane@example.com\"}}, \"inviteTeams\": [{{\"teamId\": {team1}}}]}}'\n",
            "curl -s -w '\\n' -X POST {base}/rest/user/mi/selfregister -d '{{\"version\": 1, \"apiKey\": \"{app_key}\", \"emailAddress\": \"sam@example.com\", \"firstName\": \"Sam\", \"lastName\": \"Lee\", \"password\": \"Passw0rd-sam\"}}'\n",
            "curl -s -w '\\n' -X POST {base}/api/users/invitations -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{{\"EmailAddresses\": [\"pat@example.com\"], \"Message\": \"Join us\"}}'\n",
            "curl -s -w '\\n' -X POST {base}/api/rest/v1/management/user/activity -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{{\"userIds\": [], \"dateFrom\": \"2026-01-01T00:00:00Z\", \"dateTo\": \"2030-01-01T00:00:00Z\"}}'\n",
            "curl -s -w '\\n' -X POST {base}/rest/user/logout -H \"x-nextinteract-authtoken: $TOKEN\"\n",
        ),
        DEMO_EMAIL = DEMO_EMAIL,
        DEMO_PASSWORD = DEMO_PASSWORD,
        user_id = user_id,
        membership = membership,
        captured = captured,
        base = base,
        TOKEN_FROM_LOGIN = TOKEN_FROM_LOGIN,
        app_key = app_key,
        admin = admin,
        company = company,
        teams2 = team_list(2),
        team1 = team_list(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> Id {
        n.to_string().parse().unwrap()
    }

    fn curl_lines(banner: &str) -> Vec<&str> {
        banner
            .lines()
            .map(str::trim)
            .filter(|l| l.contains("curl "))
            .collect()
    }

    #[test]
    fn the_curl_lines_log_in_first_and_out_last() {
        let demo = Demo::Created {
            company_id: id(1),
            user_id: id(1),
            public_teams: vec![id(1), id(2)],
            admin_key: "admin-key".into(),
            app_key: "app-key".into(),
        };
        let banner = banner(
            "http://127.0.0.1:3000",
            Path::new(".admit"),
            &demo,
            Some("http://127.0.0.1:3000/_dev/inbox"),
        );
        assert!(
            banner.contains("Read the emails in a browser: http://127.0.0.1:3000/_dev/inbox"),
            "{banner}"
        );
        let lines = curl_lines(&banner);
        assert!(lines.len() >= 3, "{banner}");
        assert!(lines[0].starts_with("TOKEN=$(curl "), "{banner}");
        assert!(lines[0].contains("/rest/user/login"), "{banner}");
        let last = lines.last().unwrap();
        assert!(last.contains("/rest/user/logout"), "{banner}");
        let logouts = lines.iter().filter(|l| l.contains("/logout")).count();
        assert_eq!(logouts, 1, "{banner}");
        // Every call that needs the session comes after the login and before the logout, and
        // uses the token the login line stored.
        for l in &lines[1..] {
            if l.contains("x-nextinteract-authtoken") {
                assert!(l.contains("\"x-nextinteract-authtoken: $TOKEN\""), "{l}");
            }
        }
        assert!(banner.contains("admin API key: admin-key"));
        assert!(banner.contains("x-nextinteract-company-api-key: app-key"));
        assert!(banner.contains(DEMO_PASSWORD));
    }

    #[test]
    fn the_token_filter_reads_the_login_answer() {
        // The sed expression, checked against the shape of the login answer.
        let answer = r#"{"authToken":"0a1b2c","userId":1,"errorCode":0}"#;
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s' '{answer}' | {TOKEN_FROM_LOGIN}"))
            .output()
            .expect("sh");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0a1b2c");
    }

    #[test]
    fn a_later_start_shows_the_user_but_no_keys() {
        let demo = Demo::Present {
            user_id: id(4),
            company_id: Some(id(2)),
            public_teams: vec![id(7)],
        };
        let banner = banner("http://h", Path::new("d"), &demo, None);
        assert!(!banner.contains("/_dev/inbox"), "{banner}");
        assert!(!banner.contains("admin API key:"), "{banner}");
        assert!(banner.contains("(user 4, admin of company 2)"), "{banner}");
        assert!(banner.contains("<app API key>"), "{banner}");
        assert!(banner.contains("\"teams\": [7]"), "{banner}");
        assert!(
            banner.contains("\nFor new keys, stop the server and run: admit apikey create --company 2 --type app --data-dir d\n"),
            "{banner}"
        );
        assert!(curl_lines(&banner).last().unwrap().contains("/logout"));
    }

    #[test]
    fn a_directory_without_the_demo_user_gets_no_credentials() {
        let banner = banner("http://h", Path::new("their-data"), &Demo::Absent, None);
        assert!(!banner.contains(DEMO_EMAIL), "{banner}");
        assert!(!banner.contains(DEMO_PASSWORD), "{banner}");
        assert!(curl_lines(&banner).is_empty(), "{banner}");
        assert!(
            banner.contains("their-data already holds data and no demo user"),
            "{banner}"
        );
    }
}
