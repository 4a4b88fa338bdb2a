//! Kovan's own log: `cli.<date>.log` in the data dir's logs/, at the level KOVAN_LOG or -v names.

use std::path::Path;
use std::process::{Command, Output};

fn kovan(data: &Path, args: &[&str], level: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kovan"));
    cmd.args(args)
        .current_dir(data)
        .env("KOVAN_DATA_DIR", data)
        .env_remove("KOVAN_WORKSPACE")
        .env_remove("KOVAN_LOG");
    if let Some(level) = level {
        cmd.env("KOVAN_LOG", level);
    }
    cmd.output().unwrap()
}

/// The one log file the run left in `data`/logs.
fn the_log(data: &Path) -> String {
    let files: Vec<_> = std::fs::read_dir(data.join("logs"))
        .expect("a logs folder in the data dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("cli.") && name.ends_with(".log"), "{name}");
    std::fs::read_to_string(&files[0]).unwrap()
}

#[test]
fn kovan_log_debug_writes_the_start_and_the_error_said_into_the_data_dir() {
    let data = tempfile::tempdir().unwrap();
    let missing = data.path().join("nowhere");
    let out = kovan(
        data.path(),
        &["check", "--workspace", missing.to_str().unwrap()],
        Some("debug"),
    );
    assert_eq!(out.status.code(), Some(1));
    let log = the_log(data.path());
    assert!(
        log.lines()
            .any(|l| l.contains("DEBUG kovan: kovan ") && l.contains("started: check --workspace")),
        "{log}"
    );
    let error = log
        .lines()
        .find(|l| l.contains("ERROR kovan:"))
        .unwrap_or_else(|| panic!("no error line in:\n{log}"));
    assert!(error.contains("nowhere"), "{error}");
    // The same words the user read on stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said = stderr
        .lines()
        .next()
        .unwrap()
        .strip_prefix("error: ")
        .unwrap();
    assert!(error.ends_with(said), "{error}\n{said}");
}

#[test]
fn info_is_the_default_and_dash_v_raises_it_to_debug() {
    let data = tempfile::tempdir().unwrap();
    let missing = data.path().join("nowhere");
    let args = ["check", "--workspace", missing.to_str().unwrap()];
    kovan(data.path(), &args, None);
    let log = the_log(data.path());
    assert!(log.contains("ERROR kovan:"), "{log}");
    assert!(!log.contains("DEBUG"), "{log}");

    let data = tempfile::tempdir().unwrap();
    let mut verbose = vec!["-v"];
    verbose.extend_from_slice(&args);
    kovan(data.path(), &verbose, None);
    assert!(the_log(data.path()).contains("DEBUG kovan: kovan "));

    // KOVAN_LOG=error keeps the error and nothing below it.
    let data = tempfile::tempdir().unwrap();
    kovan(data.path(), &args, Some("error"));
    let log = the_log(data.path());
    assert!(
        log.contains("ERROR kovan:") && !log.contains("INFO") && !log.contains("DEBUG"),
        "{log}"
    );
}
