use crate::error::{Classified, ErrorDetail, ErrorKind, IpcError};
use crate::platform::PortOwner;

#[derive(Debug, Clone, thiserror::Error)]
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
    Redis {
        url: String,
        /// `[redis] managed` in kovan.toml.
        managed: bool,
        why: String,
    },
    #[error("{site} is not a site of this workspace.")]
    UnknownSite { site: String },
    /// The site's nginx could not open (or follow a change of members); its members keep running.
    #[error("{message}")]
    FrontDoor { site: String, message: String },
    /// The site's shared database could not be migrated before its start: none of its members
    /// was started.
    #[error(
        "{site}: its shared database was not migrated, so none of its members was started: {error}"
    )]
    SiteNotMigrated {
        site: String,
        error: crate::django::MigrationError,
    },
    /// A database could not be migrated before its instance's start (auto, or the user's yes):
    /// nothing was started.
    #[error("nothing was started: {error}")]
    NotMigrated {
        error: crate::django::MigrationError,
    },
    /// `migrate = "ask"` and nobody was asked (the window's Start, `kovan up` without a
    /// terminal): nothing was started.
    #[error("{instance}: {summary}; nothing was started: migrate = \"ask\" and nobody was asked. Apply them (`kovan migrate {instance}`), start with `kovan up --yes`, or set migrate = \"auto\" in kovan.toml.")]
    MigrationsPending {
        /// The isolation unit whose database lacks them (a site's name for its members).
        unit: String,
        /// The member it is migrated through.
        instance: String,
        unapplied: u32,
        summary: String,
    },
    /// The interpreter lacks what the configuration needs: nothing was started.
    #[error("{instance}: nothing was started: {}", report.message().unwrap_or_default())]
    PackagesMissing {
        /// The first instance that needs them.
        instance: String,
        report: Box<crate::django::DependencyReport>,
    },
    #[error("PostgreSQL ({server}): {why}")]
    Postgres { server: String, why: String },
    /// This supervisor only looks ([`super::Supervisor::observe`]): another program supervises the
    /// workspace, and only it starts or stops anything.
    #[error(
        "{by} supervises this workspace; this Kovan only watches it. Take over to start or stop."
    )]
    Observing { by: String },
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

impl Classified for SupervisorError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::UnknownInstance { .. } => ErrorKind::UnknownInstance,
            Self::UnknownPreset { .. } => ErrorKind::UnknownPreset,
            Self::AlreadyRunning { .. } => ErrorKind::AlreadyRunning,
            Self::PortInUse { .. } => ErrorKind::PortInUse,
            Self::Missing { .. } => ErrorKind::Missing,
            Self::NotRunnable { .. } => ErrorKind::NotRunnable,
            Self::Spawn { .. } => ErrorKind::SpawnFailed,
            Self::StuckGroup { .. } => ErrorKind::StuckGroup,
            Self::Redis { .. } => ErrorKind::RedisUnavailable,
            Self::UnknownSite { .. } => ErrorKind::UnknownSite,
            Self::FrontDoor { .. } => ErrorKind::FrontDoor,
            Self::SiteNotMigrated { .. } => ErrorKind::SiteNotMigrated,
            Self::MigrationsPending { .. } => ErrorKind::MigrationsPending,
            Self::NotMigrated { error } => error.kind(),
            Self::Postgres { .. } => ErrorKind::PostgresUnavailable,
            Self::PackagesMissing { .. } => ErrorKind::PackagesMissing,
            Self::Preflight { .. } => ErrorKind::PreflightFailed,
            Self::Observing { .. } => ErrorKind::SupervisedElsewhere,
        }
    }

    fn detail(&self) -> Option<ErrorDetail> {
        Some(match self {
            Self::UnknownInstance { instance }
            | Self::AlreadyRunning { instance, .. }
            | Self::Missing { instance, .. }
            | Self::NotRunnable { instance, .. }
            | Self::Spawn { instance, .. }
            | Self::StuckGroup { instance, .. } => ErrorDetail::Instance {
                instance: instance.clone(),
            },
            Self::UnknownPreset { preset } => ErrorDetail::Preset {
                preset: preset.clone(),
            },
            Self::PortInUse {
                instance,
                port,
                owner,
                lost_instance,
                next_free,
            } => ErrorDetail::PortInUse {
                instance: instance.clone(),
                port: *port,
                holder: owner.clone(),
                lost_instance: *lost_instance,
                next_free: *next_free,
            },
            Self::Redis { url, managed, .. } => ErrorDetail::Redis {
                url: url.clone(),
                managed: Some(*managed),
            },
            Self::MigrationsPending {
                unit,
                instance,
                unapplied,
                ..
            } => ErrorDetail::Migrations {
                unit: unit.clone(),
                instance: instance.clone(),
                unapplied: *unapplied,
            },
            Self::PackagesMissing { instance, report } => {
                ErrorDetail::Packages(Box::new(crate::error::PackagesDetail {
                    instance: instance.clone(),
                    python: report.python.clone(),
                    missing: report.missing.clone(),
                    requirements: report.requirements(),
                    command: report.fix.clone(),
                }))
            }
            // The member it was migrated through, whose output the error carries.
            Self::SiteNotMigrated { error, .. } | Self::NotMigrated { error } => {
                return error.detail()
            }
            Self::UnknownSite { .. } | Self::FrontDoor { .. } | Self::Postgres { .. } => {
                return None
            }
            Self::Observing { by } => ErrorDetail::Supervisor { by: by.clone() },
            Self::Preflight { problems, .. } => ErrorDetail::Preflight {
                problems: problems.iter().map(IpcError::of).collect(),
            },
        })
    }
}
