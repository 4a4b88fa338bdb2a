//! TypeScript declarations of the types the window receives, generated with ts-rs into
//! `ui/src/lib/bindings/`. A test compares them with the committed files so the two sides cannot drift.

use std::path::Path;

use ts_rs::{ExportError, TS};

use crate::cache::{CacheCounts, CacheProgress, FlushPreview, FlushReport, KeyGroups, UndoReport};
use crate::diagnostics::DiagnosticLog;
use crate::django::{InstallOutcome, MigrateOutcome};
use crate::doctor::{Finding, FindingKind};
use crate::error::IpcError;
use crate::generate::{Plan, WriteReport};
use crate::health::feed::HealthBatch;
use crate::health::HealthEvent;
use crate::proposal::Proposal;
use crate::services::database::{DatabaseReport, DatabaseStatus};
use crate::services::redis_server::RedisProbe;
use crate::store::{EventRecord, HealthSample, HistoryEvent, StoreSetAside, StoreTrouble};
use crate::supervisor::lock::Supervision;
use crate::supervisor::{StopHow, StopReport, SupervisorEvent};
use crate::view::{FrontDoorHealth, WorkspaceView};

/// Write the declarations of every type the UI uses (and the types they depend on) into `dir`.
pub fn export_all(dir: &Path) -> Result<(), ExportError> {
    WorkspaceView::export_all_to(dir)?;
    Plan::export_all_to(dir)?;
    WriteReport::export_all_to(dir)?;
    CacheCounts::export_all_to(dir)?;
    FlushPreview::export_all_to(dir)?;
    FlushReport::export_all_to(dir)?;
    UndoReport::export_all_to(dir)?;
    KeyGroups::export_all_to(dir)?;
    CacheProgress::export_all_to(dir)?;
    IpcError::export_all_to(dir)?;
    SupervisorEvent::export_all_to(dir)?;
    StopReport::export_all_to(dir)?;
    StopHow::export_all_to(dir)?;
    RedisProbe::export_all_to(dir)?;
    EventRecord::export_all_to(dir)?;
    HistoryEvent::export_all_to(dir)?;
    HealthEvent::export_all_to(dir)?;
    HealthBatch::export_all_to(dir)?;
    HealthSample::export_all_to(dir)?;
    StoreSetAside::export_all_to(dir)?;
    StoreTrouble::export_all_to(dir)?;
    Proposal::export_all_to(dir)?;
    MigrateOutcome::export_all_to(dir)?;
    InstallOutcome::export_all_to(dir)?;
    DatabaseStatus::export_all_to(dir)?;
    DatabaseReport::export_all_to(dir)?;
    FrontDoorHealth::export_all_to(dir)?;
    Supervision::export_all_to(dir)?;
    FindingKind::export_all_to(dir)?;
    DiagnosticLog::export_all_to(dir)?;
    Finding::export_all_to(dir)
}
