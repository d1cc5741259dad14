//! `vtj bench`: the figures of BENCHMARKS.md, measured on this machine.
//!
//! Real processes over loopback, as in service: `vtj serve` pinned to CPU 0
//! and `vtj sync` loading its SQLite register pinned to CPU 1; the change
//! feed's concurrent clients run in this process, also on CPU 1, so the
//! service has one core of its own. (PostgreSQL's own processes are not
//! pinned.) Every throughput is also given as a ratio to its physical
//! reference: the same bytes through a plain loopback socket, the same rows
//! bulk-inserted into a plain SQLite table.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde::Deserialize;
use time::{Date, Month};
use vtj_api::admin::{self, PermitSpec};
use vtj_store::Backend;

mod hub;
mod measure;
pub mod soak;

use measure::{
    cpu_seconds, loopback_seconds, peak_rss_kib, percentile, pin_child, pin_current_thread, sqlite_bulk_seconds,
    wait_with_rusage, LOG_ROWS, REGISTER_ROWS,
};

#[derive(Args)]
pub struct BenchArgs {
    /// Where to keep the databases; a fresh temporary directory if not given.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Population sizes of the initial-data runs, e.g. 100000,1000000,5600000.
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    persons: Vec<u64>,
    #[arg(long, value_delimiter = ',', default_value = "sqlite")]
    backend: Vec<BenchBackend>,
    /// PostgreSQL server for the postgres runs; a database `vtj_bench_<persons>` is made afresh on it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg: String,
    /// Simulated days of change for the change-feed run (on the first population size).
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Multiplies every event rate, to give the feed enough changes.
    #[arg(long, default_value_t = 60.0)]
    intensity: f64,
    /// Concurrent change-feed clients, one run for each figure.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    clients: Vec<usize>,
    /// Pages of 1,000 changes each feed client reads at most.
    #[arg(long, default_value_t = 40)]
    feed_pages: usize,
    /// Leave out the runs with audit logging off.
    #[arg(long)]
    no_audit_comparison: bool,
    /// A county hub's figures instead (SQLite, the first population size):
    /// following upstream, and serving sixteen internal systems at once.
    #[arg(long)]
    hub: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BenchBackend {
    Sqlite,
    Postgres,
}

impl BenchBackend {
    fn name(self) -> &'static str {
        match self {
            BenchBackend::Sqlite => "sqlite",
            BenchBackend::Postgres => "postgres",
        }
    }
}

const PERMIT: &str = "BENCH-KOKO-MAA";
const RECIPIENT: &str = "BENCH";
const USER: &str = "bench";
/// Persons per /perustiedot-vko page and changes per /muutokset answer of
/// the service under test.
const INITIAL_PAGE: usize = 5_000;
const FEED_PAGE: usize = 1_000;
/// Pages each feed client reads from one service before the other takes
/// its turn, in the audit comparison.
const AUDIT_BLOCK: usize = 4;
/// The least CPU time a per-CPU-second figure is given for: the kernel
/// counts it in ticks of 10 ms.
const MEASURABLE_CPU: f64 = 0.1;

/// The service's page sizes and audit key for the bench, as a `vtj serve
/// --config` file: the audited service signs a checkpoint per answer, as in
/// production.
fn server_config(dir: &Path) -> Result<PathBuf> {
    signing_config(dir, "vtj-bench", &format!("page = {FEED_PAGE}\nvko_page = {INITIAL_PAGE}\n"))
}

/// A `vtj serve` config file `{name}-serve.toml` in `dir` with `settings`
/// and a key of its own to sign the audit log's checkpoints, which the
/// service requires.
fn signing_config(dir: &Path, name: &str, settings: &str) -> Result<PathBuf> {
    let key = dir.join(format!("{name}-audit.key"));
    if !key.exists() {
        crate::audit::write_key(&key, &format!("{name}/audit"))?;
    }
    let path = dir.join(format!("{name}-serve.toml"));
    std::fs::write(&path, format!("{settings}audit_key = {:?}\n", key.display().to_string()))?;
    Ok(path)
}

/// Every municipality's code: the whole country's permit, as its client names it.
fn whole_country() -> String {
    vtj_core::kunta::kunnat().iter().map(|k| k.code.to_string()).collect::<Vec<_>>().join(",")
}

pub fn run(args: BenchArgs) -> Result<()> {
    anyhow::ensure!(!args.persons.is_empty() && args.persons.iter().all(|&n| n > 0), "--persons: give sizes above 0");
    anyhow::ensure!(args.clients.iter().all(|&c| c > 0), "--clients: give counts above 0");
    let (dir, _tmp) = crate::work_dir(args.dir.clone())?;
    let exe = std::env::current_exe().context("finding the vtj binary")?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pinned = cpus >= 2;
    if pinned {
        pin_current_thread(1)?;
    }
    println!(
        "vtj bench: {cpus} CPUs{}; databases in {}",
        if pinned { ", service on CPU 0, clients on CPU 1" } else { ", unpinned" },
        dir.display()
    );
    let mut table = Table::default();
    if args.hub {
        let bench = Bench {
            exe: &exe,
            dir: &dir,
            backend: BenchBackend::Sqlite,
            persons: args.persons[0],
            pinned,
            args: &args,
        };
        hub::run(&bench, &mut table)?;
        table.print();
        return Ok(());
    }
    for &backend in &args.backend {
        for (i, &n) in args.persons.iter().enumerate() {
            let bench = Bench { exe: &exe, dir: &dir, backend, persons: n, pinned, args: &args };
            bench.run(i == 0, &mut table)?;
        }
    }
    table.print();
    Ok(())
}

struct Bench<'a> {
    exe: &'a Path,
    dir: &'a Path,
    backend: BenchBackend,
    persons: u64,
    pinned: bool,
    args: &'a BenchArgs,
}

impl Bench<'_> {
    fn label(&self) -> String {
        format!("{} {}", self.backend.name(), thousands(self.persons))
    }

    fn run(&self, with_feed: bool, table: &mut Table) -> Result<()> {
        let (db, users, generated) = self.prepare()?;
        let token = users[0].1.clone();
        table.row(
            &self.label(),
            "generate population",
            &format!("{:.0} persons/s", self.persons as f64 / generated),
            "",
        );

        let server = Server::start(self.exe, &db, true, self.pinned, Some(&server_config(self.dir)?))?;
        let initial = self.initial_load(&server, &token, "audited")?;
        let loopback = loopback_seconds(initial.bytes, self.pinned)?;
        let bulk = sqlite_bulk_seconds(&initial.register, &REGISTER_ROWS, self.dir)?;
        table.row(
            &self.label(),
            "initial data end to end",
            &format!(
                "{:.0} persons/s ({} persons in {:.1} s, {} MiB)",
                initial.persons as f64 / initial.seconds,
                initial.persons,
                initial.seconds,
                initial.bytes >> 20
            ),
            &format!(
                "{} of loopback, {} of SQLite bulk insert",
                pct(loopback / initial.seconds),
                pct(bulk / initial.seconds)
            ),
        );
        // Which of the two processes bounds the load: the one whose CPU
        // time comes nearest the wall time.
        table.row(
            &self.label(),
            "  CPU of the service / the client",
            &format!("{:.1} s / {:.1} s in {:.1} s", initial.service_cpu, initial.client_cpu, initial.seconds),
            match self.backend {
                BenchBackend::Sqlite => "",
                BenchBackend::Postgres => "PostgreSQL's own processes not counted",
            },
        );
        table.row(&self.label(), "  sync client peak RSS", &format!("{} MiB", initial.client_rss_kib >> 10), "");
        self.service_rss_so_far(table, &server)?;

        if with_feed {
            let (events, append_secs) = self.simulate(&db)?;
            // The reference needs the log as a SQLite file: on PostgreSQL there is none.
            let reference = match self.backend {
                BenchBackend::Sqlite => {
                    let bulk = sqlite_bulk_seconds(Path::new(&db), &LOG_ROWS, self.dir)?;
                    format!("{} of SQLite bulk insert", pct(bulk / append_secs))
                }
                BenchBackend::Postgres => String::new(),
            };
            table.row(
                &self.label(),
                "event append",
                &format!("{:.0} events/s ({events} events)", events as f64 / append_secs),
                &reference,
            );
            let applied = self.catch_up(&server, &token, &initial)?;
            table.row(
                &self.label(),
                "changes applied (sync client)",
                &format!("{:.0} changes/s ({} changes)", applied.changes as f64 / applied.seconds, applied.changes),
                &format!("{} of loopback", pct(loopback_seconds(applied.bytes, self.pinned)? / applied.seconds)),
            );
            self.service_rss_so_far(table, &server)?;
            for &c in &self.args.clients {
                let cpu = cpu_seconds(server.pid())?;
                let f = feed(&server.base, &users, initial.snapshot, c, self.args.feed_pages)?;
                let cpu = cpu_seconds(server.pid())? - cpu;
                table.row(
                    &self.label(),
                    &format!("change feed served, {c} client(s){}", kinds_of(c)),
                    &format!(
                        "{:.0} changes/s, page p50 {:.1} ms, p99 {:.1} ms ({:.1} ms after each client's first page)",
                        f.changes as f64 / f.seconds,
                        f.p50_ms,
                        f.p99_ms,
                        f.p99_after_first_ms
                    ),
                    &format!("{} of loopback", pct(loopback_seconds(f.bytes, self.pinned)? / f.seconds)),
                );
                // The service's own process, per second of its CPU: what one
                // core serves when it does not wait for the client or the disk.
                // Under a few clock ticks the quotient says nothing.
                let per_cpu_second = if cpu >= MEASURABLE_CPU {
                    format!("{:.0} changes ({cpu:.1} s of CPU in {:.1} s)", f.changes as f64 / cpu, f.seconds)
                } else {
                    format!("not measured: {cpu:.2} s of CPU in {:.2} s is too little", f.seconds)
                };
                table.row(&self.label(), "  per second of the service's CPU", &per_cpu_second, "");
                self.service_rss_so_far(table, &server)?;
            }
        }
        let rss = server.stop()?;
        table.row(&self.label(), "  service peak RSS", &format!("{} MiB", rss >> 10), "");

        if with_feed && !self.args.no_audit_comparison {
            self.audit_comparison(&db, &users, &initial, table)?;
        }
        Ok(())
    }

    /// The feeds and the initial load with and without the audit log, from
    /// two services started afresh, side by side, over the same database
    /// (the figures above ran on one that had served the catch-up and seen
    /// the appends). This machine's speed drifts by a third within minutes,
    /// and one feed from each service in turn, a second each, gave costs
    /// from −31 to +28 % over the parts of issue #16: so the two take
    /// turns. Each client count's feed is read in blocks of
    /// [`AUDIT_BLOCK`] pages, every block from both services (the same
    /// pages, the first to read swapped each block), and the initial load
    /// runs without, with, with and without. Each cost is of the sums.
    fn audit_comparison(&self, db: &str, users: &[Login], initial: &Initial, table: &mut Table) -> Result<()> {
        let config = server_config(self.dir)?;
        let servers = [
            Server::start(self.exe, db, false, self.pinned, Some(&config))?,
            Server::start(self.exe, db, true, self.pinned, Some(&config))?,
        ];
        // Each service's own CPU time over a comparison: it works only in its turns.
        let cpu = || -> Result<[f64; 2]> { Ok([cpu_seconds(servers[0].pid())?, cpu_seconds(servers[1].pid())?]) };
        // Per service (without, with): seconds and what was served.
        let mut loads = [(0.0, 0); 2];
        let before = cpu()?;
        for (turn, audited) in [0, 1, 1, 0].into_iter().enumerate() {
            let load = self.initial_load(&servers[audited], &users[0].1, &format!("turn-{turn}"))?;
            loads[audited] = (loads[audited].0 + load.seconds, loads[audited].1 + load.persons);
        }
        let used = since(before, cpu()?);
        self.audit_row(table, "initial data", "person", loads, used, "loads without, with, with, without");
        for &c in &self.args.clients {
            let before = cpu()?;
            let mut sums = [(0.0, 0); 2];
            let (mut cursors, mut read) = (vec![initial.snapshot; c], 0);
            while read < self.args.feed_pages {
                let pages = AUDIT_BLOCK.min(self.args.feed_pages - read);
                let first = (read / AUDIT_BLOCK) % 2;
                let mut stopped = Vec::with_capacity(2);
                for audited in [first, 1 - first] {
                    let (f, next) = feed_on(&servers[audited].base, users, &cursors, pages)?;
                    sums[audited] = (sums[audited].0 + f.seconds, sums[audited].1 + f.changes);
                    stopped.push(next);
                }
                if stopped[0] != stopped[1] {
                    bail!("the services with and without the audit log gave different pages of the same log");
                }
                if stopped[0] == cursors {
                    break;
                }
                (cursors, read) = (stopped.swap_remove(0), read + pages);
            }
            let (used, how) = (since(before, cpu()?), format!("taking turns every {AUDIT_BLOCK} pages"));
            self.audit_row(table, &format!("feed, {c} client(s)"), "change", sums, used, &how);
        }
        for s in servers {
            s.stop()?;
        }
        Ok(())
    }

    /// A row of the audit comparison from the seconds and figures served
    /// without and with the audit log (`noun`s), and the services' CPU seconds.
    fn audit_row(&self, table: &mut Table, what: &str, noun: &str, sums: [(f64, u64); 2], cpu: [f64; 2], how: &str) {
        let [off, on] = sums.map(|(seconds, n)| n as f64 / seconds.max(1e-9));
        let [cpu_off, cpu_on] = [0, 1].map(|i| cpu[i] / (sums[i].1 as f64).max(1.0));
        table.row(
            &self.label(),
            &format!("audit cost: {what}"),
            &format!(
                "{off:.0} {noun}s/s without audit log, {on:.0} with (two services side by side, {how}); \
                 the service's CPU {:.1} s without, {:.1} s with",
                cpu[0], cpu[1]
            ),
            &format!(
                "audit costs {:.1} % of throughput, {:.1} % more CPU per {noun}",
                cost(on, off),
                (cpu_on / cpu_off.max(1e-12) - 1.0) * 100.0,
            ),
        );
    }

    /// The service's peak memory after the stage of the row above.
    fn service_rss_so_far(&self, table: &mut Table, server: &Server) -> Result<()> {
        table.row(&self.label(), "  service peak RSS so far", &format!("{} MiB", server.peak_rss()? >> 10), "");
        Ok(())
    }

    /// A fresh database with the population, one recipient, the permits
    /// of [`feed_kinds`] and their users. Returns (spec, each kind's user and
    /// password, seconds spent generating); the first is the whole country's.
    fn prepare(&self) -> Result<(String, Vec<Login>, f64)> {
        let spec = match self.backend {
            BenchBackend::Sqlite => {
                let path = self.dir.join(format!("vtj-bench-{}.db", self.persons));
                measure::remove_sqlite_files(&path);
                path.display().to_string()
            }
            BenchBackend::Postgres => fresh_pg_database(&self.args.pg, &format!("vtj_bench_{}", self.persons))?,
        };
        let mut store = vtj_store::open(&spec).with_context(|| format!("opening {}", crate::redact(&spec)))?;
        store.set_meta(vtj_api::BENCHMARK_META, "1")?;
        let started = Instant::now();
        let start = Date::from_calendar_date(2026, Month::January, 1)?;
        vtj_sim::generate(
            &mut *store,
            &vtj_sim::GenerateConfig { persons: self.persons, seed: 1, date: start },
            &mut |_| {},
        )?;
        let generated = started.elapsed().as_secs_f64();
        admin::add_recipient(&mut *store, RECIPIENT, "benchmark recipient")?;
        let mut users = Vec::new();
        for (user, spec) in feed_kinds(start) {
            admin::add_permit(&mut *store, &spec)?;
            users.push((user.to_string(), admin::add_user(&mut *store, &spec.tunnus, user)?));
        }
        Ok((spec, users, generated))
    }

    fn initial_load(&self, server: &Server, token: &str, tag: &str) -> Result<Initial> {
        let register = self.dir.join(format!("register-{}-{}-{tag}.db", self.backend.name(), self.persons));
        measure::remove_sqlite_files(&register);
        let service_cpu = cpu_seconds(server.pid())?;
        let run = sync_child(self.exe, &server.base, &register, token)?;
        Ok(Initial {
            persons: run.out.persons_loaded,
            seconds: run.seconds,
            bytes: run.out.bytes,
            snapshot: run.out.cursor,
            client_rss_kib: run.rss_kib,
            client_cpu: run.cpu_seconds,
            service_cpu: cpu_seconds(server.pid())? - service_cpu,
            register,
        })
    }

    fn simulate(&self, db: &str) -> Result<(u64, f64)> {
        let mut store: Box<dyn Backend> = vtj_store::open(db)?;
        let report = vtj_sim::simulate(
            &mut *store,
            &vtj_sim::SimulateConfig { days: self.args.days, intensity: self.args.intensity },
            &mut |_| {},
        )?;
        Ok((report.events, report.append_time.as_secs_f64().max(1e-9)))
    }

    fn catch_up(&self, server: &Server, token: &str, initial: &Initial) -> Result<Applied> {
        let run = sync_child(self.exe, &server.base, &initial.register, token)?;
        Ok(Applied { changes: run.out.changes_applied, seconds: run.seconds, bytes: run.out.bytes })
    }
}

/// A ratio to its reference, as a percentage with two significant digits.
fn pct(ratio: f64) -> String {
    let p = ratio * 100.0;
    if p >= 10.0 {
        format!("{p:.0} %")
    } else if p >= 1.0 {
        format!("{p:.1} %")
    } else {
        format!("{p:.2} %")
    }
}

fn cost(on: f64, off: f64) -> f64 {
    (1.0 - on / off) * 100.0
}

/// CPU seconds of each service from `before` to `after`.
fn since(before: [f64; 2], after: [f64; 2]) -> [f64; 2] {
    [after[0] - before[0], after[1] - before[1]]
}

struct Initial {
    persons: u64,
    seconds: f64,
    bytes: u64,
    snapshot: i64,
    client_rss_kib: u64,
    /// CPU time of the client and of the service during the load.
    client_cpu: f64,
    service_cpu: f64,
    register: PathBuf,
}

struct Applied {
    changes: u64,
    seconds: f64,
    bytes: u64,
}

fn fresh_pg_database(server: &str, name: &str) -> Result<String> {
    let base = server.trim_end_matches('/');
    let mut c = postgres_admin(&format!("{base}/postgres"))?;
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))?;
    c.batch_execute(&format!("CREATE DATABASE {name}"))?;
    Ok(format!("{base}/{name}"))
}

fn postgres_admin(url: &str) -> Result<postgres::Client> {
    postgres::Client::connect(url, postgres::NoTls).with_context(|| format!("connecting to {}", crate::redact(url)))
}

/// A `vtj serve` child on a free loopback port.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(exe: &Path, db: &str, audited: bool, pinned: bool, config: Option<&Path>) -> Result<Server> {
        let mut cmd = Command::new(exe);
        cmd.args([
            "serve",
            "--db",
            db,
            "--listen",
            "127.0.0.1:0",
            "--rate-per-second",
            "1000000",
            "--rate-burst",
            "1000000",
        ]);
        if !audited {
            cmd.arg("--unaudited-benchmark");
        }
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        if pinned {
            pin_child(&mut cmd, 0);
        }
        let mut child = cmd.spawn().context("starting vtj serve")?;
        let stderr = child.stderr.take().context("vtj serve's stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let Some(line) = lines.next().transpose()? else {
                let status = child.wait()?;
                bail!("vtj serve stopped before listening ({status})");
            };
            if let Some(rest) = line.strip_prefix("vtj serve: http://") {
                break format!("http://{}", rest.split_whitespace().next().unwrap_or_default());
            }
        };
        // Keep draining its stderr so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Server { child, base })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The service's peak resident memory so far, in KiB.
    fn peak_rss(&self) -> Result<u64> {
        peak_rss_kib(self.child.id())
    }

    /// Stops the service and returns its peak RSS in KiB.
    fn stop(mut self) -> Result<u64> {
        let rss = self.peak_rss()?;
        self.child.kill()?;
        self.child.wait()?;
        Ok(rss)
    }
}

#[derive(Deserialize)]
struct SyncOut {
    persons_loaded: u64,
    changes_applied: u64,
    cursor: i64,
    bytes: u64,
}

/// A child process's JSON report, how long it ran and its peak RSS.
struct Run<T> {
    out: T,
    seconds: f64,
    rss_kib: u64,
    cpu_seconds: f64,
}

/// A child process run to its end (timed from spawn to exit), its JSON
/// output read, its peak RSS measured.
fn run_child<T: for<'de> Deserialize<'de>>(mut cmd: Command, what: &str) -> Result<Run<T>> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("starting {what}"))?;
    // Read both pipes at once: a child blocked on a full one never exits.
    let mut stderr = child.stderr.take().context("stderr")?;
    let errors = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        err
    });
    let mut out = String::new();
    child.stdout.take().context("stdout")?.read_to_string(&mut out)?;
    let ended = wait_with_rusage(&mut child)?;
    let seconds = started.elapsed().as_secs_f64();
    let err = errors.join().unwrap_or_default();
    if !ended.status.success() {
        bail!("{what} failed ({}): {}", ended.status, err.trim());
    }
    let out = serde_json::from_str(out.trim()).with_context(|| format!("{what} printed {out:?}"))?;
    Ok(Run { out, seconds, rss_kib: ended.rss_kib, cpu_seconds: ended.cpu_seconds })
}

/// `vtj sync` of the whole country as its own process (on this process's CPU).
fn sync_child(exe: &Path, base: &str, register: &Path, password: &str) -> Result<Run<SyncOut>> {
    let mut cmd = Command::new(exe);
    let service = format!("{base}/api/v1");
    cmd.args(["sync", "--service", &service, "--user", USER, "--json", "--kunnat", &whole_country()])
        .arg("--register")
        .arg(register)
        .env("VTJ_PASSWORD", password);
    run_child(cmd, "vtj sync")
}

struct Feed {
    changes: u64,
    bytes: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// p99 of every page but each client's first, which waits for its
    /// sign-in (argon2, once per user) and a cold start.
    p99_after_first_ms: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedPage {
    muutokset: Vec<serde::de::IgnoredAny>,
    viimeisin_kirjausavain: i64,
    ajan_tasalla: bool,
}

/// A user and their password.
type Login = (String, String);

/// The permits the feed's clients read under: client `i` under kind `i % 4`.
/// The first is the whole country's, as the other figures; the others
/// differ in what `render` decides (the turvakielto right, a narrower
/// product, a narrower area), so the shared log is rendered four ways.
fn feed_kinds(start: Date) -> [(&'static str, PermitSpec); 4] {
    let whole = |tunnus: &str| PermitSpec::whole_country(tunnus, RECIPIENT, "benchmark", start);
    let cities = vtj_core::kunta::kunnat().iter().filter(|k| k.residents >= 20_000).map(|k| k.code.to_string());
    [
        (USER, whole(PERMIT)),
        ("bench-tk", PermitSpec { turvakielto_oikeus: true, ..whole("BENCH-KOKO-MAA-TK") }),
        (
            "bench-suppea",
            PermitSpec {
                ryhmat: Some(
                    [
                        "HENKILON_NIMI",
                        "HENKILOTUNNUS_KORJAUS",
                        "KOTIKUNTA",
                        "VAKINAINEN_KOTIMAINEN_OSOITE",
                        "KUOLINPAIVA",
                    ]
                    .map(String::from)
                    .to_vec(),
                ),
                ..whole("BENCH-SUPPEA")
            },
        ),
        ("bench-kaupungit", PermitSpec { kunnat: cities.collect(), ..whole("BENCH-KAUPUNGIT") }),
    ]
}

fn kinds_of(clients: usize) -> String {
    match clients {
        1 => String::new(),
        c => format!(" of {} kinds", c.min(4)),
    }
}

/// `clients` recipients reading the feed from `from` at once, each up to
/// `pages` full pages, client `i` as `users[i % users.len()]`; every page's
/// latency is request to last body byte.
fn feed(base: &str, users: &[Login], from: i64, clients: usize, pages: usize) -> Result<Feed> {
    Ok(feed_on(base, users, &vec![from; clients], pages)?.0)
}

/// A recipient for each of `cursors` reading the feed from it at once, as
/// [`feed`]; also gives where each client stopped.
fn feed_on(base: &str, users: &[Login], cursors: &[i64], pages: usize) -> Result<(Feed, Vec<i64>)> {
    let clients = cursors.len();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
        let url = format!("{base}/api/v1{}", vtj_wire::paths::MUUTOKSET);
        let started = Instant::now();
        let tasks = cursors.iter().enumerate().map(|(i, &from)| {
            let (http, url) = (http.clone(), url.clone());
            let (user, password) = users[i % users.len()].clone();
            async move {
                let (mut cursor, mut changes, mut bytes, mut latencies) = (from, 0u64, 0u64, Vec::new());
                for _ in 0..pages {
                    let t = Instant::now();
                    let r = http
                        .post(&url)
                        .json(&serde_json::json!({ "viimeisinKirjausavain": cursor }))
                        .basic_auth(&user, Some(&password))
                        .send()
                        .await?
                        .error_for_status()?;
                    let body = r.bytes().await?;
                    latencies.push(t.elapsed());
                    let page: FeedPage = serde_json::from_slice(&body)?;
                    (changes, bytes, cursor) =
                        (changes + page.muutokset.len() as u64, bytes + body.len() as u64, page.viimeisin_kirjausavain);
                    if page.ajan_tasalla {
                        break;
                    }
                }
                anyhow::Ok((changes, bytes, latencies, cursor))
            }
        });
        let handles: Vec<_> = tasks.map(tokio::spawn).collect();
        let mut results = Vec::with_capacity(handles.len());
        for h in handles {
            results.push(h.await.context("a feed client failed")?);
        }
        let seconds = started.elapsed().as_secs_f64();
        let (mut changes, mut bytes, mut latencies, mut after_first) = (0, 0, Vec::new(), Vec::new());
        let mut stopped = Vec::with_capacity(clients);
        for r in results {
            let (c, b, l, cursor) = r?;
            (changes, bytes) = (changes + c, bytes + b);
            after_first.extend(l.iter().skip(1).copied());
            latencies.extend(l);
            stopped.push(cursor);
        }
        latencies.sort();
        after_first.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let feed = Feed {
            changes,
            bytes,
            seconds,
            p50_ms: ms(percentile(&latencies, 0.50)),
            p99_ms: ms(percentile(&latencies, 0.99)),
            p99_after_first_ms: ms(percentile(&after_first, 0.99)),
        };
        Ok((feed, stopped))
    })
}

#[derive(Default)]
struct Table {
    rows: Vec<[String; 4]>,
}

impl Table {
    fn row(&mut self, run: &str, what: &str, figure: &str, reference: &str) {
        println!(
            "{run:<18} {what:<34} {figure}{}",
            if reference.is_empty() { String::new() } else { format!("; {reference}") }
        );
        std::io::stdout().flush().ok();
        self.rows.push([run.into(), what.into(), figure.into(), reference.into()]);
    }

    fn print(&self) {
        println!();
        println!("| run | measure | figure | against reference |");
        println!("|---|---|---|---|");
        for [a, b, c, d] in &self.rows {
            println!("| {a} | {} | {c} | {d} |", b.trim());
        }
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}
