//! A permit's delivery directory: `MANIFEST.json` lists every delivery in
//! sequence (cursor range, record count, SHA-256), so that the recipient's
//! importer can check each file and refuse gaps. The service writes it
//! (last, atomically); the importer reads it.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

pub const MANIFEST: &str = "MANIFEST.json";

#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub seq: u32,
    pub file: String,
    /// `PTT` or `MTT`.
    pub kind: String,
    pub from: i64,
    pub to: i64,
    /// YYYYMMDD.
    pub created: String,
    pub records: u64,
    pub sha256: String,
    /// Hetu-list permits: the internal ids of the listed persons the
    /// delivery covered, so that the next one can bring persons added to
    /// the list since (in full) and tell of those removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed: Vec<u64>,
    /// The service's audit-log checkpoint (a C2SP signed note) signed after
    /// the delivery's pages were logged, so it covers them; none from a
    /// service that delivers unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_checkpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub permit: String,
    pub recipient: String,
    pub deliveries: Vec<ManifestEntry>,
}

impl Manifest {
    /// The manifest of `dir`, or `None` where there is none yet.
    pub fn load(dir: &Path) -> Result<Option<Manifest>, ManifestError> {
        let path = dir.join(MANIFEST);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| ManifestError::Invalid { path, message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ManifestError::Io { path, source }),
        }
    }
}

/// SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, ManifestError> {
    let io = |source| ManifestError::Io { path: path.to_path_buf(), source };
    let mut f = File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
