//! The process groups Kovan started, so a panel restarted after a crash finds them.

use std::path::Path;

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

/// A process group Kovan started: boot id + PID + start time name its leader beyond PID reuse.
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
    /// /proc/sys/kernel/random/boot_id when it was started; None in rows of older versions.
    pub boot_id: Option<String>,
    /// It answered /health/ (false while it is still starting).
    pub ready: bool,
    /// Who asked it to stop ("kovan stop, PID 4242"), set before the first signal.
    pub stop_requested_by: Option<String>,
}

const COLUMNS: &str =
    "instance, pid, pgid, start_time, cmdline, port, started_at, boot_id, ready, stop_requested_by";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProcessRecord> {
    Ok(ProcessRecord {
        instance: r.get(0)?,
        pid: r.get(1)?,
        pgid: r.get(2)?,
        start_time: r.get::<_, i64>(3)? as u64,
        cmdline: r.get(4)?,
        port: r.get(5)?,
        started_at: r.get(6)?,
        boot_id: r.get(7)?,
        ready: r.get(8)?,
        stop_requested_by: r.get(9)?,
    })
}

impl Store {
    pub fn record_process(&self, workspace: &Path, p: &ProcessRecord) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                // Recorded again once ready: a stop asked for meanwhile (same PID) stays asked.
                "INSERT INTO processes (workspace, instance, pid, pgid, start_time, cmdline, port, started_at, boot_id, ready, stop_requested_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (workspace, instance) DO UPDATE SET
                   pid = excluded.pid, pgid = excluded.pgid, start_time = excluded.start_time,
                   cmdline = excluded.cmdline, port = excluded.port, started_at = excluded.started_at,
                   boot_id = excluded.boot_id, ready = excluded.ready,
                   stop_requested_by = CASE
                     WHEN processes.pid = excluded.pid AND processes.start_time = excluded.start_time
                     THEN coalesce(excluded.stop_requested_by, processes.stop_requested_by)
                     ELSE excluded.stop_requested_by END",
                params![workspace.to_string_lossy(), p.instance, p.pid, p.pgid, p.start_time as i64, p.cmdline, p.port, p.started_at, p.boot_id, p.ready, p.stop_requested_by],
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
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM processes WHERE workspace = ?1 ORDER BY instance"
            ))?;
            let rows = stmt.query_map(params![workspace.to_string_lossy()], from_row)?;
            rows.collect()
        })
    }

    /// The record of one instance, if there is one.
    pub fn process(
        &self,
        workspace: &Path,
        instance: &str,
    ) -> Result<Option<ProcessRecord>, StoreError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM processes WHERE workspace = ?1 AND instance = ?2"),
                params![workspace.to_string_lossy(), instance],
                from_row,
            )
            .optional()
        })
    }

    /// Note on the record of the group `pid` leads that `by` is stopping it, before the first
    /// signal: the Kovan supervising it then reports a stop, not a crash. False when no such row.
    pub fn mark_stop_requested(
        &self,
        workspace: &Path,
        instance: &str,
        pid: i32,
        by: &str,
    ) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE processes SET stop_requested_by = ?4 WHERE workspace = ?1 AND instance = ?2 AND pid = ?3",
                params![workspace.to_string_lossy(), instance, pid, by],
            )
            .map(|n| n > 0)
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
