//! The one timestamp format of admit, in storage and in every answer: RFC 3339 in UTC with
//! milliseconds, `2026-11-23T09:04:05.123Z`. Reading accepts any RFC 3339 timestamp (items
//! written before the format was fixed carry more digits).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// A timestamp in admit's format.
pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a timestamp (any RFC 3339); `None` when it is not one.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `#[serde(with = "crate::domain::time::rfc3339")]` for a `DateTime<Utc>` field.
pub mod rfc3339 {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }
}

/// The same for an `Option<DateTime<Utc>>` field (use with `default`).
pub mod rfc3339_opt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(d)
    }
}

/// A fixed instant for unit tests (2026-11-18T17:46:40Z): rules run at a time the test chose.
#[cfg(test)]
pub fn fixed_instant() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_542_400, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_format_with_milliseconds() {
        let t = DateTime::parse_from_rfc3339("2026-11-23T09:04:05.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format(t), "2026-11-23T09:04:05.123Z");
        let whole = DateTime::parse_from_rfc3339("2026-11-23T09:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format(whole), "2026-11-23T09:04:05.000Z");
    }
}
