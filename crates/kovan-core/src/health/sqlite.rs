//! An instance's SQLite file, looked at without ever opening it as a database.
//!
//! Opening it with SQLite, even read-only, is not harmless: a read-only connection to a WAL
//! database needs its `-shm` (and may create it), and any `close()` of a file descriptor drops
//! every POSIX lock this process holds on that file, which would silently release the locks of a
//! SQLite connection elsewhere in Kovan (the db cache backend uses one). So the journal mode comes
//! from the file header (bytes 18-19: 2 means WAL), and the write lock from the kernel's lock table
//! (/proc/locks), which lists every process's POSIX locks without anyone touching the file.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

/// SQLite's lock bytes (os_unix.c): a RESERVED lock is a write lock on PENDING_BYTE + 1, an
/// EXCLUSIVE one a write lock over the shared range after it.
const PENDING_BYTE: u64 = 0x4000_0000;
const RESERVED_BYTE: u64 = PENDING_BYTE + 1;
const SHARED_FIRST: u64 = PENDING_BYTE + 2;
const SHARED_SIZE: u64 = 510;
/// In WAL mode the writer holds a write lock on byte 120 of the `-shm` file (WAL_WRITE_LOCK).
const WAL_WRITE_LOCK_BYTE: u64 = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum WriteLock {
    /// Nobody is writing.
    None,
    /// A connection has started a write transaction (RESERVED, or the WAL write lock).
    Reserved,
    /// A connection is committing, or waiting for readers to finish so it can (PENDING/EXCLUSIVE).
    Exclusive,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseHealth {
    pub path: String,
    pub exists: bool,
    /// The database file with its `-wal`, in bytes.
    #[ts(type = "number")]
    pub size_bytes: u64,
    /// "wal" or "rollback" (the persistent part of the journal mode), None when not a SQLite file.
    pub journal_mode: Option<String>,
    pub write_lock: WriteLock,
    /// The process that holds the write lock.
    pub lock_holder: Option<i32>,
}

/// Existence, size, journal mode and write lock of a SQLite file; writes nothing, opens only the
/// first 100 bytes for reading.
pub fn probe(path: &Path) -> DatabaseHealth {
    let mut health = DatabaseHealth {
        path: path.display().to_string(),
        exists: false,
        size_bytes: 0,
        journal_mode: None,
        write_lock: WriteLock::None,
        lock_holder: None,
    };
    let Ok(meta) = std::fs::metadata(path) else {
        return health;
    };
    health.exists = true;
    health.size_bytes = meta.len() + side_file(path, "-wal").metadata().map_or(0, |m| m.len());
    health.journal_mode = journal_mode(path);
    let locks = crate::platform::file_locks();
    let mut lock = write_lock(&locks, &meta, |start, end| {
        if start <= PENDING_BYTE && end >= PENDING_BYTE
            || start < SHARED_FIRST + SHARED_SIZE && end >= SHARED_FIRST
        {
            Some(WriteLock::Exclusive)
        } else if start <= RESERVED_BYTE && end >= RESERVED_BYTE {
            Some(WriteLock::Reserved)
        } else {
            None
        }
    });
    if lock.is_none() {
        if let Ok(shm) = side_file(path, "-shm").metadata() {
            lock = write_lock(&locks, &shm, |start, end| {
                (start <= WAL_WRITE_LOCK_BYTE && end >= WAL_WRITE_LOCK_BYTE)
                    .then_some(WriteLock::Reserved)
            });
        }
    }
    if let Some((kind, pid)) = lock {
        health.write_lock = kind;
        health.lock_holder = Some(pid);
    }
    health
}

fn side_file(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

pub fn journal_mode(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut header = [0u8; 100];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    if &header[..16] != b"SQLite format 3\0" {
        return None;
    }
    Some(if header[18] == 2 { "wal" } else { "rollback" }.to_string())
}

/// The strongest POSIX write lock on the file `meta` describes, from /proc/locks lines such as
/// `4: POSIX  ADVISORY  WRITE 892 fe:00:10010699 1073741825 1073741825`.
fn write_lock(
    locks: &str,
    meta: &std::fs::Metadata,
    classify: impl Fn(u64, u64) -> Option<WriteLock>,
) -> Option<(WriteLock, i32)> {
    let device = format!(
        "{:02x}:{:02x}:{}",
        libc::major(meta.dev()),
        libc::minor(meta.dev()),
        meta.ino()
    );
    locks
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // "->" marks a lock someone is waiting for, not one held.
            if f.get(1) == Some(&"->") || f.get(1) != Some(&"POSIX") || f.get(3) != Some(&"WRITE") {
                return None;
            }
            if f.get(5) != Some(&device.as_str()) {
                return None;
            }
            let start = f.get(6)?.parse().ok()?;
            let end = match *f.get(7)? {
                "EOF" => u64::MAX,
                e => e.parse().ok()?,
            };
            Some((classify(start, end)?, f.get(4)?.parse().ok()?))
        })
        .max_by_key(|(kind, _)| *kind as u8)
}
