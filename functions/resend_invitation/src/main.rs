//! The Lambda binary: wires `handler` to the runtime.

admit_shared::http_function!(resend_invitation);
