//! The service's hot paths without HTTP: one page of initial data and one
//! page of changes, from a SQLite store through the engine to DVV's JSON
//! bytes. `vtj bench` measures the same end to end; these isolate the
//! service's own share.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use time::{Date, Month};
use vtj_api::admin::{self, PermitSpec};
use vtj_core::Scope;
use vtj_disclose::pages::{area_page, changes};
use vtj_disclose::{Limits, LogCache};
use vtj_sim::{GenerateConfig, SimulateConfig};
use vtj_store::{SqliteStore, Store};
use vtj_wire::{ChangeRecordView, MuutoksetResponse, PersonRecordView, PerustiedotVkoResponse};

struct Fixture {
    _dir: tempfile::TempDir,
    store: SqliteStore,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut store = SqliteStore::open(&dir.path().join("vtj.db")).expect("store");
    let start = Date::from_calendar_date(2026, Month::January, 1).expect("date");
    vtj_sim::generate(&mut store, &GenerateConfig { persons: 20_000, seed: 3, date: start }, &mut |_| {})
        .expect("generate");
    vtj_sim::simulate(&mut store, &SimulateConfig { days: 10, intensity: 60.0 }, &mut |_| {}).expect("simulate");
    admin::add_recipient(&mut store, "R", "bench").expect("recipient");
    admin::add_permit(&mut store, &PermitSpec::whole_country("P", "R", "bench", start)).expect("permit");
    Fixture { _dir: dir, store }
}

fn pages(c: &mut Criterion) {
    let f = fixture();
    let permit = f.store.permit("P").expect("read").expect("permit");
    let Scope::Kuntarajaus { kunnat } = &permit.rajaus else { unreachable!("a whole-country permit") };
    let limits = Limits { page: 1_000, vko_page: 5_000, ..Limits::default() };
    let today = Date::from_calendar_date(2026, Month::June, 1).expect("date");

    let page_json = |log: &LogCache| {
        let (page, _) = changes(&f.store, log, &permit, 0, None, None, &limits, today).expect("page");
        assert_eq!(page.changes.len(), 1_000);
        let muutokset: Vec<_> = page
            .changes
            .iter()
            .filter_map(|c| ChangeRecordView::new(c.hetu.as_str(), c.registered, &c.disclosure))
            .collect();
        let answer = MuutoksetResponse { viimeisin_kirjausavain: page.last, muutokset, ajan_tasalla: false };
        serde_json::to_vec(&answer).expect("json")
    };
    let mut g = c.benchmark_group("service");
    g.throughput(Throughput::Elements(1_000));
    // The first recipient to read a range decodes it ...
    let cold = LogCache::disabled();
    g.bench_function("changes 1000 to JSON", |b| b.iter_batched(|| (), |()| page_json(&cold), BatchSize::SmallInput));
    // ... the others of any permit find it decoded in the shared log cache.
    let shared = LogCache::new(vtj_disclose::log_cache::DEFAULT_ENTRIES);
    page_json(&shared);
    g.bench_function("changes 1000 to JSON, log shared", |b| {
        b.iter_batched(|| (), |()| page_json(&shared), BatchSize::SmallInput)
    });
    g.throughput(Throughput::Elements(5_000));
    g.bench_function("area page 5000 to JSON", |b| {
        b.iter(|| {
            let (page, _) = area_page(&f.store, &permit, kunnat, None, &limits, today).expect("page");
            assert_eq!(page.persons.len(), 5_000);
            let perustiedot: Vec<_> = page
                .persons
                .iter()
                .map(|p| PersonRecordView { henkilotunnus: p.hetu.as_str(), groups: &p.groups })
                .collect();
            let answer = PerustiedotVkoResponse {
                perustiedot,
                ajan_tasalla: false,
                viimeisin_kirjausavain: Some(page.snapshot),
                jatkoavain: page.next,
            };
            serde_json::to_vec(&answer).expect("json")
        })
    });
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("changes_since 1000 (store only)", |b| {
        b.iter(|| f.store.changes_since(vtj_store::Cursor(0), 1_000).expect("read"))
    });
    g.bench_function("summaries_since 1000 (store only)", |b| {
        b.iter(|| f.store.summaries_since(vtj_store::Cursor(0), 1_000).expect("read"))
    });
    g.finish();
}

criterion_group!(benches, pages);
criterion_main!(benches);
