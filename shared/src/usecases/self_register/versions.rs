//! The versions of selfRegisterMIUser (1 to 5) and what each adds: fields a request may send
//! only from some version on, and fields it must send from some version on. One table, read by
//! `check`; anything the table does not name is the same in every version.

use crate::domain::error::DomainError;
use serde_json::Value;

/// The newest version the API knows.
pub const LATEST: u8 = 5;

/// What one field may and must do by version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub field: &'static str,
    /// The first version that may send it.
    pub since: u8,
    /// The first version that must send it, if any.
    pub required_from: Option<u8>,
}

const fn rule(field: &'static str, since: u8, required_from: Option<u8>) -> Rule {
    Rule {
        field,
        since,
        required_from,
    }
}

/// Every field whose use depends on the version.
pub const RULES: &[Rule] = &[
    rule("qrAccessCode", 2, None),
    rule("contactDetails", 2, None),
    rule("sendWelcomeEmail", 2, None),
    rule("countryCode", 1, Some(3)),
    rule("condition", 4, None),
    rule("profession", 1, Some(4)),
    rule("qrAccessCodes", 5, None),
];

/// The request's `version`: a whole number from 1 to `LATEST`.
pub fn version_of(v: &Option<Value>) -> Result<u8, DomainError> {
    match v {
        Some(Value::Number(n)) => n.as_u64().filter(|v| (1..=u64::from(LATEST)).contains(v)),
        _ => None,
    }
    .and_then(|v| u8::try_from(v).ok())
    .ok_or_else(|| {
        DomainError::invalid(format!("version is required: a number from 1 to {LATEST}"))
    })
}

/// Refuses a field sent before its version, then a field missing from a version that
/// requires it, in the table's order; `present` says whether the request sends a field.
pub fn check(version: u8, present: impl Fn(&str) -> bool) -> Result<(), DomainError> {
    for r in RULES {
        if present(r.field) && version < r.since {
            return Err(DomainError::invalid(format!(
                "{} needs version {} or later (this request is version {version})",
                r.field, r.since
            )));
        }
    }
    for r in RULES {
        if let Some(from) = r.required_from {
            if version >= from && !present(r.field) {
                return Err(DomainError::invalid(format!(
                    "{} is required from version {from} (this request is version {version})",
                    r.field
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each field, alone or missing, in each version: what the table says must happen.
    #[test]
    fn each_field_is_allowed_and_required_from_its_version() {
        // (field, version, sent, expected error start or None)
        let cases: &[(&str, u8, bool, Option<&str>)] = &[
            (
                "qrAccessCode",
                1,
                true,
                Some("qrAccessCode needs version 2"),
            ),
            ("qrAccessCode", 2, true, None),
            (
                "contactDetails",
                1,
                true,
                Some("contactDetails needs version 2"),
            ),
            ("contactDetails", 5, true, None),
            (
                "sendWelcomeEmail",
                1,
                true,
                Some("sendWelcomeEmail needs version 2"),
            ),
            ("sendWelcomeEmail", 2, true, None),
            ("condition", 3, true, Some("condition needs version 4")),
            ("condition", 4, true, None),
            (
                "qrAccessCodes",
                4,
                true,
                Some("qrAccessCodes needs version 5"),
            ),
            ("qrAccessCodes", 5, true, None),
            ("countryCode", 1, true, None),
            ("countryCode", 2, false, None),
            (
                "countryCode",
                3,
                false,
                Some("countryCode is required from version 3"),
            ),
            ("profession", 3, false, None),
            (
                "profession",
                4,
                false,
                Some("profession is required from version 4"),
            ),
            (
                "profession",
                5,
                false,
                Some("profession is required from version 4"),
            ),
        ];
        for &(field, version, sent, want) in cases {
            // Everything else a valid request of that version sends.
            let present = |f: &str| {
                if f == field {
                    return sent;
                }
                RULES
                    .iter()
                    .any(|r| r.field == f && r.required_from.is_some_and(|v| version >= v))
            };
            let got = check(version, present).err().map(|e| e.message);
            match want {
                None => assert_eq!(got, None, "{field} in version {version}"),
                Some(w) => assert!(
                    got.as_deref().is_some_and(|g| g.starts_with(w)),
                    "{field} in version {version}: {got:?}"
                ),
            }
        }
        // Every rule is tested both sides of its version.
        for r in RULES {
            assert!(
                cases.iter().any(|c| c.0 == r.field),
                "{} has cases",
                r.field
            );
        }
    }

    #[test]
    fn the_version_is_a_whole_number_from_one_to_the_latest() {
        for ok in 1..=LATEST {
            assert_eq!(version_of(&Some(json!(ok))).unwrap(), ok);
        }
        for bad in [
            json!(0),
            json!(6),
            json!(2.5),
            json!("2"),
            json!(null),
            json!(-1),
        ] {
            assert!(version_of(&Some(bad.clone())).is_err(), "{bad}");
        }
        assert!(version_of(&None).is_err());
    }
}
