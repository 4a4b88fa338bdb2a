//! Undoing a flush: the keys of its snapshot put back with `RESTORE`, each with the lifetime it had
//! left, never over a key written since, and what would have expired since dropped. Snapshots are
//! kept for a while (a day, the last five per instance by default) and then removed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::error::CacheError;
use super::redis::RedisCache;
use super::snapshot::{DumpedKey, SnapshotHeader, SnapshotReader};
use crate::workspace::Workspace;

/// Keys restored per pipeline.
const RESTORE_BATCH: usize = 1000;

/// Where snapshots go and how long they stay: `[undo]` in kovan.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undo {
    pub dir: PathBuf,
    /// A flush whose snapshot would grow past this stops before deleting more.
    pub limit_bytes: u64,
    pub keep_for: Duration,
    /// Per instance: a snapshot is removed once this many newer ones hold each of its instances.
    pub keep_last: usize,
}

impl Undo {
    /// The workspace's settings, snapshots under `{data_dir}/snapshots`.
    pub fn of(ws: &Workspace, data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("snapshots"),
            limit_bytes: ws.undo.limit_mib * 1024 * 1024,
            keep_for: Duration::from_secs(ws.undo.keep_hours * 3600),
            keep_last: ws.undo.keep_last as usize,
        }
    }
}

/// A flush's snapshot, as its report and `kovan undo --list` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotInfo {
    /// What `kovan undo ID` takes.
    pub id: String,
    pub created_at: String,
    pub instances: Vec<String>,
    pub part: String,
    /// Keys in it; None when the flush that wrote it did not finish (it was killed).
    #[ts(type = "number | null")]
    pub keys: Option<u64>,
    #[ts(type = "number")]
    pub bytes: u64,
    /// Undone already (`kovan undo` without an id takes the newest one not undone).
    pub restored: bool,
}

/// What an undo put back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UndoReport {
    pub id: String,
    #[ts(type = "number")]
    pub restored: u64,
    /// Keys written again since the flush: left as they are now.
    #[ts(type = "number")]
    pub skipped: u64,
    /// Keys whose lifetime ran out since the flush: not put back.
    #[ts(type = "number")]
    pub expired: u64,
    /// Keys Redis refused otherwise, and the first reason.
    #[ts(type = "number")]
    pub failed: u64,
    pub first_failure: Option<String>,
    /// The snapshot ended inside a key: its flush was killed while writing it.
    pub cut_off: bool,
    #[ts(type = "number")]
    pub duration_ms: u64,
}

/// The marker written beside a snapshot: how many keys its flush saved, and whether it was undone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    keys: Option<u64>,
    restored: bool,
}

fn snap_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.snap"))
}

fn meta_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.meta.json"))
}

fn read_meta(dir: &Path, id: &str) -> Meta {
    std::fs::read(meta_path(dir, id))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_meta(dir: &Path, id: &str, meta: &Meta) -> std::io::Result<()> {
    let path = meta_path(dir, id);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(meta).expect("meta serializes"))?;
    std::fs::rename(tmp, path)
}

/// Said by the flush once its snapshot is complete.
pub(super) fn finished(dir: &Path, id: &str, keys: u64) -> std::io::Result<()> {
    write_meta(
        dir,
        id,
        &Meta {
            keys: Some(keys),
            restored: false,
        },
    )
}

/// A new snapshot id: its time (UTC, to the millisecond) and this process, so two flushes never
/// share one.
pub(super) fn new_id() -> String {
    let now = chrono::Utc::now();
    format!("{}-{}", now.format("%Y%m%dT%H%M%S%3fZ"), std::process::id())
}

/// The workspace's snapshots, newest first. Unreadable files are left out (and left alone).
pub fn snapshots(ws: &Workspace, undo: &Undo) -> Vec<SnapshotInfo> {
    all(&undo.dir)
        .into_iter()
        .filter(|(h, _)| h.workspace == ws.file)
        .map(|(h, bytes)| info(&undo.dir, h, bytes))
        .collect()
}

fn info(dir: &Path, h: SnapshotHeader, bytes: u64) -> SnapshotInfo {
    let meta = read_meta(dir, &h.id);
    SnapshotInfo {
        id: h.id,
        created_at: h.created_at,
        instances: h.instances,
        part: h.part,
        keys: meta.keys,
        bytes,
        restored: meta.restored,
    }
}

/// Every snapshot's header and size in `dir`, newest first.
fn all(dir: &Path) -> Vec<(SnapshotHeader, u64)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(SnapshotHeader, u64)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "snap"))
        .filter_map(|e| {
            let reader = SnapshotReader::open(&e.path()).ok()?;
            let bytes = e.metadata().ok()?.len();
            Some((reader.header, bytes))
        })
        .collect();
    // Ids start with their time, to the millisecond.
    found.sort_by(|a, b| b.0.id.cmp(&a.0.id));
    found
}

/// Remove the snapshots past their time, and those of which every instance has `keep_last` newer
/// ones. Returns the ids removed.
pub fn prune(undo: &Undo) -> Vec<String> {
    let now = SystemTime::now();
    let mut newer: HashMap<(PathBuf, String), usize> = HashMap::new();
    let mut removed = Vec::new();
    for (h, _) in all(&undo.dir) {
        let path = snap_path(&undo.dir, &h.id);
        let age = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        let crowded = !h.instances.is_empty()
            && h.instances.iter().all(|i| {
                newer
                    .get(&(h.workspace.clone(), i.clone()))
                    .copied()
                    .unwrap_or(0)
                    >= undo.keep_last
            });
        for i in &h.instances {
            *newer.entry((h.workspace.clone(), i.clone())).or_default() += 1;
        }
        if age > undo.keep_for || crowded {
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(meta_path(&undo.dir, &h.id));
            removed.push(h.id);
        }
    }
    removed
}

/// Put back the keys of snapshot `id` (or of the newest one of this workspace not undone yet).
pub async fn undo(ws: &Workspace, undo: &Undo, id: Option<&str>) -> Result<UndoReport, CacheError> {
    let id = match id {
        Some(id) => id.to_string(),
        None => snapshots(ws, undo)
            .into_iter()
            .find(|s| !s.restored)
            .map(|s| s.id)
            .ok_or_else(|| {
                CacheError::Undo(format!(
                    "there is no flush of {} to undo: no snapshot not undone yet in {}. `kovan undo --list` shows the snapshots kept.",
                    ws.file.display(),
                    undo.dir.display()
                ))
            })?,
    };
    let path = snap_path(&undo.dir, &id);
    let mut reader = SnapshotReader::open(&path).map_err(|e| {
        CacheError::Undo(format!(
            "snapshot {id} cannot be read ({}: {e}). `kovan undo --list` shows the snapshots kept.",
            path.display()
        ))
    })?;
    if reader.header.workspace != ws.file {
        return Err(CacheError::Undo(format!(
            "snapshot {id} is of another workspace ({}); run kovan undo there.",
            reader.header.workspace.display()
        )));
    }
    let Some(config) = ws.redis.as_ref() else {
        return Err(CacheError::Undo(
            "kovan.toml has no [redis] url to put the keys back into".into(),
        ));
    };
    let here = crate::redact::url(config.url());
    if reader.header.redis != here {
        return Err(CacheError::Undo(format!(
            "snapshot {id} was taken from {}, and kovan.toml now says {here}: nothing restored. Point [redis] url back at it to undo.",
            reader.header.redis
        )));
    }
    let redis = RedisCache::connect(config).await?;
    let clock = Instant::now();
    let mut report = UndoReport {
        id: id.clone(),
        restored: 0,
        skipped: 0,
        expired: 0,
        failed: 0,
        first_failure: None,
        cut_off: false,
        duration_ms: 0,
    };
    loop {
        let mut batch: Vec<DumpedKey> = Vec::with_capacity(RESTORE_BATCH);
        while batch.len() < RESTORE_BATCH {
            match reader.next_key() {
                Ok(Some(k)) => batch.push(k),
                Ok(None) => break,
                Err(e) => {
                    return Err(CacheError::Undo(format!(
                    "snapshot {id} is damaged after {} keys ({e}); the keys before were restored.",
                    report.restored + report.skipped + report.expired + report.failed
                )))
                }
            }
        }
        if batch.is_empty() {
            break;
        }
        let done = redis.restore(&batch).await?;
        report.restored += done.restored;
        report.skipped += done.skipped;
        report.expired += done.expired;
        report.failed += done.failed;
        if report.first_failure.is_none() {
            report.first_failure = done.first_failure;
        }
    }
    report.cut_off = reader.cut_off;
    report.duration_ms = clock.elapsed().as_millis() as u64;
    let mut meta = read_meta(&undo.dir, &id);
    meta.restored = true;
    // The keys are back whether or not the marker can say so; a second undo skips them all.
    let _ = write_meta(&undo.dir, &id, &meta);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::snapshot::SnapshotWriter;

    fn write(dir: &Path, id: &str, workspace: &str, instances: &[&str]) {
        let header = SnapshotHeader {
            id: id.into(),
            workspace: workspace.into(),
            redis: "redis://127.0.0.1:1/0".into(),
            instances: instances.iter().map(|s| s.to_string()).collect(),
            part: "cache".into(),
            created_at: String::new(),
        };
        SnapshotWriter::create(dir, &header, u64::MAX).unwrap();
    }

    #[test]
    fn only_the_last_ones_per_instance_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let undo = Undo {
            dir: dir.path().into(),
            limit_bytes: u64::MAX,
            keep_for: Duration::from_secs(3600),
            keep_last: 2,
        };
        write(dir.path(), "1", "/w/kovan.toml", &["a"]);
        write(dir.path(), "2", "/w/kovan.toml", &["a", "b"]);
        write(dir.path(), "3", "/w/kovan.toml", &["a"]);
        write(dir.path(), "4", "/w/kovan.toml", &["a"]);
        // Another workspace's `a` is another instance.
        write(dir.path(), "5", "/other/kovan.toml", &["a"]);
        let mut removed = prune(&undo);
        removed.sort();
        // 2 stays: it is b's only one.
        assert_eq!(removed, ["1"]);
        let left: Vec<String> = all(dir.path()).into_iter().map(|(h, _)| h.id).collect();
        assert_eq!(left, ["5", "4", "3", "2"]);
    }

    #[test]
    fn snapshots_past_their_time_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let undo = Undo {
            dir: dir.path().into(),
            limit_bytes: u64::MAX,
            keep_for: Duration::from_secs(3600),
            keep_last: 5,
        };
        write(dir.path(), "old", "/w/kovan.toml", &["a"]);
        write(dir.path(), "new", "/w/kovan.toml", &["a"]);
        let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
        let f = std::fs::File::options()
            .write(true)
            .open(snap_path(dir.path(), "old"))
            .unwrap();
        f.set_modified(two_hours_ago).unwrap();
        assert_eq!(prune(&undo), ["old"]);
    }
}
