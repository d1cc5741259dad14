//! The service's hot paths without HTTP: one page of initial data and one
//! page of changes, from a SQLite store through the engine to DVV's JSON
//! bytes. `vtj bench` measures the same end to end; these isolate the
//! service's own share, and the sync client's reading of the same answers.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use time::{Date, Month};
use vtj_api::admin::{self, PermitSpec};
use vtj_core::Scope;
use vtj_disclose::pages::{area_page, changes, shared_area, shared_changes, AreaPage, ChangesPage};
use vtj_disclose::{Limits, LogCache, PageCache, Refused};
use vtj_sim::{GenerateConfig, SimulateConfig};
use vtj_store::{AuditLog, SqliteStore, Store};
use vtj_wire::{MuutoksetResponse, PerustiedotVkoResponse};

// The service's allocator (`vtj` sets it), so that these figures are the service's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

    // The service's own writing of the answer.
    let to_json = |page: &ChangesPage| -> Result<axum::body::Bytes, Refused> {
        assert_eq!(page.changes.len(), 1_000);
        Ok(vtj_api::changes_json(page).expect("json"))
    };
    let page_json = |log: &LogCache| {
        let (page, _) = changes(&f.store, log, &permit, 0, None, None, &limits, today).expect("page");
        to_json(&page).expect("json")
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
    // ... and the others of the same kind of permit are given the page made.
    let kept = PageCache::new(vtj_disclose::page_cache::DEFAULT_BYTES);
    let given = || {
        let (page, hit) = shared_changes(&f.store, &shared, &kept, &permit, 0, &limits, today, to_json).expect("page");
        (page.value.len(), page.touched.clone(), hit)
    };
    assert!(!given().2 && given().2, "kept for the second request");
    g.bench_function("changes 1000 to JSON, page kept for the kind", |b| b.iter(given));
    g.throughput(Throughput::Elements(5_000));
    // The service's own writing of the answer, as for changes.
    let area_to_json =
        |page: &AreaPage| -> Result<axum::body::Bytes, Refused> { Ok(vtj_api::area_json(page).expect("json")) };
    let area_json = || {
        let (page, _) = area_page(&f.store, &permit, kunnat, None, &limits, today).expect("page");
        assert_eq!(page.persons.len(), 5_000);
        area_to_json(&page).expect("json")
    };
    g.bench_function("area page 5000 to JSON", |b| b.iter(area_json));
    // A load's next page, made ahead while the one before was on its way
    // (or for a permit of the same kind), is given as it was made.
    let area_kept = PageCache::new(vtj_disclose::page_cache::DEFAULT_BYTES);
    let area_given = || {
        let (page, hit) =
            shared_area(&f.store, &area_kept, &permit, kunnat, None, &limits, today, area_to_json).expect("page");
        (page.value.len(), page.touched.clone(), hit)
    };
    assert!(!area_given().2 && area_given().2, "kept for the next request");
    g.bench_function("area page 5000 to JSON, page kept", |b| b.iter(area_given));
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("changes_since 1000 (store only)", |b| {
        b.iter(|| f.store.changes_since(vtj_store::Cursor(0), 1_000).expect("read"))
    });
    g.bench_function("summaries_since 1000 (store only)", |b| {
        b.iter(|| f.store.summaries_since(vtj_store::Cursor(0), 1_000).expect("read"))
    });
    g.finish();

    // The sync client's first step with the same answers: reading them.
    let mut g = c.benchmark_group("client");
    let changes_answer = page_json(&cold);
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("changes 1000 read from JSON", |b| {
        b.iter(|| serde_json::from_slice::<MuutoksetResponse>(&changes_answer).expect("an answer"))
    });
    let area_answer = area_json();
    g.throughput(Throughput::Elements(5_000));
    g.bench_function("area page 5000 read from JSON", |b| {
        b.iter(|| serde_json::from_slice::<PerustiedotVkoResponse>(&area_answer).expect("an answer"))
    });
    g.finish();
}

/// An answer's audit entry (1,000 hetus, signed checkpoint, synced): one
/// commit per answer, and 64 answers' entries in one commit.
fn audit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut store = SqliteStore::open(&dir.path().join("audit.db")).expect("store");
    let signer = vtj_store::testsuite::test_signer();
    let entry = vtj_store::AuditRecord {
        hetus: (0..1_000).map(|n| vtj_store::testsuite::test_hetu(n).to_string()).collect(),
        records: 1_000,
        ..vtj_store::testsuite::audit_record("2026-06-01T00:00:00.000Z", 0)
    };
    let mut g = c.benchmark_group("audit");
    g.throughput(Throughput::Elements(1));
    g.bench_function("entry committed alone", |b| {
        b.iter(|| store.audit_append(&entry, Some(&signer)).expect("append"))
    });
    let together = vec![entry.clone(); 64];
    g.throughput(Throughput::Elements(64));
    g.bench_function("64 entries committed together", |b| {
        b.iter(|| store.audit_append_all(&together, Some(&signer)).expect("append"))
    });
    g.finish();
}

criterion_group!(benches, pages, audit);
criterion_main!(benches);
