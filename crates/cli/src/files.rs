//! Muutostietopalvelu commands: `vtj deliver` (the service side) and
//! `vtj import` (the recipient's side).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use time::{Date, OffsetDateTime, Time};
use vtj_disclose::deliver::{deliver_signed, When};
use vtj_sync::Register;

use crate::{open, parse_day, redact};

#[derive(Args)]
pub struct DeliverArgs {
    /// A SQLite file path or a postgres:// URL.
    #[arg(long, default_value = "vtj.db")]
    db: String,
    /// Permits to deliver for (repeatable); or --all.
    #[arg(long = "permit")]
    permits: Vec<String>,
    /// Every permit that is valid today.
    #[arg(long, conflicts_with = "permits")]
    all: bool,
    /// Each permit's deliveries go to DIR/<permit>/.
    #[arg(long, default_value = "deliveries")]
    dir: PathBuf,
    /// Only what is due by the rhythm (for cron); without it, deliver now.
    #[arg(long)]
    due: bool,
    /// Days between change deliveries: 7 or 14.
    #[arg(long, default_value_t = 7, value_parser = parse_rhythm)]
    rhythm_days: u32,
    /// Deliver as of this day (YYYYMMDD) instead of today.
    #[arg(long, value_parser = parse_day)]
    date: Option<Date>,
    /// The service's audit key (`vtj admin keygen`): each delivery's manifest
    /// entry then carries a checkpoint of the audit log covering it.
    #[arg(long, env = "VTJ_AUDIT_KEY")]
    audit_key: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

fn parse_rhythm(s: &str) -> Result<u32, String> {
    match s {
        "7" => Ok(7),
        "14" => Ok(14),
        _ => Err(format!("{s:?}: deliveries come every 7 or 14 days")),
    }
}

pub fn run_deliver(a: DeliverArgs) -> Result<()> {
    let mut s = open(&a.db)?;
    let signer = a.audit_key.as_deref().map(crate::audit::load_signer).transpose()?;
    let now = match a.date {
        Some(d) => OffsetDateTime::new_utc(d, Time::MIDNIGHT),
        None => OffsetDateTime::now_utc(),
    };
    let permits = if a.all {
        s.permits()?.into_iter().filter(|p| p.is_active(now.date())).map(|p| p.tunnus).collect()
    } else if a.permits.is_empty() {
        bail!("name a permit with --permit, or use --all");
    } else {
        a.permits.clone()
    };
    let when = if a.due { When::Due { rhythm_days: a.rhythm_days } } else { When::Now };
    let mut failed = 0;
    for p in &permits {
        let dir = a.dir.join(p);
        match deliver_signed(&mut *s, p, &dir, when, now, signer.as_ref()) {
            Ok(Some(d)) if a.json => println!("{}", serde_json::to_string(&d.entry)?),
            Ok(Some(d)) => println!(
                "{p}: {} #{} cursor {}..{}, {} records -> {}",
                d.entry.kind,
                d.entry.seq,
                d.entry.from,
                d.entry.to,
                d.entry.records,
                d.path.display()
            ),
            Ok(None) => println!("{p}: nothing due"),
            Err(e) => {
                failed += 1;
                eprintln!("{p}: {e}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} permits failed (database {})", permits.len(), redact(&a.db));
    }
    Ok(())
}

#[derive(Args)]
pub struct ImportArgs {
    /// The local register: a SQLite file path, or a postgres:// URL.
    #[arg(long, env = "VTJ_REGISTER", default_value = "register.db")]
    register: String,
    /// The permit's delivery directory (with its MANIFEST.json).
    #[arg(long)]
    dir: PathBuf,
    /// The public key of the service's audit log: the deliveries'
    /// checkpoints are checked with it before they are kept.
    #[arg(long, env = "VTJ_SERVICE_AUDIT_KEY")]
    audit_key: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn run_import(a: ImportArgs) -> Result<()> {
    let mut reg =
        Register::connect(&a.register).with_context(|| format!("opening register {}", redact(&a.register)))?;
    if let Some(k) = &a.audit_key {
        vtj_tlog::Verifier::parse(k).context("--audit-key")?;
        reg.bind_audit_key(k)?;
    }
    let report = vtj_sync::import::import(&mut reg, &a.dir)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    match report.applied.as_slice() {
        [] => println!("nothing new in {}; the register is at cursor {}", a.dir.display(), report.cursor),
        seqs => println!(
            "applied deliveries {seqs:?}: {} records; the register is at cursor {}",
            report.records, report.cursor
        ),
    }
    for (code, n) in &report.unknown_groups {
        eprintln!("warning: {n} groups of unknown code {code} were kept out of the register");
    }
    Ok(())
}
