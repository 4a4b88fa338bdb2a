//! The history of events: starts, stops, crashes, flushes, health changes.
//!
//! A row keeps its kind in a column and the rest as JSON. [`HistoryEvent`] is both: one variant
//! per kind Kovan records, read back through the same serde shape; a row no variant reads (a kind
//! of a later version, a shape of an earlier one no alias covers) comes back as
//! [`HistoryEvent::Unknown`] instead of failing the whole history.

use std::path::Path;

use rusqlite::params;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{now_millis, Store, StoreError};
use crate::cache::{FlushOutcome, FlushScope};
use crate::supervisor::StopHow;

/// One thing that happened to an instance (or a service, a front door), as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum HistoryEvent {
    /// Ready: /health/ answered (an instance), logins accepted (PostgreSQL), the door open (a
    /// site's nginx), one second up (a companion).
    Start {
        /// None for a companion, which has no port.
        #[serde(default)]
        port: Option<u16>,
        pid: i32,
        /// A site's front door.
        #[serde(default)]
        front_door: bool,
        /// A companion's unit.
        #[serde(default)]
        unit: Option<String>,
        /// The managed PostgreSQL: whether its cluster was made by this start.
        #[serde(default)]
        initdb: Option<bool>,
        /// The managed PostgreSQL: how long it took.
        #[serde(default)]
        #[ts(type = "number | null")]
        millis: Option<u64>,
    },
    /// /health/ did not answer 200 within the start timeout.
    FailedToStart { port: u16 },
    /// Stopped by Kovan: by whom (a Kovan run, "kovan down"), how, how long it took.
    Stop {
        how: StopHow,
        #[ts(type = "number")]
        millis: u64,
        /// The leader of the stopped group (older rows have none).
        #[serde(default)]
        pid: Option<i32>,
        #[serde(default)]
        by: Option<String>,
    },
    /// Died without being asked to: its exit code or the signal that ended it.
    Crash {
        code: Option<i32>,
        signal: Option<i32>,
        port: u16,
    },
    /// An automatic restart after a crash (restart = "on-failure"): the how-manyth.
    Restart { attempt: u32 },
    /// A site's front door was reloaded and routes to these members.
    Reload { members: Vec<String> },
    /// The managed PostgreSQL made a unit's database.
    DatabaseCreated { database: String },
    /// An instance's part of one flush.
    Flush {
        scope: FlushScope,
        /// What of the cache went: "cache", "sessions", "all", `match "user:*"`.
        #[serde(default)]
        part: String,
        started_at: String,
        #[ts(type = "number")]
        duration_ms: u64,
        #[ts(type = "number")]
        deleted: u64,
        #[serde(default)]
        #[ts(type = "number | null")]
        sessions_deleted: Option<u64>,
        #[serde(default)]
        #[ts(type = "number | null")]
        db_sessions_deleted: Option<u64>,
        outcome: FlushOutcome,
        /// The snapshot it can be undone from, while it is kept.
        #[serde(default)]
        undo: Option<String>,
    },
    /// Answering /health/ again after it did not.
    #[serde(rename = "health-up")]
    HealthUp { error: Option<String>, port: u16 },
    /// Stopped answering /health/ while running.
    #[serde(rename = "health-down")]
    HealthDown { error: Option<String>, port: u16 },
    /// A row no variant reads: its kind as recorded, and its detail as it is.
    Unknown {
        recorded: String,
        #[ts(type = "unknown")]
        detail: serde_json::Value,
    },
}

/// A row's detail as earlier versions wrote it, in today's shape: a restart's `try` (now
/// `attempt`), a stop's `how` with a space ("already gone"), a flush's scope as a bare list of
/// instance names.
fn upgrade(kind: &str, detail: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::Value;
    match kind {
        "restart" => {
            if let Some(n) = detail.remove("try") {
                detail.entry("attempt").or_insert(n);
            }
        }
        "stop" => {
            if let Some(Value::String(how)) = detail.get_mut("how") {
                *how = how.replace(' ', "_");
            }
        }
        "flush" => {
            if let Some(names @ Value::Array(_)) = detail.get_mut("scope") {
                *names = serde_json::json!({ "instances": names.take() });
            }
        }
        _ => {}
    }
}

impl HistoryEvent {
    /// The kind column and the detail JSON of a row.
    fn to_row(&self) -> (String, serde_json::Value) {
        if let Self::Unknown { recorded, detail } = self {
            return (recorded.clone(), detail.clone());
        }
        let mut value = serde_json::to_value(self).unwrap_or_default();
        let kind = value
            .as_object_mut()
            .and_then(|o| o.remove("kind"))
            .and_then(|k| k.as_str().map(str::to_string))
            .unwrap_or_default();
        (kind, value)
    }

    /// A row read back: the variant of its kind, or Unknown when its detail does not read as one.
    fn from_row(kind: String, detail: &str) -> Self {
        let detail: serde_json::Value =
            serde_json::from_str(detail).unwrap_or(serde_json::Value::Null);
        let mut tagged = match &detail {
            serde_json::Value::Object(o) => o.clone(),
            _ => serde_json::Map::new(),
        };
        upgrade(&kind, &mut tagged);
        tagged.insert("kind".into(), serde_json::Value::String(kind.clone()));
        match serde_json::from_value::<Self>(serde_json::Value::Object(tagged)) {
            Ok(Self::Unknown { .. }) | Err(_) => Self::Unknown {
                recorded: kind,
                detail,
            },
            Ok(event) => event,
        }
    }

    /// The kind it is recorded under (the timeline's filters name these).
    pub fn kind(&self) -> String {
        self.to_row().0
    }
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
    pub event: HistoryEvent,
}

impl Store {
    /// Keep `event` in the workspace's history, about `instance` (None: the workspace's own).
    pub fn record(
        &self,
        workspace: &Path,
        instance: Option<&str>,
        event: &HistoryEvent,
    ) -> Result<(), StoreError> {
        let (kind, detail) = event.to_row();
        let about = instance.unwrap_or("the workspace");
        match event {
            HistoryEvent::Crash { .. }
            | HistoryEvent::FailedToStart { .. }
            | HistoryEvent::HealthDown { .. } => {
                tracing::warn!(workspace = %workspace.display(), "{about}: {kind} {detail}")
            }
            _ => tracing::info!(workspace = %workspace.display(), "{about}: {kind} {detail}"),
        }
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
                        event: HistoryEvent::from_row(r.get(3)?, &detail),
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

    fn start(pid: i32) -> HistoryEvent {
        HistoryEvent::Start {
            port: Some(8000),
            pid,
            front_door: false,
            unit: None,
            initdb: None,
            millis: None,
        }
    }

    #[test]
    fn events_filter_by_instance_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("k.sqlite3")).unwrap();
        let ws = Path::new("/p/kovan.toml");
        let crash = HistoryEvent::Crash {
            code: Some(1),
            signal: None,
            port: 8000,
        };
        let flush = HistoryEvent::Unknown {
            recorded: "flush".into(),
            detail: serde_json::json!({}),
        };
        for (i, e) in [("a", start(1)), ("b", start(2)), ("a", crash), ("a", flush)] {
            store.record(ws, Some(i), &e).unwrap();
        }
        let got = |i, k: &[&str]| {
            store
                .events_filtered(ws, i, k, 10)
                .unwrap()
                .into_iter()
                .map(|e| format!("{}:{}", e.instance.unwrap(), e.event.kind()))
                .collect::<Vec<_>>()
        };
        assert_eq!(got(Some("a"), &[]), ["a:flush", "a:crash", "a:start"]);
        assert_eq!(got(None, &["start"]), ["b:start", "a:start"]);
        assert_eq!(got(Some("a"), &["crash", "flush"]), ["a:flush", "a:crash"]);
        assert!(got(Some("c"), &[]).is_empty());
    }

    #[test]
    fn every_event_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("k.sqlite3")).unwrap();
        let ws = Path::new("/p/kovan.toml");
        let written = vec![
            start(7),
            HistoryEvent::Start {
                port: None,
                pid: 8,
                front_door: false,
                unit: Some("chat_main".into()),
                initdb: None,
                millis: None,
            },
            HistoryEvent::FailedToStart { port: 8001 },
            HistoryEvent::Stop {
                how: StopHow::Killed,
                millis: 5012,
                pid: Some(7),
                by: Some("kovan down".into()),
            },
            HistoryEvent::Crash {
                code: None,
                signal: Some(9),
                port: 8000,
            },
            HistoryEvent::Restart { attempt: 2 },
            HistoryEvent::Reload {
                members: vec!["chat_main".into()],
            },
            HistoryEvent::DatabaseCreated {
                database: "chat".into(),
            },
            HistoryEvent::Flush {
                scope: FlushScope::Site("chat".into()),
                part: "sessions".into(),
                started_at: "2026-12-04T18:00:00Z".into(),
                duration_ms: 12,
                deleted: 40,
                sessions_deleted: Some(3),
                db_sessions_deleted: None,
                outcome: FlushOutcome::Skipped {
                    reason: "dummy".into(),
                },
                undo: Some("u1".into()),
            },
            HistoryEvent::HealthUp {
                error: None,
                port: 8000,
            },
            HistoryEvent::HealthDown {
                error: Some("connection refused".into()),
                port: 8000,
            },
            HistoryEvent::Unknown {
                recorded: "later".into(),
                detail: serde_json::json!({ "n": 1 }),
            },
        ];
        for e in &written {
            store.record(ws, Some("a"), e).unwrap();
        }
        let mut read: Vec<HistoryEvent> = store
            .events(ws, 100)
            .unwrap()
            .into_iter()
            .map(|r| r.event)
            .collect();
        read.reverse();
        assert_eq!(read, written);
        // The kinds the timeline filters by are the ones rows always had.
        let kinds: Vec<String> = written.iter().map(HistoryEvent::kind).collect();
        assert_eq!(
            kinds,
            [
                "start",
                "start",
                "failed_to_start",
                "stop",
                "crash",
                "restart",
                "reload",
                "database_created",
                "flush",
                "health-up",
                "health-down",
                "later"
            ]
        );
    }

    /// Rows as earlier versions wrote them, put in by hand: they read as the events they were.
    #[test]
    fn rows_of_earlier_versions_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("k.sqlite3")).unwrap();
        let ws = Path::new("/p/kovan.toml");
        let rows = [
            ("restart", r#"{"try":3}"#),
            ("stop", r#"{"how":"terminated","millis":120}"#),
            (
                "stop",
                r#"{"how":"already gone","millis":3,"pid":42,"by":"kovan down"}"#,
            ),
            ("start", r#"{"port":8000,"pid":41}"#),
            ("start", r#"{"port":8080,"pid":40,"frontDoor":true}"#),
            (
                "flush",
                r#"{"scope":["a","b"],"startedAt":"t","durationMs":5,"deleted":9,"sessionsDeleted":null,"outcome":{"state":"failed","kind":"redis_refused","message":"refused"}}"#,
            ),
            (
                "flush",
                r#"{"scope":"all","part":"cache","startedAt":"t","durationMs":5,"deleted":1,"outcome":{"state":"done"}}"#,
            ),
            ("crash", r#"{"code":"not a number"}"#),
            ("x", "not json"),
        ];
        store
            .with(|c| {
                for (kind, detail) in rows {
                    c.execute(
                        "INSERT INTO events (at, workspace, instance, kind, detail) VALUES (1, ?1, 'a', ?2, ?3)",
                        params![ws.to_string_lossy(), kind, detail],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let mut read: Vec<HistoryEvent> = store
            .events(ws, 100)
            .unwrap()
            .into_iter()
            .map(|r| r.event)
            .collect();
        read.reverse();
        assert_eq!(read[0], HistoryEvent::Restart { attempt: 3 });
        assert_eq!(
            read[1],
            HistoryEvent::Stop {
                how: StopHow::Terminated,
                millis: 120,
                pid: None,
                by: None
            }
        );
        assert_eq!(
            read[2],
            HistoryEvent::Stop {
                how: StopHow::AlreadyGone,
                millis: 3,
                pid: Some(42),
                by: Some("kovan down".into())
            }
        );
        assert_eq!(read[3], start(41));
        assert!(matches!(
            read[4],
            HistoryEvent::Start {
                front_door: true,
                pid: 40,
                ..
            }
        ));
        match &read[5] {
            HistoryEvent::Flush {
                scope,
                part,
                outcome,
                undo,
                ..
            } => {
                assert_eq!(*scope, FlushScope::Instances(vec!["a".into(), "b".into()]));
                assert_eq!(part, "");
                assert!(
                    matches!(outcome, FlushOutcome::Failed { message, detail: None, .. } if message == "refused")
                );
                assert_eq!(*undo, None);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            &read[6],
            HistoryEvent::Flush {
                scope: FlushScope::All,
                outcome: FlushOutcome::Done,
                ..
            }
        ));
        assert_eq!(
            read[7],
            HistoryEvent::Unknown {
                recorded: "crash".into(),
                detail: serde_json::json!({ "code": "not a number" })
            }
        );
        assert_eq!(
            read[8],
            HistoryEvent::Unknown {
                recorded: "x".into(),
                detail: serde_json::Value::Null
            }
        );
    }
}
