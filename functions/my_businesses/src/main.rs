//! The Lambda binary: wires `handler` to the runtime.

admit_shared::http_function!(my_businesses);
