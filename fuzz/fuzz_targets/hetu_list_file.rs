//! A recipient's uploaded hetu-list file: refused whole or read whole; every
//! hetu it yields is valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vtj_core::Hetu;

fuzz_target!(|data: &[u8]| {
    match vtj_format::htt::read_hetu_list(data) {
        Ok(upload) => {
            for h in upload.add.iter().chain(&upload.remove) {
                assert_eq!(Hetu::parse(&h.to_string()).ok(), Some(*h));
            }
        }
        Err(e) => assert!(!e.problems.is_empty(), "a refusal must say why"),
    }
});
