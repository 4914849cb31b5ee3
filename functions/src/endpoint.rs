//! What a row of the endpoint table says: its family, authentication, routes (and matching a
//! path against them), memory and what it may touch (`crate::iam`); the files made from the
//! rows are `crate::render`'s.

use crate::iam::{AwsService, Grant};
use admit_shared::PortSet;

/// One endpoint: one Lambda function, serving one or more routes (or an event source).
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The handler module and the binary (`src/bin/<name>.rs`, cargo-lambda's `Binary`).
    pub name: &'static str,
    /// The SAM logical id of the function.
    pub logical_id: &'static str,
    /// Whose error shape the endpoint answers in.
    pub family: Family,
    /// Who may call it, and how they say who they are.
    pub auth: Auth,
    /// The function's description in template.yaml (at most 256 characters).
    pub description: &'static str,
    /// The HTTP API routes, none for an event-driven function.
    pub routes: &'static [Route],
    /// What invokes the function.
    pub trigger: Trigger,
    /// Memory in MB (the template's global default is `DEFAULT_MEMORY`).
    pub memory: u32,
    /// A timeout other than the global one, in seconds, and why.
    pub timeout: Option<(u32, &'static str)>,
    /// Everything the function may touch: its IAM policy, and the ports its cold start builds.
    pub grants: &'static [Grant],
    /// Why a POST or PUT of this JSON endpoint does not replay its first answer for a repeated
    /// `Idempotency-Key` (`None`: it does; pages never do, browsers send no key).
    pub no_replay: Option<&'static str>,
}

/// The template's `Globals.Function.MemorySize`.
pub const DEFAULT_MEMORY: u32 = 128;

/// The memory of every function that hashes or checks a password (Argon2id, one lane): Lambda
/// gives CPU in proportion to memory (1,769 MB is one vCPU), and this is the size at which one
/// hash stays under 100 ms (docs/performance.md, "Memory and hashing").
pub const HASHING_MEMORY: u32 = 1024;

impl Endpoint {
    /// The defaults a row starts from (each row names its own `name` and what differs).
    pub const DEFAULTS: Endpoint = Endpoint {
        name: "",
        logical_id: "",
        family: Family::NextInteract,
        auth: Auth::Public,
        description: "",
        routes: &[],
        trigger: Trigger::Http,
        memory: DEFAULT_MEMORY,
        timeout: None,
        grants: &[],
        no_replay: None,
    };

    /// Whether a POST or PUT with an `Idempotency-Key` replays its first answer
    /// (`admit_shared::http::idempotency`).
    pub const fn replays(&self) -> bool {
        self.no_replay.is_none()
            && matches!(
                self.family,
                Family::NextInteract | Family::Platform | Family::Site
            )
    }

    /// How the endpoint answers an error before its handler runs (in its family's shape).
    pub fn refusal(
        &self,
    ) -> fn(&admit_shared::domain::error::DomainError) -> lambda_http::Response<lambda_http::Body>
    {
        use admit_shared::http::{nextinteract, pages, platform, site};
        match self.family {
            Family::NextInteract => nextinteract::error_response,
            Family::Platform => |e| platform::error_response(e, "application/json"),
            Family::Site => site::error_response,
            Family::Page | Family::Event => pages::problem_page,
        }
    }

    /// The content negotiation of the endpoint's family, made at the edge before any work: a
    /// request whose `Accept` admits none of the family's media types is refused (406) with
    /// nothing done. Pages answer HTML whatever is asked.
    pub fn negotiate(
        &self,
        req: &lambda_http::Request,
    ) -> Result<(), admit_shared::domain::error::DomainError> {
        use admit_shared::http::{self, platform};
        match self.family {
            Family::Platform => platform::negotiate(req).map(drop),
            Family::NextInteract | Family::Site => http::accepts_json(req),
            Family::Page | Family::Event => Ok(()),
        }
    }

    /// The ports a cold start builds besides the store: SES only for a function granted it,
    /// SNS only for one granted an SNS action.
    pub const fn ports(&self) -> PortSet {
        let mut ports = PortSet::STORE;
        let mut rest = self.grants;
        while let [grant, tail @ ..] = rest {
            match grant.service() {
                AwsService::Ses => ports.mail = true,
                AwsService::Sns => ports.push = true,
                AwsService::Events => ports.events = true,
                _ => {}
            }
            rest = tail;
        }
        ports
    }

    /// Whether the function may do `grant`: its row grants it, or its authentication brings it.
    pub fn grants(&self, grant: Grant) -> bool {
        self.grants.contains(&grant) || self.auth.grants().contains(&grant)
    }

    /// Everything the function may do: what its row grants and what checking its caller
    /// needs (`Auth::grants`), in one order.
    pub fn all_grants(&self) -> Vec<Grant> {
        let mut all: Vec<Grant> = self
            .grants
            .iter()
            .chain(self.auth.grants())
            .copied()
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// One route: a method and an HTTP API path template (`{name}` for a path parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// One line for docs/api.md's route table.
    pub summary: &'static str,
}

pub const fn route(method: &'static str, path: &'static str, summary: &'static str) -> Route {
    Route {
        method,
        path,
        summary,
    }
}

/// The vendor's API families, and the two kinds of endpoint that are neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `/rest/...`: the auth-token or API-key headers, `{errorCode, errorMsg, exception}` errors.
    NextInteract,
    /// `/api/users/...`, `/api/businesses/...`: bearer or cookie sessions, `{Status, Error, Message}` errors.
    Platform,
    /// `/api/rest/v1/management/...`: a bearer session of the site's admin, `{message}` errors.
    Site,
    /// HTML pages that email links open.
    Page,
    /// Not behind the API: invoked by an event source.
    Event,
}

/// How a caller says who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No credential: the body or a link's token says who (login, registration, email links).
    Public,
    /// `x-nextinteract-authtoken`: the token loginUser returns.
    Session,
    /// `x-nextinteract-authtoken` when the caller has one; the call works without.
    OptionalSession,
    /// `x-nextinteract-company-api-key` of the company's admin key.
    AdminKey,
    /// `x-nextinteract-company-api-key` of the company's admin or app key.
    CompanyKey,
    /// `Authorization: Bearer <authToken>`, or the session cookie with `X-Csrf-Token_{id}`.
    PlatformSession,
    /// `Authorization: Bearer <authToken>`.
    Bearer,
    /// Not called through the API.
    Internal,
}

impl Auth {
    /// What checking a caller this way touches: a session is read, and one found expired is
    /// ended (the user's index read, the session deleted, its end recorded in the activity
    /// log); an API key is read. Each row with this authentication has these grants without
    /// writing them.
    pub const fn grants(self) -> &'static [Grant] {
        use Grant::*;
        match self {
            Auth::Session | Auth::OptionalSession | Auth::PlatformSession | Auth::Bearer => {
                &[GetItem, QueryGsi1, PutItem, DeleteItem]
            }
            Auth::AdminKey | Auth::CompanyKey => &[GetItem],
            Auth::Public | Auth::Internal => &[],
        }
    }
}

/// What invokes a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Its routes on the stage's HTTP API.
    Http,
    /// The table's stream (outbox inserts, failures to the dead-letter queue) and a schedule.
    Outbox,
}

/// Path parameters taken from a request path (`{deviceId}` -> value).
pub type PathParams = Vec<(String, String)>;

/// Matches a path against a template such as `/rest/user/devices/{deviceId}`.
pub fn match_path(template: &str, path: &str) -> Option<PathParams> {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    if t.len() != p.len() {
        return None;
    }
    let mut params = Vec::new();
    for (t, p) in t.iter().zip(p) {
        match t.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            Some(name) if !p.is_empty() => params.push((name.to_string(), p.to_string())),
            Some(_) => return None,
            None if *t == p => {}
            None => return None,
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_with_parameters() {
        assert_eq!(match_path("/a/b", "/a/b"), Some(vec![]));
        assert_eq!(match_path("/a/b", "/a/b/"), Some(vec![]));
        assert_eq!(
            match_path("/a/{id}", "/a/42"),
            Some(vec![("id".into(), "42".into())])
        );
        assert_eq!(match_path("/a/{id}", "/a/"), None);
        assert_eq!(match_path("/a/{id}", "/a/1/2"), None);
        assert_eq!(match_path("/a/b", "/a/c"), None);
    }
}
