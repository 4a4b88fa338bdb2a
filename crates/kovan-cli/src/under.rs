//! `kovan manage`, `kovan exec`, `kovan env`: the project's own commands under an instance's
//! environment, composed by core exactly as for the instance Kovan runs.

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use kovan_core::django::environment::{self, Launch};
use kovan_core::workspace::Instance;
use kovan_core::Workspace;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvFormat {
    /// `export KEY='value'` lines, for `eval "$(kovan env NAME)"`.
    Shell,
    /// `KEY='value'` lines, as in an env file.
    Dotenv,
    /// One JSON object.
    Json,
}

/// The instance, or a usage error naming the ones there are.
pub fn instance<'a>(ws: &'a Workspace, name: &str) -> Result<&'a Instance, ExitCode> {
    ws.instance(name).ok_or_else(|| {
        let names: Vec<&str> = ws.instances.iter().map(|i| i.name.as_str()).collect();
        errln!(
            "error: `{name}` is not an instance of this workspace ({}).",
            names.join(", ")
        );
        ExitCode::from(2)
    })
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    errln!("error: {e}");
    ExitCode::from(1)
}

/// Replace this process with the command: its exit status, signals and terminal are the user's.
fn run(mut command: std::process::Command, shown: &str) -> ExitCode {
    let error = command.exec();
    errln!("error: {shown} could not be started: {error}");
    ExitCode::from(127)
}

pub fn manage(ws: Workspace, name: &str, args: &[String]) -> ExitCode {
    let i = match instance(&ws, name) {
        Ok(i) => i,
        Err(code) => return code,
    };
    match environment::manage(&ws, i, args) {
        Ok(command) => run(command, &format!("{} manage.py", ws.python())),
        Err(e) => fail(e),
    }
}

pub fn exec(ws: Workspace, name: &str, argv: &[String]) -> ExitCode {
    let i = match instance(&ws, name) {
        Ok(i) => i,
        Err(code) => return code,
    };
    match environment::exec(&ws, i, argv) {
        Ok(command) => run(command, &argv[0]),
        Err(e) => fail(e),
    }
}

pub fn env(ws: Workspace, name: &str, format: EnvFormat) -> ExitCode {
    let i = match instance(&ws, name) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let vars = match environment::compose(&ws, i, i.port, Launch::Interactive) {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    match format {
        EnvFormat::Json => {
            let object: serde_json::Map<String, serde_json::Value> = vars
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect();
            outln!(
                "{}",
                serde_json::to_string_pretty(&object).expect("strings serialize")
            );
        }
        EnvFormat::Shell | EnvFormat::Dotenv => {
            let export = if format == EnvFormat::Shell {
                "export "
            } else {
                ""
            };
            for (k, v) in vars {
                // Always quoted, so `$`, spaces and `#` stay literal for every reader; raw, since
                // this is data for `eval` or a file and each value must stay what it is.
                out_raw!("{export}{k}='{}'\n", v.replace('\'', "'\\''"));
            }
        }
    }
    ExitCode::SUCCESS
}
