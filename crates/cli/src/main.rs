//! `vtj`: one binary, a subcommand per role. Thin: parse arguments, open
//! the store, call a library, print. Errors become `anyhow` only here.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use time::Date;
use vtj_core::VtjDate;
use vtj_sim::{GenerateConfig, SimulateConfig};
use vtj_store::{Backend, LogSummary};

mod admin;
mod audit;
mod bench;
mod client;
mod demo;
mod files;
mod hub;
mod serve;

#[derive(Parser)]
#[command(name = "vtj", version, about = "Population-data change services: Muutostietopalvelu and VTJ-muutosrajapinta")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a seeded synthetic population in a new database.
    Generate {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long, default_value_t = 10_000)]
        persons: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The day the population is as of, YYYYMMDD.
        #[arg(long, default_value = "20260101", value_parser = parse_day)]
        date: Date,
    },
    /// Append D days of synthetic life events to the change log.
    Simulate {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Multiplies every event rate (1.0 = Finland's real rhythm).
        #[arg(long, default_value_t = 1.0)]
        intensity: f64,
    },
    /// Print a summary of a database's change log.
    Summary {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long)]
        json: bool,
    },
    /// Run the REST service (VTJ-muutosrajapinta) over a database.
    Serve(serve::ServeArgs),
    /// Operator actions: recipients, users and certificates, permits, fees.
    Admin {
        #[command(subcommand)]
        cmd: admin::AdminCmd,
    },
    /// The audit log as a transparency log: verify, checkpoints, proofs, a person's disclosures, prune.
    Audit {
        #[command(subcommand)]
        cmd: audit::AuditCmd,
    },
    /// Keep a local register current from the service (the recipient's side).
    Sync(client::SyncArgs),
    /// Maintain a hetu-list permit's list: add or remove persons.
    Register {
        #[command(subcommand)]
        cmd: client::RegisterCmd,
    },
    /// A county hub: follow upstream once, serve the county's systems (`vtj serve`) under sub-permits.
    Hub {
        #[command(subcommand)]
        cmd: hub::HubCmd,
    },
    /// Write Muutostietopalvelu deliveries (.PTT, then .MTT) for permits.
    Deliver(files::DeliverArgs),
    /// Apply a permit's delivery files to a local register, in sequence.
    Import(files::ImportArgs),
    /// Show one person from a local register (logged: who, whom, why).
    Lookup(client::LookupArgs),
    /// Export a local register as JSON lines (logged).
    Export(client::ExportArgs),
    /// The main job end to end: synthetic VTJ, service, two recipients syncing, verification.
    Demo(demo::DemoArgs),
    /// Measure throughput, latency and memory (BENCHMARKS.md): real processes over loopback.
    Bench(bench::BenchArgs),
    /// A bounded load run: many recipients loading and polling while events are appended.
    Soak(bench::soak::SoakArgs),
}

pub(crate) fn parse_day(s: &str) -> Result<Date, String> {
    match VtjDate::parse(s) {
        Ok(VtjDate::Full(d)) => Ok(d),
        Ok(other) => Err(format!("{other} is not a full date")),
        Err(e) => Err(e.to_string()),
    }
}

/// Pages are built of many small short-lived values; glibc's malloc and
/// free (with its consolidation of freed chunks) were a third of the
/// service's and the client's time (`perf`, BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    owner_only_files();
    limit_malloc_arenas();
    match Cli::parse().command {
        Command::Generate { db, persons, seed, date } => {
            let mut store = open(&db)?;
            generate(&mut *store, persons, seed, date)?;
        }
        Command::Simulate { db, days, intensity } => {
            let mut store = open_existing(&db)?;
            simulate(&mut *store, days, intensity)?;
        }
        Command::Summary { db, json } => {
            let summary = open_existing(&db)?.summary()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print_summary(&summary);
            }
        }
        Command::Serve(args) => serve::run(args)?,
        Command::Admin { cmd } => admin::run(cmd)?,
        Command::Audit { cmd } => audit::run(cmd)?,
        Command::Sync(args) => client::sync(args)?,
        Command::Register { cmd } => client::register(cmd)?,
        Command::Hub { cmd } => hub::run(cmd)?,
        Command::Deliver(args) => files::run_deliver(args)?,
        Command::Import(args) => files::run_import(args)?,
        Command::Lookup(args) => client::lookup(args)?,
        Command::Export(args) => client::export(args)?,
        Command::Demo(args) => demo::run(args)?,
        Command::Bench(args) => bench::run(args)?,
        Command::Soak(args) => bench::soak::run(args)?,
    }
    Ok(())
}

/// The folder given, created if need be, or a fresh temporary one that
/// lives as long as the returned guard.
pub(crate) fn work_dir(given: Option<std::path::PathBuf>) -> Result<(std::path::PathBuf, Option<tempfile::TempDir>)> {
    match given {
        Some(d) => {
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
            Ok((d, None))
        }
        None => {
            let tmp = tempfile::tempdir().context("creating a temporary directory")?;
            Ok((tmp.path().to_path_buf(), Some(tmp)))
        }
    }
}

/// Everything vtj writes holds personal data or guards it: the population,
/// registers and their WAL, delivery files, exports, temporary files of
/// SQLite's sorts. Files and directories it creates are its owner's alone
/// (mode 600 / 700), whatever the umask it was started with; an existing
/// file keeps the mode an operator gave it.
fn owner_only_files() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// glibc gives each thread that allocates its own arena, up to eight per
/// core, and keeps what is freed in them: under a soak the service grew in
/// steps (102 to 163 MiB in three minutes). Two arenas kept it flat (54-55
/// MiB, BENCHMARKS.md) at no measurable cost in throughput. Rust's own
/// allocations now go to mimalloc; SQLite (C) still allocates through
/// glibc, so the limit stays.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

pub(crate) fn open(spec: &str) -> Result<Box<dyn Backend>> {
    vtj_store::open(spec).with_context(|| format!("opening database {}", redact(spec)))
}

/// A database spec for messages, without a password in a URL.
pub(crate) fn redact(spec: &str) -> String {
    match (spec.find("://"), spec.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &spec[..s], &spec[at..]),
        _ => spec.to_string(),
    }
}

pub(crate) fn open_existing(spec: &str) -> Result<Box<dyn Backend>> {
    if !vtj_store::is_url(spec) && !std::path::Path::new(spec).exists() {
        bail!("database {spec} does not exist; create it with `vtj generate --db {spec}`");
    }
    open(spec)
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

pub(crate) fn generate(store: &mut dyn Backend, persons: u64, seed: u64, date: Date) -> Result<()> {
    let existing = store.person_count()?;
    if existing > 0 {
        bail!("the database already holds {existing} persons; generate into a new --db");
    }
    let started = Instant::now();
    let pb = bar(persons, "persons");
    let report = vtj_sim::generate(store, &GenerateConfig { persons, seed, date }, &mut |n| pb.set_position(n))?;
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "generated {} persons in {secs:.1} s ({:.0}/s): {} under turvakielto, {} abroad, {} under guardianship",
        report.persons,
        report.persons as f64 / secs.max(1e-9),
        report.turvakielto,
        report.abroad,
        report.guardianship
    );
    Ok(())
}

fn simulate(store: &mut dyn Backend, days: u32, intensity: f64) -> Result<()> {
    if !(intensity.is_finite() && intensity >= 0.0) {
        bail!("--intensity must be a non-negative number, got {intensity}");
    }
    let started = Instant::now();
    let pb = bar(u64::from(days), "days");
    let report = vtj_sim::simulate(store, &SimulateConfig { days, intensity }, &mut |d| pb.set_position(d.into()))?;
    pb.finish_and_clear();
    let span = match (report.first_day, report.last_day) {
        (Some(a), Some(b)) => format!(" ({} .. {})", vtj_core::date::ymd(a), vtj_core::date::ymd(b)),
        _ => String::new(),
    };
    // The append alone is the store's figure; the rest is the simulation
    // reading persons to decide what happens to them.
    println!(
        "simulated {} days{span}: {} events in {:.1} s (appended in {:.1} s)",
        report.days,
        report.events,
        started.elapsed().as_secs_f64(),
        report.append_time.as_secs_f64()
    );
    Ok(())
}

fn print_summary(s: &LogSummary) {
    let opt = |c: Option<vtj_store::Cursor>| c.map_or("-".to_string(), |c| c.to_string());
    println!("persons               {}", s.persons);
    println!("turvakielto in force  {}", s.turvakielto_in_force);
    println!("changes in log        {}", s.changes);
    println!("cursor range          {} .. {}", opt(s.first_cursor), opt(s.last_cursor));
    println!(
        "registered            {} .. {}",
        s.first_date.as_deref().unwrap_or("-"),
        s.last_date.as_deref().unwrap_or("-")
    );
    println!("changes by event:");
    for (kind, n) in &s.by_kind {
        println!("  {kind:<36} {n:>9}");
    }
}
