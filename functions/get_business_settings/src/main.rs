//! The Lambda binary: wires `handler` to the runtime.

admit_shared::http_function!(get_business_settings);
