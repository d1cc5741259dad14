//! Fault injection with the real binary: the service and the event
//! ingestion (`vtj simulate`) killed with SIGKILL at random moments, and the
//! database's disk full or read-only. Nothing committed is lost, the feed
//! never shows a change twice or skips one, refusals are clean (no answer
//! leaves unlogged) and the audit chain verifies afterwards.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

use vtj_api::admin::{self, PermitSpec};
use vtj_store::{Cursor, SqliteStore, Store};

fn vtj() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vtj"))
}

/// A small deterministic sequence for the kill delays, in milliseconds,
/// spread over `span`.
fn delays(n: usize, seed: u64, span: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            20 + x % span.max(1)
        })
        .collect()
}

/// The user of the whole country's permit.
const USER: &str = "faults";

/// Every municipality: the whole country's permit's `/perustiedot-vko` body.
fn whole_country(jatkoavain: Option<&str>) -> serde_json::Value {
    let kunnat: Vec<String> = vtj_core::kunta::kunnat().iter().map(|k| k.code.to_string()).collect();
    match jatkoavain {
        Some(j) => serde_json::json!({ "kuntakoodit": kunnat, "jatkoavain": j }),
        None => serde_json::json!({ "kuntakoodit": kunnat }),
    }
}

fn changes_after(cursor: i64) -> serde_json::Value {
    serde_json::json!({ "viimeisinKirjausavain": cursor })
}

/// A population with one recipient whose permit covers the whole country;
/// returns its user's password.
fn prepare(db: &Path, persons: u64) -> String {
    let o = vtj().args(["generate", "--db", db.to_str().unwrap(), "--persons", &persons.to_string()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut s = SqliteStore::open(db).unwrap();
    admin::add_recipient(&mut s, "R", "faults").unwrap();
    let start = time::Date::from_calendar_date(2026, time::Month::January, 1).unwrap();
    admin::add_permit(&mut s, &PermitSpec::whole_country("P", "R", "faults", start)).unwrap();
    admin::add_user(&mut s, "P", USER).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The audit key beside a database, made the first time.
fn audit_key(db: &Path) -> String {
    let key = db.with_extension("key");
    if !key.exists() {
        let o = vtj().args(["admin", "keygen", "--out", key.to_str().unwrap()]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    key.to_str().unwrap().to_string()
}

/// `vtj serve` on a fixed port, returned once it listens.
fn serve(db: &Path, port: u16) -> Child {
    let mut child = vtj()
        .args(["serve", "--db", db.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")])
        .args(["--audit-key", &audit_key(db)])
        .args(["--rate-per-second", "100000", "--rate-burst", "100000"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("vtj serve stopped before listening").unwrap();
        if line.starts_with("vtj serve: http://") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    child
}

fn log_cursors(db: &Path) -> Vec<i64> {
    let s = SqliteStore::open(db).unwrap();
    let mut out = Vec::new();
    loop {
        let page = s.changes_since(Cursor(out.last().copied().unwrap_or(0)), 10_000).unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page.iter().map(|e| e.cursor.0));
    }
}

async fn post(http: &reqwest::Client, url: &str, body: serde_json::Value, password: &str) -> Option<serde_json::Value> {
    let sent = http.post(url).basic_auth(USER, Some(password)).json(&body).timeout(Duration::from_secs(5));
    let r = sent.send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

#[test]
fn killed_service_and_ingestion_lose_nothing_and_show_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vtj.db");
    let token = prepare(&db, 20_000);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = serve(&db, port);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // How many of the clients' calls failed: the reader's and the loader's.
    let felt = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);

    // A recipient following the feed through every crash, keeping every change served.
    let reader = {
        let (base, token, stop, felt) = (base.clone(), token.clone(), stop.clone(), felt.clone());
        rt.spawn(async move {
            let http = reqwest::Client::new();
            let (mut cursor, mut seen) = (0i64, Vec::<serde_json::Value>::new());
            let url = format!("{base}/api/v1/muutokset");
            loop {
                let Some(page) = post(&http, &url, changes_after(cursor), &token).await else {
                    felt[0].fetch_add(1, SeqCst);
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    continue;
                };
                seen.extend(page["muutokset"].as_array().unwrap().iter().cloned());
                cursor = page["viimeisinKirjausavain"].as_i64().unwrap();
                if page["ajanTasalla"].as_bool().unwrap() {
                    if stop.load(SeqCst) {
                        return seen;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        })
    };
    // A recipient loading initial data over and over: the service dies under it.
    let loader = {
        let (base, token, stop, felt) = (base.clone(), token.clone(), stop.clone(), felt.clone());
        rt.spawn(async move {
            let http = reqwest::Client::new();
            let mut loads = 0u64;
            let url = format!("{base}/api/v1/perustiedot-vko");
            while !stop.load(SeqCst) {
                let mut next = whole_country(None);
                loop {
                    match post(&http, &url, next.clone(), &token).await {
                        None => {
                            felt[1].fetch_add(1, SeqCst);
                            tokio::time::sleep(Duration::from_millis(30)).await;
                            break;
                        }
                        Some(page) => match page["jatkoavain"].as_str() {
                            Some(t) => next = whole_country(Some(t)),
                            None => {
                                loads += 1;
                                break;
                            }
                        },
                    }
                }
            }
            loads
        })
    };

    let simulate = || {
        let mut c = vtj();
        c.args(["simulate", "--db", db.to_str().unwrap(), "--days", "3", "--intensity", "40"]);
        c
    };
    // The kill moments scale with this machine's speed under this load: one
    // whole run, not killed, sets the span they are spread over.
    let started = std::time::Instant::now();
    let o = simulate().output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let whole = started.elapsed().as_millis() as u64;
    let calibrated = log_cursors(&db).len();

    let (mut ingestion_kills, mut service_kills, mut unfelt_kills) = (0, 0, 0);
    for (i, delay) in delays(16, 0x2545_F491_4F6C_DD1D, whole * 6 / 5).into_iter().enumerate() {
        let mut sim = simulate().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        if sim.try_wait().unwrap().is_none() {
            ingestion_kills += 1;
        }
        sim.kill().unwrap();
        sim.wait().unwrap();
        let committed = log_cursors(&db);
        if i % 2 == 1 {
            std::thread::sleep(Duration::from_millis(delay / 2));
            let before = felt.each_ref().map(|n| n.load(SeqCst));
            server.kill().unwrap();
            server.wait().unwrap();
            service_kills += 1;
            // The service stays down until both clients have felt the crash:
            // a restart quicker than the loader's turn between two pages
            // would otherwise go unnoticed by it.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while felt.iter().zip(before).any(|(n, b)| n.load(SeqCst) == b) {
                if std::time::Instant::now() > deadline {
                    unfelt_kills += 1;
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            server = serve(&db, port);
        }
        let now = log_cursors(&db);
        assert!(now.starts_with(&committed), "round {i}: committed events lost or reordered after a kill");
        assert!(now.windows(2).all(|w| w[0] < w[1]));
    }

    stop.store(true, SeqCst);
    let seen = rt.block_on(reader).unwrap();
    let loads = rt.block_on(loader).unwrap();
    let [failures, broken] = felt.each_ref().map(|n| n.load(SeqCst));
    // What a recipient reading from the start now, with nothing failing, gets.
    let clean = rt.block_on(async {
        let http = reqwest::Client::new();
        let (mut cursor, mut out) = (0i64, Vec::new());
        let url = format!("{base}/api/v1/muutokset");
        loop {
            let page = post(&http, &url, changes_after(cursor), &token).await.expect("the service is up");
            out.extend(page["muutokset"].as_array().unwrap().iter().cloned());
            cursor = page["viimeisinKirjausavain"].as_i64().unwrap();
            if page["ajanTasalla"].as_bool().unwrap() {
                return out;
            }
        }
    });
    server.kill().unwrap();
    server.wait().unwrap();

    let all = log_cursors(&db);
    assert!(
        all.len() >= calibrated + 100,
        "the killed ingestion runs committed too few whole days: {} events after the whole run's {calibrated} \
         (it took {whole} ms)",
        all.len() - calibrated
    );
    assert!(clean.len() * 10 > all.len() * 9, "nearly every change is in the whole-country permit's feed");
    // The records carry no cursor: the sequence itself must be the clean one.
    if let Some(i) = (0..seen.len().max(clean.len())).find(|&i| seen.get(i) != clean.get(i)) {
        panic!(
            "the recipient that lived through the crashes saw {:?} where a clean read has {:?} (change {i} of {})",
            seen.get(i),
            clean.get(i),
            clean.len()
        );
    }
    assert!(
        service_kills >= 8 && ingestion_kills >= 4,
        "{service_kills} service and {ingestion_kills} ingestion kills"
    );
    assert_eq!(unfelt_kills, 0, "every crash is felt by both clients ({failures}, {broken} calls failed)");
    let o = vtj().args(["audit", "verify", "--db", db.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "audit chain after the crashes: {}", String::from_utf8_lossy(&o.stderr));
    println!(
        "faults: {ingestion_kills} ingestion kills, {service_kills} service kills; {} changes followed, \
         {loads} whole initial loads, {broken} loads cut, {failures} feed calls failed; audit chain verified",
        seen.len()
    );
}

/// A tmpfs of `mib` MiB mounted at a fresh directory, or `None` where this
/// user may not mount (then the test says so and checks nothing).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(under: &Path, mib: u32) -> Option<Tmpfs> {
        let at = under.join("small");
        std::fs::create_dir_all(&at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs(at))
    }

    fn remount(&self, mode: &str) {
        let ok = Command::new("mount").args(["-o", &format!("remount,{mode}")]).arg(&self.0).status().unwrap();
        assert!(ok.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 64 << 10];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    filler
}

fn integrity_ok(db: &Path) -> bool {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)).unwrap() == "ok"
}

#[test]
fn disk_full_and_read_only_database_are_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(dir.path(), 64) else {
        println!("SKIPPED: mounting a small tmpfs needs root; disk-full and read-only faults not checked");
        return;
    };
    let db = fs.0.join("vtj.db");
    let token = prepare(&db, 3_000);
    let port = free_port();
    let mut server = serve(&db, port);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // No pooled connections: the service is restarted under the client.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let ask = |call: &str| {
        let url = format!("http://127.0.0.1:{port}/api/v1/{call}");
        let body = if call == "perustiedot-vko" { whole_country(None) } else { changes_after(0) };
        rt.block_on(async {
            let sent = http.post(&url).basic_auth(USER, Some(&token)).json(&body);
            let r = sent.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
            (r.status().as_u16(), r.text().await.unwrap())
        })
    };
    let simulate = || vtj().args(["simulate", "--db", db.to_str().unwrap(), "--days", "2"]).output().unwrap();
    assert_eq!(ask("muutokset").0, 200);
    let before = log_cursors(&db);

    // Disk full: ingestion stops with a clear error and commits nothing; the
    // service withholds answers it cannot log.
    let filler = fill(&fs.0);
    let o = simulate();
    let err = String::from_utf8_lossy(&o.stderr).to_lowercase();
    assert!(!o.status.success() && err.contains("full"), "{err}");
    let (status, body) = ask("perustiedot-vko");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("PALVELU_EI_KAYTETTAVISSA") && !body.contains("henkilotunnus"), "{body}");
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(log_cursors(&db), before, "nothing half-written");
    assert!(integrity_ok(&db));
    assert_eq!(ask("perustiedot-vko").0, 200, "serving again once there is room");
    assert!(simulate().status.success());
    let before = log_cursors(&db);

    // Read-only (a file system with open writers cannot be remounted, so the
    // service stops first): ingestion refuses cleanly; the service either
    // refuses to start, saying why, or starts and withholds every answer.
    server.kill().unwrap();
    server.wait().unwrap();
    fs.remount("ro");
    let o = simulate();
    let err = String::from_utf8_lossy(&o.stderr).to_lowercase();
    assert!(!o.status.success() && err.contains("read"), "{err}");
    let mut ro = vtj()
        .args(["serve", "--db", db.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")])
        .args(["--audit-key", &audit_key(&db)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(ro.stderr.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    // Keep reading: a closed stderr would make the service's own logging fail.
    std::thread::spawn(move || lines.for_each(drop));
    if first.starts_with("vtj serve: http://") {
        let (status, body) = ask("muutokset");
        assert_eq!(status, 503, "{body}");
        assert!(!body.contains("henkilotunnus"));
        ro.kill().unwrap();
        println!("faults: read-only database: the service starts and answers 503 {body}");
    } else {
        assert!(first.to_lowercase().contains("read"), "a refusal to start says why: {first}");
        println!("faults: read-only database: the service refuses to start: {first}");
    }
    ro.wait().unwrap();
    fs.remount("rw");
    server = serve(&db, port);
    assert_eq!(ask("muutokset").0, 200);
    assert_eq!(log_cursors(&db), before);
    assert!(integrity_ok(&db));
    server.kill().unwrap();
    server.wait().unwrap();
    let o = vtj().args(["audit", "verify", "--db", db.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
