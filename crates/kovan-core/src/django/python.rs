//! Running the project's interpreter: the path Kovan runs, and one script with a deadline whose
//! answer is a marked JSON line on stdout.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::workspace::Workspace;

/// The interpreter as Kovan runs it: a relative path is the Django root's virtualenv (or a path
/// from kovan.toml, relative to the Django root); a bare name (`python3`) is looked up in PATH.
pub fn interpreter(ws: &Workspace) -> PathBuf {
    let python = PathBuf::from(ws.python());
    if python.components().count() > 1 && python.is_relative() {
        ws.project.django_root.join(python)
    } else {
        python
    }
}

/// The command a user types from the Django root for this interpreter: `.venv/bin/python`.
pub fn shown(ws: &Workspace) -> String {
    ws.python()
}

/// Why a script gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("{python} could not be started: {why}")]
    NotStarted { python: String, why: String },
    #[error("{python} did not answer within {} s", timeout.as_secs())]
    TimedOut { python: String, timeout: Duration },
    #[error("{python} printed no answer{}", last_said(stderr.lines()))]
    NoAnswer { python: String, stderr: String },
}

/// ": " and the last line that says something, or nothing: the tail of a failure's message.
pub(crate) fn last_said<'a>(lines: impl DoubleEndedIterator<Item = &'a str>) -> String {
    lines
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default()
}

/// Each line of a child's stdout and stderr as it comes, to `on_line(from_stderr, line)`, until
/// both pipes close: a reader thread per pipe, so neither can fill up and stall the child.
pub(crate) fn each_output_line(
    child: &mut std::process::Child,
    mut on_line: impl FnMut(bool, String),
) {
    use std::io::{BufRead, BufReader};
    let pipes: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ];
    let (tx, rx) = std::sync::mpsc::channel::<(bool, String)>();
    let readers: Vec<_> = pipes
        .into_iter()
        .enumerate()
        .filter_map(|(n, pipe)| pipe.map(|p| (n == 1, p)))
        .map(|(stderr, pipe)| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send((stderr, line));
                }
            })
        })
        .collect();
    drop(tx);
    for (stderr, line) in rx {
        on_line(stderr, line);
    }
    for r in readers {
        let _ = r.join();
    }
}

/// Run `python -c script args…` from `cwd` with `env` added, and return the JSON after `mark` on
/// the last line of stdout that carries it.
pub fn run_script(
    python: &Path,
    cwd: &Path,
    script: &str,
    args: &[String],
    env: &[(String, String)],
    mark: &str,
    timeout: Duration,
) -> Result<serde_json::Value, ScriptError> {
    let shown = python.display().to_string();
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ScriptError::NotStarted {
            python: shown.clone(),
            why: e.to_string(),
        })?;
    // Drained on their own threads, so a chatty settings module cannot fill a pipe and stall.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let finished = loop {
        match child.try_wait() {
            Ok(Some(_)) => break true,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !finished {
        return Err(ScriptError::TimedOut {
            python: shown,
            timeout,
        });
    }
    stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(mark))
        .and_then(|json| serde_json::from_str(json).ok())
        .ok_or(ScriptError::NoAnswer {
            python: shown,
            stderr,
        })
}
