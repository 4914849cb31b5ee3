//! The Lambda binary: wires `handler` to the runtime.

admit_shared::http_function!(self_register_mi_user);
