//! The Lambda binary: wires `handler` to the runtime.

admit_shared::http_function!(invite_site_users);
