//! An instance's database and its migrations: which are not applied yet (found as `manage.py
//! migrate` finds them, applying none), and applying them under the instance's environment.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
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
    #[error("{instance}: `manage.py migrate` failed (exit status {status}){}", last(.output))]
    Failed {
        instance: String,
        status: i32,
        output: Vec<String>,
    },
}

fn last(output: &[String]) -> String {
    output
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default()
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
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|pipe| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        })
    })
    .collect();
    drop(tx);
    let mut output = Vec::new();
    for line in rx {
        on_line(&line);
        output.push(line);
    }
    for r in readers {
        let _ = r.join();
    }
    let status = child.wait().map_err(|e| not_started(e.to_string()))?;
    if !status.success() {
        return Err(MigrationError::Failed {
            instance: through.name.clone(),
            status: status.code().unwrap_or(-1),
            output,
        });
    }
    Ok(MigrateOutcome {
        instance: through.name.clone(),
        output,
    })
}
