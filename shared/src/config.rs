//! Configuration from the environment, checked once at cold start.

use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// Deployment stage (dev, prod, local ...), for logs and links.
    pub stage: String,
    /// The DynamoDB table (`ADMIT_TABLE`).
    pub table: String,
    /// The sender of every email (`ADMIT_MAIL_FROM`), a verified SES identity in the cloud.
    pub mail_from: String,
    /// Base URL for links in emails (`ADMIT_PUBLIC_URL`); empty: the host the request came to.
    pub public_url: String,
    /// The page invitation emails link to (`ADMIT_ACCEPT_PAGE_URL`, the stage's `AcceptPageUrl`),
    /// `?token=...` appended; empty: admit's own page, `<public URL or request host>/invitations/accept`.
    pub accept_page_url: String,
    /// How long an auth token lives (`ADMIT_SESSION_HOURS`, default 12).
    pub session_ttl: Duration,
    /// Failed logins in a row that lock an account (`ADMIT_LOCKOUT_THRESHOLD`, default 5).
    pub lockout_threshold: u32,
    /// How long a lock lasts (`ADMIT_LOCKOUT_MINUTES`, default 15).
    pub lockout: Duration,
    /// SNS platform applications for push (`ADMIT_IOS_PLATFORM_ARN`, `ADMIT_ANDROID_PLATFORM_ARN`).
    pub ios_platform_arn: Option<String>,
    pub android_platform_arn: Option<String>,
    /// The EventBridge bus domain events go to (`ADMIT_EVENT_BUS`; the dispatcher's only).
    pub event_bus: Option<String>,
    /// Per-operation timeout for AWS calls (`ADMIT_AWS_TIMEOUT_MS`, default 5000).
    pub aws_timeout: Duration,
    /// Whether a cold start opens its connection to DynamoDB before the first request
    /// (`ADMIT_PREWARM`, default on; `0`, `false` or `off` turns it off, for the bench).
    pub prewarm: bool,
    /// How many ids of a kind one process takes from the store at a time (`ADMIT_ID_BLOCK`,
    /// default 64 in a function, 1 locally so ids stay consecutive across CLI runs): the id
    /// counters are written once a block, not once an id (docs/storage.md, "Ids").
    pub id_block: u32,
    /// How much email and how many logins and registrations one party may cause in an hour.
    pub limits: Limits,
}

/// The hourly limits every door shares (docs/api.md, "Who may grant what"). Each is counted in
/// the table per clock hour; a call over one is answered 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Addresses one user may have emailed (invitations, resends) in an hour
    /// (`ADMIT_LIMIT_SENDER_PER_HOUR`, default 100).
    pub sender_per_hour: u32,
    /// Emails one company, or the account flows (verification, reset), may send one address in
    /// an hour (`ADMIT_LIMIT_RECIPIENT_PER_HOUR`, default 3).
    pub recipient_per_hour: u32,
    /// Invitations one company's plain members may send in an hour, all together (reps, admins
    /// and operators are not counted; `ADMIT_LIMIT_COMPANY_PER_HOUR`, default 1000).
    pub company_per_hour: u32,
    /// Login attempts from one source IP in an hour (`ADMIT_LIMIT_LOGIN_IP_PER_HOUR`,
    /// default 300).
    pub login_ip_per_hour: u32,
    /// Self-registrations from one source IP in an hour (`ADMIT_LIMIT_REGISTER_IP_PER_HOUR`,
    /// default 20).
    pub register_ip_per_hour: u32,
}

impl Limits {
    /// The limits from `ADMIT_LIMIT_*` through `get` (unset: the default; each a whole number
    /// from 1 to 1,000,000). `admit serve` reads the same variables as the functions.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Limits, ConfigError> {
        let d = Limits::default();
        let limit = |k: &str, default: u32| match get(k).map(|v| v.trim().to_string()) {
            None => Ok(default),
            Some(v) if v.is_empty() => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| {
                    ConfigError(format!("{k}={v} is not a whole number from 1 to 1000000"))
                }),
        };
        Ok(Limits {
            sender_per_hour: limit("ADMIT_LIMIT_SENDER_PER_HOUR", d.sender_per_hour)?,
            recipient_per_hour: limit("ADMIT_LIMIT_RECIPIENT_PER_HOUR", d.recipient_per_hour)?,
            company_per_hour: limit("ADMIT_LIMIT_COMPANY_PER_HOUR", d.company_per_hour)?,
            login_ip_per_hour: limit("ADMIT_LIMIT_LOGIN_IP_PER_HOUR", d.login_ip_per_hour)?,
            register_ip_per_hour: limit(
                "ADMIT_LIMIT_REGISTER_IP_PER_HOUR",
                d.register_ip_per_hour,
            )?,
        })
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            sender_per_hour: 100,
            recipient_per_hour: 3,
            company_per_hour: 1000,
            login_ip_per_hour: 300,
            register_ip_per_hour: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Defaults for local runs (`admit serve`, tests).
    pub fn local() -> Config {
        Config {
            stage: "local".into(),
            table: "admit-local".into(),
            mail_from: "admit <no-reply@admit.local>".into(),
            public_url: "http://127.0.0.1:3000".into(),
            accept_page_url: String::new(),
            session_ttl: Duration::from_secs(12 * 3600),
            lockout_threshold: 5,
            lockout: Duration::from_secs(15 * 60),
            ios_platform_arn: None,
            android_platform_arn: None,
            event_bus: None,
            aws_timeout: Duration::from_millis(5000),
            prewarm: false,
            id_block: 1,
            limits: Limits::default(),
        }
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `get`; required values missing or any value malformed
    /// is an error naming the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        // The SDK reads these itself, and panics on a request when one is set but empty (as
        // `sam local` leaves a variable the template declares and nobody sets): refuse at start.
        for k in AWS_ENDPOINT_VARIABLES {
            if let Some(v) = lookup(k) {
                if web_url(Some(v.clone()), k).is_err() || v.trim() != v {
                    return Err(ConfigError(format!(
                        "{k}={v:?} is not an http(s) URL: unset it, or give the AWS endpoint to use (an emulator's)"
                    )));
                }
            }
        }
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let required = |k: &str| {
            get(k).ok_or_else(|| ConfigError(format!("{k} is not set (see docs/operations.md)")))
        };
        let number = |k: &str, default: u64, range: std::ops::RangeInclusive<u64>| match get(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    ConfigError(format!(
                        "{k}={v} is not a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ))
                }),
        };
        Ok(Config {
            stage: get("ADMIT_STAGE").unwrap_or_else(|| "dev".into()),
            table: required("ADMIT_TABLE")?,
            mail_from: required("ADMIT_MAIL_FROM")?,
            public_url: get("ADMIT_PUBLIC_URL").unwrap_or_default(),
            accept_page_url: web_url(get("ADMIT_ACCEPT_PAGE_URL"), "ADMIT_ACCEPT_PAGE_URL")?,
            session_ttl: Duration::from_secs(3600 * number("ADMIT_SESSION_HOURS", 12, 1..=720)?),
            lockout_threshold: number("ADMIT_LOCKOUT_THRESHOLD", 5, 1..=100)? as u32,
            lockout: Duration::from_secs(60 * number("ADMIT_LOCKOUT_MINUTES", 15, 1..=1440)?),
            ios_platform_arn: get("ADMIT_IOS_PLATFORM_ARN"),
            android_platform_arn: get("ADMIT_ANDROID_PLATFORM_ARN"),
            event_bus: get("ADMIT_EVENT_BUS"),
            aws_timeout: Duration::from_millis(number("ADMIT_AWS_TIMEOUT_MS", 5000, 100..=60_000)?),
            prewarm: match get("ADMIT_PREWARM")
                .map(|v| v.to_ascii_lowercase())
                .as_deref()
            {
                None | Some("1" | "true" | "on") => true,
                Some("0" | "false" | "off") => false,
                Some(v) => {
                    return Err(ConfigError(format!(
                        "ADMIT_PREWARM={v} is not one of on, off, true, false, 1, 0"
                    )))
                }
            },
            id_block: number("ADMIT_ID_BLOCK", 64, 1..=10_000)? as u32,
            limits: Limits::from_lookup(get)?,
        })
    }
}

/// The endpoint settings of the AWS SDK that admit's clients read.
const AWS_ENDPOINT_VARIABLES: [&str; 4] = [
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SES",
    "AWS_ENDPOINT_URL_SNS",
];

/// An optional absolute http(s) URL without spaces; empty when unset.
fn web_url(value: Option<String>, name: &str) -> Result<String, ConfigError> {
    let Some(v) = value else {
        return Ok(String::new());
    };
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .unwrap_or_default();
    if rest.is_empty() || rest.starts_with('/') || v.chars().any(char::is_whitespace) {
        return Err(ConfigError(format!(
            "{name}={v} is not an http(s) URL such as https://app.example.com/invitations/accept"
        )));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn an_aws_endpoint_set_but_empty_is_refused_at_start() {
        let base = [("ADMIT_TABLE", "t"), ("ADMIT_MAIL_FROM", "a@b.co")];
        for bad in ["", " ", "localhost:4566", "http://"] {
            let mut pairs = base.to_vec();
            pairs.push(("AWS_ENDPOINT_URL_SES", bad));
            let e = Config::from_lookup(lookup(&pairs)).unwrap_err();
            assert!(e.0.contains("AWS_ENDPOINT_URL_SES"), "{bad:?}: {e}");
        }
        let mut pairs = base.to_vec();
        pairs.push(("AWS_ENDPOINT_URL", "http://172.17.0.1:4566"));
        assert!(Config::from_lookup(lookup(&pairs)).is_ok());
    }

    #[test]
    fn required_values_are_named_when_missing() {
        let e = Config::from_lookup(lookup(&[("ADMIT_MAIL_FROM", "a@b.co")])).unwrap_err();
        assert!(e.0.contains("ADMIT_TABLE"), "{e}");
        let e = Config::from_lookup(lookup(&[("ADMIT_TABLE", "t")])).unwrap_err();
        assert!(e.0.contains("ADMIT_MAIL_FROM"), "{e}");
    }

    #[test]
    fn malformed_numbers_are_refused() {
        let base = [("ADMIT_TABLE", "t"), ("ADMIT_MAIL_FROM", "a@b.co")];
        let c = Config::from_lookup(lookup(&base)).unwrap();
        assert_eq!(c.session_ttl, Duration::from_secs(12 * 3600));
        let mut bad = base.to_vec();
        bad.push(("ADMIT_SESSION_HOURS", "soon"));
        assert!(Config::from_lookup(lookup(&bad))
            .unwrap_err()
            .0
            .contains("ADMIT_SESSION_HOURS"));
        let mut bad = base.to_vec();
        bad.push(("ADMIT_LOCKOUT_THRESHOLD", "0"));
        assert!(Config::from_lookup(lookup(&bad)).is_err());
    }

    #[test]
    fn limits_have_defaults_and_each_can_be_changed() {
        let base = [("ADMIT_TABLE", "t"), ("ADMIT_MAIL_FROM", "a@b.co")];
        assert_eq!(
            Config::from_lookup(lookup(&base)).unwrap().limits,
            Limits::default()
        );
        let mut pairs = base.to_vec();
        pairs.push(("ADMIT_LIMIT_RECIPIENT_PER_HOUR", "5"));
        pairs.push(("ADMIT_LIMIT_LOGIN_IP_PER_HOUR", "1000"));
        let limits = Config::from_lookup(lookup(&pairs)).unwrap().limits;
        assert_eq!(
            (limits.recipient_per_hour, limits.login_ip_per_hour),
            (5, 1000)
        );
        assert_eq!(limits.sender_per_hour, 100);
        let mut bad = base.to_vec();
        bad.push(("ADMIT_LIMIT_SENDER_PER_HOUR", "0"));
        let e = Config::from_lookup(lookup(&bad)).unwrap_err();
        assert!(e.0.contains("ADMIT_LIMIT_SENDER_PER_HOUR"), "{e}");
    }

    #[test]
    fn the_accept_page_url_is_an_http_url_or_unset() {
        let base = [("ADMIT_TABLE", "t"), ("ADMIT_MAIL_FROM", "a@b.co")];
        assert_eq!(
            Config::from_lookup(lookup(&base)).unwrap().accept_page_url,
            ""
        );
        let with = |v: &'static str| {
            let mut pairs = base.to_vec();
            pairs.push(("ADMIT_ACCEPT_PAGE_URL", v));
            Config::from_lookup(lookup(&pairs))
        };
        assert_eq!(
            with(" https://app.acme.example/join ")
                .unwrap()
                .accept_page_url,
            "https://app.acme.example/join"
        );
        assert_eq!(with("").unwrap().accept_page_url, "");
        for bad in [
            "app.acme.example/join",
            "ftp://x",
            "https://",
            "https:///x",
            "https://a b",
        ] {
            let e = with(bad).unwrap_err();
            assert!(e.0.contains("ADMIT_ACCEPT_PAGE_URL"), "{bad}: {e}");
        }
    }
}
