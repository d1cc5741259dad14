//! Schema migrations of both backends, applied in order and recorded (SQLite:
//! `PRAGMA user_version`; PostgreSQL: the `schema_version` table).
//! Never edit a released step: add a new one.

pub const SQLITE: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE person (
        id          INTEGER PRIMARY KEY,
        hetu        TEXT NOT NULL UNIQUE,
        kotikunta   INTEGER,
        turvakielto INTEGER NOT NULL,
        data        TEXT NOT NULL
    );
    CREATE INDEX person_kotikunta ON person(kotikunta, id);
    -- Every hetu a person has had; the old ones stay so that look-ups and
    -- hetu lists keep finding the person after a correction.
    CREATE TABLE hetu (
        hetu      TEXT PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES person(id),
        active    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX hetu_person ON hetu(person_id);
    -- AUTOINCREMENT: a cursor is never reused, even after a rolled-back append.
    CREATE TABLE change_log (
        cursor     INTEGER PRIMARY KEY AUTOINCREMENT,
        person_id  INTEGER NOT NULL,
        registered TEXT NOT NULL,
        kind       TEXT NOT NULL,
        event      TEXT NOT NULL,
        before     TEXT,
        after      TEXT NOT NULL
    );
    CREATE INDEX change_log_person ON change_log(person_id, cursor);
    CREATE INDEX change_log_registered ON change_log(registered, cursor);
    CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log
        BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END;
    CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log
        BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END;
    CREATE TABLE permit (
        tunnus TEXT PRIMARY KEY,
        data   TEXT NOT NULL
    );
    CREATE TABLE hetu_list (
        permit TEXT NOT NULL REFERENCES permit(tunnus),
        hetu   TEXT NOT NULL,
        PRIMARY KEY (permit, hetu)
    ) WITHOUT ROWID;
    "#,
    // 2: recipients, credentials and the audit log.
    r#"
    CREATE TABLE recipient (
        tunnus TEXT PRIMARY KEY,
        nimi   TEXT NOT NULL
    );
    CREATE TABLE credential (
        hash      TEXT PRIMARY KEY,
        recipient TEXT NOT NULL REFERENCES recipient(tunnus),
        label     TEXT NOT NULL,
        revoked   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX credential_recipient ON credential(recipient);
    CREATE TABLE audit_log (
        seq       INTEGER PRIMARY KEY,
        at        TEXT NOT NULL,
        data      TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
    );
    CREATE INDEX audit_log_at ON audit_log(at);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    -- Five years' retention: younger entries cannot be deleted at all.
    CREATE TRIGGER audit_log_retention BEFORE DELETE ON audit_log
        WHEN OLD.at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-5 years')
        BEGIN SELECT RAISE(ABORT, 'audit entries are kept five years'); END;
    "#,
    // 3: DVV's interface. Users, each bound to one permit, replace the
    // recipients' bearer tokens; client certificates belong to a user.
    // (Person data changed shape too: see `FORMAT_CHANGED_AT`.)
    r#"
    DROP TABLE credential;
    CREATE TABLE api_user (
        name          TEXT PRIMARY KEY,
        permit        TEXT NOT NULL REFERENCES permit(tunnus),
        password_hash TEXT NOT NULL,
        revoked       INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX api_user_permit ON api_user(permit);
    CREATE TABLE user_cert (
        hash      TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES api_user(name),
        revoked   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX user_cert_user ON user_cert(user_name);
    "#,
    // 4: the audit log's Merkle tree (complete subtrees) and the signed
    // checkpoints over it; neither is ever updated or deleted, not even by
    // pruning. The store fills it for an existing log as it migrates.
    r#"
    CREATE TABLE audit_tree (
        level INTEGER NOT NULL,
        idx   INTEGER NOT NULL,
        hash  BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID;
    CREATE TRIGGER audit_tree_no_update BEFORE UPDATE ON audit_tree
        BEGIN SELECT RAISE(ABORT, 'audit_tree is append-only'); END;
    CREATE TRIGGER audit_tree_no_delete BEFORE DELETE ON audit_tree
        BEGIN SELECT RAISE(ABORT, 'audit_tree is append-only'); END;
    CREATE TABLE audit_checkpoint (
        size INTEGER PRIMARY KEY,
        note TEXT NOT NULL
    );
    CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
        BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END;
    CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
        BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END;
    "#,
    // 5: what each event changed (`vtj_core::Delta`), kept with its log
    // row so that a page need not decode and compare the two persons. Rows
    // from before have none; theirs is worked out when they are read.
    r#"
    ALTER TABLE change_log ADD COLUMN delta BLOB;
    "#,
    // 6: the summaries in a table of their own. At the end of a log row,
    // behind two persons' JSON in overflow pages, reading a summary meant
    // walking that chain; a page of changes read several times the
    // summaries' bytes. Rows from before keep theirs in the log row too.
    r#"
    CREATE TABLE change_summary (
        cursor INTEGER PRIMARY KEY,
        delta  BLOB NOT NULL
    );
    INSERT INTO change_summary (cursor, delta) SELECT cursor, delta FROM change_log WHERE delta IS NOT NULL;
    CREATE TRIGGER change_summary_no_update BEFORE UPDATE ON change_summary
        BEGIN SELECT RAISE(ABORT, 'change_summary is append-only'); END;
    CREATE TRIGGER change_summary_no_delete BEFORE DELETE ON change_summary
        BEGIN SELECT RAISE(ABORT, 'change_summary is append-only'); END;
    "#,
];

/// The same schema on PostgreSQL. Step n here is step n of `SQLITE`, up
/// to the fifth; the later steps of each are its own.
pub const POSTGRES: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE person (
        id          BIGINT PRIMARY KEY,
        hetu        TEXT NOT NULL UNIQUE,
        kotikunta   INTEGER,
        turvakielto BOOLEAN NOT NULL,
        data        TEXT NOT NULL
    );
    CREATE INDEX person_kotikunta ON person(kotikunta, id);
    CREATE TABLE hetu (
        hetu      TEXT PRIMARY KEY,
        person_id BIGINT NOT NULL REFERENCES person(id),
        active    BOOLEAN NOT NULL
    );
    CREATE INDEX hetu_person ON hetu(person_id);
    CREATE TABLE change_log (
        cursor     BIGSERIAL PRIMARY KEY,
        person_id  BIGINT NOT NULL,
        registered TEXT NOT NULL,
        kind       TEXT NOT NULL,
        event      TEXT NOT NULL,
        before     TEXT,
        after      TEXT NOT NULL
    );
    CREATE INDEX change_log_person ON change_log(person_id, cursor);
    CREATE INDEX change_log_registered ON change_log(registered, cursor);
    CREATE FUNCTION change_log_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'change_log is append-only'; END $$ LANGUAGE plpgsql;
    CREATE TRIGGER change_log_append_only BEFORE UPDATE OR DELETE ON change_log
        FOR EACH ROW EXECUTE FUNCTION change_log_append_only();
    CREATE TABLE permit (tunnus TEXT PRIMARY KEY, data TEXT NOT NULL);
    CREATE TABLE hetu_list (
        permit TEXT NOT NULL REFERENCES permit(tunnus),
        hetu   TEXT NOT NULL,
        PRIMARY KEY (permit, hetu)
    );
    "#,
    // 2: recipients, credentials and the audit log.
    r#"
    CREATE TABLE recipient (tunnus TEXT PRIMARY KEY, nimi TEXT NOT NULL);
    CREATE TABLE credential (
        hash      TEXT PRIMARY KEY,
        recipient TEXT NOT NULL REFERENCES recipient(tunnus),
        label     TEXT NOT NULL,
        revoked   BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX credential_recipient ON credential(recipient);
    CREATE TABLE audit_log (
        seq       BIGINT PRIMARY KEY,
        at        TEXT NOT NULL,
        data      TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
    );
    CREATE INDEX audit_log_at ON audit_log(at);
    CREATE FUNCTION audit_log_guard() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN RAISE EXCEPTION 'audit_log is append-only'; END IF;
        IF OLD.at >= to_char((now() AT TIME ZONE 'UTC') - interval '5 years', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') THEN
            RAISE EXCEPTION 'audit entries are kept five years';
        END IF;
        RETURN OLD;
    END $$ LANGUAGE plpgsql;
    CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
    "#,
    // 3: users and their certificates (see SQLITE step 3).
    r#"
    DROP TABLE credential;
    CREATE TABLE api_user (
        name          TEXT PRIMARY KEY,
        permit        TEXT NOT NULL REFERENCES permit(tunnus),
        password_hash TEXT NOT NULL,
        revoked       BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX api_user_permit ON api_user(permit);
    CREATE TABLE user_cert (
        hash      TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES api_user(name),
        revoked   BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX user_cert_user ON user_cert(user_name);
    "#,
    // 4: the audit log's Merkle tree and checkpoints (see SQLITE step 4).
    r#"
    CREATE TABLE audit_tree (
        level INTEGER NOT NULL,
        idx   BIGINT NOT NULL,
        hash  BYTEA NOT NULL,
        PRIMARY KEY (level, idx)
    );
    CREATE TABLE audit_checkpoint (
        size BIGINT PRIMARY KEY,
        note TEXT NOT NULL
    );
    CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
    END $$ LANGUAGE plpgsql;
    CREATE TRIGGER audit_tree_guard BEFORE UPDATE OR DELETE ON audit_tree
        FOR EACH ROW EXECUTE FUNCTION audit_append_only();
    CREATE TRIGGER audit_checkpoint_guard BEFORE UPDATE OR DELETE ON audit_checkpoint
        FOR EACH ROW EXECUTE FUNCTION audit_append_only();
    "#,
    // 5: each log row's change summary (see SQLITE step 5).
    r#"
    ALTER TABLE change_log ADD COLUMN delta BYTEA;
    "#,
    // 6: the persons' JSON compressed with lz4, not pglz: compressing the
    // log's before and after persons was a good part of an append's time.
    // Rows already written keep their pglz. A server built without lz4 (or
    // older than 14) keeps pglz.
    r#"
    DO $$
    BEGIN
        ALTER TABLE change_log ALTER COLUMN event SET COMPRESSION lz4,
            ALTER COLUMN before SET COMPRESSION lz4, ALTER COLUMN after SET COMPRESSION lz4;
        ALTER TABLE person ALTER COLUMN data SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported OR syntax_error THEN
        RAISE NOTICE 'lz4 column compression not available: %', SQLERRM;
    END $$;
    "#,
    // 7: a log row kept whole in its page. Its four large values together
    // compress to some 3 KB, more than the 2 KB past which PostgreSQL moves
    // values out to the TOAST table: before and after went there, each an
    // insert into that table and its index (and, read back, a look-up).
    // MAIN compresses them in the row and moves one out only if the row
    // would still not fit a page. The change summaries in lz4 too: step 6
    // left them to pglz, the busiest function of an append's server time.
    // A person's pages keep room for a changed row beside the old one, so
    // that most appends update a person in place of its indexes (HOT: two
    // updates in three against one in two when pages were filled up).
    // Rows and pages already written stay as they are.
    r#"
    ALTER TABLE change_log ALTER COLUMN event SET STORAGE MAIN, ALTER COLUMN before SET STORAGE MAIN,
        ALTER COLUMN after SET STORAGE MAIN, ALTER COLUMN delta SET STORAGE MAIN;
    ALTER TABLE person SET (fillfactor = 85);
    DO $$
    BEGIN
        ALTER TABLE change_log ALTER COLUMN delta SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported OR syntax_error THEN
        RAISE NOTICE 'lz4 column compression not available: %', SQLERRM;
    END $$;
    "#,
    // 8: audit entries compressed with lz4. An entry names every hetu it
    // disclosed, some 15 KB for a page of changes; pglz took 0.6 ms of the
    // server's time for each (in the commit every answer waits for), lz4
    // 0.1 ms, for entries a quarter larger (9.6 KB against 7.5 KB).
    r#"
    DO $$
    BEGIN
        ALTER TABLE audit_log ALTER COLUMN data SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported OR syntax_error THEN
        RAISE NOTICE 'lz4 column compression not available: %', SQLERRM;
    END $$;
    "#,
];

/// The step from which persons and events are stored in DVV's group shapes.
/// A database that holds data from before it cannot be read by this
/// program; migrating it is refused rather than guessed at.
pub const FORMAT_CHANGED_AT: usize = 3;

/// The step that adds the audit tree; a log from before it is built into the tree.
pub const AUDIT_TREE_AT: usize = 4;

pub const OLD_FORMAT: &str = "this database holds persons in the data-group shapes of an earlier version of vtj \
     (before DVV's interface); it cannot be read by this one. Create it anew with `vtj generate`";

/// The check run before step `FORMAT_CHANGED_AT`: does the database hold persons or events?
pub const HOLDS_DATA: &str = "SELECT EXISTS (SELECT 1 FROM person) OR EXISTS (SELECT 1 FROM change_log)";
