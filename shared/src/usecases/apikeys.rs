//! Company API keys: RFC 9562 version-4 UUIDs shown once, stored as a SHA-256 hash, resolved
//! to their company.

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::records::{apikey, company, ApiKey, ApiKeyType, Company, Status};
use crate::usecases::failed;

/// A new key: a random (version 4) UUID from the OS generator.
pub fn generate() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Resolves a presented key that may be of any of the `accepted` types to its record and
/// company, checking the key and the company are active.
pub async fn resolve_any(
    app: &App,
    raw: &str,
    accepted: &[ApiKeyType],
    service: Service,
) -> Result<(ApiKey, Company), DomainError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 128 || !raw.is_ascii() {
        return Err(DomainError::invalid("API key is malformed"));
    }
    let not_found = || DomainError::new(ErrorKind::RecordNotFound, "API key not found");
    let key = apikey::find(app.store.as_ref(), raw)
        .await
        .map_err(failed(service))?
        .ok_or_else(not_found)?;
    if key.status != Status::Active {
        return Err(DomainError::new(
            ErrorKind::CompanyApiKeyNotActive,
            "API key is not active",
        ));
    }
    if !accepted.contains(&key.key_type) {
        let want = match accepted.first() {
            Some(ApiKeyType::Admin) => "an admin",
            _ => "an app",
        };
        return Err(DomainError::new(
            ErrorKind::IncorrectApiKeyType,
            format!("this call needs {want} API key"),
        ));
    }
    let company = company::find(app.store.as_ref(), key.company_id)
        .await
        .map_err(failed(service))?
        .ok_or_else(not_found)?;
    if company.status != Status::Active {
        return Err(DomainError::new(
            ErrorKind::CompanyNotActive,
            "the company is not active",
        ));
    }
    Ok((key, company))
}

/// Resolves a key of exactly one type.
pub async fn resolve(
    app: &App,
    raw: &str,
    expected: ApiKeyType,
    service: Service,
) -> Result<(ApiKey, Company), DomainError> {
    resolve_any(app, raw, &[expected], service).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_keys_are_version_4_uuids() {
        let a = super::generate();
        let u = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(u.get_version_num(), 4);
        assert_eq!(a.len(), 36);
        assert_ne!(a, super::generate());
    }
}
