//! The register on PostgreSQL, chosen by a `postgres://` URL.
//!
//! The blocking `postgres` client runs its own runtime, which must not be
//! started inside the caller's async runtime, so the connection lives on a
//! thread of its own and transactions are sent to it as jobs.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread;

use postgres::{Client, NoTls, Transaction};

use super::{AccessEntry, Job, RegisterError, Tx};

const SCHEMA: &str = r#"
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS person (hetu TEXT PRIMARY KEY, groups TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS hetu_history (old_hetu TEXT PRIMARY KEY, hetu TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS access_log (
        seq     BIGSERIAL PRIMARY KEY,
        at      TEXT NOT NULL,
        who     TEXT NOT NULL,
        purpose TEXT NOT NULL,
        action  TEXT NOT NULL,
        hetus   TEXT NOT NULL
    );
    CREATE OR REPLACE FUNCTION access_log_guard() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            RAISE EXCEPTION 'access_log is append-only';
        END IF;
        IF OLD.at >= to_char((now() AT TIME ZONE 'UTC') - interval '5 years', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') THEN
            RAISE EXCEPTION 'access log entries are kept five years';
        END IF;
        RETURN OLD;
    END $$ LANGUAGE plpgsql;
    DROP TRIGGER IF EXISTS access_log_guard ON access_log;
    CREATE TRIGGER access_log_guard BEFORE UPDATE OR DELETE ON access_log
        FOR EACH ROW EXECUTE FUNCTION access_log_guard();
    CREATE TABLE IF NOT EXISTS listed (hetu TEXT PRIMARY KEY, bucket BIGINT NOT NULL);
    CREATE INDEX IF NOT EXISTS listed_bucket ON listed(bucket, hetu);
    CREATE TABLE IF NOT EXISTS bucket (id BIGINT PRIMARY KEY, cursor BIGINT NOT NULL);
    CREATE TABLE IF NOT EXISTS checkpoint (size BIGINT PRIMARY KEY, note TEXT NOT NULL, received TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS outbox (seq BIGSERIAL PRIMARY KEY, hetu TEXT NOT NULL);
    CREATE OR REPLACE FUNCTION outbox_note() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM meta WHERE key = 'outbox') THEN
            INSERT INTO outbox (hetu) VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.hetu ELSE NEW.hetu END);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql;
    DROP TRIGGER IF EXISTS outbox_note ON person;
    CREATE TRIGGER outbox_note AFTER INSERT OR UPDATE OR DELETE ON person
        FOR EACH ROW EXECUTE FUNCTION outbox_note();
"#;

type Work = Box<dyn FnOnce(&mut Client) + Send>;

pub(super) struct Postgres {
    jobs: mpsc::Sender<Work>,
}

impl Postgres {
    pub(super) fn connect(url: &str) -> Result<Postgres, RegisterError> {
        let (jobs, inbox) = mpsc::channel::<Work>();
        let (ready_tx, ready) = mpsc::channel();
        let url = url.to_string();
        thread::spawn(move || {
            let mut client = match Client::connect(&url, NoTls).and_then(|mut c| c.batch_execute(SCHEMA).map(|()| c)) {
                Ok(c) => {
                    let _ = ready_tx.send(Ok(()));
                    c
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            for work in inbox {
                work(&mut client);
            }
        });
        ready.recv().map_err(|_| RegisterError::Disconnected)??;
        Ok(Postgres { jobs })
    }

    pub(super) fn run<T: Send + 'static>(&mut self, job: Job<T>) -> Result<T, RegisterError> {
        let (reply, answer) = mpsc::channel();
        let work: Work = Box::new(move |client: &mut Client| {
            let result = (|| {
                let mut tx = client.transaction()?;
                let out = job(&mut PgTx(&mut tx))?;
                tx.commit()?;
                Ok(out)
            })();
            let _ = reply.send(result);
        });
        self.jobs.send(work).map_err(|_| RegisterError::Disconnected)?;
        answer.recv().map_err(|_| RegisterError::Disconnected)?
    }
}

struct PgTx<'a, 'c>(&'a mut Transaction<'c>);

impl Tx for PgTx<'_, '_> {
    fn meta(&mut self, key: &str) -> Result<Option<String>, RegisterError> {
        Ok(self.0.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?.map(|r| r.get(0)))
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), RegisterError> {
        self.0.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn delete_meta(&mut self, key: &str) -> Result<(), RegisterError> {
        self.0.execute("DELETE FROM meta WHERE key = $1", &[&key])?;
        Ok(())
    }

    fn load(&mut self, hetu: &str) -> Result<Option<String>, RegisterError> {
        Ok(self.0.query_opt("SELECT groups FROM person WHERE hetu = $1", &[&hetu])?.map(|r| r.get(0)))
    }

    fn save(&mut self, hetu: &str, groups: &str) -> Result<(), RegisterError> {
        self.0.execute(
            "INSERT INTO person (hetu, groups) VALUES ($1, $2) ON CONFLICT (hetu) DO UPDATE SET groups = excluded.groups",
            &[&hetu, &groups],
        )?;
        Ok(())
    }

    fn delete_person(&mut self, hetu: &str) -> Result<usize, RegisterError> {
        Ok(self.0.execute("DELETE FROM person WHERE hetu = $1", &[&hetu])? as usize)
    }

    fn history_target(&mut self, old: &str) -> Result<Option<String>, RegisterError> {
        Ok(self.0.query_opt("SELECT hetu FROM hetu_history WHERE old_hetu = $1", &[&old])?.map(|r| r.get(0)))
    }

    fn history_put(&mut self, old: &str, hetu: &str) -> Result<(), RegisterError> {
        self.0.execute(
            "INSERT INTO hetu_history (old_hetu, hetu) VALUES ($1, $2)
             ON CONFLICT (old_hetu) DO UPDATE SET hetu = excluded.hetu",
            &[&old, &hetu],
        )?;
        Ok(())
    }

    fn history_retarget(&mut self, from: &str, to: &str) -> Result<(), RegisterError> {
        self.0.execute("UPDATE hetu_history SET hetu = $1 WHERE hetu = $2", &[&to, &from])?;
        Ok(())
    }

    fn history_delete(&mut self, hetu: &str) -> Result<(), RegisterError> {
        self.0.execute("DELETE FROM hetu_history WHERE hetu = $1", &[&hetu])?;
        Ok(())
    }

    fn has_history(&mut self) -> Result<bool, RegisterError> {
        Ok(self.0.query_one("SELECT EXISTS (SELECT 1 FROM hetu_history)", &[])?.get(0))
    }

    fn history_targets(&mut self, olds: &[String]) -> Result<HashMap<String, String>, RegisterError> {
        let rows = self.0.query("SELECT old_hetu, hetu FROM hetu_history WHERE old_hetu = ANY($1)", &[&olds])?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn load_many(&mut self, hetus: &[String]) -> Result<HashMap<String, String>, RegisterError> {
        let rows = self.0.query("SELECT hetu, groups FROM person WHERE hetu = ANY($1)", &[&hetus])?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn save_many(&mut self, persons: &[(String, String)]) -> Result<(), RegisterError> {
        if persons.is_empty() {
            return Ok(());
        }
        let (hetus, groups): (Vec<&str>, Vec<&str>) = persons.iter().map(|(h, g)| (h.as_str(), g.as_str())).unzip();
        self.0.execute(
            "INSERT INTO person (hetu, groups) SELECT * FROM unnest($1::text[], $2::text[])
             ON CONFLICT (hetu) DO UPDATE SET groups = excluded.groups",
            &[&hetus, &groups],
        )?;
        Ok(())
    }

    fn delete_many(&mut self, hetus: &[String]) -> Result<(), RegisterError> {
        if !hetus.is_empty() {
            self.0.execute("DELETE FROM person WHERE hetu = ANY($1)", &[&hetus])?;
        }
        Ok(())
    }

    fn log_access(&mut self, e: &AccessEntry) -> Result<(), RegisterError> {
        let hetus = serde_json::to_string(&e.hetus)?;
        self.0.execute(
            "INSERT INTO access_log (at, who, purpose, action, hetus) VALUES ($1, $2, $3, $4, $5)",
            &[&e.at, &e.who, &e.purpose, &e.action, &hetus],
        )?;
        Ok(())
    }

    fn checkpoint_put(&mut self, size: u64, note: &str, received: &str) -> Result<(), RegisterError> {
        self.0.execute(
            "INSERT INTO checkpoint (size, note, received) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING",
            &[&(size as i64), &note, &received],
        )?;
        Ok(())
    }

    fn latest_checkpoint(&mut self) -> Result<Option<String>, RegisterError> {
        Ok(self.0.query_opt("SELECT note FROM checkpoint ORDER BY size DESC LIMIT 1", &[])?.map(|r| r.get(0)))
    }

    fn checkpoints(&mut self) -> Result<Vec<String>, RegisterError> {
        Ok(self.0.query("SELECT note FROM checkpoint ORDER BY size", &[])?.iter().map(|r| r.get(0)).collect())
    }

    fn access_log(&mut self) -> Result<Vec<AccessEntry>, RegisterError> {
        self.0
            .query("SELECT at, who, purpose, action, hetus FROM access_log ORDER BY seq", &[])?
            .iter()
            .map(|r| {
                Ok(AccessEntry {
                    at: r.get(0),
                    who: r.get(1),
                    purpose: r.get(2),
                    action: r.get(3),
                    hetus: serde_json::from_str(r.get::<_, &str>(4))?,
                })
            })
            .collect()
    }

    fn prune_access_log(&mut self, cutoff: &str) -> Result<usize, RegisterError> {
        Ok(self.0.execute("DELETE FROM access_log WHERE at < $1", &[&cutoff])? as usize)
    }

    fn all(&mut self) -> Result<Vec<(String, String)>, RegisterError> {
        Ok(self
            .0
            .query("SELECT hetu, groups FROM person ORDER BY hetu", &[])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn count(&mut self) -> Result<u64, RegisterError> {
        Ok(self.0.query_one("SELECT count(*) FROM person", &[])?.get::<_, i64>(0) as u64)
    }

    fn list_bucket(&mut self, hetu: &str) -> Result<Option<i64>, RegisterError> {
        Ok(self.0.query_opt("SELECT bucket FROM listed WHERE hetu = $1", &[&hetu])?.map(|r| r.get(0)))
    }

    fn list_put(&mut self, hetu: &str, bucket: i64) -> Result<(), RegisterError> {
        self.0.execute(
            "INSERT INTO listed (hetu, bucket) VALUES ($1, $2) ON CONFLICT (hetu) DO UPDATE SET bucket = excluded.bucket",
            &[&hetu, &bucket],
        )?;
        Ok(())
    }

    fn list_delete(&mut self, hetu: &str) -> Result<usize, RegisterError> {
        Ok(self.0.execute("DELETE FROM listed WHERE hetu = $1", &[&hetu])? as usize)
    }

    fn list_members(&mut self, bucket: i64) -> Result<Vec<String>, RegisterError> {
        Ok(self
            .0
            .query("SELECT hetu FROM listed WHERE bucket = $1 ORDER BY hetu", &[&bucket])?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn buckets(&mut self) -> Result<Vec<(i64, i64, u64)>, RegisterError> {
        Ok(self
            .0
            .query(
                "SELECT b.id, b.cursor, (SELECT count(*) FROM listed l WHERE l.bucket = b.id) FROM bucket b ORDER BY b.id",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2) as u64))
            .collect())
    }

    fn bucket_put(&mut self, id: i64, cursor: i64) -> Result<(), RegisterError> {
        self.0.execute(
            "INSERT INTO bucket (id, cursor) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor",
            &[&id, &cursor],
        )?;
        Ok(())
    }

    fn history_of(&mut self, hetu: &str) -> Result<Vec<String>, RegisterError> {
        let rows = self.0.query("SELECT old_hetu FROM hetu_history WHERE hetu = $1 ORDER BY old_hetu", &[&hetu])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn outbox_after(&mut self, after: i64, limit: usize) -> Result<Vec<(i64, String)>, RegisterError> {
        let rows = self.0.query(
            "SELECT seq, hetu FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &i64::try_from(limit).unwrap_or(i64::MAX)],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn outbox_prune(&mut self, upto: i64) -> Result<usize, RegisterError> {
        Ok(self.0.execute("DELETE FROM outbox WHERE seq <= $1", &[&upto])? as usize)
    }

    fn outbox_head(&mut self) -> Result<i64, RegisterError> {
        let row = self.0.query_one("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM outbox_seq_seq", &[])?;
        Ok(row.get(0))
    }
}
