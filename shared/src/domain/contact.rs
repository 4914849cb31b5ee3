//! ContactJSON: the contact details of inviteMIUser and selfRegisterMIUser. Every field is
//! optional unless a call says otherwise; string fields have length limits; `null` means absent;
//! fields ContactJSON does not define are ignored (never stored), as everywhere in the API.

use crate::domain::error::{DomainError, ErrorKind};
use crate::domain::EmailAddress;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text up to N characters.
    Text(usize),
    /// An email address.
    Email,
    /// A two-letter ISO 3166 country code.
    Country,
    /// A date as dd/mm/yyyy.
    Date,
    /// Not stored from input (assigned by admit).
    Ignored,
}

/// Every ContactJSON field of inviteMIUser and selfRegisterMIUser, with its limit.
pub const FIELDS: &[(&str, Kind)] = &[
    ("contactId", Kind::Ignored),
    ("countryCode", Kind::Country),
    ("otherCountryCode", Kind::Country),
    ("firstname", Kind::Text(100)),
    ("lastname", Kind::Text(100)),
    ("title", Kind::Text(50)),
    ("department", Kind::Text(100)),
    ("company", Kind::Text(200)),
    ("workAddress1", Kind::Text(200)),
    ("workAddress2", Kind::Text(200)),
    ("workAddress3", Kind::Text(200)),
    ("city", Kind::Text(100)),
    ("state", Kind::Text(100)),
    ("postCode", Kind::Text(20)),
    ("otherAddress1", Kind::Text(200)),
    ("otherAddress2", Kind::Text(200)),
    ("otherAddress3", Kind::Text(200)),
    ("otherCity", Kind::Text(100)),
    ("otherState", Kind::Text(100)),
    ("otherPostcode", Kind::Text(20)),
    ("externalId", Kind::Text(100)),
    ("contactType", Kind::Text(100)),
    ("contactProfession", Kind::Text(100)),
    ("contactSpecialty", Kind::Text(100)),
    ("contactCategory", Kind::Text(100)),
    ("mobile", Kind::Text(30)),
    ("primaryMobile", Kind::Text(30)),
    ("phone", Kind::Text(30)),
    ("otherPhone", Kind::Text(30)),
    ("faxNumber", Kind::Text(30)),
    ("email1", Kind::Email),
    ("email2", Kind::Email),
    ("ownedBy", Kind::Text(100)),
    ("notes", Kind::Text(4000)),
    ("facebookId", Kind::Text(100)),
    ("twitterId", Kind::Text(100)),
    ("webPage", Kind::Text(500)),
    ("dateOfBirth", Kind::Date),
    ("wallConsent1", Kind::Text(500)),
    ("wallConsent2", Kind::Text(500)),
    ("wallConsent3", Kind::Text(500)),
    ("wallConsent4", Kind::Text(500)),
    ("wallConsent5", Kind::Text(500)),
    ("wallConsent6", Kind::Text(500)),
    ("eventConsent1", Kind::Text(500)),
    ("eventConsent2", Kind::Text(500)),
    ("eventConsent3", Kind::Text(500)),
    ("eventConsent4", Kind::Text(500)),
    ("additional1", Kind::Text(500)),
    ("additional2", Kind::Text(500)),
    ("additional3", Kind::Text(500)),
    ("lead", Kind::Text(100)),
    ("representativeName", Kind::Text(100)),
];

/// Validated contact details: field -> value (strings; emails canonical).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contact(pub Map<String, Value>);

impl Contact {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).and_then(Value::as_str)
    }

    pub fn set_if_absent(&mut self, field: &str, value: &str) {
        if !self.0.contains_key(field) && !value.trim().is_empty() {
            self.0
                .insert(field.to_string(), Value::String(value.trim().to_string()));
        }
    }

    /// The ContactJSON fields among stored attributes (anything else is left out).
    pub fn from_stored(stored: &Map<String, Value>) -> Contact {
        Contact(
            stored
                .iter()
                .filter(|(k, v)| {
                    v.is_string()
                        && FIELDS
                            .iter()
                            .any(|(f, kind)| f == k && *kind != Kind::Ignored)
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// Every field with its value.
    pub fn fields(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }

    /// Every date is on or before `today` (the use case's clock, read once), else the same
    /// 400 as a malformed date; `name` is the contact's name in errors.
    pub fn check_past_dates(
        &self,
        name: &str,
        today: chrono::NaiveDate,
    ) -> Result<(), DomainError> {
        for (field, _) in FIELDS.iter().filter(|(_, k)| *k == Kind::Date) {
            if let Some(d) = self.get(field).and_then(date) {
                if d > today {
                    return Err(past_date_error(name, field));
                }
            }
        }
        Ok(())
    }

    pub fn email(&self) -> Option<EmailAddress> {
        self.get("email1").and_then(|e| EmailAddress::parse(e).ok())
    }
}

/// A date written dd/mm/yyyy, from 1900 on.
fn date(s: &str) -> Option<chrono::NaiveDate> {
    let parts: Vec<&str> = s.split('/').collect();
    let [d, m, y] = parts.as_slice() else {
        return None;
    };
    if d.len() != 2 || m.len() != 2 || y.len() != 4 {
        return None;
    }
    match (d.parse::<u32>(), m.parse::<u32>(), y.parse::<i32>()) {
        (Ok(d), Ok(m), Ok(y)) if y >= 1900 => chrono::NaiveDate::from_ymd_opt(y, m, d),
        _ => None,
    }
}

fn past_date_error(name: &str, field: &str) -> DomainError {
    DomainError::invalid(format!("{name}.{field} is a past date written dd/mm/yyyy"))
}

/// Parses a ContactJSON object named `name` in errors (`contact`, `contactDetails`).
pub fn parse(name: &str, v: &Value) -> Result<Contact, DomainError> {
    let obj = v
        .as_object()
        .ok_or_else(|| DomainError::invalid(format!("{name} must be an object")))?;
    let mut out = Map::new();
    for (field, value) in obj {
        // Unknown fields are ignored, as everywhere in the API (and never stored).
        let Some((_, kind)) = FIELDS.iter().find(|(f, _)| f == field) else {
            continue;
        };
        if value.is_null() || *kind == Kind::Ignored {
            continue;
        }
        let s = value
            .as_str()
            .ok_or_else(|| DomainError::invalid(format!("{name}.{field} must be a string")))?;
        let s = s.trim();
        if field == "externalId" && s.is_empty() {
            return Err(DomainError::invalid(format!(
                "{name}.externalId must not be empty: leave it out or send null"
            )));
        }
        if s.is_empty() {
            continue;
        }
        if s.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(DomainError::invalid(format!(
                "{name}.{field} contains control characters"
            )));
        }
        let stored = match kind {
            Kind::Text(max) => {
                if s.chars().count() > *max {
                    return Err(DomainError::invalid(format!(
                        "{name}.{field} is longer than {max} characters"
                    )));
                }
                s.to_string()
            }
            Kind::Email => EmailAddress::parse(s)
                .map_err(|e| match e {
                    crate::domain::EmailError::Domain(m) => DomainError::new(
                        ErrorKind::InvalidEmailDomainName,
                        format!("{name}.{field}: {m}"),
                    ),
                    crate::domain::EmailError::Format(m) => {
                        DomainError::invalid(format!("{name}.{field}: {m}"))
                    }
                })?
                .to_string(),
            Kind::Country => {
                if s.len() != 2 || !s.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(DomainError::invalid(format!(
                        "{name}.{field} is a two-letter country code such as AU"
                    )));
                }
                s.to_ascii_uppercase()
            }
            Kind::Date => {
                if date(s).is_none() {
                    return Err(past_date_error(name, field));
                }
                s.to_string()
            }
            Kind::Ignored => continue,
        };
        out.insert(field.clone(), Value::String(stored));
    }
    Ok(Contact(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contact_fields_are_validated() {
        let c = parse("contact", &json!({"firstname": " Doc ", "email1": "A@B.CO", "countryCode": "au", "dateOfBirth": "31/07/1982", "notes": null, "contactId": null})).unwrap();
        assert_eq!(c.get("firstname"), Some("Doc"));
        assert_eq!(c.get("email1"), Some("a@b.co"));
        assert_eq!(c.get("countryCode"), Some("AU"));
        assert!(c.get("notes").is_none());
        let bad = [
            json!({"externalId": ""}),
            json!({"firstname": 5}),
            json!({"firstname": "x".repeat(101)}),
            json!({"countryCode": "AUS"}),
            json!({"dateOfBirth": "1982-07-31"}),
            json!({"dateOfBirth": "31/02/1982"}),
            json!({"email1": "nope"}),
            json!([]),
        ];
        for b in bad {
            assert!(parse("contact", &b).is_err(), "{b}");
        }
        let e = parse("contact", &json!({"email1": "a@localhost"})).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidEmailDomainName);
        let c = parse("contact", &json!({"firstname": "A", "unknownField": "x"})).unwrap();
        assert!(
            c.get("unknownField").is_none(),
            "unknown fields are ignored, not stored"
        );
    }
}

#[cfg(test)]
mod date_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_date_is_past_by_the_day_it_is_given() {
        let c = parse("contact", &json!({"dateOfBirth": "31/07/1982"})).unwrap();
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(c.check_past_dates("contact", day(1982, 7, 31)).is_ok());
        let err = c.check_past_dates("contact", day(1982, 7, 30)).unwrap_err();
        assert!(err.message.contains("contact.dateOfBirth is a past date"));
        assert!(parse("contact", &json!({"dateOfBirth": "31/07/1899"})).is_err());
        assert!(parse("contact", &json!({"dateOfBirth": "31/02/1982"})).is_err());
    }
}
