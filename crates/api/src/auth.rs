//! Credentials. A recipient's system signs in as a user of one permit, as
//! on DVV's interface: HTTP Basic (`Authorization`, or `x-authorization`
//! where a gateway moved it), or the older `MUTP-Tunnus` / `MUTP-Salasana`
//! header pair, or a registered client certificate. Passwords are kept
//! only as argon2id hashes; the operator's admin token only as SHA-256.
//!
//! argon2id is slow on purpose (tens of milliseconds); a client polls with
//! the same password, so a password once verified is remembered in memory
//! under a keyed hash, together with the stored hash it was checked
//! against. Revocation is read from the database on every request, so a
//! remembered password of a revoked user opens nothing.

use std::collections::HashSet;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::{header, HeaderMap};
use base64::Engine;
use sha2::{Digest, Sha256};
use vtj_wire::paths::{HEADER_MUTP_SALASANA, HEADER_MUTP_TUNNUS, HEADER_X_AUTHORIZATION};

use crate::problem::ApiError;

fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| ApiError::internal())?;
    Ok(bytes)
}

/// A new random secret (a password or the admin token): 32 characters
/// from an alphabet that survives headers, shells and Basic encoding.
pub fn new_secret() -> Result<String, ApiError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let bytes: [u8; 32] = random_bytes()?;
    // 56 symbols: the bias of `% 56` on a byte costs well under a bit of 190.
    Ok(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
}

/// SHA-256 hex: how the admin token and certificates are stored.
pub fn credential_hash(token: &str) -> String {
    vtj_store::audit::sha256_hex(token.as_bytes())
}

/// The argon2id hash of a password, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(|_| ApiError::internal())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| ApiError::internal())
}

/// Whether `password` is the one `phc` was made from.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// The user and password a request signs in with, if it sent them.
pub fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    for name in [header::AUTHORIZATION.as_str(), HEADER_X_AUTHORIZATION] {
        if let Some(v) = text(name) {
            let (scheme, encoded) = v.split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("basic") {
                continue;
            }
            let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
            let (user, password) =
                String::from_utf8(decoded).ok()?.split_once(':').map(|(u, p)| (u.into(), p.into()))?;
            return Some((user, password));
        }
    }
    match (text(HEADER_MUTP_TUNNUS), text(HEADER_MUTP_SALASANA)) {
        (Some(u), Some(p)) => Some((u.to_string(), p.to_string())),
        _ => None,
    }
}

/// The bearer token of a request (the admin API's operator token).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then_some(token.trim())
}

/// Passwords verified against a stored hash, remembered under a hash keyed
/// with a secret of this process (a memory dump does not give passwords).
pub struct Verified {
    key: [u8; 32],
    seen: Mutex<HashSet<[u8; 32]>>,
}

/// More remembered sign-ins than any deployment has users: then forget all.
const REMEMBER: usize = 100_000;

impl Verified {
    pub fn new() -> Result<Verified, ApiError> {
        Ok(Verified { key: random_bytes()?, seen: Mutex::new(HashSet::new()) })
    }

    fn fingerprint(&self, user: &str, password: &str, phc: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [&self.key[..], user.as_bytes(), b"\0", password.as_bytes(), b"\0", phc.as_bytes()] {
            h.update(part);
        }
        h.finalize().into()
    }

    /// Whether this password was verified against this hash before (cheap).
    pub fn remembered(&self, user: &str, password: &str, phc: &str) -> bool {
        let f = self.fingerprint(user, password, phc);
        self.seen.lock().is_ok_and(|s| s.contains(&f))
    }

    /// Whether the password is right; argon2 runs only the first time.
    pub fn check(&self, user: &str, password: &str, phc: &str) -> bool {
        if self.remembered(user, password, phc) {
            return true;
        }
        let f = self.fingerprint(user, password, phc);
        if !verify_password(password, phc) {
            return false;
        }
        if let Ok(mut s) = self.seen.lock() {
            if s.len() >= REMEMBER {
                s.clear();
            }
            s.insert(f);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_passwords_verify_only_themselves() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        let phc = hash_password(&a).unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains(&a));
        assert!(verify_password(&a, &phc));
        assert!(!verify_password(&b, &phc));
        assert!(!verify_password(&a, "not a hash"));
        let v = Verified::new().unwrap();
        assert!(v.check("u", &a, &phc));
        assert!(v.check("u", &a, &phc), "remembered");
        assert!(!v.check("u", &b, &phc));
        assert!(!v.check(
            "u",
            &a,
            "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        ));
    }

    #[test]
    fn basic_mutp_and_gateway_headers_carry_the_same_credentials() {
        let mut h = HeaderMap::new();
        assert_eq!(basic(&h), None);
        h.insert(header::AUTHORIZATION, "Basic bXV0cFQxeDpwd2Q=".parse().unwrap());
        assert_eq!(basic(&h), Some(("mutpT1x".into(), "pwd".into())));
        let mut g = HeaderMap::new();
        g.insert(HEADER_X_AUTHORIZATION, "basic bXV0cFQxeDpwd2Q=".parse().unwrap());
        assert_eq!(basic(&g), Some(("mutpT1x".into(), "pwd".into())));
        let mut m = HeaderMap::new();
        m.insert(HEADER_MUTP_TUNNUS, "mutpT1x".parse().unwrap());
        m.insert(HEADER_MUTP_SALASANA, "pwd".parse().unwrap());
        assert_eq!(basic(&m), Some(("mutpT1x".into(), "pwd".into())));
        let mut bad = HeaderMap::new();
        bad.insert(header::AUTHORIZATION, "Basic !!!".parse().unwrap());
        assert_eq!(basic(&bad), None);
        bad.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(basic(&bad), None);
        assert_eq!(bearer(&bad), Some("x"));
    }
}
