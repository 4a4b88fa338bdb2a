//! The process groups Kovan started, so a panel restarted after a crash finds them.

use std::path::Path;

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

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

impl Store {
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
