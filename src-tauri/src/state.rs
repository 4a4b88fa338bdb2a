//! The one managed state: the workspace the window shows.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::RwLock;

use kovan_core::{workspace, IpcError, Workspace, WorkspaceError, WorkspaceView};
use tauri::{AppHandle, Manager};

pub struct AppState {
    file: PathBuf,
    workspace: RwLock<Result<Workspace, WorkspaceError>>,
}

impl AppState {
    pub fn open(file: PathBuf) -> Self {
        let loaded = workspace::load(&file);
        Self {
            file,
            workspace: RwLock::new(loaded),
        }
    }

    pub fn view(&self) -> WorkspaceView {
        WorkspaceView::of(&self.workspace.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Run `f` on the loaded workspace; an invalid one is the error.
    pub fn with_workspace<T>(
        &self,
        f: impl FnOnce(&Workspace) -> Result<T, IpcError>,
    ) -> Result<T, IpcError> {
        match &*self.workspace.read().unwrap_or_else(|e| e.into_inner()) {
            Ok(ws) => f(ws),
            Err(e) => Err(e.into()),
        }
    }

    /// Read kovan.toml again, so a fix made in an editor shows without restarting the app.
    pub fn reload(&self) -> WorkspaceView {
        let loaded = workspace::load(&self.file);
        let view = WorkspaceView::of(&loaded);
        *self.workspace.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        view
    }
}

/// `--workspace PATH` (or `--workspace=PATH`) from the command line, else `KOVAN_WORKSPACE`.
pub fn named_workspace(args: impl Iterator<Item = OsString>) -> Option<PathBuf> {
    let mut args = args.skip(1);
    let mut explicit = None;
    while let Some(arg) = args.next() {
        if arg == "--workspace" {
            explicit = args.next().map(PathBuf::from);
        } else if let Some(v) = arg.to_str().and_then(|a| a.strip_prefix("--workspace=")) {
            explicit = Some(PathBuf::from(v));
        }
    }
    workspace::named(explicit.as_deref(), std::env::var_os(workspace::ENV_VAR))
}

/// The example project: from the source tree in a debug build, else the installed resources.
pub fn bundled_example(app: &AppHandle) -> PathBuf {
    let source = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/context7"));
    if cfg!(debug_assertions) && source.join(workspace::FILE_NAME).is_file() {
        return workspace::file_in(&source);
    }
    let installed = app
        .path()
        .resource_dir()
        .map(|dir| dir.join("examples/context7"))
        .unwrap_or(source);
    workspace::file_in(&installed)
}
