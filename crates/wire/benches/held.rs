//! The sync client's share of a change: a person's stored text with one
//! change record applied. Before: decode the whole person into group
//! objects, `Held::apply`, serialise it all again; now `apply_stored`
//! changes the text where the record says and copies the rest.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use vtj_wire::held::apply_stored;
use vtj_wire::{ChangeRecord, Held, PersonRecord};

/// A person of 20 group instances, some 3 KiB stored, about what the
/// simulated whole person averages.
fn person() -> PersonRecord {
    let groups: Vec<_> = (0..20)
        .map(|i| {
            json!({
                "tietoryhma": format!("RYHMA_{:02}", i / 2),
                "arvo": format!("arvo {i} äöå"),
                "kuntakoodi": "091",
                "alkupv": {"arvo": "2020-01-01", "tarkkuus": "PAIVA"},
                "nimi": {"fi": "Helsinki", "sv": "Helsingfors"},
            })
        })
        .collect();
    serde_json::from_value(json!({"henkilotunnus": "010181-900C", "tietoryhmat": groups})).expect("a person")
}

/// A move: the new address added, the old one ended, the municipality changed.
fn change() -> ChangeRecord {
    serde_json::from_value(json!({
        "henkilotunnus": "010181-900C",
        "muutospv": "2026-01-01T00:00:00.000Z",
        "tietoryhmat": [
            {"tietoryhma": "VAKINAINEN_KOTIMAINEN_OSOITE", "muutosattribuutti": "LISATTY", "katunimi": {"fi": "Uusikatu"}},
            {"tietoryhma": "VAKINAINEN_KOTIMAINEN_OSOITE", "muutosattribuutti": "MUUTETTU", "katunimi": {"fi": "Vanha"},
             "loppupv": {"arvo": "2025-12-31", "tarkkuus": "PAIVA"}},
            {"tietoryhma": "RYHMA_03", "muutosattribuutti": "MUUTETTU", "arvo": "uusi"},
        ]
    }))
    .expect("a change")
}

fn held(c: &mut Criterion) {
    let stored = vtj_wire::held::stored_record(&person()).expect("stored");
    let change = change();
    let mut g = c.benchmark_group("register");
    g.throughput(Throughput::Elements(1));
    g.bench_function("a change to a stored person: decode, apply, encode", |b| {
        b.iter(|| {
            let mut h: Held = serde_json::from_str(&stored).expect("decode");
            h.apply(&change);
            serde_json::to_string(&h).expect("encode")
        })
    });
    g.bench_function("a change to a stored person: apply_stored", |b| {
        b.iter(|| apply_stored(&stored, &change).expect("apply"))
    });
    g.finish();
}

criterion_group!(benches, held);
criterion_main!(benches);
