use serde::Serialize;
use ts_rs::TS;

use crate::process_table::PortOwner;

#[derive(Debug, Clone, thiserror::Error, Serialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SupervisorError {
    #[error("{instance} is not an instance of this workspace.")]
    UnknownInstance { instance: String },
    #[error("{preset} is not a preset of this workspace.")]
    UnknownPreset { preset: String },
    #[error("{instance} is already {state}.")]
    AlreadyRunning { instance: String, state: String },
    #[error("{instance}: port {port} is taken by {}. {}", owner_text(owner), port_advice(*lost_instance, *next_free))]
    PortInUse {
        instance: String,
        port: u16,
        owner: Option<PortOwner>,
        /// The owner is this workspace's instance, started earlier and no longer tracked: safe to stop.
        lost_instance: bool,
        next_free: Option<u16>,
    },
    #[error("{instance}: {what} not found at {path}. {fix}")]
    Missing {
        instance: String,
        what: String,
        path: String,
        fix: String,
    },
    #[error("{instance}: the Python interpreter at {path} cannot be run: {why}. {fix}")]
    NotRunnable {
        instance: String,
        path: String,
        why: String,
        fix: String,
    },
    #[error("{instance} could not be started: {message}")]
    Spawn { instance: String, message: String },
    #[error(
        "{instance} did not stop: processes {pids:?} of its group are still alive after SIGKILL."
    )]
    StuckGroup { instance: String, pids: Vec<i32> },
    #[error("Redis at {url} does not answer and {why}")]
    Redis { url: String, why: String },
    #[error("PostgreSQL ({server}): {why}")]
    Postgres { server: String, why: String },
    #[error("{message}")]
    Preflight {
        /// Every member's problem, so the user fixes all of them at once.
        problems: Vec<SupervisorError>,
        message: String,
    },
}

fn owner_text(owner: &Option<PortOwner>) -> String {
    match owner {
        Some(o) => format!("PID {} ({})", o.pid, o.command),
        None => "another process (not visible to Kovan)".into(),
    }
}

fn port_advice(lost_instance: bool, next_free: Option<u16>) -> String {
    let next = next_free
        .map(|p| format!(" or start it on the next free port, {p}"))
        .unwrap_or_default();
    if lost_instance {
        format!("It is this instance, left running by an earlier Kovan: stop it{next}.")
    } else {
        format!("Stop that process yourself{next}.")
    }
}

impl SupervisorError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnknownInstance { .. } => "unknown_instance",
            Self::UnknownPreset { .. } => "unknown_preset",
            Self::AlreadyRunning { .. } => "already_running",
            Self::PortInUse { .. } => "port_in_use",
            Self::Missing { .. } => "missing",
            Self::NotRunnable { .. } => "not_runnable",
            Self::Spawn { .. } => "spawn_failed",
            Self::StuckGroup { .. } => "stuck_group",
            Self::Redis { .. } => "redis_unavailable",
            Self::Postgres { .. } => "postgres_unavailable",
            Self::Preflight { .. } => "preflight_failed",
        }
    }
}

impl From<SupervisorError> for crate::IpcError {
    fn from(e: SupervisorError) -> Self {
        Self {
            kind: e.kind().into(),
            message: e.to_string(),
        }
    }
}
