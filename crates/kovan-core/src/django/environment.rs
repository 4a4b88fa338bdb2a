//! An instance's environment, composed in one place: what the supervisor starts it with, what
//! `kovan env` prints, and what `kovan manage` and `kovan exec` run under.

use std::path::PathBuf;
use std::process::Command;

use super::python;
use crate::generate::{env_file, settings_module};
use crate::workspace::{Instance, Workspace};

/// Who the environment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// A server Kovan starts and supervises: its output goes to Kovan, which writes the log file,
    /// and it carries the marks that let Kovan find it again from /proc.
    Supervised,
    /// A command run by hand under the instance's environment (`kovan manage`, `kovan exec`,
    /// `kovan env`): exactly what a shell that loaded the env file would have.
    Interactive,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    #[error("{instance}: its env file {} does not exist. Generate the config first: kovan gen --write (or the Config generator in the window).", path.display())]
    NoEnvFile { instance: String, path: PathBuf },
    #[error("{instance}: its env file {} cannot be read: {why}", path.display())]
    Unreadable {
        instance: String,
        path: PathBuf,
        why: String,
    },
}

/// The instance's variables, in the env file's order, then Kovan's own (which win): the instance
/// name, its port (`port`, when it runs on another than kovan.toml's), the settings module.
pub fn compose(
    ws: &Workspace,
    instance: &Instance,
    port: u16,
    launch: Launch,
) -> Result<Vec<(String, String)>, EnvironmentError> {
    let path = ws.project.django_root.join(&instance.names.env_file);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            EnvironmentError::NoEnvFile {
                instance: instance.name.clone(),
                path: path.clone(),
            }
        } else {
            EnvironmentError::Unreadable {
                instance: instance.name.clone(),
                path: path.clone(),
                why: e.to_string(),
            }
        }
    })?;
    let mut env = env_file::parse_pairs(&text);
    let mut set = |key: &str, value: String| match env.iter_mut().find(|(k, _)| k == key) {
        Some(pair) => pair.1 = value,
        None => env.push((key.to_string(), value)),
    };
    set("DJANGO_SERVER_INSTANCE", instance.name.clone());
    set("DJANGO_SERVER_PORT", port.to_string());
    set("DJANGO_SETTINGS_MODULE", settings_module(ws));
    if launch == Launch::Supervised {
        // How Kovan finds its processes again from /proc when its store is gone.
        set(crate::workspace::ENV_VAR, ws.file.display().to_string());
        set("KOVAN_INSTANCE", instance.name.clone());
        // Kovan writes logs/{name}.log itself; the generated settings then skip their file handler.
        set("KOVAN_SUPERVISED", "1".into());
        // Lines arrive as printed, not in 8 kB blocks.
        set("PYTHONUNBUFFERED", "1".into());
    }
    Ok(env)
}

/// The virtualenv the interpreter belongs to (`.venv` for `.venv/bin/python`), when it is one.
pub fn virtualenv(ws: &Workspace) -> Option<PathBuf> {
    let python = python::interpreter(ws);
    let bin = python.parent()?;
    let venv = bin.parent()?;
    venv.join("pyvenv.cfg")
        .is_file()
        .then(|| venv.to_path_buf())
}

/// `manage.py ARGS` for an instance: its interpreter, from the Django root, under its environment.
pub fn manage(
    ws: &Workspace,
    instance: &Instance,
    args: &[String],
) -> Result<Command, EnvironmentError> {
    let mut command = Command::new(python::interpreter(ws));
    command
        .arg("manage.py")
        .args(args)
        .current_dir(&ws.project.django_root)
        .envs(compose(ws, instance, instance.port, Launch::Interactive)?);
    Ok(command)
}

/// Any program for an instance, from the Django root, under its environment, with the project's
/// virtualenv first in PATH (as `source .venv/bin/activate` would): `celery`, `pytest` are its own.
pub fn exec(
    ws: &Workspace,
    instance: &Instance,
    argv: &[String],
) -> Result<Command, EnvironmentError> {
    let env = compose(ws, instance, instance.port, Launch::Interactive)?;
    let (program, args) = argv.split_first().expect("the caller gives a program");
    let venv = virtualenv(ws);
    // Command looks a bare name up in Kovan's own PATH, not the child's: find it in the venv first.
    let program_path = match &venv {
        Some(v) if !program.contains('/') && v.join("bin").join(program).is_file() => {
            v.join("bin").join(program)
        }
        _ => PathBuf::from(program),
    };
    let mut command = Command::new(program_path);
    command
        .args(args)
        .current_dir(&ws.project.django_root)
        .envs(env);
    if let Some(venv) = venv {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![venv.join("bin")];
        dirs.extend(std::env::split_paths(&path));
        if let Ok(joined) = std::env::join_paths(dirs) {
            command.env("PATH", joined);
        }
        command.env("VIRTUAL_ENV", &venv);
    }
    Ok(command)
}
