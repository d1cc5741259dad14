//! What a service answers, as the client reads it: any bytes as an answer
//! of `/muutokset`, `/perustiedot` or `/perustiedot-vko`, and every change
//! record applied to what a recipient holds. Hostile answers are refused or
//! applied; never a panic, never an endless loop.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vtj_wire::{Held, MuutoksetResponse, PerustiedotResponse, PerustiedotVkoResponse};

fuzz_target!(|data: &[u8]| {
    if let Ok(answer) = serde_json::from_slice::<MuutoksetResponse>(data) {
        let mut held = Held::default();
        for record in &answer.muutokset {
            held.apply(record);
            let _ = record.hetu_correction();
            let _ = record.kotikunta();
        }
        let again: Held = serde_json::from_str(&serde_json::to_string(&held).expect("held writes")).expect("held reads");
        assert_eq!(again, held, "what is held survives the register");
    }
    if let Ok(answer) = serde_json::from_slice::<PerustiedotResponse>(data) {
        for p in &answer.perustiedot {
            let held = Held::from_record(p);
            held.iter().for_each(|g| drop(g.typed()));
        }
    }
    let _ = serde_json::from_slice::<PerustiedotVkoResponse>(data);
});
