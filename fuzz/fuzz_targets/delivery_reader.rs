//! A whole .PTT/.MTT delivery as a recipient receives it: the reader either
//! yields items or a clear error, never panics and never loops.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vtj_format::delivery::DeliveryReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = DeliveryReader::new(data) else { return };
    let _ = reader.header();
    // Each item consumes at least one line, so this bounds the loop.
    for _ in 0..=data.len() {
        match reader.next_item() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return,
        }
    }
    panic!("more items than lines");
});
