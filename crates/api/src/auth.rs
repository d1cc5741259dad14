//! Credentials: bearer tokens issued once, stored only as SHA-256.

use axum::http::{header, HeaderMap};

use crate::problem::ApiError;

/// A new random token. Shown to the operator once; only its hash is kept.
pub fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| ApiError::internal())?;
    Ok(format!("vtj_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

pub fn credential_hash(token: &str) -> String {
    vtj_store::audit::sha256_hex(token.as_bytes())
}

/// The bearer token of a request, if it sent one in the expected form.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then_some(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(credential_hash(&a), credential_hash(&a));
        assert_ne!(credential_hash(&a), credential_hash(&b));
    }

    #[test]
    fn only_bearer_scheme_is_read() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer   ".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "bearer vtj_x".parse().unwrap());
        assert_eq!(bearer(&h), Some("vtj_x"));
    }
}
