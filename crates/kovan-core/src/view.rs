//! What the window and `kovan check` show of a workspace: values core derived, ready to display.

use std::path::Path;

use serde::Serialize;
use ts_rs::TS;

use crate::workspace::{
    self, CacheBackend, DerivedNames, Problem, RestartPolicy, Role, Workspace, WorkspaceError,
};

/// The workspace as the window shows it: loaded, or why not.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum WorkspaceView {
    Loaded(WorkspaceOverview),
    Invalid(WorkspaceFault),
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceOverview {
    pub name: String,
    /// Absolute path of the kovan.toml.
    pub file: String,
    pub django_root: String,
    pub settings: String,
    /// The Redis URL with any password replaced by `***`.
    pub redis_url: Option<String>,
    pub redis_managed: bool,
    pub presets: Vec<PresetView>,
    pub instances: Vec<InstanceCard>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct PresetView {
    pub name: String,
    pub instances: Vec<String>,
}

/// One instance card.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstanceCard {
    pub name: String,
    pub port: u16,
    pub role: Role,
    pub cache: CacheBackend,
    /// The Django backend class the cache maps to.
    pub cache_class: String,
    pub cache_timeout: u32,
    pub names: DerivedNames,
    pub restart: RestartPolicy,
}

/// Why a workspace could not be shown, with the file it is about.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceFault {
    /// A stable name: workspace_not_found, workspace_unreadable, workspace_invalid.
    pub kind: String,
    pub file: String,
    /// The whole message, as `kovan check` prints it.
    pub message: String,
    pub problems: Vec<Problem>,
}

impl WorkspaceView {
    pub fn of(loaded: &Result<Workspace, WorkspaceError>) -> Self {
        match loaded {
            Ok(ws) => Self::Loaded(WorkspaceOverview::of(ws)),
            Err(e) => Self::Invalid(WorkspaceFault::of(e)),
        }
    }

    /// Load the kovan.toml at `path` (or in that folder) and describe it.
    pub fn open(path: &Path) -> Self {
        Self::of(&workspace::load(path))
    }
}

impl WorkspaceOverview {
    pub fn of(ws: &Workspace) -> Self {
        Self {
            name: ws.project.name.clone(),
            file: ws.file.display().to_string(),
            django_root: ws.project.django_root.display().to_string(),
            settings: ws.project.settings.clone(),
            redis_url: ws.redis.as_ref().map(|r| r.redacted()),
            redis_managed: ws.redis.as_ref().is_some_and(|r| r.managed),
            presets: ws
                .presets
                .iter()
                .map(|p| PresetView {
                    name: p.name.clone(),
                    instances: p.instances.clone(),
                })
                .collect(),
            instances: ws
                .instances
                .iter()
                .map(|i| InstanceCard {
                    name: i.name.clone(),
                    port: i.port,
                    role: i.role,
                    cache: i.cache,
                    cache_class: i.cache.django_class().to_string(),
                    cache_timeout: i.cache_timeout,
                    names: i.names.clone(),
                    restart: i.restart,
                })
                .collect(),
        }
    }
}

impl WorkspaceFault {
    pub fn of(e: &WorkspaceError) -> Self {
        Self {
            kind: e.kind().to_string(),
            file: e.path().display().to_string(),
            message: e.to_string(),
            problems: e.problems(),
        }
    }
}
