//! The `Mailer` port: SES (v1 API) in the cloud, `.eml` files in the data directory locally.

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
        use aws_sdk_ses::types::{Body, Content, Destination, Message};
        let content = |s: &str| {
            Content::builder()
                .data(s)
                .charset("UTF-8")
                .build()
                .map_err(|e| DeliveryError::Permanent(e.to_string()))
        };
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().text(content(&email.text)?).build())
            .build();
        let out = self
            .client
            .send_email()
            .source(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .message(message)
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
        let now = chrono::Utc::now();
        let id = crate::domain::secrets::random_hex_id();
        let name = format!("{}-{}.eml", now.format("%Y%m%dT%H%M%S%.3fZ"), &id[..8]);
        let eml = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@admit.local>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
            from = self.from,
            to = email.to,
            subject = email.subject.replace(['\r', '\n'], " "),
            date = now.to_rfc2822(),
            body = email.text.replace('\n', "\r\n"),
        );
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
