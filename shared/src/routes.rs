//! The route table: one entry per endpoint, each served by its own Lambda function. template.yaml,
//! `admit serve` and docs/api.md list exactly these routes (a test checks all three).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// The function crate and binary that serves it (`functions/<function>`).
    pub function: &'static str,
    /// The SAM logical id of the function.
    pub logical_id: &'static str,
    pub summary: &'static str,
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/rest/user/login",
        function: "login_user",
        logical_id: "LoginUserFunction",
        summary: "loginUser: exchange email and password for an auth token",
    },
    Route {
        method: "POST",
        path: "/rest/user/logout",
        function: "logout_user",
        logical_id: "LogoutUserFunction",
        summary: "logoutUser: revoke the auth token in x-nextinteract-authtoken",
    },
];

/// Finds the route for a method and path: `Ok(route)`, `Err(true)` when the path exists with
/// other methods, `Err(false)` when it does not exist.
pub fn find(method: &str, path: &str) -> Result<&'static Route, bool> {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let mut path_known = false;
    for r in ROUTES {
        if r.path == path {
            if r.method.eq_ignore_ascii_case(method) {
                return Ok(r);
            }
            path_known = true;
        }
    }
    Err(path_known)
}
