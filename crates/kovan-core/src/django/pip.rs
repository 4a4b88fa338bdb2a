//! Installing what the preflight found missing, when the user asks: exactly the command it names
//! (`<interpreter> -m pip install <requirement>…`), run without a shell, each output line passed on
//! as it comes. Only into a virtualenv: pip would change the system's Python otherwise.

use std::process::{Command, Stdio};

use serde::Serialize;
use ts_rs::TS;

use super::{packages, python};
use crate::error::{Classified, ErrorDetail, ErrorKind};
use crate::workspace::Workspace;

/// How many of pip's last lines a failure keeps.
const LAST_LINES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    #[error("{name} is not an instance of this workspace.")]
    UnknownInstance { name: String },
    #[error("{instance}: nothing to install: no requirement given.")]
    NoRequirements { instance: String },
    #[error("{instance}: `{requirement}` is not a requirement Kovan installs (a package name with optional extras and version, such as redis>=5).")]
    BadRequirement {
        instance: String,
        requirement: String,
    },
    #[error("{instance}: {python} is not a virtualenv's interpreter; pip would change that Python for everything using it. Make a virtualenv (python3 -m venv .venv), point [project] python at it, and install there.")]
    NotAVirtualenv { instance: String, python: String },
    #[error("{instance}: {python} could not be run: {why}")]
    NotStarted {
        instance: String,
        python: String,
        why: String,
    },
    #[error(
        "{instance}: `{command}` failed (exit status {status}){}",
        python::last_said(output.iter().map(String::as_str))
    )]
    Failed {
        instance: String,
        command: String,
        status: i32,
        /// pip's last lines, stdout and stderr in the order read.
        output: Vec<String>,
    },
}

impl Classified for InstallError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::UnknownInstance { .. } => ErrorKind::UnknownInstance,
            Self::NoRequirements { .. } | Self::BadRequirement { .. } => ErrorKind::BadRequirement,
            Self::NotAVirtualenv { .. } => ErrorKind::NotAVirtualenv,
            Self::NotStarted { .. } => ErrorKind::SpawnFailed,
            Self::Failed { .. } => ErrorKind::InstallFailed,
        }
    }

    fn detail(&self) -> Option<ErrorDetail> {
        let instance = match self {
            Self::UnknownInstance { name } => name,
            Self::NoRequirements { instance }
            | Self::BadRequirement { instance, .. }
            | Self::NotAVirtualenv { instance, .. }
            | Self::NotStarted { instance, .. }
            | Self::Failed { instance, .. } => instance,
        };
        Some(ErrorDetail::Instance {
            instance: instance.clone(),
        })
    }
}

/// What the install did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstallOutcome {
    pub instance: String,
    /// The command as the preflight named it: `.venv/bin/python -m pip install 'redis>=5'`.
    pub command: String,
    /// pip's last lines, stdout and stderr in the order read.
    pub output: Vec<String>,
}

/// A requirement as the preflight names them: a distribution name, optional `[extras]`, and
/// optional version specifiers (`redis>=5`, `psycopg[binary]>=3.1`, `six`). Nothing pip would read
/// as an option, a path, a URL or a file of requirements.
pub fn valid_requirement(requirement: &str) -> bool {
    let name_char = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    let name_end = requirement
        .find(|c: char| !name_char(c))
        .unwrap_or(requirement.len());
    let (name, mut rest) = requirement.split_at(name_end);
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return false;
    }
    if let Some(extras) = rest.strip_prefix('[') {
        let Some((inside, after)) = extras.split_once(']') else {
            return false;
        };
        if inside.is_empty()
            || !inside
                .split(',')
                .all(|e| !e.is_empty() && e.chars().all(name_char))
        {
            return false;
        }
        rest = after;
    }
    if rest.is_empty() {
        return true;
    }
    rest.split(',').all(|spec| {
        let version = ["===", "==", "!=", "<=", ">=", "~=", "<", ">"]
            .iter()
            .find_map(|op| spec.strip_prefix(op));
        version.is_some_and(|v| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".*+!_-".contains(c))
        })
    })
}

/// Whether `python` runs inside a virtualenv (`sys.prefix != sys.base_prefix`).
fn in_virtualenv(python: &std::path::Path, cwd: &std::path::Path) -> Result<bool, String> {
    let out = Command::new(python)
        .args(["-c", "import sys; print(sys.prefix != sys.base_prefix)"])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "it exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "True")
}

/// Install `requirements` into the interpreter `instance` runs, as
/// `<interpreter> -m pip install <requirement>…` from the Django root, each output line passed to
/// `on_line` as it comes. Refused for an interpreter that is not a virtualenv's.
pub fn install(
    ws: &Workspace,
    instance: &str,
    requirements: &[String],
    mut on_line: impl FnMut(&str),
) -> Result<InstallOutcome, InstallError> {
    if ws.instance(instance).is_none() {
        return Err(InstallError::UnknownInstance {
            name: instance.into(),
        });
    }
    if requirements.is_empty() {
        return Err(InstallError::NoRequirements {
            instance: instance.into(),
        });
    }
    if let Some(bad) = requirements.iter().find(|r| !valid_requirement(r)) {
        return Err(InstallError::BadRequirement {
            instance: instance.into(),
            requirement: bad.clone(),
        });
    }
    let interpreter = python::interpreter(ws);
    let shown = python::shown(ws);
    let root = &ws.project.django_root;
    let not_started = |why: String| InstallError::NotStarted {
        instance: instance.into(),
        python: shown.clone(),
        why,
    };
    if !in_virtualenv(&interpreter, root).map_err(not_started)? {
        return Err(InstallError::NotAVirtualenv {
            instance: instance.into(),
            python: shown.clone(),
        });
    }
    let command_text = packages::pip_install(&shown, requirements);
    let mut child = Command::new(&interpreter)
        .args(["-m", "pip", "install"])
        .args(requirements)
        .current_dir(root)
        .env("PYTHONUNBUFFERED", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| not_started(e.to_string()))?;
    let mut output: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    python::each_output_line(&mut child, |_, line| {
        on_line(&line);
        if output.len() == LAST_LINES {
            output.pop_front();
        }
        output.push_back(line);
    });
    let status = child.wait().map_err(|e| not_started(e.to_string()))?;
    let output: Vec<String> = output.into();
    if !status.success() {
        return Err(InstallError::Failed {
            instance: instance.into(),
            command: command_text,
            status: status.code().unwrap_or(-1),
            output,
        });
    }
    Ok(InstallOutcome {
        instance: instance.into(),
        command: command_text,
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_requirements_are_installed() {
        for good in [
            "six",
            "redis>=5",
            "psycopg[binary]>=3.1",
            "channels-redis>=4",
            "Django>=4.2,<6",
            "uvicorn>=0.20",
            "pkg==1.0.post1",
        ] {
            assert!(valid_requirement(good), "{good}");
        }
        for bad in [
            "",
            "-r requirements.txt",
            "--index-url=http://x",
            "-e.",
            "./local",
            "/tmp/x.whl",
            "git+https://x/y",
            "six; python_version<'3'",
            "six @ https://x",
            "six>=",
            "six[]",
            "six[a",
            "six >=1",
            "$(rm -rf ~)",
        ] {
            assert!(!valid_requirement(bad), "{bad}");
        }
    }
}
