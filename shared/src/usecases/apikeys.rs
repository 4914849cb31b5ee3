//! Company API keys: 128 random bits shown once in UUID form, stored as a SHA-256 hash.

use crate::app::App;
use crate::domain::error::{ApiError, Exception, Service};
use crate::domain::secrets::sha256_hex;
use crate::http::store_failure;
use crate::records::{api_key_key, company_key, from_item, ApiKey, ApiKeyType, Company, Status};

/// A new key: 16 bytes from the OS generator written as 8-4-4-4-12 hex digits. All 128 bits are
/// random (no version nibble), so it is shaped like the UUIDs the vendor pages show.
pub fn generate() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)?;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// The stored form of a presented key (lower-cased, trimmed, hashed).
pub fn hash(raw: &str) -> String {
    sha256_hex(raw.trim().to_ascii_lowercase().as_bytes())
}

/// Resolves a presented key to its record and company, checking it is active, of the
/// expected type and that its company is active.
pub async fn resolve(
    app: &App,
    raw: &str,
    expected: ApiKeyType,
    service: Service,
) -> Result<(ApiKey, Company), ApiError> {
    resolve_any(app, raw, &[expected], service).await
}

/// The company API key in the `x-nextinteract-company-api-key` header, of one of `accepted` types.
pub async fn from_header(
    app: &App,
    req: &lambda_http::Request,
    accepted: &[ApiKeyType],
    service: Service,
) -> Result<(ApiKey, Company), ApiError> {
    let raw = req
        .headers()
        .get(crate::http::COMPANY_API_KEY_HEADER)
        .ok_or_else(|| ApiError::invalid("x-nextinteract-company-api-key header is required"))?
        .to_str()
        .map_err(|_| ApiError::invalid("API key is malformed"))?;
    resolve_any(app, raw, accepted, service).await
}

/// Resolves a presented key that may be of any of the `accepted` types.
pub async fn resolve_any(
    app: &App,
    raw: &str,
    accepted: &[ApiKeyType],
    service: Service,
) -> Result<(ApiKey, Company), ApiError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 128 || !raw.is_ascii() {
        return Err(ApiError::invalid("API key is malformed"));
    }
    let item = app
        .store
        .get(&api_key_key(&hash(raw)))
        .await
        .map_err(store_failure(service))?
        .ok_or_else(|| ApiError::new(Exception::RecordNotFound, "API key not found"))?;
    let key: ApiKey = from_item(item).map_err(store_failure(service))?;
    if key.status != Status::Active {
        return Err(ApiError::new(
            Exception::CompanyApiKeyNotActive,
            "API key is not active",
        ));
    }
    if !accepted.contains(&key.key_type) {
        let want = match accepted.first() {
            Some(ApiKeyType::Admin) => "an admin",
            _ => "an app",
        };
        return Err(ApiError::new(
            Exception::IncorrectApiKeyType,
            format!("this call needs {want} API key"),
        ));
    }
    let company: Company = match app
        .store
        .get(&company_key(key.company_id))
        .await
        .map_err(store_failure(service))?
    {
        Some(item) => from_item(item).map_err(store_failure(service))?,
        None => {
            return Err(ApiError::new(
                Exception::RecordNotFound,
                "API key not found",
            ))
        }
    };
    if company.status != Status::Active {
        return Err(ApiError::new(
            Exception::CompanyNotActive,
            "the company is not active",
        ));
    }
    Ok((key, company))
}
