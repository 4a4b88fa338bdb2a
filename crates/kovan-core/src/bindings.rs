//! TypeScript declarations of the types the window receives, generated with ts-rs into
//! `ui/src/lib/bindings/`. A test compares them with the committed files so the two sides cannot drift.

use std::path::Path;

use ts_rs::{ExportError, TS};

use crate::error::IpcError;
use crate::generate::{Plan, WriteReport};
use crate::view::WorkspaceView;

/// Write the declarations of every type the UI uses (and the types they depend on) into `dir`.
pub fn export_all(dir: &Path) -> Result<(), ExportError> {
    WorkspaceView::export_all_to(dir)?;
    Plan::export_all_to(dir)?;
    WriteReport::export_all_to(dir)?;
    IpcError::export_all_to(dir)
}
