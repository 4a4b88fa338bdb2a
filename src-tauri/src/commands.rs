//! The IPC surface: each command is a line into kovan-core.

use kovan_core::WorkspaceView;
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
