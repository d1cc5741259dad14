//! Checkpoints as C2SP defines them: the `tlog-checkpoint` body (origin,
//! tree size, base64 root hash, one per line) in a `signed-note` (the body,
//! a blank line, then `— <key name> <base64(key id || signature)>` lines),
//! signed with Ed25519. The key id is the first four bytes of
//! `SHA-256(name || 0x0A || 0x01 || public key)`; keys travel as the
//! signed-note texts `name+hexid+base64(0x01 || public key)` (the verifier
//! key, to publish) and `PRIVATE+KEY+name+hexid+base64(0x01 || seed)`.
//!
//! The origin of our checkpoints is the key's name: one key, one log.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::tree::Hash;

const ED25519_TYPE: u8 = 0x01;
const SIG_PREFIX: &str = "\u{2014} ";
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";
/// Go's note package refuses more; so do we.
const MAX_SIGNATURES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoteError {
    #[error("key name {0:?}: it must be non-empty, without spaces or '+'")]
    Name(String),
    #[error("malformed key: {0}")]
    Key(String),
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    #[error("the checkpoint is not signed by {0}")]
    NotSigned(String),
    #[error("the checkpoint's signature by {0} does not verify: it was altered or forged")]
    BadSignature(String),
    #[error("the checkpoint is for the log {found:?}, not {wanted:?}")]
    OtherLog { found: String, wanted: String },
    #[error("no randomness for a new key")]
    Random,
}

/// A tree head: the log, how many entries, and the root over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The signed text: origin, size, root, each ending in a newline.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root))
    }

    fn parse_body(body: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = body.split('\n');
        let bad = |what: &str| NoteError::Malformed(what.to_string());
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or_else(|| bad("no origin line"))?;
        let size = lines.next().ok_or_else(|| bad("no tree size line"))?;
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
            return Err(bad("the tree size is not a decimal number"));
        }
        let size = size.parse().map_err(|_| bad("the tree size is too large"))?;
        let root = B64.decode(lines.next().ok_or_else(|| bad("no root hash line"))?).map_err(|_| bad("root hash"))?;
        let root: Hash = root.try_into().map_err(|_| bad("the root hash is not 32 bytes"))?;
        Ok(Checkpoint { origin: origin.to_string(), size, root })
    }
}

/// One signature line of a note.
struct SignatureLine<'a> {
    name: &'a str,
    id: [u8; 4],
    signature: Vec<u8>,
}

/// The body of a signed note and its signature lines.
fn split_note(note: &str) -> Result<(&str, Vec<SignatureLine<'_>>), NoteError> {
    let bad = |what: &str| NoteError::Malformed(what.to_string());
    if note.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(bad("control characters"));
    }
    let at = note.rfind("\n\n").ok_or_else(|| bad("no blank line before the signatures"))?;
    let (body, sigs) = (&note[..at + 1], &note[at + 2..]);
    let sigs = sigs.strip_suffix('\n').ok_or_else(|| bad("the last signature line does not end in a newline"))?;
    let mut out = Vec::new();
    for line in sigs.split('\n') {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| bad("a signature line without the em dash"))?;
        let (name, b64) = rest.split_once(' ').ok_or_else(|| bad("a signature line without a signature"))?;
        let raw = B64.decode(b64).map_err(|_| bad("a signature that is not base64"))?;
        if raw.len() < 5 {
            return Err(bad("a signature too short to hold a key id"));
        }
        let id = [raw[0], raw[1], raw[2], raw[3]];
        out.push(SignatureLine { name, id, signature: raw[4..].to_vec() });
        if out.len() > MAX_SIGNATURES {
            return Err(bad("too many signatures"));
        }
    }
    Ok((body, out))
}

/// The checkpoint in a note, its signatures not checked: for showing, and
/// for a recipient that was given no key to check them with.
pub fn read_unverified(note: &str) -> Result<Checkpoint, NoteError> {
    let (body, _) = split_note(note)?;
    Checkpoint::parse_body(body)
}

/// The checkpoint in a note: opened with the key where there is one, read
/// unverified where there is none.
pub fn open(key: Option<&Verifier>, note: &str) -> Result<Checkpoint, NoteError> {
    match key {
        Some(k) => k.open(note),
        None => read_unverified(note),
    }
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::Name(name.to_string()));
    }
    Ok(())
}

fn key_id(name: &str, public: &[u8]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519_TYPE]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `name+hexid+base64(0x01 || key)` into its parts, the id checked.
fn parse_key_text(text: &str) -> Result<(String, [u8; 4], [u8; 32]), NoteError> {
    let bad = |what: &str| NoteError::Key(what.to_string());
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected name+id+key"));
    };
    check_name(name)?;
    let raw = B64.decode(key).map_err(|_| bad("the key is not base64"))?;
    let (Some(&ED25519_TYPE), Ok(key)) = (raw.first(), <[u8; 32]>::try_from(raw.get(1..).unwrap_or_default())) else {
        return Err(bad("not an Ed25519 key of 32 bytes"));
    };
    let id = u32::from_str_radix(id, 16).map_err(|_| bad("the key id is not 8 hex digits"))?.to_be_bytes();
    Ok((name.to_string(), id, key))
}

/// The service's signing key. Kept in a file outside the database.
pub struct Signer {
    name: String,
    seed: [u8; 32],
    pair: Ed25519KeyPair,
    id: [u8; 4],
}

impl std::fmt::Debug for Signer {
    /// Never the seed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("name", &self.name).field("id", &hex(&self.id)).finish_non_exhaustive()
    }
}

impl Signer {
    /// A new key from the system's randomness.
    pub fn generate(name: &str) -> Result<Signer, NoteError> {
        let mut seed = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed).map_err(|_| NoteError::Random)?;
        Signer::from_seed(name, seed)
    }

    /// A key from a given seed: tests' fixed keys.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Signer, NoteError> {
        check_name(name)?;
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|_| NoteError::Key("bad seed".into()))?;
        let id = key_id(name, pair.public_key().as_ref());
        Ok(Signer { name: name.to_string(), seed, pair, id })
    }

    /// Reads `PRIVATE+KEY+name+hexid+base64(0x01 || seed)`.
    pub fn from_private_text(text: &str) -> Result<Signer, NoteError> {
        let rest = text
            .trim()
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or_else(|| NoteError::Key("a private key text starts with PRIVATE+KEY+".into()))?;
        let (name, id, seed) = parse_key_text(rest)?;
        let signer = Signer::from_seed(&name, seed)?;
        if signer.id != id {
            return Err(NoteError::Key("the key id does not match the key".into()));
        }
        Ok(signer)
    }

    pub fn private_text(&self) -> String {
        let mut raw = vec![ED25519_TYPE];
        raw.extend_from_slice(&self.seed);
        format!("{PRIVATE_PREFIX}{}+{}+{}", self.name, hex(&self.id), B64.encode(raw))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> Verifier {
        let mut public = [0u8; 32];
        public.copy_from_slice(self.pair.public_key().as_ref());
        Verifier { name: self.name.clone(), id: self.id, public }
    }

    /// The checkpoint of a tree of `size` with `root`, signed.
    pub fn sign(&self, size: u64, root: &Hash) -> String {
        let body = Checkpoint { origin: self.name.clone(), size, root: *root }.body();
        let mut raw = self.id.to_vec();
        raw.extend_from_slice(self.pair.sign(body.as_bytes()).as_ref());
        format!("{body}\n{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }
}

/// A log's public key: all a third party needs to check its checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    id: [u8; 4],
    public: [u8; 32],
}

impl Verifier {
    /// Reads `name+hexid+base64(0x01 || public key)`.
    pub fn parse(text: &str) -> Result<Verifier, NoteError> {
        let (name, id, public) = parse_key_text(text)?;
        if key_id(&name, &public) != id {
            return Err(NoteError::Key("the key id does not match the key".into()));
        }
        Ok(Verifier { name, id, public })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> String {
        let mut raw = vec![ED25519_TYPE];
        raw.extend_from_slice(&self.public);
        format!("{}+{}+{}", self.name, hex(&self.id), B64.encode(raw))
    }

    /// The checkpoint in `note`, if this key signed it. Signatures of other
    /// keys (witnesses, say) are ignored, as the signed-note rules say.
    pub fn open(&self, note: &str) -> Result<Checkpoint, NoteError> {
        let cp = Checkpoint::parse_body(self.verified_text(note)?)?;
        if cp.origin != self.name {
            return Err(NoteError::OtherLog { found: cp.origin, wanted: self.name.clone() });
        }
        Ok(cp)
    }

    /// The text of any signed note this key signed.
    pub fn verified_text<'n>(&self, note: &'n str) -> Result<&'n str, NoteError> {
        let (body, sigs) = split_note(note)?;
        let line = sigs
            .iter()
            .find(|l| l.name == self.name && l.id == self.id)
            .ok_or_else(|| NoteError::NotSigned(self.name.clone()))?;
        UnparsedPublicKey::new(&ED25519, &self.public)
            .verify(body.as_bytes(), &line.signature)
            .map_err(|_| NoteError::BadSignature(self.name.clone()))?;
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::from_seed("vtj.example/audit", [7; 32]).unwrap()
    }

    #[test]
    fn a_signed_checkpoint_opens_with_the_public_key_only() {
        let s = signer();
        let note = s.sign(42, &[9; 32]);
        assert!(note.starts_with(
            "vtj.example/audit\n42\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n\u{2014} vtj.example/audit "
        ));
        let v = Verifier::parse(&s.verifier().text()).unwrap();
        assert_eq!(v.open(&note).unwrap(), Checkpoint { origin: "vtj.example/audit".into(), size: 42, root: [9; 32] });
        assert_eq!(read_unverified(&note).unwrap().size, 42);
    }

    #[test]
    fn an_altered_or_foreign_checkpoint_is_refused() {
        let s = signer();
        let v = s.verifier();
        let note = s.sign(42, &[9; 32]);
        let altered = note.replacen("\n42\n", "\n43\n", 1);
        assert_eq!(v.open(&altered), Err(NoteError::BadSignature("vtj.example/audit".into())));
        let other = Signer::from_seed("vtj.example/audit", [8; 32]).unwrap();
        assert_eq!(v.open(&other.sign(42, &[9; 32])), Err(NoteError::NotSigned("vtj.example/audit".into())));
        assert!(matches!(v.open("no blank line"), Err(NoteError::Malformed(_))));
        assert!(matches!(v.open("a\n1\nAA==\n\nno dash\n"), Err(NoteError::Malformed(_))));
    }

    #[test]
    fn keys_round_trip_through_their_texts() {
        let s = signer();
        let again = Signer::from_private_text(&s.private_text()).unwrap();
        assert_eq!(again.verifier(), s.verifier());
        assert_eq!(Verifier::parse(&s.verifier().text()).unwrap(), s.verifier());
        assert!(Verifier::parse("name+00000000+AQ==").is_err());
        let t = s.verifier().text();
        let wrong_id = format!("{}+ffffffff+{}", s.name(), t.rsplit('+').next().unwrap());
        assert!(Verifier::parse(&wrong_id).is_err());
        assert!(Signer::from_seed("has space", [1; 32]).is_err());
        assert!(!format!("{s:?}").contains(&B64.encode([7u8; 32])));
    }

    #[test]
    fn go_sumdb_note_example_verifies() {
        // The example key and note of golang.org/x/mod/sumdb/note's
        // documentation: key id, key text and signature as the format's
        // reference implementation makes them.
        let v = Verifier::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap();
        let note = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n\
                    \n\
                    \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        assert!(v.verified_text(note).unwrap().starts_with("If you think"));
        assert_eq!(
            v.verified_text(&note.replace("think", "know")),
            Err(NoteError::BadSignature("PeterNeumann".into()))
        );
    }
}
