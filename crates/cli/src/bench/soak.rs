//! `vtj soak`: a bounded load run. Many recipients, each with a permit for
//! one wellbeing services county, load their initial data and then poll for
//! changes while events are appended all along. Every interval prints
//! requests, changes and the service's resident memory; the run fails if
//! any request failed.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use time::{Date, Month};
use vtj_api::admin::{self, PermitSpec};

use super::measure::{current_rss_kib, pin_current_thread};
use super::Server;

#[derive(Args)]
pub struct SoakArgs {
    /// Where to keep the database; a fresh temporary directory if not given.
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    #[arg(long, default_value_t = 3.0)]
    minutes: f64,
    /// Concurrent recipients (each county's permit is shared by ceil(N/21) of them).
    #[arg(long, default_value_t = 32)]
    recipients: usize,
    #[arg(long, default_value_t = 50_000)]
    persons: u64,
    /// Seconds between printed rows.
    #[arg(long, default_value_t = 10)]
    every: u64,
}

#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    errors: AtomicU64,
    persons: AtomicU64,
    changes: AtomicU64,
    events: AtomicU64,
}

pub fn run(args: SoakArgs) -> Result<()> {
    anyhow::ensure!(args.recipients > 0 && args.minutes > 0.0, "--recipients and --minutes must be positive");
    let (dir, _tmp) = crate::work_dir(args.dir.clone())?;
    let pinned = std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    if pinned {
        pin_current_thread(1)?;
    }
    let db = dir.join("vtj-soak.db");
    super::measure::remove_sqlite_files(&db);
    let soakers = prepare(&db, args.persons, args.recipients)?;
    let exe = std::env::current_exe()?;
    let config = super::signing_config(&dir, "vtj-soak", "")?;
    let server = Server::start(&exe, &db.display().to_string(), true, pinned, Some(&config))?;
    let pid = server.pid();
    println!(
        "vtj soak: {} recipients, {} persons, {:.1} min; service on CPU 0, recipients and ingestion on CPU 1",
        args.recipients, args.persons, args.minutes
    );

    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let ingestion = {
        let (db, counts, stop) = (db.clone(), counts.clone(), stop.clone());
        std::thread::spawn(move || ingest(&db, &counts, &stop))
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let recipients: Vec<_> = soakers
        .into_iter()
        .map(|who| {
            let (base, counts, stop) = (server.base.clone(), counts.clone(), stop.clone());
            rt.spawn(recipient(base, who, counts, stop))
        })
        .collect();

    let started = Instant::now();
    let total = Duration::from_secs_f64(args.minutes * 60.0);
    let mut rss = Vec::new();
    let mut last = (0, 0, 0, 0);
    println!(
        "{:>6} {:>10} {:>10} {:>10} {:>9} {:>7} {:>11}",
        "t (s)", "requests/s", "persons/s", "changes/s", "events/s", "errors", "service RSS"
    );
    rt.block_on(async {
        while started.elapsed() < total {
            tokio::time::sleep(Duration::from_secs(args.every)).await;
            let now = (
                counts.requests.load(Ordering::Relaxed),
                counts.persons.load(Ordering::Relaxed),
                counts.changes.load(Ordering::Relaxed),
                counts.events.load(Ordering::Relaxed),
            );
            let per = |a: u64, b: u64| (a - b) as f64 / args.every as f64;
            let kib = current_rss_kib(pid)?;
            rss.push(kib);
            println!(
                "{:>6.0} {:>10.0} {:>10.0} {:>10.0} {:>9.0} {:>7} {:>7} MiB",
                started.elapsed().as_secs_f64(),
                per(now.0, last.0),
                per(now.1, last.1),
                per(now.2, last.2),
                per(now.3, last.3),
                counts.errors.load(Ordering::Relaxed),
                kib >> 10
            );
            last = now;
        }
        anyhow::Ok(())
    })?;
    stop.store(true, Ordering::Relaxed);
    for r in recipients {
        rt.block_on(r).context("a recipient task failed")?;
    }
    ingestion.join().map_err(|_| anyhow::anyhow!("the ingestion thread panicked"))??;
    let peak = server.stop()?;

    let errors = counts.errors.load(Ordering::Relaxed);
    let third = rss.len() / 3;
    let (early, late) = (rss[..third.max(1)].iter().max(), rss[rss.len() - third.max(1)..].iter().max());
    println!(
        "\n{} requests, {} errors; {} persons and {} changes served, {} events appended; service RSS {} MiB in the first third, {} MiB in the last, peak {} MiB",
        counts.requests.load(Ordering::Relaxed),
        errors,
        counts.persons.load(Ordering::Relaxed),
        counts.changes.load(Ordering::Relaxed),
        counts.events.load(Ordering::Relaxed),
        early.copied().unwrap_or(0) >> 10,
        late.copied().unwrap_or(0) >> 10,
        peak >> 10
    );
    if errors > 0 {
        bail!("{errors} requests failed under load");
    }
    Ok(())
}

/// A recipient of the soak: its county's municipalities and its user.
struct Soaker {
    kunnat: Vec<String>,
    user: String,
    password: String,
}

/// The population and, per recipient, a county permit and its user.
fn prepare(db: &Path, persons: u64, recipients: usize) -> Result<Vec<Soaker>> {
    let mut store = vtj_store::open(&db.display().to_string())?;
    let start = Date::from_calendar_date(2026, Month::January, 1)?;
    vtj_sim::generate(&mut *store, &vtj_sim::GenerateConfig { persons, seed: 5, date: start }, &mut |_| {})?;
    let regions = vtj_core::kunta::regions();
    let mut out = Vec::new();
    for i in 0..recipients {
        let region = regions[i % regions.len()].code;
        let (tunnus, permit) = (format!("R{i}"), format!("P{i}-{region}"));
        admin::add_recipient(&mut *store, &tunnus, "soak recipient")?;
        admin::add_permit(
            &mut *store,
            &PermitSpec {
                tunnus: permit.clone(),
                luvansaaja: tunnus.clone(),
                kayttotarkoitus: "soak".into(),
                tuote: "PSOP".into(),
                ryhmat: None,
                kunnat: vec![],
                hyvinvointialueet: vec![region.into()],
                hetulista: false,
                turvakielto_oikeus: i % 4 == 0,
                alkaen: start,
                asti: None,
                ylalupa: None,
            },
        )?;
        let user = format!("soak-{i}");
        let password = admin::add_user(&mut *store, &permit, &user)?;
        let kunnat = vtj_core::kunta::region_kunnat(region)?.iter().map(|k| k.to_string()).collect();
        out.push(Soaker { kunnat, user, password });
    }
    Ok(out)
}

/// A day of life every 200 ms, at ten times the real rates.
fn ingest(db: &Path, counts: &Counts, stop: &AtomicBool) -> Result<()> {
    let mut store = vtj_store::open(&db.display().to_string())?;
    while !stop.load(Ordering::Relaxed) {
        let r = vtj_sim::simulate(&mut *store, &vtj_sim::SimulateConfig { days: 1, intensity: 10.0 }, &mut |_| {})?;
        counts.events.fetch_add(r.events, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// Loads the initial data, then polls changes every half second, again
/// and again; a fresh initial load now and then, as a recipient rebuilding.
async fn recipient(base: String, who: Soaker, counts: Arc<Counts>, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::new();
    let post = |call: &str, body: serde_json::Value| {
        let (http, counts) = (http.clone(), counts.clone());
        let url = format!("{base}/api/v1{call}");
        let (user, password) = (who.user.clone(), who.password.clone());
        async move {
            counts.requests.fetch_add(1, Ordering::Relaxed);
            let sent = http.post(url).basic_auth(user, Some(password)).json(&body).timeout(Duration::from_secs(30));
            let answer = match sent.send().await {
                Ok(r) if r.status().is_success() => r.json::<serde_json::Value>().await.ok(),
                _ => None,
            };
            if answer.is_none() {
                counts.errors.fetch_add(1, Ordering::Relaxed);
            }
            answer
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let mut cursor = None;
        let mut body = serde_json::json!({ "kuntakoodit": who.kunnat });
        while let Some(page) = post("/perustiedot-vko", body.clone()).await {
            counts.persons.fetch_add(page["perustiedot"].as_array().map_or(0, Vec::len) as u64, Ordering::Relaxed);
            match page["jatkoavain"].as_str() {
                Some(t) => body["jatkoavain"] = t.into(),
                None => {
                    cursor = page["viimeisinKirjausavain"].as_i64();
                    break;
                }
            }
        }
        let Some(mut cursor) = cursor else { continue };
        for _ in 0..120 {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let Some(page) = post("/muutokset", serde_json::json!({ "viimeisinKirjausavain": cursor })).await else {
                break;
            };
            counts.changes.fetch_add(page["muutokset"].as_array().map_or(0, Vec::len) as u64, Ordering::Relaxed);
            cursor = page["viimeisinKirjausavain"].as_i64().unwrap_or(cursor);
            if page["ajanTasalla"].as_bool() == Some(true) {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
