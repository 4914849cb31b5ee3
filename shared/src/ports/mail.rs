//! The `Mailer` port: SES (v1 API) in the cloud, `.eml` files in the data directory locally.
//! `mime` reads a sent message back as its recipient would.

#[cfg(feature = "mail-reader")]
pub mod mime;

use async_trait::async_trait;
use aws_sdk_ses::error::{ProvideErrorMetadata, SdkError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// An email to send. Bodies may hold single-use links, so they are never logged.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The same content as HTML (every value in it escaped by whoever wrote it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The id every delivery of this email carries (the outbox sets its message's id), in
    /// `X-Admit-Message-Id` and as the local part of Message-ID (which SES replaces with its
    /// own), so a redelivery after a crash can be told for the same message. `None`: a new
    /// Message-ID each time and no `X-Admit-Message-Id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// The header that carries an outbox message's id on every delivery of it.
pub const MESSAGE_ID_HEADER: &str = "X-Admit-Message-Id";

/// A sender as configured (`no-reply@x` or `Name <no-reply@x>`): the display name and address.
fn sender(from: &str) -> (Option<&str>, &str) {
    match from
        .trim()
        .strip_suffix('>')
        .and_then(|f| f.rsplit_once('<'))
    {
        Some((name, address)) => {
            let name = name.trim().trim_matches('"').trim();
            ((!name.is_empty()).then_some(name), address.trim())
        }
        None => (None, from.trim()),
    }
}

impl Email {
    /// The email of a `Letter`: its text and HTML parts, both made from the letter.
    pub fn letter(
        to: impl Into<String>,
        subject: impl Into<String>,
        letter: &crate::domain::html::Letter,
    ) -> Email {
        Email {
            to: to.into(),
            subject: subject.into(),
            text: letter.text(),
            html: Some(letter.html()),
            message_id: None,
        }
    }

    /// A text-only email.
    pub fn text(
        to: impl Into<String>,
        subject: impl Into<String>,
        text: impl Into<String>,
    ) -> Email {
        Email {
            to: to.into(),
            subject: subject.into(),
            text: text.into(),
            html: None,
            message_id: None,
        }
    }

    /// The message exactly as it goes out, to SES (raw) and to the local `.eml` file alike: one
    /// MIME message with a text part and, when there is one, an HTML part, built by the
    /// mail-builder library (headers encoded as RFC 2047 words, so no name or subject can add a
    /// header). Returns the message and its Message-ID.
    pub fn to_mime(
        &self,
        from: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Vec<u8>, String), DeliveryError> {
        let (name, address) = sender(from);
        let host = address.rsplit_once('@').map_or("admit.local", |(_, d)| d);
        let local: String = match &self.message_id {
            Some(stable) => stable
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
                .take(64)
                .collect(),
            None => String::new(),
        };
        let local = if local.is_empty() {
            crate::domain::secrets::random_hex_id()
        } else {
            local
        };
        let id = format!("{local}@{host}");
        let subject: String = self
            .subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut builder = mail_builder::MessageBuilder::new()
            .from(mail_builder::headers::address::Address::new_address(
                name, address,
            ))
            .to(self.to.as_str())
            .subject(subject)
            .date(now.timestamp())
            .message_id(id.as_str())
            .text_body(self.text.as_str());
        if let Some(html) = &self.html {
            builder = builder.html_body(html.as_str());
        }
        // SES replaces Message-ID with its own; this header it keeps, the same on every
        // delivery of one outbox message.
        if self.message_id.is_some() {
            builder = builder.header(
                MESSAGE_ID_HEADER,
                mail_builder::headers::raw::Raw::new(local.clone()),
            );
        }
        let bytes = builder.write_to_vec().map_err(|e| {
            DeliveryError::Permanent(format!("the message could not be built: {e}"))
        })?;
        Ok((bytes, id))
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text", &"<not logged>")
            .finish()
    }
}

/// Why a message was not delivered: worth retrying, or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    Transient(String),
    Permanent(String),
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryError::Transient(m) => write!(f, "transient delivery failure: {m}"),
            DeliveryError::Permanent(m) => write!(f, "permanent delivery failure: {m}"),
        }
    }
}

impl std::error::Error for DeliveryError {}

/// Classifies a provider's error code: permanent only when `code` is one of
/// `permanent_codes`, the errors known to be permanent for the message itself (a rejected
/// address, a disabled endpoint). Everything else, including codes this list does not know
/// (AccessDenied, AccountSendingPaused, ExpiredToken, clock skew, a new code), is transient:
/// the dispatcher retries it a bounded number of times and then keeps the message, body
/// included, for an operator to replay.
pub fn classify_code(code: &str, message: &str, permanent_codes: &[&str]) -> DeliveryError {
    let throttled = code.contains("Throttl") || code.contains("LimitExceeded");
    if permanent_codes.contains(&code) && !throttled {
        DeliveryError::Permanent(format!("{code}: {message}"))
    } else {
        DeliveryError::Transient(format!("{code}: {message}"))
    }
}

/// Classifies an AWS SDK error: a service error by its code (`classify_code`); network
/// failures, timeouts, unreadable responses and requests the SDK could not build (a missing
/// credential, a bad endpoint: configuration, not the message) are transient.
pub(crate) fn classify_sdk<E, R>(err: &SdkError<E, R>, permanent_codes: &[&str]) -> DeliveryError
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match err {
        SdkError::ServiceError(se) => classify_code(
            se.err().code().unwrap_or("Unknown"),
            se.err().message().unwrap_or_default(),
            permanent_codes,
        ),
        SdkError::ConstructionFailure(_) => {
            DeliveryError::Transient("the request could not be built".into())
        }
        SdkError::TimeoutError(_) => DeliveryError::Transient("timed out".into()),
        SdkError::DispatchFailure(_) => {
            DeliveryError::Transient("could not reach the service".into())
        }
        _ => DeliveryError::Transient("unreadable response from the service".into()),
    }
}

/// SES errors that are permanent for one email: the address (or the content) was rejected.
/// Account-wide conditions (sending paused, an unverified sender domain, a missing
/// configuration set, denied access) are transient: fixing them makes the email sendable.
pub const SES_PERMANENT: &[&str] = &["MessageRejected"];

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends the email; returns the provider's message id.
    async fn send(&self, email: &Email) -> Result<String, DeliveryError>;
}

pub struct SesMailer {
    client: aws_sdk_ses::Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: aws_sdk_ses::Client, from: impl Into<String>) -> SesMailer {
        SesMailer {
            client,
            from: from.into(),
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        use aws_sdk_ses::primitives::Blob;
        use aws_sdk_ses::types::RawMessage;
        #[allow(
            clippy::disallowed_methods,
            reason = "the Date header says when the message left, not a rule of ours"
        )]
        let (bytes, _) = email.to_mime(&self.from, chrono::Utc::now())?;
        let raw = RawMessage::builder()
            .data(Blob::new(bytes))
            .build()
            .map_err(|e| DeliveryError::Permanent(e.to_string()))?;
        let out = self
            .client
            .send_raw_email()
            .source(&self.from)
            .destinations(&email.to)
            .raw_message(raw)
            .send()
            .await
            .map_err(|e| classify_sdk(&e, SES_PERMANENT))?;
        Ok(out.message_id().to_string())
    }
}

/// Writes each email as a readable `.eml` file under `dir` and logs one line.
pub struct LocalMailer {
    dir: PathBuf,
    from: String,
}

impl LocalMailer {
    pub fn new(dir: PathBuf, from: impl Into<String>) -> LocalMailer {
        LocalMailer {
            dir,
            from: from.into(),
        }
    }
}

#[async_trait]
impl Mailer for LocalMailer {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        #[allow(
            clippy::disallowed_methods,
            reason = "the captured file is named and dated when it was written, as SES would"
        )]
        let now = chrono::Utc::now();
        let id = crate::domain::secrets::random_hex_id();
        let name = format!("{}-{}.eml", now.format("%Y%m%dT%H%M%S%.3fZ"), &id[..8]);
        let (eml, _) = email.to_mime(&self.from, now)?;
        let path = self.dir.join(name);
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| DeliveryError::Transient(e.to_string()))?;
        tokio::fs::write(&path, eml)
            .await
            .map_err(|e| DeliveryError::Transient(e.to_string()))?;
        tracing::info!(to = %email.to, subject = %email.subject, file = %path.display(), "email captured locally");
        Ok(id)
    }
}

/// The mailer of a function that sends no email (every use case queues email in the outbox;
/// only the dispatcher sends). Sending through it is a permanent failure, never a panic.
pub struct NoMailer;

#[async_trait]
impl Mailer for NoMailer {
    async fn send(&self, _email: &Email) -> Result<String, DeliveryError> {
        Err(DeliveryError::Permanent(
            "this function is not wired to send email".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_permanent_codes_are_permanent() {
        let permanent = |code: &str| {
            matches!(
                classify_code(code, "m", SES_PERMANENT),
                DeliveryError::Permanent(_)
            )
        };
        assert!(permanent("MessageRejected"));
        for code in [
            "AccessDenied",
            "AccessDeniedException",
            "AccountSendingPausedException",
            "MailFromDomainNotVerifiedException",
            "ConfigurationSetDoesNotExist",
            "ExpiredToken",
            "RequestTimeTooSkewed",
            "SignatureDoesNotMatch",
            "InternalFailure",
            "ServiceUnavailable",
            "Throttling",
            "Unknown",
            "SomethingNew",
        ] {
            assert!(!permanent(code), "{code} must be retried");
        }
        assert_eq!(
            classify_code("AccessDenied", "not allowed", SES_PERMANENT),
            DeliveryError::Transient("AccessDenied: not allowed".into())
        );
    }
}

#[cfg(test)]
mod mime_tests {
    use super::*;

    #[test]
    fn a_sender_with_a_display_name_makes_a_well_formed_from() {
        let e = Email::text("jane@example.com", "S", "T");
        let (bytes, id) = e
            .to_mime(
                "Acme Team <no-reply@acme.example>",
                crate::domain::time::fixed_instant(),
            )
            .unwrap();
        let raw = String::from_utf8(bytes).unwrap();
        assert!(
            raw.contains("From: \"Acme Team\" <no-reply@acme.example>\r\n")
                || raw.contains("From: Acme Team <no-reply@acme.example>\r\n"),
            "{raw}"
        );
        assert!(id.ends_with("@acme.example") && !id.contains('>'), "{id}");
        assert_eq!(sender("admit <a@b.co>"), (Some("admit"), "a@b.co"));
        assert_eq!(sender(" a@b.co "), (None, "a@b.co"));
    }

    #[test]
    fn one_mime_message_with_text_and_html_and_no_injected_header() {
        let mut e = Email::text(
            "jane@example.com",
            "Hi\r\nBcc: victim@example.com",
            "Hello Zoë,\nclick.",
        );
        e.html = Some("<p>Hello Zo&euml;</p>".into());
        let (bytes, id) = e
            .to_mime(
                "no-reply@admit.example",
                crate::domain::time::fixed_instant(),
            )
            .unwrap();
        let raw = String::from_utf8(bytes).unwrap();
        assert!(id.ends_with("@admit.example"));
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("text/plain") && raw.contains("text/html"),
            "{raw}"
        );
        assert!(
            raw.contains("From: <no-reply@admit.example>")
                || raw.contains("From: no-reply@admit.example"),
            "{raw}"
        );
        let text_only = Email::text("a@b.co", "S", "T")
            .to_mime("x@admit.example", crate::domain::time::fixed_instant())
            .unwrap()
            .0;
        assert!(!String::from_utf8(text_only).unwrap().contains("text/html"));
    }
}
