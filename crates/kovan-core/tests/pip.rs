//! Installing what the preflight names, for real: a fresh virtualenv, a package from PyPI, pip's
//! lines as they come; and a system interpreter refused. Needs python3 with venv and the network.

use std::path::Path;
use std::process::Command;

use kovan_core::django::pip::{install, InstallError};
use kovan_core::error::{Classified, ErrorKind};
use kovan_core::Workspace;

fn workspace(dir: &Path, python: &str) -> Workspace {
    std::fs::write(dir.join("manage.py"), "").unwrap();
    let file = dir.join("kovan.toml");
    let text = format!(
        "[project]\nname = \"p\"\nsettings = \"conf.settings\"\npython = \"{python}\"\n[[instance]]\nname = \"web\"\nport = 8000\ncache = \"locmem\"\n"
    );
    kovan_core::workspace::parse(&file, &text).unwrap()
}

fn imports(python: &Path, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn a_requirement_is_installed_into_a_fresh_virtualenv_with_its_lines_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("python3")
        .args(["-m", "venv", ".venv"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(made.success(), "python3 -m venv failed");
    let python = dir.path().join(".venv/bin/python");
    assert!(!imports(&python, "six"), "a fresh venv already has six");
    let ws = workspace(dir.path(), ".venv/bin/python");

    let mut lines = Vec::new();
    let outcome = install(&ws, "web", &["six".into()], |l| lines.push(l.to_string()))
        .unwrap_or_else(|e| panic!("install failed: {e}"));
    assert_eq!(outcome.command, ".venv/bin/python -m pip install 'six'");
    assert_eq!(outcome.instance, "web");
    assert!(
        imports(&python, "six"),
        "six is not importable after install"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Successfully installed six")),
        "pip's lines were not streamed: {lines:?}"
    );
    assert_eq!(outcome.output.last(), lines.last());

    // A requirement pip cannot satisfy: its failure, with pip's last lines.
    let err = install(&ws, "web", &["six==0.0.0.0.1".into()], |_| {}).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InstallFailed, "{err}");
    match &err {
        InstallError::Failed { status, output, .. } => {
            assert_ne!(*status, 0);
            assert!(
                output.iter().any(|l| l.contains("six==0.0.0.0.1")),
                "{output:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    // Anything that is not a plain requirement is never handed to pip.
    let mut ran = false;
    let err = install(&ws, "web", &["-r/etc/passwd".into()], |_| ran = true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequirement);
    assert!(!ran);
    let err = install(&ws, "nope", &["six".into()], |_| {}).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownInstance);
}

#[test]
fn a_system_interpreter_is_refused() {
    let system = "/usr/bin/python3";
    let base = Command::new(system)
        .args(["-c", "import sys; print(sys.prefix == sys.base_prefix)"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&base.stdout).trim(),
        "True",
        "{system} is expected to be outside any virtualenv"
    );
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(dir.path(), system);
    let mut lines = 0;
    let err = install(&ws, "web", &["six".into()], |_| lines += 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotAVirtualenv, "{err}");
    assert!(err.to_string().contains("python3 -m venv"), "{err}");
    assert_eq!(lines, 0, "pip was run");
}
