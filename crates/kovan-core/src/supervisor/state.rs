//! What the supervisor knows of each instance: its run status, the state a card shows, the events
//! it reports, and the slot that holds a run's ring, subscribers and process group.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::logs::{LogLine, LogRing};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum RunStatus {
    Stopped,
    Starting,
    Running,
    Stopping,
    Crashed,
    FailedToStart,
}

/// One instance as the card shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstanceState {
    pub instance: String,
    pub status: RunStatus,
    pub pid: Option<i32>,
    /// The port it runs on (kovan.toml's, or the free one the user chose instead).
    pub port: u16,
    /// Unix milliseconds.
    #[ts(type = "number | null")]
    pub started_at: Option<i64>,
    /// Automatic restarts since the user last started it.
    pub restarts: u32,
    /// How it stopped, why it crashed or failed to start.
    pub detail: Option<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// The last lines it printed, kept with a crash.
    pub last_lines: Vec<String>,
    /// Found running after the panel restarted (its output before that is not in the ring).
    pub adopted: bool,
    /// Up but not ready: it serves, and /health/ reported this many migrations not applied
    /// when it came up (`migrate = "never"`, or a start that was told not to migrate). None
    /// once they are applied through the supervisor, and for a ready instance.
    pub unapplied_migrations: Option<u32>,
}

impl InstanceState {
    pub(super) fn stopped(instance: &str, port: u16) -> Self {
        Self {
            instance: instance.to_string(),
            status: RunStatus::Stopped,
            pid: None,
            port,
            started_at: None,
            restarts: 0,
            detail: None,
            exit_code: None,
            signal: None,
            last_lines: Vec::new(),
            adopted: false,
            unapplied_migrations: None,
        }
    }
}

/// What the supervisor reports as it works.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SupervisorEvent {
    Status(InstanceState),
    Log {
        instance: String,
        lines: Vec<LogLine>,
    },
}

pub type EventSink = Arc<dyn Fn(SupervisorEvent) + Send + Sync>;
/// Receives an instance's new log lines; returns false to unsubscribe.
pub type LogSubscriber = Box<dyn FnMut(&[LogLine]) -> bool + Send>;

/// How a stop ended. The history's stop events keep it; rows of earlier versions spelled it with
/// a space ("already gone"), which the history's reader turns into these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StopHow {
    /// Exited after SIGTERM (PostgreSQL: after SIGINT to its postmaster).
    Terminated,
    /// SIGKILL after the grace period.
    Killed,
    /// Nothing of it ran: nothing was signalled.
    NotRunning,
    /// The group was gone by the first signal.
    AlreadyGone,
    /// The managed Redis or PostgreSQL kept running for the instances of other workspaces that
    /// use it, each named "b (/p/kovan.toml)".
    LeftRunning { users: Vec<String> },
}

impl StopHow {
    /// Whether a group was stopped (the report's millis mean something).
    pub fn stopped(&self) -> bool {
        matches!(self, Self::Terminated | Self::Killed | Self::AlreadyGone)
    }
}

/// The words the CLI prints and the log keeps: "terminated", "not running",
/// "left running: b (/p/kovan.toml) use it".
impl std::fmt::Display for StopHow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Terminated => f.write_str("terminated"),
            Self::Killed => f.write_str("killed"),
            Self::NotRunning => f.write_str("not running"),
            Self::AlreadyGone => f.write_str("already gone"),
            Self::LeftRunning { users } => write!(f, "left running: {} use it", users.join(", ")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StopReport {
    pub instance: String,
    pub how: StopHow,
    #[ts(type = "number")]
    pub millis: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct StartOptions {
    /// Run on this port instead of kovan.toml's (the "next free port" choice after a conflict).
    pub port: Option<u16>,
    pub migrate: MigrateFirst,
}

/// What a start does with migrations not applied to the databases it is about to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MigrateFirst {
    /// Follow `migrate` in kovan.toml: "auto" applies them, "never" starts without, "ask"
    /// refuses with `migrations_pending` (nobody was asked).
    #[default]
    Policy,
    /// The user was asked and said yes (the window's confirm after `migrations_pending`):
    /// apply them.
    Yes,
    /// The caller has dealt with them (`kovan up` asked on its terminal): start as they are.
    Decided,
}

pub(super) struct Slot {
    pub(super) state: InstanceState,
    pub(super) ring: LogRing,
    pub(super) subscribers: Vec<LogSubscriber>,
    /// The group of the current run; None the moment it is gone (reaped, stopped or found dead).
    pub(super) group: Option<super::GroupIdentity>,
    /// Bumped on every start, so a task from an earlier run cannot overwrite a newer state.
    pub(super) run: u64,
    pub(super) stop_requested: bool,
    /// The last run was stopped by another Kovan (who, in its words).
    pub(super) stopped_by: Option<String>,
}

impl Slot {
    pub(super) fn new(instance: &str, port: u16, capacity: usize) -> Self {
        Self {
            state: InstanceState::stopped(instance, port),
            ring: LogRing::new(capacity),
            subscribers: Vec::new(),
            group: None,
            run: 0,
            stop_requested: false,
            stopped_by: None,
        }
    }
}
