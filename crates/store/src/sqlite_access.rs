//! Recipients, users and their certificates, and the audit log on SQLite.

use rusqlite::{params, Connection, OptionalExtension};

use vtj_tlog::{Hash, Nodes, Signer};

use crate::audit::{Appended, AuditEntry, AuditRecord, ChainPoint};
use crate::tree::{self, LogTx, TreeTx};
use crate::{Access, ApiUser, AuditLog, Recipient, SqliteStore, Store, StoreError};

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiUser> {
    Ok(ApiUser { name: r.get(0)?, permit: r.get(1)?, password_hash: r.get(2)?, revoked: r.get(3)? })
}

const HEAD: &str = "audit.head";
const ANCHOR: &str = "audit.anchor";

fn chain_point(conn: &Connection, key: &str) -> Result<ChainPoint, StoreError> {
    let v: Option<String> =
        conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?;
    match v {
        None => Ok(ChainPoint::genesis()),
        Some(v) => ChainPoint::decode(&v).ok_or_else(|| StoreError::Corrupt(format!("{key} = {v:?}"))),
    }
}

fn set_chain_point(conn: &Connection, key: &str, p: &ChainPoint) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, p.encode()])?;
    Ok(())
}

impl Access for SqliteStore {
    fn put_recipient(&mut self, r: &Recipient) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO recipient (tunnus, nimi) VALUES (?1, ?2)
             ON CONFLICT (tunnus) DO UPDATE SET nimi = excluded.nimi",
            params![r.tunnus, r.nimi],
        )?;
        Ok(())
    }

    fn recipient(&self, tunnus: &str) -> Result<Option<Recipient>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT tunnus, nimi FROM recipient WHERE tunnus = ?1", [tunnus], |r| {
                Ok(Recipient { tunnus: r.get(0)?, nimi: r.get(1)? })
            })
            .optional()?)
    }

    fn recipients(&self) -> Result<Vec<Recipient>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT tunnus, nimi FROM recipient ORDER BY tunnus")?;
        let rows = stmt.query_map([], |r| Ok(Recipient { tunnus: r.get(0)?, nimi: r.get(1)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn add_user(&mut self, u: &ApiUser) -> Result<(), StoreError> {
        if self.permit(&u.permit)?.is_none() {
            return Err(StoreError::UnknownPermit(u.permit.clone()));
        }
        let tx = self.write_tx()?;
        let exists = tx.query_row("SELECT 1 FROM api_user WHERE name = ?1", [&u.name], |_| Ok(())).optional()?;
        if exists.is_some() {
            return Err(StoreError::UserExists(u.name.clone()));
        }
        tx.execute(
            "INSERT INTO api_user (name, permit, password_hash, revoked) VALUES (?1, ?2, ?3, ?4)",
            params![u.name, u.permit, u.password_hash, u.revoked],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn user(&self, name: &str) -> Result<Option<ApiUser>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT name, permit, password_hash, revoked FROM api_user WHERE name = ?1")?
            .query_row([name], user_row)
            .optional()?)
    }

    fn users(&self) -> Result<Vec<ApiUser>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT name, permit, password_hash, revoked FROM api_user ORDER BY name")?;
        let rows = stmt.query_map([], user_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_user(&mut self, name: &str) -> Result<bool, StoreError> {
        let tx = self.write_tx()?;
        let n = tx.execute("UPDATE api_user SET revoked = 1 WHERE name = ?1 AND NOT revoked", [name])?;
        tx.execute("UPDATE user_cert SET revoked = 1 WHERE user_name = ?1", [name])?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn add_user_cert(&mut self, user: &str, hash: &str) -> Result<(), StoreError> {
        match self.user(user)? {
            Some(u) if !u.revoked => {}
            _ => return Err(StoreError::UnknownUser(user.to_string())),
        }
        self.conn.execute("INSERT INTO user_cert (hash, user_name) VALUES (?1, ?2)", params![hash, user])?;
        Ok(())
    }

    fn cert_user(&self, hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT c.user_name FROM user_cert c JOIN api_user u ON u.name = c.user_name
                 WHERE c.hash = ?1 AND NOT c.revoked AND NOT u.revoked",
            )?
            .query_row([hash], |r| r.get(0))
            .optional()?)
    }
}

/// The audit tree inside one of the connection's transactions.
pub(crate) struct SqlTree<'a>(pub(crate) &'a Connection);

impl Nodes for SqlTree<'_> {
    type Error = StoreError;
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, StoreError> {
        node(self.0, level, index)?.ok_or_else(|| tree::missing(level, index))
    }
}

impl LogTx for SqlTree<'_> {
    fn insert_entry(&mut self, seq: i64, at: &str, data: &str, prev_hash: &str, hash: &str) -> Result<(), StoreError> {
        self.0
            .prepare_cached("INSERT INTO audit_log (seq, at, data, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![seq, at, data, prev_hash, hash])?;
        Ok(())
    }
}

impl TreeTx for SqlTree<'_> {
    fn tree_size(&mut self) -> Result<u64, StoreError> {
        tree_size(self.0)
    }

    fn put_node(&mut self, level: u32, index: u64, hash: &Hash) -> Result<(), StoreError> {
        self.0.prepare_cached("INSERT INTO audit_tree (level, idx, hash) VALUES (?1, ?2, ?3)")?.execute(params![
            level,
            index as i64,
            &hash[..]
        ])?;
        Ok(())
    }

    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<String, StoreError> {
        self.0
            .prepare_cached("INSERT INTO audit_checkpoint (size, note) VALUES (?1, ?2) ON CONFLICT (size) DO NOTHING")?
            .execute(params![size as i64, note])?;
        Ok(self.0.query_row("SELECT note FROM audit_checkpoint WHERE size = ?1", [size as i64], |r| r.get(0))?)
    }
}

fn node(conn: &Connection, level: u32, index: u64) -> Result<Option<Hash>, StoreError> {
    let raw: Option<Vec<u8>> = conn
        .prepare_cached("SELECT hash FROM audit_tree WHERE level = ?1 AND idx = ?2")?
        .query_row(params![level, index as i64], |r| r.get(0))
        .optional()?;
    raw.map(|h| tree::hash_of(&h)).transpose()
}

fn tree_size(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_tree WHERE level = 0")?
        .query_row([], |r| r.get(0))?;
    Ok(n as u64)
}

/// Builds the tree over a log that predates it (schema step 4), inside
/// the migration's transaction.
pub(crate) fn audit_catch_up(tx: &Connection) -> Result<(), StoreError> {
    let (head, anchor) = (chain_point(tx, HEAD)?.seq, chain_point(tx, ANCHOR)?.seq);
    tree::catch_up(&mut SqlTree(tx), head, anchor, |after, limit| {
        let mut stmt = tx.prepare_cached("SELECT seq, data FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    })
}

impl AuditLog for SqliteStore {
    fn audit_append_all(
        &mut self,
        records: &[AuditRecord],
        signer: Option<&Signer>,
    ) -> Result<Vec<Appended>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.write_tx()?;
        let head = chain_point(&tx, HEAD)?;
        let (head, appended) = tree::append_all(&mut SqlTree(&tx), head, records, signer)?;
        set_chain_point(&tx, HEAD, &head)?;
        tx.commit()?;
        Ok(appended)
    }

    fn audit_tree_size(&self) -> Result<u64, StoreError> {
        tree_size(&self.conn)
    }

    fn audit_node(&self, level: u32, index: u64) -> Result<Option<Hash>, StoreError> {
        node(&self.conn, level, index)
    }

    fn audit_nodes(&self, level: u32, from: u64, limit: usize) -> Result<Vec<Hash>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT idx, hash FROM audit_tree WHERE level = ?1 AND idx >= ?2 ORDER BY idx LIMIT ?3")?;
        let rows = stmt.query_map(params![level, from as i64, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        tree::contiguous(level, from, rows.collect::<Result<_, _>>()?)
    }

    fn audit_checkpoints(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT size, note FROM audit_checkpoint WHERE size > ?1 ORDER BY size LIMIT ?2")?;
        let rows =
            stmt.query_map(params![after as i64, limit as i64], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn audit_latest_checkpoint(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT note FROM audit_checkpoint ORDER BY size DESC LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?)
    }

    fn audit_sign(&mut self, signer: &Signer) -> Result<String, StoreError> {
        let tx = self.write_tx()?;
        let note = tree::sign(&mut SqlTree(&tx), signer)?;
        tx.commit()?;
        Ok(note)
    }

    fn audit_entries(&self, after: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, data, prev_hash, hash FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![after, limit as i64], |r| {
            Ok(AuditEntry { seq: r.get(0)?, data: r.get(1)?, prev_hash: r.get(2)?, hash: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn audit_anchor(&self) -> Result<ChainPoint, StoreError> {
        chain_point(&self.conn, ANCHOR)
    }

    fn audit_head(&self) -> Result<ChainPoint, StoreError> {
        chain_point(&self.conn, HEAD)
    }

    fn audit_prune(&mut self, cutoff: &str) -> Result<u64, StoreError> {
        let tx = self.write_tx()?;
        // Entries are appended in time order, so the expired ones are a
        // prefix; the last of them becomes the anchor of what remains.
        let last: Option<(i64, String)> = tx
            .query_row("SELECT seq, hash FROM audit_log WHERE at < ?1 ORDER BY seq DESC LIMIT 1", [cutoff], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((seq, hash)) = last else { return Ok(0) };
        let n = tx.execute("DELETE FROM audit_log WHERE seq <= ?1", [seq])?;
        set_chain_point(&tx, ANCHOR, &ChainPoint { seq, hash })?;
        tx.commit()?;
        Ok(n as u64)
    }
}
