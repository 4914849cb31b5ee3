//! The Lambda binary: wires `handler` to the runtime.

admit_shared::http_function!(request_password_reset);
