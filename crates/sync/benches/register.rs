//! The register's share of the sync client's work: a page of 1,000
//! changes (moves, each to a different person) applied to a SQLite
//! register of 20,000 whole persons and committed with its cursor, as
//! `vtj sync` does per page; and an initial load of 100,000 persons in
//! pages of 5,000, their hetus in no order (the service sends an area by
//! municipality and its own id). The disk's fsyncs included.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::json;
use time::{Date, Month};
use vtj_core::Hetu;
use vtj_sync::{Mode, Register};
use vtj_wire::{ChangeRecord, PersonRecord};

const PERSONS: usize = 20_000;
const PAGE: usize = 1_000;
const LOADED: usize = 100_000;
const LOAD_PAGE: usize = 5_000;

fn hetu(i: usize) -> String {
    let birth = Date::from_calendar_date(1950 + (i / 36_000) as i32, Month::January, 1).expect("a date")
        + time::Duration::days((i / 100 % 360) as i64);
    Hetu::from_parts(birth, '-', 900 + (i % 100) as u16).expect("a test-range hetu").to_string()
}

/// Some 2.5 KB stored, about what the simulated whole person averages,
/// with names and places that differ from person to person.
fn person(i: usize) -> PersonRecord {
    let groups: Vec<_> = (0..18)
        .map(|g| {
            json!({
                "tietoryhma": format!("RYHMA_{:02}", g / 2),
                "arvo": format!("arvo {} äöå {}", i * 31 + g, i % 97),
                "kuntakoodi": "091",
                "alkupv": {"arvo": format!("20{:02}-01-{:02}", i % 25, 1 + g), "tarkkuus": "PAIVA"},
                "nimi": {"fi": format!("Nimi{}", i % 1013), "sv": format!("Namn{}", i % 587)},
            })
        })
        .collect();
    serde_json::from_value(json!({"henkilotunnus": hetu(i), "tietoryhmat": groups})).expect("a person")
}

/// A move within the area: the new address added, the old one ended.
fn change(i: usize, round: usize) -> ChangeRecord {
    serde_json::from_value(json!({
        "henkilotunnus": hetu(i),
        "muutospv": "2026-01-01T00:00:00.000Z",
        "tietoryhmat": [
            {"tietoryhma": "VAKINAINEN_KOTIMAINEN_OSOITE", "muutosattribuutti": "LISATTY",
             "katunimi": {"fi": format!("Uusikatu {round}")}, "postinumero": "00100"},
            {"tietoryhma": "VAKINAINEN_KOTIMAINEN_OSOITE", "muutosattribuutti": "MUUTETTU",
             "katunimi": {"fi": "Vanha"}, "loppupv": {"arvo": "2025-12-31", "tarkkuus": "PAIVA"}},
            {"tietoryhma": "KOTIKUNTA", "muutosattribuutti": "MUUTETTU", "kuntakoodi": "091"},
        ]
    }))
    .expect("a change")
}

fn register(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut reg = Register::open(&dir.path().join("register.db")).expect("a register");
    reg.bind("bench", Mode::Area(["091".to_string()].into())).expect("bound");
    for start in (0..PERSONS).step_by(5_000) {
        let page = (start..start + 5_000).map(person).collect();
        reg.store_initial_page(page, 0, Some("more")).expect("stored");
    }
    reg.store_initial_page(Vec::new(), 0, None).expect("loaded");

    let mut g = c.benchmark_group("register");
    g.throughput(Throughput::Elements(PAGE as u64));
    let mut round = 0;
    g.bench_function("a page of 1,000 changes applied and committed (SQLite, 20,000 persons)", |b| {
        b.iter_batched(
            || {
                round += 1;
                // Each page names other persons, spread over the whole file.
                let page: Vec<_> =
                    (0..PAGE).map(|k| change((k * (PERSONS / PAGE) + round * 7) % PERSONS, round)).collect();
                (page, round as i64)
            },
            |(page, cursor)| reg.apply_page(page, cursor).expect("applied"),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn initial_load(c: &mut Criterion) {
    // A stride coprime with LOADED: every person once, hetus scattered.
    let order: Vec<usize> = (0..LOADED).map(|i| i * 7_919 % LOADED).collect();
    let mut g = c.benchmark_group("register");
    g.throughput(Throughput::Elements(LOADED as u64));
    g.sample_size(10);
    g.bench_function("an initial load of 100,000 persons in pages of 5,000 (SQLite, hetus in no order)", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let mut reg = Register::open(&dir.path().join("register.db")).expect("a register");
                reg.bind("bench", Mode::Area(["091".to_string()].into())).expect("bound");
                let pages: Vec<Vec<PersonRecord>> =
                    order.chunks(LOAD_PAGE).map(|c| c.iter().map(|&i| person(i)).collect()).collect();
                (dir, reg, pages)
            },
            |(dir, mut reg, pages)| {
                for page in pages {
                    reg.store_initial_page(page, 0, Some("more")).expect("stored");
                }
                reg.store_initial_page(Vec::new(), 0, None).expect("loaded");
                (dir, reg)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, register, initial_load);
criterion_main!(benches);
