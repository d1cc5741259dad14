//! What a client reads from a service's answer header, and a third party
//! from a proof file: checkpoint notes and proof hashes. Never panics; a
//! note the key opens is exactly one the key signed; proof checks of any
//! shape end in a verdict.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vtj_tlog::tree::{verify_consistency, verify_inclusion};

fuzz_target!(|data: &[u8]| {
    let signer = vtj_store::testsuite::test_signer();
    let key = signer.verifier();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = vtj_tlog::note::read_unverified(text);
        if let Ok(cp) = key.open(text) {
            assert_eq!(key.open(&signer.sign(cp.size, &cp.root)).ok(), Some(cp));
        }
        let _ = vtj_tlog::Verifier::parse(text);
        let _ = vtj_tlog::Signer::from_private_text(text);
    }
    if data.len() >= 16 {
        let a = u64::from_le_bytes(data[..8].try_into().unwrap_or_default());
        let b = u64::from_le_bytes(data[8..16].try_into().unwrap_or_default());
        let hashes: Vec<[u8; 32]> = data[16..].chunks_exact(32).map(|c| c.try_into().unwrap_or_default()).collect();
        let (first, rest) = hashes.split_first().map_or(([0; 32], &[][..]), |(f, r)| (*f, r));
        let _ = verify_inclusion(&first, a, b, rest, &first);
        let _ = verify_consistency(a, b, &first, &first, rest);
    }
});
