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
mod trouble;

pub use events::{EventRecord, HistoryEvent};
pub use processes::ProcessRecord;
pub use samples::{HealthSample, Retention};
pub use trouble::{StoreTrouble, StoreTroubleKind};

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
    /// What is wrong with it now (moved aside on open, cannot be written), for every command and
    /// the window to say.
    trouble: Mutex<Option<StoreTrouble>>,
    /// Told of each new trouble the moment a read or write fails (a long `kovan up`, the window).
    on_trouble: Mutex<Option<TroubleHook>>,
    /// The file opened (device and inode): another file at the path, or none, means what is
    /// written now reaches nobody who looks.
    file_id: Option<(u64, u64)>,
}

fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Called with a store failure as it happens.
pub type TroubleHook = std::sync::Arc<dyn Fn(&StoreTrouble) + Send + Sync>;

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
    /// timestamp and a fresh one created, so history damage never stops the panel; that is said by
    /// [`Store::trouble`], as is a store that opens but cannot be written.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let store = Self::open_or_set_aside(path)?;
        let trouble = store
            .take_set_aside_notice_peek()
            .map(|n| StoreTrouble {
                kind: StoreTroubleKind::Recovered,
                path: path.display().to_string(),
                moved_to: Some(n.moved_to),
                reason: n.reason,
            })
            .or_else(|| store.write_probe().err());
        *store.trouble.lock().unwrap_or_else(|e| e.into_inner()) = trouble;
        Ok(store)
    }

    /// Whether a write goes through, without changing anything: a no-op DELETE still takes the
    /// write lock, which a read-only or immutable file refuses.
    fn write_probe(&self) -> Result<(), StoreTrouble> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.execute_batch("SAVEPOINT probe; DELETE FROM processes WHERE 0; RELEASE probe;")
            .map_err(|source| StoreTrouble {
                kind: StoreTroubleKind::Unwritable,
                path: self.path.display().to_string(),
                moved_to: None,
                reason: source.to_string(),
            })
    }

    /// What is wrong with the store now, if anything: it was moved aside when opened, it cannot
    /// be written, or a read or write failed since.
    pub fn trouble(&self) -> Option<StoreTrouble> {
        self.trouble
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Be told of a failure as it happens (once per kind of failure).
    pub fn on_trouble(&self, hook: TroubleHook) {
        *self.on_trouble.lock().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    fn failed(&self, error: &StoreError) {
        let trouble = StoreTrouble {
            kind: if error.is_unwritable() {
                StoreTroubleKind::Unwritable
            } else {
                StoreTroubleKind::Unavailable
            },
            path: self.path.display().to_string(),
            moved_to: None,
            reason: error.reason(),
        };
        let new = {
            let mut now = self.trouble.lock().unwrap_or_else(|e| e.into_inner());
            let new = now.as_ref().is_none_or(|t| t.kind != trouble.kind);
            if new {
                *now = Some(trouble.clone());
            }
            new
        };
        if new {
            let hook = self
                .on_trouble
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(hook) = hook {
                hook(&trouble);
            }
        }
    }

    fn take_set_aside_notice_peek(&self) -> Option<StoreSetAside> {
        self.notice
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn open_or_set_aside(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        match schema::open_and_migrate(path) {
            Ok(conn) => Ok(Self::with_connection(path, conn, None)),
            // Only a file that is not a usable database is set aside: one that is locked by
            // another process, or cannot be read or written, is the user's to fix, and said.
            Err(first) if !first.is_damage(path) => Err(first),
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
                let conn = schema::open_and_migrate(path).map_err(|e| StoreError::Sqlite {
                    path: path.display().to_string(),
                    source: rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                        Some(format!(
                            "{}; the damaged file was moved aside to {}, and no new one could be made: {}",
                            first.reason(),
                            aside.display(),
                            e.reason()
                        )),
                    ),
                })?;
                let notice = StoreSetAside {
                    moved_to: aside.display().to_string(),
                    reason: first.reason(),
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
            trouble: Mutex::new(None),
            on_trouble: Mutex::new(None),
            file_id: file_id(path),
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
        if self.file_id.is_some() && file_id(&self.path) != self.file_id {
            self.failed(&StoreError::Io {
                path: self.path.display().to_string(),
                source: std::io::Error::other(
                    "the file was deleted, moved or replaced while Kovan had it open; what this Kovan records now reaches only the old file, until it is started again",
                ),
            });
        }
        let result = {
            let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&conn).map_err(|source| StoreError::Sqlite {
                path: self.path.display().to_string(),
                source,
            })
        };
        if let Err(e) = &result {
            self.failed(e);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event of a kind no version records: written and read back as it is.
    fn x_event(detail: serde_json::Value) -> HistoryEvent {
        HistoryEvent::Unknown {
            recorded: "x".into(),
            detail,
        }
    }

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
            .record(
                ws,
                Some("chat_main"),
                &HistoryEvent::FailedToStart { port: 8000 },
            )
            .unwrap();
        let events = store.events(ws, 10).unwrap();
        assert_eq!(events[0].event, HistoryEvent::FailedToStart { port: 8000 });
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
            .record(Path::new("/w"), None, &x_event(serde_json::json!({})))
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
                    .record(
                        Path::new("/w"),
                        None,
                        &x_event(serde_json::json!({ "n": n })),
                    )
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
    fn a_locked_or_unreadable_store_is_not_set_aside_but_damage_is() {
        let err = |code| StoreError::Sqlite {
            path: "k".into(),
            source: rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None),
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.sqlite3");
        std::fs::write(&file, b"x").unwrap();
        for code in [
            rusqlite::ffi::SQLITE_BUSY,
            rusqlite::ffi::SQLITE_LOCKED,
            rusqlite::ffi::SQLITE_PERM,
            rusqlite::ffi::SQLITE_READONLY,
            rusqlite::ffi::SQLITE_CANTOPEN,
        ] {
            assert!(!err(code).is_damage(&file), "{code}");
        }
        for code in [rusqlite::ffi::SQLITE_NOTADB, rusqlite::ffi::SQLITE_CORRUPT] {
            assert!(err(code).is_damage(&file), "{code}");
        }
        assert!(err(rusqlite::ffi::SQLITE_CANTOPEN).is_damage(dir.path()));
    }

    #[test]
    fn an_immutable_store_opens_and_says_it_cannot_be_written_and_each_failure_is_told_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.sqlite3");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.trouble(), None);
        drop(store);
        let chattr = |flag: &str| {
            std::process::Command::new("chattr")
                .arg(flag)
                .arg(&path)
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !chattr("+i") {
            eprintln!("chattr +i is not possible here: not checked");
            return;
        }
        let result = std::panic::catch_unwind(|| {
            let store = Store::open(&path).unwrap();
            let trouble = store.trouble().expect("said");
            assert_eq!(trouble.kind, StoreTroubleKind::Unwritable, "{trouble:?}");
            let line = trouble.line();
            assert!(
                line.contains(&path.display().to_string())
                    && line.contains("cannot be written")
                    && line.contains("chattr -i"),
                "{line}"
            );
            // Reading still works; a write fails, and the hook hears it once.
            assert!(store.processes(Path::new("/w")).unwrap().is_empty());
            let told = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let count = told.clone();
            store.on_trouble(std::sync::Arc::new(move |_| {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }));
            for _ in 0..3 {
                assert!(store
                    .record(Path::new("/w"), None, &x_event(serde_json::json!({})))
                    .is_err());
            }
            // Unwritable was known since the open: nothing new to tell.
            assert_eq!(told.load(std::sync::atomic::Ordering::SeqCst), 0);
            assert!(std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .all(|e| !e.file_name().to_string_lossy().contains(".damaged-")));
        });
        chattr("-i");
        result.unwrap();
    }

    /// A full disk gives SQLite's SQLITE_FULL; `max_page_count` makes SQLite answer exactly that
    /// (the same code, the same "database or disk is full") without filling a real disk.
    #[test]
    fn a_full_disk_is_said_once_as_unwritable_and_reading_still_works() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.sqlite3");
        let store = Store::open(&path).unwrap();
        let told = std::sync::Arc::new(Mutex::new(Vec::new()));
        let heard = told.clone();
        store.on_trouble(std::sync::Arc::new(move |t| {
            heard.lock().unwrap().push(t.clone());
        }));
        store
            .record(Path::new("/w"), None, &x_event(serde_json::json!({})))
            .unwrap();
        {
            let conn = store.conn.lock().unwrap();
            let pages: i64 = conn
                .query_row("PRAGMA page_count", [], |r| r.get(0))
                .unwrap();
            conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
                .unwrap();
        }
        // Enough to need pages the "disk" no longer has.
        let big = "x".repeat(64 * 1024);
        let mut failures = 0;
        for _ in 0..3 {
            if store
                .record(
                    Path::new("/w"),
                    None,
                    &x_event(serde_json::json!({ "big": big })),
                )
                .is_err()
            {
                failures += 1;
            }
        }
        assert_eq!(failures, 3);
        let told = told.lock().unwrap();
        assert_eq!(told.len(), 1, "said once, not per failed write: {told:?}");
        assert_eq!(told[0].kind, StoreTroubleKind::Unwritable);
        let line = told[0].line();
        assert!(
            line.contains("cannot be written") && line.contains("disk is full"),
            "{line}"
        );
        assert!(
            line.contains("free disk space"),
            "the fix says what to do: {line}"
        );
        // What was recorded before is still there to read.
        assert_eq!(store.events(Path::new("/w"), 10).unwrap().len(), 1);
    }

    #[test]
    fn a_store_deleted_while_open_is_said_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.sqlite3");
        let store = Store::open(&path).unwrap();
        let told = std::sync::Arc::new(Mutex::new(Vec::new()));
        let heard = told.clone();
        store.on_trouble(std::sync::Arc::new(move |t| {
            heard.lock().unwrap().push(t.clone());
        }));
        store
            .record(Path::new("/w"), None, &x_event(serde_json::json!({})))
            .unwrap();
        assert!(told.lock().unwrap().is_empty());
        std::fs::remove_file(&path).unwrap();
        for _ in 0..3 {
            let _ = store.record(Path::new("/w"), None, &x_event(serde_json::json!({})));
        }
        let told = told.lock().unwrap();
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0].kind, StoreTroubleKind::Unwritable);
        assert!(
            told[0].line().contains("deleted, moved or replaced"),
            "{}",
            told[0].line()
        );
        assert_eq!(store.trouble().as_ref(), told.first());
    }
}
