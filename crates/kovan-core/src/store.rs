//! Kovan's own SQLite database (in the user's data dir): the process groups it started, so a panel
//! restarted after a crash finds them, and a history of events (start, stop, crash, flush...).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use ts_rs::TS;

/// Environment variable that moves the data dir (tests, portable installs).
pub const DATA_DIR_VAR: &str = "KOVAN_DATA_DIR";

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

/// How long health samples are kept, and how finely: every sample for the recent hours, then one a
/// minute, then one per ten minutes, then none. Bounds the table at about 12,700 rows per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Milliseconds of full detail.
    pub full_ms: i64,
    /// Older than `full_ms` and younger than this: one sample per minute per instance.
    pub per_minute_ms: i64,
    /// Older than `per_minute_ms` and younger than this: one per ten minutes; older: dropped.
    pub keep_ms: i64,
    /// Retention runs when the newest sample is this much younger than at the last run.
    pub every_ms: i64,
}

const HOUR_MS: i64 = 3_600_000;

impl Default for Retention {
    fn default() -> Self {
        Self {
            full_ms: 6 * HOUR_MS,
            per_minute_ms: 24 * HOUR_MS,
            keep_ms: 7 * 24 * HOUR_MS,
            every_ms: 60_000,
        }
    }
}

/// One health check of one instance, as history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HealthSample {
    pub instance: String,
    /// Unix milliseconds.
    #[ts(type = "number")]
    pub at: i64,
    /// The card's state after this check (hysteresis applied).
    pub up: bool,
    /// None when the check failed.
    pub latency_ms: Option<f64>,
    /// Percent of one core, summed over the process group.
    pub cpu: Option<f64>,
    #[ts(type = "number | null")]
    pub rss: Option<u64>,
}

/// A damaged or unreadable store that was moved aside when Kovan opened its history.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StoreSetAside {
    /// Where the old file now is.
    pub moved_to: String,
    /// Why it could not be used.
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Kovan's history database {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("Kovan's data folder {path} cannot be created: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<StoreError> for crate::IpcError {
    fn from(e: StoreError) -> Self {
        Self {
            kind: "store".into(),
            message: e.to_string(),
        }
    }
}

/// A process group Kovan started: PID + start time + command line name it beyond PID reuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRecord {
    pub instance: String,
    pub pid: i32,
    pub pgid: i32,
    pub start_time: u64,
    pub cmdline: String,
    pub port: u16,
    /// Unix seconds.
    pub started_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    #[ts(type = "number")]
    pub id: i64,
    /// Unix milliseconds.
    #[ts(type = "number")]
    pub at: i64,
    pub instance: Option<String>,
    pub kind: String,
    #[ts(type = "unknown")]
    pub detail: serde_json::Value,
}

pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Set when a damaged database was moved aside on open.
    pub recovered_from: Option<PathBuf>,
    /// The same, for [`Store::take_set_aside_notice`], which hands it out once.
    notice: Mutex<Option<StoreSetAside>>,
    retention: Retention,
    /// Sample time at which retention last ran.
    retained_at: Mutex<i64>,
}

pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `$KOVAN_DATA_DIR`, else the platform's data dir (`~/.local/share/kovan` on Linux).
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DATA_DIR_VAR).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("dev", "kovan", "kovan")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("kovan"))
}

impl Store {
    pub fn open_default() -> Result<Self, StoreError> {
        Self::open(&data_dir().join("kovan.sqlite3"))
    }

    /// Open (or create) the store. A file that is not a usable database is moved aside with a
    /// timestamp and a fresh one created, so history damage never stops the panel.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        match Self::open_and_migrate(path) {
            Ok(conn) => Ok(Self::with_connection(path, conn, None)),
            Err(first) => {
                let aside = PathBuf::from(format!(
                    "{}.damaged-{}",
                    path.display(),
                    chrono::Local::now().format("%Y%m%d-%H%M%S")
                ));
                if std::fs::rename(path, &aside).is_err() {
                    return Err(first);
                }
                // A WAL left beside the old file belongs to it, not to the fresh one.
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", path.display()));
                    let _ = std::fs::rename(&side, format!("{}{suffix}", aside.display()));
                }
                let conn = Self::open_and_migrate(path)?;
                let notice = StoreSetAside {
                    moved_to: aside.display().to_string(),
                    reason: first.to_string(),
                };
                Ok(Self::with_connection(path, conn, Some(notice)))
            }
        }
    }

    fn with_connection(path: &Path, conn: Connection, notice: Option<StoreSetAside>) -> Self {
        Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            recovered_from: notice.as_ref().map(|n| PathBuf::from(&n.moved_to)),
            notice: Mutex::new(notice),
            retention: Retention::default(),
            retained_at: Mutex::new(i64::MIN),
        }
    }

    /// Use other retention periods (tests and the benchmark).
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// The file that was set aside when this store opened, the first time it is asked for; None
    /// after that, so the window says it once.
    pub fn take_set_aside_notice(&self) -> Option<StoreSetAside> {
        self.notice.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn open_and_migrate(path: &Path) -> Result<Connection, StoreError> {
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

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn).map_err(|source| StoreError::Sqlite {
            path: self.path.display().to_string(),
            source,
        })
    }

    pub fn record_process(&self, workspace: &Path, p: &ProcessRecord) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO processes (workspace, instance, pid, pgid, start_time, cmdline, port, started_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![workspace.to_string_lossy(), p.instance, p.pid, p.pgid, p.start_time as i64, p.cmdline, p.port, p.started_at],
            )
            .map(|_| ())
        })
    }

    pub fn forget_process(&self, workspace: &Path, instance: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM processes WHERE workspace = ?1 AND instance = ?2",
                params![workspace.to_string_lossy(), instance],
            )
            .map(|_| ())
        })
    }

    pub fn processes(&self, workspace: &Path) -> Result<Vec<ProcessRecord>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT instance, pid, pgid, start_time, cmdline, port, started_at FROM processes WHERE workspace = ?1 ORDER BY instance",
            )?;
            let rows = stmt.query_map(params![workspace.to_string_lossy()], |r| {
                Ok(ProcessRecord {
                    instance: r.get(0)?,
                    pid: r.get(1)?,
                    pgid: r.get(2)?,
                    start_time: r.get::<_, i64>(3)? as u64,
                    cmdline: r.get(4)?,
                    port: r.get(5)?,
                    started_at: r.get(6)?,
                })
            })?;
            rows.collect()
        })
    }

    pub fn record_event(
        &self,
        workspace: &Path,
        instance: Option<&str>,
        kind: &str,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO events (at, workspace, instance, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![now_millis(), workspace.to_string_lossy(), instance, kind, detail.to_string()],
            )
            .map(|_| ())
        })
    }

    /// The newest `limit` events of a workspace, newest first.
    pub fn events(&self, workspace: &Path, limit: usize) -> Result<Vec<EventRecord>, StoreError> {
        self.events_filtered(workspace, None, &[], limit)
    }

    /// The newest `limit` events of a workspace about `instance` (any when None) of one of `kinds`
    /// (any when empty), newest first: the timeline's filters.
    pub fn events_filtered(
        &self,
        workspace: &Path,
        instance: Option<&str>,
        kinds: &[&str],
        limit: usize,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let kinds_json = serde_json::to_string(kinds).unwrap_or_else(|_| "[]".into());
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, at, instance, kind, detail FROM events
                 WHERE workspace = ?1 AND (?2 IS NULL OR instance = ?2)
                   AND (?3 = '[]' OR kind IN (SELECT value FROM json_each(?3)))
                 ORDER BY id DESC LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![
                    workspace.to_string_lossy(),
                    instance,
                    kinds_json,
                    limit as i64
                ],
                |r| {
                    let detail: String = r.get(4)?;
                    Ok(EventRecord {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        instance: r.get(2)?,
                        kind: r.get(3)?,
                        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                    })
                },
            )?;
            rows.collect()
        })
    }

    /// Keep one health sample; retention runs once a minute of sample time.
    pub fn record_health_sample(
        &self,
        workspace: &Path,
        sample: &HealthSample,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT INTO health_samples (workspace, instance, at, up, latency_ms, cpu, rss)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                workspace.to_string_lossy(),
                sample.instance,
                sample.at,
                sample.up,
                sample.latency_ms,
                sample.cpu,
                sample.rss.map(|r| r as i64)
            ])
            .map(|_| ())
        })?;
        let due = {
            let mut last = self.retained_at.lock().unwrap_or_else(|e| e.into_inner());
            let due = sample.at.saturating_sub(*last) >= self.retention.every_ms;
            if due {
                *last = sample.at;
            }
            due
        };
        if due {
            self.apply_retention(sample.at)?;
        }
        Ok(())
    }

    /// Thin and drop health samples as of `now` (Unix ms): full detail for `full_ms`, then the
    /// worst sample (down before up) per minute, then per ten minutes, then nothing.
    pub fn apply_retention(&self, now: i64) -> Result<(), StoreError> {
        let r = self.retention;
        self.with(|c| {
            c.execute(
                "DELETE FROM health_samples WHERE at < ?1",
                params![now - r.keep_ms],
            )?;
            for (from, to, bucket) in [
                (now - r.per_minute_ms, now - r.full_ms, 60_000i64),
                (now - r.keep_ms, now - r.per_minute_ms, 600_000),
            ] {
                // SQLite returns the id of the row MIN() chose: a down sample wins its bucket.
                c.execute(
                    "DELETE FROM health_samples WHERE at >= ?1 AND at < ?2 AND id NOT IN (
                        SELECT id FROM (
                            SELECT id, MIN(up) FROM health_samples WHERE at >= ?1 AND at < ?2
                            GROUP BY workspace, instance, at / ?3))",
                    params![from, to, bucket],
                )?;
            }
            Ok(())
        })
    }

    /// The newest `limit` health samples of one instance, oldest first: a card's sparkline.
    pub fn recent_samples(
        &self,
        workspace: &Path,
        instance: &str,
        limit: usize,
    ) -> Result<Vec<HealthSample>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT instance, at, up, latency_ms, cpu, rss FROM health_samples
                 WHERE workspace = ?1 AND instance = ?2 ORDER BY at DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![workspace.to_string_lossy(), instance, limit as i64],
                |r| {
                    Ok(HealthSample {
                        instance: r.get(0)?,
                        at: r.get(1)?,
                        up: r.get(2)?,
                        latency_ms: r.get(3)?,
                        cpu: r.get(4)?,
                        rss: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
                    })
                },
            )?;
            let mut samples = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            samples.reverse();
            Ok(samples)
        })
    }

    /// Health samples kept, over every workspace.
    pub fn sample_count(&self) -> Result<u64, StoreError> {
        self.with(|c| c.query_row("SELECT COUNT(*) FROM health_samples", [], |r| r.get(0)))
    }

    /// Whether a row for this workspace and instance exists (for tests and status).
    pub fn has_process(&self, workspace: &Path, instance: &str) -> bool {
        self.with(|c| {
            c.query_row(
                "SELECT 1 FROM processes WHERE workspace = ?1 AND instance = ?2",
                params![workspace.to_string_lossy(), instance],
                |_| Ok(()),
            )
            .optional()
        })
        .ok()
        .flatten()
        .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_and_events_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("k.sqlite3")).unwrap();
        let ws = Path::new("/p/kovan.toml");
        let rec = ProcessRecord {
            instance: "chat_main".into(),
            pid: 10,
            pgid: 10,
            start_time: 123,
            cmdline: "python manage.py runserver".into(),
            port: 8000,
            started_at: 1,
        };
        store.record_process(ws, &rec).unwrap();
        assert_eq!(store.processes(ws).unwrap(), [rec]);
        assert!(store.processes(Path::new("/other")).unwrap().is_empty());
        store.forget_process(ws, "chat_main").unwrap();
        assert!(!store.has_process(ws, "chat_main"));
        store
            .record_event(
                ws,
                Some("chat_main"),
                "start",
                &serde_json::json!({"port": 8000}),
            )
            .unwrap();
        let events = store.events(ws, 10).unwrap();
        assert_eq!(
            (events[0].kind.as_str(), events[0].detail["port"].as_u64()),
            ("start", Some(8000))
        );
    }

    #[test]
    fn a_damaged_store_is_moved_aside_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.sqlite3");
        std::fs::write(
            &path,
            b"this is not a database, just bytes that happen to be here......",
        )
        .unwrap();
        let store = Store::open(&path).unwrap();
        let aside = store.recovered_from.clone().expect("moved aside");
        assert!(aside.to_string_lossy().contains(".damaged-"));
        assert_eq!(std::fs::read(&aside).unwrap()[..7], *b"this is");
        store
            .record_event(Path::new("/w"), None, "x", &serde_json::json!({}))
            .unwrap();
    }

    #[test]
    fn a_store_with_damaged_pages_or_not_a_file_is_set_aside_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.sqlite3");
        {
            let store = Store::open(&path).unwrap();
            for n in 0..2000 {
                store
                    .record_event(Path::new("/w"), None, "x", &serde_json::json!({ "n": n }))
                    .unwrap();
            }
        }
        // Keep the header (it still reads as a database), overwrite the pages after it.
        let mut bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() > 16384, "the events reached the main file");
        for b in &mut bytes[4096..12288] {
            *b = 0xA5;
        }
        std::fs::write(&path, &bytes).unwrap();
        let store = Store::open(&path).unwrap();
        let notice = store.take_set_aside_notice().expect("set aside");
        assert!(notice.moved_to.contains(".damaged-"), "{notice:?}");
        assert!(std::path::Path::new(&notice.moved_to).is_file());
        assert_eq!(store.take_set_aside_notice(), None, "said once");
        assert!(store.events(Path::new("/w"), 10).unwrap().is_empty());
        drop(store);
        assert_eq!(Store::open(&path).unwrap().take_set_aside_notice(), None);

        // Something that cannot be opened as a file at all.
        let odd = dir.path().join("odd.sqlite3");
        std::fs::create_dir(&odd).unwrap();
        let store = Store::open(&odd).unwrap();
        assert!(store.take_set_aside_notice().is_some());
        assert!(odd.is_file());
    }

    #[test]
    fn events_filter_by_instance_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("k.sqlite3")).unwrap();
        let ws = Path::new("/p/kovan.toml");
        for (i, k) in [
            ("a", "start"),
            ("b", "start"),
            ("a", "crash"),
            ("a", "flush"),
        ] {
            store
                .record_event(ws, Some(i), k, &serde_json::json!({}))
                .unwrap();
        }
        let got = |i, k: &[&str]| {
            store
                .events_filtered(ws, i, k, 10)
                .unwrap()
                .into_iter()
                .map(|e| format!("{}:{}", e.instance.unwrap(), e.kind))
                .collect::<Vec<_>>()
        };
        assert_eq!(got(Some("a"), &[]), ["a:flush", "a:crash", "a:start"]);
        assert_eq!(got(None, &["start"]), ["b:start", "a:start"]);
        assert_eq!(got(Some("a"), &["crash", "flush"]), ["a:flush", "a:crash"]);
        assert!(got(Some("c"), &[]).is_empty());
    }

    #[test]
    fn retention_keeps_a_day_of_samples_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("k.sqlite3")).unwrap();
        let ws = Path::new("/p/kovan.toml");
        let start = 1_000_000_000_000i64;
        let step = 2_000;
        let day = 24 * HOUR_MS;
        // A day and a half of 2-second samples; the instance is down for one sample at hour 10.
        let mut at = start;
        while at < start + day + day / 2 {
            let down = at == start + 10 * HOUR_MS;
            store
                .record_health_sample(
                    ws,
                    &HealthSample {
                        instance: "a".into(),
                        at,
                        up: !down,
                        latency_ms: Some(3.0),
                        cpu: None,
                        rss: None,
                    },
                )
                .unwrap();
            at += step;
        }
        let now = at - step;
        store.apply_retention(now).unwrap();
        let full = 6 * HOUR_MS / step;
        let per_minute = 18 * 60;
        let per_ten = (12 * HOUR_MS) / 600_000;
        let kept = store.sample_count().unwrap() as i64;
        assert!(
            (kept - (full + per_minute + per_ten)).abs() <= 3,
            "kept {kept}, expected about {}",
            full + per_minute + per_ten
        );
        // The one down sample, 26 hours old, survived thinning as its bucket's representative.
        let down: i64 = store
            .with(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM health_samples WHERE up = 0",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(down, 1);
        let recent = store.recent_samples(ws, "a", 5).unwrap();
        assert_eq!(recent.len(), 5);
        assert_eq!(recent[4].at, now);
    }
}
