//! The fixed-width record layer: never panics, and what it reads it writes
//! back byte for byte (the property the conformance files are held to).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(lines) = vtj_format::read(data) {
        assert_eq!(vtj_format::write(&lines), data, "read then write changed the bytes");
    }
});
