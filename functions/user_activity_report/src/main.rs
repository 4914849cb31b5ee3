//! The Lambda binary: wires `handler` to the runtime.

admit_shared::http_function!(user_activity_report);
