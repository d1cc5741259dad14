//! `vtj audit`: verify the hash chain, prune past the retention period.

use anyhow::{bail, Result};
use clap::Subcommand;
use vtj_store::AuditRecord;

use crate::open_existing;

/// Audit entries are kept five years (DESIGN.md rule 4).
const RETENTION_YEARS: i32 = 5;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Walk the chain; exit non-zero and say where if anything was edited, deleted or reordered.
    Verify {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
    },
    /// Delete entries older than five years, keeping the rest verifiable.
    Prune {
        /// A SQLite file path or a postgres:// URL.
        #[arg(long, default_value = "vtj.db")]
        db: String,
    },
}

pub fn run(cmd: AuditCmd) -> Result<()> {
    match cmd {
        AuditCmd::Verify { db } => match open_existing(&db)?.audit_verify() {
            Ok(r) => println!("audit log intact: {} entries from {} to {}", r.entries, r.anchor, r.head),
            Err(e) => bail!("{e}"),
        },
        AuditCmd::Prune { db } => {
            let now = time::OffsetDateTime::now_utc();
            let cutoff = now.replace_year(now.year() - RETENTION_YEARS).unwrap_or(now - time::Duration::days(5 * 366));
            let n = open_existing(&db)?.audit_prune(&AuditRecord::format_time(cutoff))?;
            println!("{n} entries older than {RETENTION_YEARS} years pruned");
        }
    }
    Ok(())
}
