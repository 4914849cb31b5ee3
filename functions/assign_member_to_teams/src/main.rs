//! The Lambda binary: wires `handler` to the runtime.

admit_shared::http_function!(assign_member_to_teams);
