//! Domain values. Parsing is validation: a value of these types that exists is valid.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// The largest integer a JavaScript client can hold exactly (2^53 - 1).
pub const MAX_SAFE_ID: u64 = 9_007_199_254_740_991;

/// A record id: a JSON number from 1 to 2^53 - 1, as the vendor's API sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Id(u64);

impl Id {
    pub fn new(n: u64) -> Result<Id, String> {
        if (1..=MAX_SAFE_ID).contains(&n) {
            Ok(Id(n))
        } else {
            Err(format!("ids are whole numbers from 1 to {MAX_SAFE_ID}"))
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for Id {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n: u64 = s
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not an id: ids are whole numbers"))?;
        Id::new(n)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(d)?;
        Id::new(n).map_err(serde::de::Error::custom)
    }
}

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailError {
    /// Not of the form local@domain, or too long.
    Format(String),
    /// The part after `@` is not a valid domain name.
    Domain(String),
}

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmailError::Format(m) | EmailError::Domain(m) => f.write_str(m),
        }
    }
}

/// An email address in its one canonical form: trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<EmailAddress, EmailError> {
        // One canonical form: trimmed, lower-cased and Unicode NFC, so `josé` typed composed
        // or decomposed is one address.
        let nfc = icu_normalizer::ComposingNormalizerBorrowed::new_nfc();
        let s = nfc.normalize(&raw.trim().to_lowercase()).into_owned();
        if s.is_empty() {
            return Err(EmailError::Format("email address is empty".into()));
        }
        if s.len() > 254 {
            return Err(EmailError::Format(
                "email address is longer than 254 characters".into(),
            ));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(EmailError::Format(format!(
                "`{}` is not an email address: it has no @",
                raw.trim()
            )));
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| {
                c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii()
            });
        if !local_ok {
            return Err(EmailError::Format(format!(
                "`{}` is not an email address: the part before @ is invalid",
                raw.trim()
            )));
        }
        if !is_domain_name(domain) {
            return Err(EmailError::Domain(format!(
                "`{domain}` is not a valid email domain name"
            )));
        }
        Ok(EmailAddress(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DNS name with at least two labels and an alphabetic top-level label.
fn is_domain_name(d: &str) -> bool {
    if d.is_empty() || d.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let Some(tld) = labels.last() else {
        return false;
    };
    labels.iter().all(|l| label_ok(l))
        && tld.len() >= 2
        && (tld.chars().all(|c| c.is_ascii_alphabetic()) || tld.starts_with("xn--"))
}

/// A person's or a record's display name: trimmed, 1 to `max` characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &str, raw: &str, max: usize) -> Result<Name, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(format!("{field} is required"));
        }
        if s.chars().count() > max {
            return Err(format!("{field} is longer than {max} characters"));
        }
        if s.chars().any(char::is_control) {
            return Err(format!("{field} contains control characters"));
        }
        Ok(Name(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed at login. Never printed: `Debug` hides it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// The longest password accepted anywhere (bounds hashing work).
    pub const MAX_LEN: usize = 1024;
    /// The shortest and longest new password (`new_policy`).
    pub const NEW_MIN_CHARS: usize = 8;
    pub const NEW_MAX_CHARS: usize = 30;

    /// A password presented for checking: only bounded, no policy.
    pub fn presented(raw: String) -> Result<Password, String> {
        if raw.is_empty() {
            return Err("password is required".into());
        }
        if raw.len() > Self::MAX_LEN {
            return Err(format!(
                "password is longer than {} characters",
                Self::MAX_LEN
            ));
        }
        Ok(Password(raw))
    }

    /// A new password chosen by a user: 8 to 30 characters with at least one letter and one
    /// digit, and not one of the most common passwords.
    pub fn new_policy(raw: String) -> Result<Password, PasswordPolicyError> {
        let n = raw.chars().count();
        if !(Self::NEW_MIN_CHARS..=Self::NEW_MAX_CHARS).contains(&n) {
            return Err(PasswordPolicyError::Length);
        }
        if !raw.chars().any(char::is_alphabetic) || !raw.chars().any(|c| c.is_ascii_digit()) {
            return Err(PasswordPolicyError::Composition);
        }
        let lower = raw.to_lowercase();
        if COMMON_PASSWORDS.contains(&lower.as_str()) {
            return Err(PasswordPolicyError::Common);
        }
        Ok(Password(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordPolicyError {
    Length,
    Composition,
    Common,
}

impl fmt::Display for PasswordPolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PasswordPolicyError::Length => "password must be between 8 and 30 characters",
            PasswordPolicyError::Composition => {
                "password must contain at least one letter and one number"
            }
            PasswordPolicyError::Common => "password is too common; choose another",
        })
    }
}

/// Passwords of 8+ characters with a letter and a digit that top the public breach lists.
/// ("Pa55word" is left out on purpose: the v5 selfRegisterMIUser example uses it and must pass.)
const COMMON_PASSWORDS: &[&str] = &[
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "pa55w0rd",
    "p@ssw0rd",
    "p@ssword1",
    "abc12345",
    "abcd1234",
    "qwerty123",
    "qwerty12",
    "qwerty1234",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "q1w2e3r4",
    "zaq12wsx",
    "1qaz2wsx",
    "iloveyou1",
    "welcome1",
    "welcome123",
    "letmein1",
    "monkey123",
    "dragon123",
    "sunshine1",
    "princess1",
    "football1",
    "baseball1",
    "trustno1",
    "master123",
    "admin123",
    "administrator1",
    "changeme1",
    "test1234",
    "user1234",
    "summer2024",
    "winter2024",
    "spring2024",
    "autumn2024",
    "summer2025",
    "winter2025",
    "summer2026",
    "winter2026",
    "a1b2c3d4",
    "asdf1234",
    "1234qwer",
    "123456789a",
    "12345678a",
    "a12345678",
    "aa123456",
    "123qwe123",
    "computer1",
    "michael1",
    "charlie1",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_and_decomposed_addresses_are_one() {
        let composed = EmailAddress::parse("jos\u{e9}@example.com").unwrap();
        let decomposed = EmailAddress::parse("Jose\u{301}@Example.com").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(composed.as_str(), "jos\u{e9}@example.com");
    }

    #[test]
    fn emails_are_canonical_and_validated() {
        let ok = [
            ("  Aaron@Interact.Technology ", "aaron@interact.technology"),
            ("test@yopmail.com", "test@yopmail.com"),
            (
                "first.last+tag@sub.example.co.uk",
                "first.last+tag@sub.example.co.uk",
            ),
        ];
        for (raw, want) in ok {
            assert_eq!(EmailAddress::parse(raw).unwrap().as_str(), want, "{raw}");
        }
        let format = [
            "",
            "plain",
            "@example.com",
            ".a@example.com",
            "a..b@example.com",
            "a b@example.com",
        ];
        for raw in format {
            assert!(
                matches!(EmailAddress::parse(raw), Err(EmailError::Format(_))),
                "{raw:?}"
            );
        }
        let domain = [
            "a@localhost",
            "a@example",
            "a@-x.com",
            "a@x..com",
            "a@example.c0m",
            "a@exa_mple.com",
            "a@example.c",
        ];
        for raw in domain {
            assert!(
                matches!(EmailAddress::parse(raw), Err(EmailError::Domain(_))),
                "{raw:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn ids_stay_in_the_javascript_safe_range() {
        assert!(Id::new(0).is_err());
        assert!(Id::new(1).is_ok());
        assert!(Id::new(MAX_SAFE_ID).is_ok());
        assert!(Id::new(MAX_SAFE_ID + 1).is_err());
        assert!(serde_json::from_str::<Id>("8").is_ok());
        assert!(serde_json::from_str::<Id>("\"8\"").is_err());
        assert!(serde_json::from_str::<Id>("-1").is_err());
        assert!(serde_json::from_str::<Id>("1.5").is_err());
        assert!(serde_json::from_str::<Id>("9007199254740992").is_err());
        assert_eq!("42".parse::<Id>().unwrap().get(), 42);
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text as an id (path, query) is refused or taken: never a panic.
        #[test]
        fn any_id_text_is_answered(raw in any::<String>()) {
            if let Ok(id) = raw.parse::<Id>() {
                prop_assert!((1..=MAX_SAFE_ID).contains(&id.get()));
            }
        }

        /// Every id reads back from its text and from its JSON.
        #[test]
        fn ids_round_trip(n in 1..=MAX_SAFE_ID) {
            let id = Id::new(n).unwrap();
            prop_assert_eq!(id.to_string().parse::<Id>().unwrap(), id);
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<Id>(&json).unwrap(), id);
        }

        /// Any text as an email address (a body field, the `After` paging token) is refused or
        /// taken: never a panic; what is taken is canonical (parsing it again changes nothing).
        #[test]
        fn any_email_text_is_answered(raw in any::<String>()) {
            if let Ok(e) = EmailAddress::parse(&raw) {
                prop_assert_eq!(EmailAddress::parse(e.as_str()).unwrap(), e);
            }
        }

        /// Email-shaped text with unicode around the @ never panics either.
        #[test]
        fn email_shaped_text_is_answered(local in "\\PC{0,70}", domain in "[a-z\u{e9}\u{1F600}.-]{0,70}") {
            let _ = EmailAddress::parse(&format!("{local}@{domain}"));
        }

        /// Names and passwords of any text are refused or taken: never a panic.
        #[test]
        fn any_name_or_password_is_answered(raw in any::<String>()) {
            let _ = Name::parse("firstName", &raw, 50);
            let _ = Password::presented(raw.clone());
            let _ = Password::new_policy(raw);
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("firstName", "  Aaron ", 10).unwrap().as_str(),
            "Aaron"
        );
        assert!(Name::parse("firstName", "   ", 10).is_err());
        assert!(Name::parse("firstName", "abcdefghijk", 10).is_err());
        assert!(Name::parse("firstName", "a\u{0}b", 10).is_err());
    }

    #[test]
    fn password_policy() {
        let cases = [
            ("Pa55w0rdX", Ok(())),
            ("short1", Err(PasswordPolicyError::Length)),
            (
                "a1234567890123456789012345678901",
                Err(PasswordPolicyError::Length),
            ),
            ("mypassword", Err(PasswordPolicyError::Composition)),
            ("12345678", Err(PasswordPolicyError::Composition)),
            ("Password123", Err(PasswordPolicyError::Common)),
        ];
        for (raw, want) in cases {
            assert_eq!(Password::new_policy(raw.into()).map(|_| ()), want, "{raw}");
        }
        assert_eq!(
            format!("{:?}", Password::presented("secret".into()).unwrap()),
            "Password(***)"
        );
        assert!(Password::presented(String::new()).is_err());
        assert!(Password::presented("x".repeat(1025)).is_err());
    }
}
