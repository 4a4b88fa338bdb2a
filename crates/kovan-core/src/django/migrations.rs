//! An instance's database and its migrations: which are not applied yet (found as `manage.py
//! migrate` finds them, applying none), and applying them under the instance's environment.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::environment::{self, EnvironmentError, Launch};
use super::python::{self, ScriptError};
use crate::workspace::{Instance, Workspace};

const SCRIPT: &str = include_str!("migrations.py");
const MARK: &str = "KOVAN-MIGRATIONS ";
/// django.setup() of a large project imports every app; give it time.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What `migrate` would do now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MigrationStatus {
    pub instance: String,
    pub vendor: String,
    pub database: String,
    /// `app.0001_initial`, in the order migrate applies them.
    pub unapplied: Vec<String>,
    /// Apps with several leaf migrations: migrate refuses until `makemigrations --merge`.
    pub conflicts: BTreeMap<String, Vec<String>>,
}

impl MigrationStatus {
    pub fn up_to_date(&self) -> bool {
        self.unapplied.is_empty() && self.conflicts.is_empty()
    }

    /// "3 migrations not applied (chat.0001_initial, …)".
    pub fn summary(&self) -> String {
        summary(&self.unapplied)
    }
}

/// "3 migrations not applied", "1 migration not applied".
pub fn count_text(n: u32) -> String {
    let noun = if n == 1 { "migration" } else { "migrations" };
    format!("{n} {noun} not applied")
}

/// "3 migrations not applied (a.0001, b.0001, c.0002)", the first five named.
pub fn summary(unapplied: &[String]) -> String {
    let n = unapplied.len();
    if n == 0 {
        return "all migrations applied".into();
    }
    let mut names: Vec<&str> = unapplied.iter().take(5).map(String::as_str).collect();
    if n > 5 {
        names.push("…");
    }
    let noun = if n == 1 { "migration" } else { "migrations" };
    format!("{n} {noun} not applied ({})", names.join(", "))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MigrationError {
    #[error("`{name}` is not an instance of this workspace.")]
    UnknownInstance { name: String },
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    #[error("{instance}: {0}", .script)]
    Script {
        instance: String,
        script: ScriptError,
    },
    #[error("{instance}: Django did not start ({message}); fix the settings, then try again.")]
    Setup { instance: String, message: String },
    #[error("{instance}: the database could not be read ({message}).")]
    Database { instance: String, message: String },
    #[error("{instance}: `manage.py migrate` could not be started: {why}")]
    NotStarted { instance: String, why: String },
    #[error("{instance}: `manage.py migrate` failed (exit status {status}){}", cause.as_ref().map(|c| format!(": {c}")).unwrap_or_else(|| python::last_said(output.iter().map(String::as_str))))]
    Failed {
        instance: String,
        status: i32,
        output: Vec<String>,
        /// The last line migrate wrote to stderr (a traceback's exception), when it wrote one:
        /// stdout's "Applying x..." may come last, its line ended only when the pipe closes.
        cause: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
enum Answer {
    Read {
        vendor: String,
        database: String,
        unapplied: Vec<String>,
        conflicts: BTreeMap<String, Vec<String>>,
    },
    Failed {
        stage: String,
        message: String,
    },
}

/// The migrations `migrate` would apply to the instance's database. Runs its interpreter once
/// (Django set up, no request served, nothing applied, a missing SQLite file not created).
pub fn status(ws: &Workspace, instance: &Instance) -> Result<MigrationStatus, MigrationError> {
    let env = environment::compose(ws, instance, instance.port, Launch::Interactive)?;
    let answer = python::run_script(
        &python::interpreter(ws),
        &ws.project.django_root,
        SCRIPT,
        &[],
        &env,
        MARK,
        TIMEOUT,
    )
    .map_err(|script| MigrationError::Script {
        instance: instance.name.clone(),
        script,
    })?;
    let answer: Answer = serde_json::from_value(answer).map_err(|e| MigrationError::Database {
        instance: instance.name.clone(),
        message: format!("unreadable answer ({e}); this is a bug in Kovan"),
    })?;
    match answer {
        Answer::Read {
            vendor,
            database,
            unapplied,
            conflicts,
        } => Ok(MigrationStatus {
            instance: instance.name.clone(),
            vendor,
            database,
            unapplied,
            conflicts,
        }),
        Answer::Failed { stage, message } if stage == "setup" => Err(MigrationError::Setup {
            instance: instance.name.clone(),
            message,
        }),
        Answer::Failed { message, .. } => Err(MigrationError::Database {
            instance: instance.name.clone(),
            message,
        }),
    }
}

/// What applying the migrations did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MigrateOutcome {
    pub instance: String,
    /// Every line `migrate` printed, stdout and stderr in the order read.
    pub output: Vec<String>,
}

impl crate::error::Classified for MigrationError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Self::UnknownInstance { .. } => ErrorKind::UnknownInstance,
            Self::Environment(_) => ErrorKind::NoEnvFile,
            Self::Script { .. } => ErrorKind::PythonFailed,
            Self::Setup { .. } => ErrorKind::DjangoSetupFailed,
            Self::Database { .. } => ErrorKind::DatabaseUnreadable,
            Self::NotStarted { .. } => ErrorKind::SpawnFailed,
            Self::Failed { .. } => ErrorKind::MigrateFailed,
        }
    }

    fn detail(&self) -> Option<crate::error::ErrorDetail> {
        match self {
            Self::UnknownInstance { name: instance }
            | Self::Script { instance, .. }
            | Self::Setup { instance, .. }
            | Self::Database { instance, .. }
            | Self::NotStarted { instance, .. }
            | Self::Failed { instance, .. } => Some(crate::error::ErrorDetail::Instance {
                instance: instance.clone(),
            }),
            Self::Environment(_) => None,
        }
    }
}

/// [`migrate_unit`] for the instance named `name` (the window's Apply button).
pub fn migrate_named(
    ws: &Workspace,
    name: &str,
    on_line: impl FnMut(&str),
) -> Result<MigrateOutcome, MigrationError> {
    let instance = ws
        .instance(name)
        .ok_or_else(|| MigrationError::UnknownInstance { name: name.into() })?;
    migrate_unit(ws, instance, on_line)
}

/// Apply the migrations of a unit's database: `manage.py migrate --noinput` under `through`'s
/// environment, each output line passed to `on_line` as it comes. A site's members share one
/// database: migrate it once, through any one member.
pub fn migrate_unit(
    ws: &Workspace,
    through: &Instance,
    mut on_line: impl FnMut(&str),
) -> Result<MigrateOutcome, MigrationError> {
    let mut command = environment::manage(ws, through, &["migrate".into(), "--noinput".into()])?;
    command
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let not_started = |why: String| MigrationError::NotStarted {
        instance: through.name.clone(),
        why,
    };
    let mut child = command.spawn().map_err(|e| not_started(e.to_string()))?;
    // migrate's lines go to the member's log file too, where its server's output goes.
    let mut log = crate::supervisor::logs::LogFile::open(
        ws.project.django_root.join(&through.names.log_file),
    )
    .ok();
    let mut to_log = |line: &str| {
        if let Some(f) = log.as_mut() {
            let _ = f.write_line(line);
        }
    };
    to_log(&format!(
        "kovan: manage.py migrate --noinput under {}'s environment (the database of {})",
        through.name, through.names.unit
    ));
    let mut output = Vec::new();
    let mut cause = None;
    python::each_output_line(&mut child, |stderr, line| {
        to_log(&line);
        on_line(&line);
        if stderr && !line.trim().is_empty() {
            cause = Some(line.trim().to_string());
        }
        output.push(line);
    });
    let status = child.wait().map_err(|e| not_started(e.to_string()))?;
    to_log(&match status.code() {
        Some(0) => "kovan: migrate done".to_string(),
        Some(code) => format!("kovan: migrate failed (exit status {code})"),
        None => "kovan: migrate was killed".to_string(),
    });
    if !status.success() {
        return Err(MigrationError::Failed {
            instance: through.name.clone(),
            status: status.code().unwrap_or(-1),
            output,
            cause,
        });
    }
    Ok(MigrateOutcome {
        instance: through.name.clone(),
        output,
    })
}

/// One isolation unit's database as `members` reach it: through which member it is migrated, and
/// what migrate would do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitMigrations {
    /// The site's name for its members, the instance's own otherwise.
    pub unit: String,
    /// The unit's members among those asked about, in their order.
    pub members: Vec<String>,
    /// The first of them that runs Django: the database is looked at and migrated through it.
    pub through: String,
    pub status: MigrationStatus,
}

/// The databases of `members`, once per isolation unit (a site's members share one), each with
/// the migrations it lacks; members whose command does not run Django are left out.
pub fn pending_by_unit(
    ws: &Workspace,
    members: &[String],
) -> Result<Vec<UnitMigrations>, MigrationError> {
    let mut units: Vec<(String, Vec<String>, &Instance)> = Vec::new();
    for name in members {
        let instance = ws
            .instance(name)
            .ok_or_else(|| MigrationError::UnknownInstance { name: name.clone() })?;
        if !super::packages::runs_django(instance.command.as_deref()) {
            continue;
        }
        match units.iter_mut().find(|(u, ..)| *u == instance.names.unit) {
            Some((_, names, _)) => names.push(name.clone()),
            None => units.push((instance.names.unit.clone(), vec![name.clone()], instance)),
        }
    }
    units
        .into_iter()
        .map(|(unit, members, through)| {
            Ok(UnitMigrations {
                unit,
                members,
                through: through.name.clone(),
                status: status(ws, through)?,
            })
        })
        .collect()
}

/// Migrate each unit of `members` once, before they start: the units [`pending_by_unit`] finds
/// with migrations to apply, each applied when `confirm` says so (the CLI asks on its terminal,
/// the window's Start applies), its output passed to `on_line(unit, line)` as it comes. Stops at
/// the first failure. Returns the units migrated.
pub fn migrate_units(
    ws: &Workspace,
    members: &[String],
    mut confirm: impl FnMut(&UnitMigrations) -> bool,
    mut on_line: impl FnMut(&UnitMigrations, &str),
) -> Result<Vec<UnitMigrations>, MigrationError> {
    let mut migrated = Vec::new();
    for unit in pending_by_unit(ws, members)? {
        if unit.status.unapplied.is_empty() || !confirm(&unit) {
            continue;
        }
        let through = ws
            .instance(&unit.through)
            .expect("pending_by_unit names instances of the workspace");
        migrate_unit(ws, through, |line| on_line(&unit, line))?;
        migrated.push(unit);
    }
    Ok(migrated)
}
