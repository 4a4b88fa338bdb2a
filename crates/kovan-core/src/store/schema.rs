//! The store's schema: its migrations, applied in order on open, and the checks that prove a file is
//! a usable database before anything relies on it.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// Schema changes, applied in order; `PRAGMA user_version` remembers how many ran.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE processes (
        workspace TEXT NOT NULL,
        instance TEXT NOT NULL,
        pid INTEGER NOT NULL,
        pgid INTEGER NOT NULL,
        start_time INTEGER NOT NULL,
        cmdline TEXT NOT NULL,
        port INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        PRIMARY KEY (workspace, instance)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        workspace TEXT NOT NULL,
        instance TEXT,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX events_by_workspace ON events (workspace, at);",
    // 2: health samples, kept by `apply_retention`; events looked up by instance and kind.
    "CREATE TABLE health_samples (
        id INTEGER PRIMARY KEY,
        workspace TEXT NOT NULL,
        instance TEXT NOT NULL,
        at INTEGER NOT NULL,
        up INTEGER NOT NULL,
        latency_ms REAL,
        cpu REAL,
        rss INTEGER
    );
    CREATE INDEX health_samples_by_instance ON health_samples (workspace, instance, at);
    CREATE INDEX health_samples_by_time ON health_samples (at);
    CREATE INDEX events_by_instance_kind ON events (workspace, instance, kind, id);",
];

pub(super) fn open_and_migrate(path: &Path) -> Result<Connection, StoreError> {
    let err = |source| StoreError::Sqlite {
        path: path.display().to_string(),
        source,
    };
    let mut conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(err)?;
    // A quick read proves the file is a database before anything relies on it, and
    // quick_check finds damaged pages now rather than in the middle of a later write.
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(err)?;
    if check != "ok" {
        return Err(err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(check),
        )));
    }
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    // WAL with NORMAL: a crash loses at most the last samples, never consistency, and a health
    // sample costs no fsync.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(err)?;
    let tx = conn.transaction().map_err(err)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(err)?;
    }
    tx.commit().map_err(err)?;
    Ok(conn)
}
