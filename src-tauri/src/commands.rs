//! The IPC surface: each command is a line into kovan-core.

use std::path::PathBuf;

use kovan_core::generate::{self, Plan, WriteReport};
use kovan_core::{IpcError, WorkspaceView};
use tauri::State;

use crate::state::AppState;

#[tauri::command]
pub fn workspace_view(state: State<'_, AppState>) -> WorkspaceView {
    state.view()
}

#[tauri::command]
pub fn reload_workspace(state: State<'_, AppState>) -> WorkspaceView {
    state.reload()
}

#[tauri::command]
pub fn generator_plan(state: State<'_, AppState>) -> Result<Plan, IpcError> {
    state.with_workspace(|ws| Ok(generate::plan(ws)?))
}

/// Re-plans before writing, so a file edited since the preview is still backed up.
#[tauri::command]
pub fn generator_write(
    state: State<'_, AppState>,
    paths: Vec<String>,
) -> Result<WriteReport, IpcError> {
    state.with_workspace(|ws| Ok(generate::write(&generate::plan(ws)?, Some(&paths))?))
}

#[tauri::command]
pub fn export_env_files(state: State<'_, AppState>, dir: PathBuf) -> Result<WriteReport, IpcError> {
    state.with_workspace(|ws| Ok(generate::export_env_files(&generate::plan(ws)?, &dir)?))
}
