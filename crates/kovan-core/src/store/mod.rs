//! Kovan's own SQLite database (in the user's data dir): the process groups it started, so a panel
//! restarted after a crash finds them, and a history of events (start, stop, crash, flush...).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::Connection;
use serde::Serialize;
use ts_rs::TS;

mod events;
mod processes;
mod samples;
mod schema;

pub use events::EventRecord;
pub use processes::ProcessRecord;
pub use samples::{HealthSample, Retention};

/// Environment variable that moves the data dir (tests, portable installs).
pub const DATA_DIR_VAR: &str = "KOVAN_DATA_DIR";

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

impl crate::error::Classified for StoreError {
    fn kind(&self) -> crate::error::ErrorKind {
        crate::error::ErrorKind::Store
    }

    fn detail(&self) -> Option<crate::error::ErrorDetail> {
        let (Self::Sqlite { path, .. } | Self::Io { path, .. }) = self;
        Some(crate::error::ErrorDetail::Path { path: path.clone() })
    }
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
        match schema::open_and_migrate(path) {
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
                let conn = schema::open_and_migrate(path)?;
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
            boot_id: Some("b".into()),
            ready: false,
            stop_requested_by: None,
        };
        store.record_process(ws, &rec).unwrap();
        assert_eq!(store.processes(ws).unwrap(), std::slice::from_ref(&rec));
        assert!(store
            .mark_stop_requested(ws, "chat_main", 10, "kovan stop, PID 7")
            .unwrap());
        assert!(!store.mark_stop_requested(ws, "chat_main", 11, "x").unwrap());
        // Recorded again once ready: the stop asked for meanwhile stays.
        store
            .record_process(
                ws,
                &ProcessRecord {
                    ready: true,
                    ..rec.clone()
                },
            )
            .unwrap();
        assert_eq!(
            store.process(ws, "chat_main").unwrap().unwrap(),
            ProcessRecord {
                stop_requested_by: Some("kovan stop, PID 7".into()),
                ready: true,
                ..rec.clone()
            }
        );
        // Another run of the instance starts clean.
        store
            .record_process(
                ws,
                &ProcessRecord {
                    pid: 12,
                    ..rec.clone()
                },
            )
            .unwrap();
        assert_eq!(
            store
                .process(ws, "chat_main")
                .unwrap()
                .unwrap()
                .stop_requested_by,
            None
        );
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
    fn rows_of_a_store_before_boot_ids_read_back_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(schema::MIGRATIONS[0]).unwrap();
            c.execute_batch(schema::MIGRATIONS[1]).unwrap();
            c.pragma_update(None, "user_version", 2).unwrap();
            c.execute(
                "INSERT INTO processes VALUES ('/p/kovan.toml', 'a', 10, 10, 5, 'x', 8000, 1)",
                [],
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert!(store.take_set_aside_notice().is_none());
        let rows = store.processes(Path::new("/p/kovan.toml")).unwrap();
        assert_eq!(
            (rows[0].pid, rows[0].boot_id.as_deref(), rows[0].ready),
            (10, None, true)
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
}
