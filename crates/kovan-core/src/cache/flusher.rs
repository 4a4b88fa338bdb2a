//! One flush at a time per panel, cancellable from another call, and written into the history.
//!
//! The window asks for a flush in one IPC call and cancels it in another, so the running flush's
//! [`CancelToken`] has to live somewhere both calls reach: here.

use std::path::Path;
use std::sync::Mutex;

use super::cancel::CancelToken;
use super::error::CacheError;
use super::flush::{flush_with, FlushPreview, FlushReport, FlushScope};
use super::progress::FlushProgress;
use super::undo::Undo;
use crate::store::{HistoryEvent, Store, StoreError};
use crate::workspace::Workspace;

/// The event kind a flush is recorded under in the store's history.
pub const FLUSH_EVENT: &str = "flush";

#[derive(Debug, Default)]
pub struct Flusher {
    running: Mutex<Option<Running>>,
}

#[derive(Debug)]
struct Running {
    scope: FlushScope,
    cancel: CancelToken,
}

impl Flusher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Run the previewed flush (saving what it deletes for `undo` when given), then record it in
    /// `store` (when there is one). Refused while another flush runs: two flushes over the same
    /// keys would only race each other's counts.
    pub async fn run(
        &self,
        ws: &Workspace,
        preview: &FlushPreview,
        undo: Option<&Undo>,
        store: Option<&Store>,
        on_progress: impl FnMut(FlushProgress) + Send,
    ) -> Result<FlushReport, CacheError> {
        let cancel = self.claim(&preview.scope)?;
        let _release = Release(&self.running);
        let report = flush_with(ws, preview, undo, &cancel, on_progress).await;
        if let Some(store) = store {
            // The flush happened whether or not the history can say so.
            let _ = record(store, &ws.file, &report);
        }
        Ok(report)
    }

    /// Stop the running flush after its current batch; false when none runs.
    pub fn cancel(&self) -> bool {
        match &*self.running.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(running) => {
                running.cancel.cancel();
                true
            }
            None => false,
        }
    }

    pub fn is_running(&self) -> bool {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn claim(&self, scope: &FlushScope) -> Result<CancelToken, CacheError> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(other) = &*running {
            return Err(CacheError::FlushRunning {
                scope: scope_text(&other.scope),
            });
        }
        let cancel = CancelToken::new();
        *running = Some(Running {
            scope: scope.clone(),
            cancel: cancel.clone(),
        });
        Ok(cancel)
    }
}

/// Frees the flusher however the flush ends, a dropped future included.
struct Release<'a>(&'a Mutex<Option<Running>>);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn scope_text(scope: &FlushScope) -> String {
    match scope {
        FlushScope::All => "every instance".into(),
        FlushScope::Instances(names) => names.join(", "),
        FlushScope::Site(site) => format!("site {site}"),
    }
}

/// One history event per instance in the scope, so the timeline filtered by instance shows its
/// flushes: when, what scope it was part of, how many keys (and sessions) went, and how it ended.
/// An instance with several cache aliases has one event: its aliases' figures added up, the first
/// outcome that says most (failed, cancelled, done, skipped), and the undo when any alias can be
/// undone.
pub fn record(store: &Store, workspace: &Path, report: &FlushReport) -> Result<(), StoreError> {
    let mut names: Vec<&str> = Vec::new();
    for i in &report.instances {
        if !names.contains(&i.instance.as_str()) {
            names.push(&i.instance);
        }
    }
    for name in names {
        let mine: Vec<&super::InstanceFlush> = report
            .instances
            .iter()
            .filter(|i| i.instance == name)
            .collect();
        let add = |f: fn(&super::InstanceFlush) -> Option<u64>| {
            mine.iter().filter_map(|i| f(i)).reduce(|a, b| a + b)
        };
        // A failure says most, then a stop; an alias skipped (a stopped LocMem) beside one
        // flushed leaves the instance's flush done.
        let rank = |o: &super::FlushOutcome| match o {
            super::FlushOutcome::Failed { .. } => 0,
            super::FlushOutcome::Cancelled => 1,
            super::FlushOutcome::Done => 2,
            super::FlushOutcome::Skipped { .. } => 3,
        };
        let outcome = mine
            .iter()
            .map(|i| &i.outcome)
            .min_by_key(|o| rank(o))
            .expect("one flush per listed instance")
            .clone();
        store.record(
            workspace,
            Some(name),
            &HistoryEvent::Flush {
                scope: report.scope.clone(),
                part: report.part.name(),
                started_at: report.started_at.clone(),
                duration_ms: report.duration_ms,
                deleted: mine.iter().map(|i| i.deleted).sum(),
                sessions_deleted: add(|i| i.sessions_deleted),
                db_sessions_deleted: add(|i| i.db_sessions_deleted),
                outcome,
                undo: report
                    .undo
                    .as_ref()
                    .filter(|_| mine.iter().any(|i| i.undoable))
                    .map(|u| u.id.clone()),
            },
        )?;
    }
    Ok(())
}
