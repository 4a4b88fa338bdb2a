//! Flushing one instance's cache, several, or all: previewed first, cancellable, reported.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::cancel::CancelToken;
use super::counts::{self, blocking, now_rfc3339, CacheCounts};
use super::error::CacheError;
use super::progress::{CountProgress, FlushProgress, Throttle};
use super::redis::{DeleteCommand, Prefixes, RedisCache};
use super::{db, dummy, file, locmem};
use crate::workspace::{CacheBackend, Instance, Workspace};

/// Whose cache a flush deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum FlushScope {
    /// Every instance of the workspace. Other apps' keys in a shared Redis are never touched.
    All,
    /// These instances, by name.
    Instances(Vec<String>),
}

/// What a flush will delete, counted just before: shown for confirmation, then handed to [`flush`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FlushPreview {
    pub scope: FlushScope,
    /// The instances in the scope, in kovan.toml's order.
    pub instances: Vec<String>,
    /// Keys that will be deleted: the scope's counted keys added up.
    #[ts(type = "number")]
    pub keys: u64,
    /// Cached sessions among them (Redis and db caches; the others cannot tell).
    #[ts(type = "number")]
    pub sessions: u64,
    /// The whole count, the instances outside the scope and other apps' Redis keys included:
    /// what stays.
    pub counts: CacheCounts,
}

/// What a flush did: for the window, `kovan flush --json` and the history in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FlushReport {
    pub scope: FlushScope,
    /// When the flush began (RFC 3339, UTC).
    pub started_at: String,
    #[ts(type = "number")]
    pub duration_ms: u64,
    /// Keys deleted, every instance together.
    #[ts(type = "number")]
    pub deleted: u64,
    /// Cached sessions among them, where the backend can tell.
    #[ts(type = "number")]
    pub sessions_deleted: u64,
    /// Stopped by a [`CancelToken`]: what was deleted until then stays deleted.
    pub cancelled: bool,
    /// In kovan.toml's order.
    pub instances: Vec<InstanceFlush>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstanceFlush {
    pub instance: String,
    #[serde(with = "super::backend_name")]
    #[ts(as = "CacheBackend")]
    pub backend: CacheBackend,
    /// Keys deleted, also when the flush stopped part-way.
    #[ts(type = "number")]
    pub deleted: u64,
    /// Cached sessions among them; None where the backend cannot tell (LocMem, file).
    #[ts(type = "number | null")]
    pub sessions_deleted: Option<u64>,
    /// How Redis keys were deleted; None for the other backends.
    pub method: Option<DeleteCommand>,
    pub outcome: FlushOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FlushOutcome {
    Done,
    Cancelled,
    /// Nothing to flush: a dummy cache, a LocMem instance that is not running.
    Skipped {
        reason: String,
    },
    Failed {
        kind: String,
        message: String,
    },
}

impl FlushScope {
    /// The instances in the scope, in kovan.toml's order.
    pub fn resolve<'w>(&self, ws: &'w Workspace) -> Result<Vec<&'w Instance>, CacheError> {
        match self {
            Self::All => Ok(ws.instances.iter().collect()),
            Self::Instances(names) => {
                if let Some(name) = names.iter().find(|n| ws.instance(n).is_none()) {
                    return Err(unknown_instance(ws, name));
                }
                Ok(ws
                    .instances
                    .iter()
                    .filter(|i| names.contains(&i.name))
                    .collect())
            }
        }
    }
}

fn unknown_instance(ws: &Workspace, name: &str) -> CacheError {
    let known: Vec<&str> = ws.instances.iter().map(|i| i.name.as_str()).collect();
    CacheError::UnknownInstance {
        name: name.to_string(),
        known: known.join(", "),
    }
}

impl FlushReport {
    /// The instances whose flush failed, with the error kind and message.
    pub fn failures(&self) -> impl Iterator<Item = (&InstanceFlush, &str, &str)> {
        self.instances.iter().filter_map(|i| match &i.outcome {
            FlushOutcome::Failed { kind, message } => Some((i, kind.as_str(), message.as_str())),
            _ => None,
        })
    }

    /// Every instance in the scope flushed (or had nothing to flush), none cancelled or failed.
    pub fn succeeded(&self) -> bool {
        !self.cancelled && self.failures().next().is_none()
    }
}

/// Count what flushing `scope` would delete, and what stays.
pub async fn preview(
    ws: &Workspace,
    scope: FlushScope,
    on_progress: impl FnMut(CountProgress) + Send,
) -> Result<FlushPreview, CacheError> {
    let names: Vec<String> = scope.resolve(ws)?.iter().map(|i| i.name.clone()).collect();
    let counts = counts::count(ws, on_progress).await;
    let (keys, sessions) = counts
        .instances
        .iter()
        .filter(|i| names.contains(&i.instance))
        .filter_map(|i| i.count.counted())
        .fold((0, 0), |(k, s), (keys, sessions)| {
            (k + keys, s + sessions.unwrap_or(0))
        });
    Ok(FlushPreview {
        scope,
        instances: names,
        keys,
        sessions,
        counts,
    })
}

/// Delete the caches of the preview's scope. Never stops at the first failure: each instance
/// reports its own outcome, with how many keys went before anything went wrong.
pub async fn flush(
    ws: &Workspace,
    preview: &FlushPreview,
    cancel: &CancelToken,
    on_progress: impl FnMut(FlushProgress) + Send,
) -> FlushReport {
    let started_at = now_rfc3339();
    let clock = Instant::now();
    let mut progress = Progress {
        report: on_progress,
        throttle: Throttle::default(),
        now: FlushProgress {
            deleted: 0,
            sessions_deleted: 0,
            expected: preview.keys,
        },
    };
    let scope: Vec<&Instance> = ws
        .instances
        .iter()
        .filter(|i| preview.instances.contains(&i.name))
        .collect();
    let mut done: Vec<InstanceFlush> = Vec::new();
    for name in &preview.instances {
        if ws.instance(name).is_none() {
            let e = unknown_instance(ws, name);
            // kovan.toml changed since the preview.
            let backend = preview
                .counts
                .instance(name)
                .map_or(CacheBackend::Dummy, |i| i.backend);
            done.push(outcome_of(name, backend, Err(e)));
        }
    }
    for instance in scope.iter().filter(|i| i.cache != CacheBackend::Redis) {
        let flushed = if cancel.is_cancelled() {
            cancelled(instance, None)
        } else {
            flush_one(ws, instance).await
        };
        progress.add(flushed.deleted, flushed.sessions_deleted.unwrap_or(0));
        done.push(flushed);
    }
    let redis_scope: Vec<&Instance> = scope
        .iter()
        .copied()
        .filter(|i| i.cache == CacheBackend::Redis)
        .collect();
    if !redis_scope.is_empty() {
        done.extend(flush_redis(ws, &redis_scope, cancel, &mut progress).await);
    }
    progress.finish();

    let order = |name: &str| ws.instances.iter().position(|i| i.name == name);
    done.sort_by_key(|i| order(&i.instance));
    FlushReport {
        scope: preview.scope.clone(),
        started_at,
        duration_ms: clock.elapsed().as_millis() as u64,
        deleted: done.iter().map(|i| i.deleted).sum(),
        sessions_deleted: done.iter().filter_map(|i| i.sessions_deleted).sum(),
        cancelled: done.iter().any(|i| i.outcome == FlushOutcome::Cancelled),
        instances: done,
    }
}

async fn flush_one(ws: &Workspace, instance: &Instance) -> InstanceFlush {
    let result = match instance.cache {
        CacheBackend::Redis => unreachable!("Redis instances are flushed together"),
        CacheBackend::Locmem => locmem::flush(ws, instance).await.map(|n| (n, None)),
        CacheBackend::File => {
            blocking(ws, instance, |ws, i| file::flush(ws, i).map(|n| (n, None))).await
        }
        CacheBackend::Db => {
            blocking(ws, instance, |ws, i| {
                db::flush(ws, i).map(|(n, s)| (n, Some(s)))
            })
            .await
        }
        CacheBackend::Dummy => Err(dummy::refusal(instance)),
    };
    outcome_of(&instance.name, instance.cache, result)
}

fn outcome_of(
    name: &str,
    backend: CacheBackend,
    result: Result<(u64, Option<u64>), CacheError>,
) -> InstanceFlush {
    let (deleted, sessions_deleted, outcome) = match result {
        Ok((n, sessions)) => (n, sessions, FlushOutcome::Done),
        Err(e @ (CacheError::NotRunning { .. } | CacheError::NothingCached { .. })) => (
            0,
            None,
            FlushOutcome::Skipped {
                reason: e.to_string(),
            },
        ),
        Err(e) => (0, None, failed(&e)),
    };
    InstanceFlush {
        instance: name.to_string(),
        backend,
        deleted,
        sessions_deleted,
        method: None,
        outcome,
    }
}

fn failed(e: &CacheError) -> FlushOutcome {
    FlushOutcome::Failed {
        kind: e.kind().into(),
        message: e.to_string(),
    }
}

fn cancelled(instance: &Instance, method: Option<DeleteCommand>) -> InstanceFlush {
    InstanceFlush {
        instance: instance.name.clone(),
        backend: instance.cache,
        deleted: 0,
        sessions_deleted: (instance.cache != CacheBackend::File).then_some(0),
        method,
        outcome: FlushOutcome::Cancelled,
    }
}

/// The Redis instances of the scope, together: one deleting pass over their prefixes. Only keys
/// this pass's own SCAN matched are deleted, and only what Redis confirmed deleted is counted.
/// Never FLUSHDB, however empty of other keys the database looked: no check made before it can
/// stop another client writing a key the moment after (shared/DESIGN.md, "Never FLUSHDB").
async fn flush_redis<F: FnMut(FlushProgress) + Send>(
    ws: &Workspace,
    scope: &[&Instance],
    cancel: &CancelToken,
    progress: &mut Progress<F>,
) -> Vec<InstanceFlush> {
    let all_failed = |e: &CacheError| -> Vec<InstanceFlush> {
        scope
            .iter()
            .map(|i| InstanceFlush {
                instance: i.name.clone(),
                backend: i.cache,
                deleted: 0,
                sessions_deleted: Some(0),
                method: None,
                outcome: failed(e),
            })
            .collect()
    };
    let Some(config) = ws.redis.as_ref() else {
        return all_failed(&CacheError::Redis {
            url: "(none)".into(),
            detail: "kovan.toml has no [redis] url".into(),
        });
    };
    let redis = match RedisCache::connect(config).await {
        Ok(redis) => redis,
        Err(e) => return all_failed(&e),
    };
    if cancel.is_cancelled() {
        return scope.iter().map(|i| cancelled(i, None)).collect();
    }
    let report = |instance: &Instance, keys: u64, sessions: u64, method, outcome| InstanceFlush {
        instance: instance.name.clone(),
        backend: instance.cache,
        deleted: keys,
        sessions_deleted: Some(sessions),
        method: Some(method),
        outcome,
    };

    let prefixes = Prefixes::new(scope.iter().map(|i| i.names.cache_prefix.as_str()));
    let pass = redis
        .delete_keys(&prefixes, cancel, |batch| {
            progress.add(batch.keys, batch.sessions)
        })
        .await;
    let outcome = match (&pass.error, pass.cancelled) {
        (Some(e), _) => failed(e),
        (None, true) => FlushOutcome::Cancelled,
        (None, false) => FlushOutcome::Done,
    };
    scope
        .iter()
        .zip(&pass.instances)
        .map(|(i, d)| report(i, d.keys, d.sessions, pass.command, outcome.clone()))
        .collect()
}

/// Running totals, reported at most every 50 ms.
struct Progress<F> {
    report: F,
    throttle: Throttle,
    now: FlushProgress,
}

impl<F: FnMut(FlushProgress)> Progress<F> {
    fn add(&mut self, keys: u64, sessions: u64) {
        self.now.deleted += keys;
        self.now.sessions_deleted += sessions;
        if self.throttle.ready() {
            (self.report)(self.now);
        }
    }

    fn finish(&mut self) {
        (self.report)(self.now);
    }
}
