//! `vtj audit`: the disclosure log as a transparency log. Verify the chain,
//! the tree and every checkpoint (the service's own and those recipients
//! kept); sign and print checkpoints; prove an entry's inclusion to anyone
//! holding the public key; list a person's disclosures; prune past the
//! retention period. And the signing key's file.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use vtj_store::{AuditEntry, AuditRecord, Backend, StoreError};
use vtj_tlog::tree::{decode_hashes, encode_hashes, leaf_hash, verify_inclusion};
use vtj_tlog::{Signer, Verifier};

use crate::open_existing;

/// Audit entries are kept five years (DESIGN.md rule 4).
const RETENTION_YEARS: i32 = 5;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Walk the chain and the tree, check every kept checkpoint, and those a
    /// recipient kept; exit non-zero and say where if anything was rewritten.
    Verify {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
        /// The log's public key (as `vtj admin keygen` printed it): checks signatures too.
        #[arg(long)]
        key: Option<String>,
        /// Checkpoints a recipient kept (`vtj register checkpoints` prints them).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Print the newest checkpoint; with the signing key, sign the log as it stands first.
    Checkpoint {
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// Print inclusion proofs (JSON lines) against the newest checkpoint: of
    /// one entry, or of every entry that disclosed or asked for a person.
    Prove {
        #[arg(long, default_value = "vtj.db")]
        db: String,
        #[arg(long, conflicts_with = "hetu", required_unless_present = "hetu")]
        entry: Option<i64>,
        #[arg(long)]
        hetu: Option<String>,
    },
    /// Check proofs from `vtj audit prove` with the log's public key alone.
    CheckProof {
        #[arg(long)]
        key: String,
        /// A file of proofs, one JSON per line; - for standard input.
        proofs: PathBuf,
    },
    /// Every request and delivery that disclosed or asked for a person's data.
    Person {
        #[arg(long, default_value = "vtj.db")]
        db: String,
        hetu: String,
        /// Print each one's inclusion proof (as `prove`) instead of a line of text.
        #[arg(long)]
        proofs: bool,
    },
    /// Delete entries older than five years, keeping the rest, the tree and every checkpoint verifiable.
    Prune {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
    },
}

/// What `prove` prints and `check-proof` reads: an entry as logged, the
/// signed checkpoint, and the RFC 6962 path between them.
#[derive(Serialize, Deserialize)]
struct Proof {
    entry: i64,
    data: String,
    checkpoint: String,
    inclusion: Vec<String>,
}

pub fn run(cmd: AuditCmd) -> Result<()> {
    match cmd {
        AuditCmd::Verify { db, key, checkpoints } => {
            let s = open_existing(&db)?;
            let key = key.map(|k| Verifier::parse(&k)).transpose().context("--key")?;
            let held: Vec<String> = match checkpoints {
                Some(p) => serde_json::from_str(&read(&p)?)
                    .with_context(|| format!("{}: a JSON list of notes", p.display()))?,
                None => Vec::new(),
            };
            let chain = s.audit_verify()?;
            let tree = vtj_store::tree::verify(&*s, key.as_ref(), &held)?;
            println!("audit log intact: {} entries from {} to {}", chain.entries, chain.anchor, chain.head);
            println!(
                "tree of {} leaves ({} entries and {} nodes checked); {} kept checkpoints and {} held by recipients match{}",
                tree.leaves,
                tree.entries_checked,
                tree.nodes_checked,
                tree.checkpoints,
                tree.held,
                if tree.signatures { ", signatures checked" } else { " (signatures not checked: no --key)" }
            );
        }
        AuditCmd::Checkpoint { db, key_file } => {
            let mut s = open_existing(&db)?;
            let note = match key_file {
                Some(p) => s.audit_sign(&load_signer(&p)?)?,
                None => s.audit_latest_checkpoint()?.context("no checkpoint yet: sign one with --key-file")?,
            };
            print!("{note}");
        }
        AuditCmd::Prove { db, entry, hetu } => {
            let s = open_existing(&db)?;
            let entries = match (entry, hetu) {
                (Some(n), _) => s.audit_entries(n.saturating_sub(1), 1)?.into_iter().filter(|e| e.seq == n).collect(),
                (None, Some(h)) => about(&*s, &every_hetu(&*s, &h)?)?.into_iter().map(|(e, _)| e).collect(),
                (None, None) => Vec::new(),
            };
            if entries.is_empty() {
                bail!("no such entry in the log (pruned, or never there)");
            }
            print_proofs(&*s, entries)?;
        }
        AuditCmd::CheckProof { key, proofs } => {
            let key = Verifier::parse(&key).context("--key")?;
            let text = read(&proofs)?;
            let mut n = 0;
            for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let p: Proof = serde_json::from_str(line).with_context(|| format!("proof {}: not a proof", i + 1))?;
                let cp = key.open(&p.checkpoint).with_context(|| format!("proof {}: the checkpoint", i + 1))?;
                let path = decode_hashes(&p.inclusion).with_context(|| format!("proof {}: a malformed hash", i + 1))?;
                if p.entry < 1 {
                    bail!("proof {}: no entry #{}", i + 1, p.entry);
                }
                verify_inclusion(&leaf_hash(p.data.as_bytes()), p.entry as u64 - 1, cp.size, &path, &cp.root)
                    .with_context(|| format!("proof {}: entry #{}", i + 1, p.entry))?;
                let r: AuditRecord = serde_json::from_str(&p.data).context("the entry is not an audit record")?;
                println!(
                    "entry #{} is in {}'s log of {} entries: {} {} {} {}",
                    p.entry,
                    cp.origin,
                    cp.size,
                    r.at,
                    r.recipient.as_deref().unwrap_or("-"),
                    r.action,
                    r.status
                );
                n += 1;
            }
            if n == 0 {
                bail!("no proofs in {}", proofs.display());
            }
        }
        AuditCmd::Person { db, hetu, proofs } => {
            let s = open_existing(&db)?;
            let hetus = every_hetu(&*s, &hetu)?;
            let found = about(&*s, &hetus)?;
            if proofs {
                return print_proofs(&*s, found.into_iter().map(|(e, _)| e).collect());
            }
            for (e, r) in &found {
                let how = if r.hetus.iter().any(|h| hetus.contains(h)) { "disclosed" } else { "asked" };
                // A county hub's sub-permit: say which permit of the county's it was carved from.
                let under = match r.permit.as_deref().map(|p| s.permit(p)).transpose()?.flatten() {
                    Some(vtj_core::Permit { ylalupa: Some(up), .. }) => format!(" (under {up})"),
                    _ => String::new(),
                };
                println!(
                    "#{} {} {} permit {}{under} user {} purpose {:?} {} {} status {} groups {}",
                    e.seq,
                    r.at,
                    r.recipient.as_deref().unwrap_or("-"),
                    r.permit.as_deref().unwrap_or("-"),
                    r.user.as_deref().unwrap_or("-"),
                    r.purpose.as_deref().unwrap_or("-"),
                    r.action,
                    how,
                    r.status,
                    r.groups.join(",")
                );
            }
            eprintln!("{} entries; `vtj audit prove --hetu {hetu}` proves each", found.len());
        }
        AuditCmd::Prune { db } => {
            let now = time::OffsetDateTime::now_utc();
            let cutoff = now.replace_year(now.year() - RETENTION_YEARS).unwrap_or(now - time::Duration::days(5 * 366));
            let n = open_existing(&db)?.audit_prune(&AuditRecord::format_time(cutoff))?;
            println!("{n} entries older than {RETENTION_YEARS} years pruned; the tree and its checkpoints stay");
        }
    }
    Ok(())
}

/// Each entry's inclusion proof against the newest checkpoint, a JSON line each.
fn print_proofs(s: &dyn Backend, entries: Vec<AuditEntry>) -> Result<()> {
    let note =
        s.audit_latest_checkpoint()?.context("no checkpoint yet: sign one with `vtj audit checkpoint --key-file`")?;
    let size = vtj_tlog::note::read_unverified(&note)?.size;
    let mut out = std::io::stdout().lock();
    for e in entries {
        if e.seq as u64 > size {
            bail!("entry #{} is newer than the newest checkpoint ({size}): sign one first", e.seq);
        }
        let inclusion = encode_hashes(&s.audit_inclusion(e.seq, size)?);
        let p = Proof { entry: e.seq, data: e.data, checkpoint: note.clone(), inclusion };
        writeln!(out, "{}", serde_json::to_string(&p)?)?;
    }
    Ok(())
}

fn read(p: &Path) -> Result<String> {
    if p == Path::new("-") {
        return Ok(std::io::read_to_string(std::io::stdin())?);
    }
    std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
}

/// Every hetu the person known by `hetu` has had (just `hetu` if the
/// store does not know them): a disclosure before a correction names the
/// person by the hetu of its time.
fn every_hetu(s: &dyn Backend, hetu: &str) -> Result<Vec<String>> {
    let parsed = vtj_core::Hetu::parse(hetu).with_context(|| format!("{hetu:?} is not a valid hetu"))?;
    Ok(match s.person_by_hetu(parsed)? {
        Some(p) => p.all_hetus().iter().map(ToString::to_string).collect(),
        None => vec![hetu.to_string()],
    })
}

/// The entries that disclosed the data of a person (by any of `hetus`) or asked for it.
fn about(s: &dyn Backend, hetus: &[String]) -> Result<Vec<(AuditEntry, AuditRecord)>> {
    let mut out = Vec::new();
    s.audit_scan(&mut |page| {
        for e in page {
            let r: AuditRecord = serde_json::from_str(&e.data)
                .map_err(|err| StoreError::Corrupt(format!("entry #{} is not an audit record: {err}", e.seq)))?;
            if r.hetus.iter().chain(&r.asked).any(|h| hetus.contains(h)) {
                out.push((e.clone(), r));
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Writes a new signing key to a file that only its owner may read.
pub fn write_key(path: &Path, name: &str) -> Result<Signer> {
    let signer = Signer::generate(name)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (an existing key is never overwritten)", path.display()))?;
    writeln!(f, "{}", signer.private_text())?;
    f.sync_all()?;
    Ok(signer)
}

/// Reads the signing key; a key others can read is refused.
pub fn load_signer(path: &Path) -> Result<Signer> {
    let meta = std::fs::metadata(path).with_context(|| format!("the audit key {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!("the audit key {} can be read by others: chmod 600 it (and think whether it leaked)", path.display());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Signer::from_private_text(&text).with_context(|| format!("the audit key {}", path.display()))
}
