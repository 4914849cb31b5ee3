//! Who is calling and from where, as the activity log records it. The edge (`http`) fills it
//! from the request; use cases only read it.

/// The caller's network origin and the request id for log lines and activity items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: String,
}
