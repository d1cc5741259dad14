//! Muutostietopalvelu on the recipient's side: apply a permit's delivery
//! files (`.PTT`, then `.MTT`s) to the local register in sequence order.
//!
//! Before a file is applied its SHA-256 must match the manifest, its header
//! must match the manifest entry, and it must start where the register
//! stands: sequence `done + 1`, and for a change delivery the cursor the
//! register is at. A gap is refused. Records go in batches, each committed
//! with the count of the file's records applied, so a run killed part-way
//! resumes at the next record.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::Serialize;
use vtj_core::Disclosure;
use vtj_format::delivery::{DeliveryKind, DeliveryReader, Item, Role};
use vtj_format::manifest::{sha256_file, Manifest, ManifestEntry};
use vtj_wire::{change_record, person_record};

use crate::register::{FileBatch, Mode, Position, Register};
use crate::SyncError;

/// Records applied per committed batch.
pub const BATCH: usize = 1_000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Sequence numbers applied in this run.
    pub applied: Vec<u32>,
    pub records: u64,
    /// Groups of codes this program does not know, by code: reported, not applied.
    pub unknown_groups: BTreeMap<String, u64>,
    pub cursor: i64,
}

fn input(m: impl Into<String>) -> SyncError {
    SyncError::Input(m.into())
}

/// The register key of a delivery directory's permit.
pub fn source(m: &Manifest) -> String {
    format!("files:{}:{}", m.recipient, m.permit)
}

/// Applies every delivery in `dir` the register does not have yet.
pub fn import(reg: &mut Register, dir: &Path) -> Result<ImportReport, SyncError> {
    import_in_batches(reg, dir, BATCH)
}

/// As [`import`], committing every `batch` records.
pub fn import_in_batches(reg: &mut Register, dir: &Path, batch: usize) -> Result<ImportReport, SyncError> {
    let batch = batch.max(1);
    let manifest = Manifest::load(dir)
        .map_err(|e| input(e.to_string()))?
        .ok_or_else(|| input(format!("{}: no manifest; is this a delivery directory?", dir.display())))?;
    reg.bind(&source(&manifest), Mode::Files)?;
    let mut report = ImportReport::default();
    // Older deliveries may have been cleared away; what is listed must be contiguous.
    for pair in manifest.deliveries.windows(2) {
        if pair[1].seq != pair[0].seq + 1 {
            return Err(input(format!("the manifest jumps from delivery {} to {}", pair[0].seq, pair[1].seq)));
        }
    }
    let progress = reg.file_progress()?;
    let pending: Vec<&ManifestEntry> = manifest.deliveries.iter().filter(|e| e.seq > progress.done).collect();
    if let Some(first) = pending.first() {
        if first.seq != progress.done + 1 {
            return Err(input(format!(
                "the register has deliveries up to {}; the next in {} is {}: refusing the gap",
                progress.done,
                dir.display(),
                first.seq
            )));
        }
    }
    for entry in pending {
        let progress = reg.file_progress()?;
        let skip = match progress.within {
            Some((seq, n)) if seq == entry.seq => n,
            Some((seq, _)) => {
                return Err(input(format!("the register is part-way through delivery {seq}, not {}", entry.seq)))
            }
            None => 0,
        };
        report.records += apply_file(reg, dir, entry, &progress.position, skip, batch, &mut report.unknown_groups)?;
        if let Some(note) = &entry.audit_checkpoint {
            crate::witness::keep_delivered(reg, note)?;
        }
        report.applied.push(entry.seq);
    }
    if let Position::Following { cursor } = reg.position()? {
        report.cursor = cursor;
    }
    Ok(report)
}

fn apply_file(
    reg: &mut Register,
    dir: &Path,
    entry: &ManifestEntry,
    position: &Position,
    skip: u64,
    size: usize,
    unknown: &mut BTreeMap<String, u64>,
) -> Result<u64, SyncError> {
    let path = dir.join(&entry.file);
    let sum = sha256_file(&path).map_err(|e| input(e.to_string()))?;
    if sum != entry.sha256 {
        return Err(input(format!("{}: SHA-256 {sum} is not the manifest's {}", path.display(), entry.sha256)));
    }
    let file = File::open(&path).map_err(|e| input(format!("{}: {e}", path.display())))?;
    let mut reader = DeliveryReader::new(BufReader::new(file)).map_err(|e| input(format!("{}: {e}", entry.file)))?;
    let h = reader.header().clone();
    let initial = h.kind == DeliveryKind::Initial;
    if h.seq != entry.seq || h.from != entry.from || h.to != entry.to || h.kind.extension() != entry.kind {
        return Err(input(format!("{}: its header does not match the manifest entry", entry.file)));
    }
    match (initial, position) {
        (true, Position::New) => {}
        (false, Position::Following { cursor }) if *cursor == h.from => {}
        (false, Position::Following { cursor }) => {
            return Err(input(format!(
                "{} starts after cursor {} but the register is at {cursor}: refusing the gap",
                entry.file, h.from
            )))
        }
        _ => {
            return Err(input(format!("{}: the register is not where this delivery starts ({position:?})", entry.file)))
        }
    }
    let mut n = 0u64;
    let mut batch: Vec<Item> = Vec::with_capacity(size);
    let at = |e: vtj_format::delivery::DeliveryError| input(format!("{}: {e}", entry.file));
    while let Some(item) = reader.next_item().map_err(at)? {
        n += 1;
        if n <= skip {
            continue;
        }
        batch.push(item);
        if batch.len() == size {
            reg.import_batch(entry.seq, to_batch(initial, std::mem::take(&mut batch))?, n)?;
        }
    }
    // Only now is the file known to be whole (its trailer checked).
    if !batch.is_empty() {
        reg.import_batch(entry.seq, to_batch(initial, batch)?, n)?;
    }
    for (code, k) in &reader.unknown {
        *unknown.entry(code.clone()).or_default() += k;
    }
    reg.import_finish(entry.seq, h.to)?;
    Ok(n - skip.min(n))
}

/// A file's records as the REST service would have sent them, so that the
/// register applies both channels alike.
fn to_batch(initial: bool, items: Vec<Item>) -> Result<FileBatch, SyncError> {
    if initial {
        let persons = items
            .into_iter()
            .map(|i| match i.role {
                Role::Initial => Ok(person_record(i.hetu.as_str(), &i.groups)),
                other => Err(input(format!("{}: a {other:?} record in an initial delivery", i.hetu))),
            })
            .collect::<Result<_, _>>()?;
        return Ok(FileBatch::Initial(persons));
    }
    let changes = items
        .into_iter()
        .filter_map(|i| {
            let d = match i.role {
                Role::Change => Disclosure::Change(i.groups),
                Role::Enter => Disclosure::Enter(i.groups),
                Role::Leave => Disclosure::Leave(i.groups),
                Role::Initial => {
                    return Some(Err(input(format!("{}: an initial record in a change delivery", i.hetu))))
                }
            };
            change_record(i.hetu.as_str(), i.registered, &d).map(Ok)
        })
        .collect::<Result<_, _>>()?;
    Ok(FileBatch::Changes(changes))
}
