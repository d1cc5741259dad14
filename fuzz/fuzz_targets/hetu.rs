//! Hetu parsing: never panics; whatever it accepts prints back to a string
//! that parses to the same hetu, with a real birth date.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vtj_core::Hetu;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(h) = Hetu::parse(s) {
        let printed = h.to_string();
        assert_eq!(printed.len(), 11, "{s:?} printed as {printed:?}");
        assert_eq!(Hetu::parse(&printed).ok(), Some(h), "{s:?} does not survive printing");
        let _ = h.birth_date();
    }
});
