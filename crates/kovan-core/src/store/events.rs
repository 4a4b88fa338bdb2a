//! The history of events: starts, stops, crashes, flushes, health changes.

use std::path::Path;

use rusqlite::params;
use serde::Serialize;
use ts_rs::TS;

use super::{now_millis, Store, StoreError};

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

impl Store {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
