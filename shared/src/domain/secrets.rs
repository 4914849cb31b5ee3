//! Secrets: Argon2id password hashes, random tokens (auth tokens, API keys, invitation
//! tokens) that are shown once and stored only as SHA-256 hashes.

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// Argon2id with OWASP's minimum: 19 MiB of memory, 2 iterations, 1 lane.
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_LANES: u32 = 1;

#[derive(Debug)]
pub struct HashError(String);

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "password hashing failed: {}", self.0)
    }
}

impl std::error::Error for HashError {}

fn params() -> Params {
    // The constants are valid (a unit test proves it), so the default never applies.
    Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES, None).unwrap_or_default()
}

thread_local! {
    /// Argon2's working memory (19 MiB), allocated once per thread that hashes and reused by
    /// every hash after, then zeroed. Allocating it per hash let the allocator's heap grow
    /// without bound when hashes alternated with long-lived allocations (glibc's dynamic mmap
    /// threshold moved the 19 MiB buffers onto the heap, where each left a hole the next could
    /// not reuse): `admit serve` grew to 10 GB in a three-minute soak (docs/reliability.md).
    static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The hash of `password` with `argon`'s parameters and `salt`, in this thread's reused memory.
fn hash_output(
    argon: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: Salt<'_>,
) -> password_hash::Result<Output> {
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        if blocks.len() != params.block_count() {
            *blocks = vec![Block::default(); params.block_count()];
        }
        let out = Output::init_with(output_len, |out| {
            Ok(argon.hash_password_into_with_memory(
                password,
                salt_bytes,
                out,
                blocks.as_mut_slice(),
            )?)
        });
        blocks.iter_mut().for_each(|b| *b = Block::default());
        out
    })
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let fail = |e: password_hash::Error| HashError(e.to_string());
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| HashError(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(fail)?;
    let params = params();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = hash_output(&argon, &params, password.as_bytes(), salt.as_salt()).map_err(fail)?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(fail)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string())
}

/// Checks a password against a stored PHC string (its own algorithm, version and parameters).
/// The comparison is constant time. A stored hash that cannot be parsed is an error, not a
/// mismatch.
pub fn verify_password(password: &str, phc: &str) -> Result<bool, HashError> {
    let fail = |e: password_hash::Error| HashError(e.to_string());
    let parsed = PasswordHash::new(phc).map_err(fail)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(HashError("the stored hash has no salt or no output".into()));
    };
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(fail)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| HashError(e.to_string()))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(fail)?;
    let argon = Argon2::new(algorithm, version, params.clone());
    let computed = hash_output(&argon, &params, password.as_bytes(), salt).map_err(fail)?;
    Ok(computed == expected)
}

/// Spends the same time as a real check, for a login whose email is unknown, so that the
/// answer's timing does not tell whether the account exists.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = DUMMY.get_or_init(|| {
        hash_password("admit-dummy-password-for-timing").unwrap_or_else(|_| {
            // Fall back to a fixed, well-formed hash with the same parameters.
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Jt5mZx8oV9mP7C3hGQv1m4Y2iZbI3l2v9xq3q9xq3Q".into()
        })
    });
    let _ = verify_password(password, phc);
}

/// A secret shown to its owner once: 32 random bytes (256 bits) as 64 lower-case hex digits,
/// with a short prefix saying what it is for. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn generate(prefix: &str) -> Result<Token, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Token(format!("{prefix}{}", hex(&bytes))))
    }

    /// A token presented by a caller. Bounded so hashing a hostile header costs nothing.
    pub fn presented(raw: &str) -> Option<Token> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 256 || !raw.is_ascii() {
            return None;
        }
        Some(Token(raw.to_string()))
    }

    /// The value to hand to the owner, once.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// What is stored and looked up: the SHA-256 of the token, in hex.
    pub fn hash(&self) -> String {
        sha256_hex(self.0.as_bytes())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A random, non-secret identifier (session ids, outbox ids): 16 bytes as 32 hex digits.
pub fn random_hex_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // The OS generator failing is fatal for secrets but not for an identifier: fall back
        // to the clock and a process counter, still unique within this process.
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        #[allow(
            clippy::disallowed_methods,
            reason = "the last resort for an identifier's uniqueness, not a rule that depends on time"
        )]
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes[..8].copy_from_slice(&(t as u64).to_be_bytes());
        bytes[8..].copy_from_slice(&N.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    }
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0xf] {
            s.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_argon2_constants_are_valid_parameters() {
        assert!(Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES, None).is_ok());
    }

    #[test]
    fn password_hash_round_trip_with_owasp_parameters() {
        let phc = hash_password("correct horse 1").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify_password("correct horse 1", &phc).unwrap());
        assert!(!verify_password("correct horse 2", &phc).unwrap());
        assert!(verify_password("x", "not a hash").is_err());
        // Same password, new salt, new hash.
        assert_ne!(phc, hash_password("correct horse 1").unwrap());
    }

    #[test]
    fn hashes_agree_with_the_crates_own_and_other_parameters_verify() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        // A hash the argon2 crate made its own way (as stored before the reused memory) checks.
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"an old password 9", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("an old password 9", &theirs).unwrap());
        assert!(!verify_password("an old password 8", &theirs).unwrap());
        // Ours checks with the crate's own verifier.
        let ours = hash_password("a new password 7").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"a new password 7", &parsed)
            .is_ok());
        // Other parameters (smaller memory) resize the thread's memory and still check, and
        // the next check with the usual parameters is still right.
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password(b"small 1", &salt)
        .unwrap()
        .to_string();
        assert!(verify_password("small 1", &small).unwrap());
        assert!(verify_password("a new password 7", &ours).unwrap());
        assert!(verify_password("x", "$argon2id$v=19$m=19456,t=2,p=1").is_err());
    }

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let a = Token::generate("tok_").unwrap();
        let b = Token::generate("tok_").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.reveal().len(), 4 + 64);
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), a.reveal());
        assert_eq!(format!("{a:?}"), "Token(***)");
        assert_eq!(Token::presented(a.reveal()).unwrap().hash(), a.hash());
        assert!(Token::presented("").is_none());
        assert!(Token::presented(&"x".repeat(300)).is_none());
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any presented text (any unicode, any length) is refused or taken: never a panic, and
        /// what is taken is bounded ASCII.
        #[test]
        fn any_presented_token_is_answered(raw in any::<String>()) {
            if let Some(t) = Token::presented(&raw) {
                prop_assert!(!t.reveal().is_empty() && t.reveal().len() <= 256);
                prop_assert!(t.reveal().is_ascii());
            }
        }

        /// A token handed out is accepted back as itself, with the same hash.
        #[test]
        fn generated_tokens_round_trip(prefix in "[a-z]{0,8}_?") {
            let t = Token::generate(&prefix).unwrap();
            let back = Token::presented(t.reveal()).unwrap();
            prop_assert_eq!(back.hash(), t.hash());
        }
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
