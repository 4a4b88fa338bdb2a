//! A virtualenv that lacks some packages of another: made without pip in a few tens of
//! milliseconds, it sees the other's site-packages through a `.pth` onto a folder of links to
//! everything there but the packages left out (pip included, so `python -m pip install` works and
//! installs into the new virtualenv's own site-packages, which come first on sys.path).

use std::path::{Path, PathBuf};
use std::process::Command;

fn purelib(python: &Path) -> PathBuf {
    let out = Command::new(python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{} could not be run: {e}", python.display()));
    assert!(out.status.success(), "{} failed", python.display());
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Whether a site-packages entry belongs to one of `left_out` (import names or distribution
/// names): `redis`, `redis-5.3.1.dist-info`, `redis.py`.
fn belongs(entry: &str, left_out: &[&str]) -> bool {
    let entry = entry.to_ascii_lowercase().replace('-', "_");
    left_out.iter().any(|name| {
        let name = name.to_ascii_lowercase().replace('-', "_");
        entry == name
            || entry.strip_prefix(&name).is_some_and(|rest| {
                (rest.starts_with('_') && rest[1..].starts_with(|c: char| c.is_ascii_digit()))
                    || rest.starts_with('.')
            })
    })
}

/// Make a virtualenv at `dir/.venv` from `python` (itself a virtualenv's interpreter is fine)
/// that has all of `python`'s packages but `left_out`; returns its interpreter.
pub fn venv_without(python: &Path, dir: &Path, left_out: &[&str]) -> PathBuf {
    let venv = dir.join(".venv");
    let made = Command::new(python)
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(made.success(), "python -m venv --without-pip failed");
    let new_python = venv.join("bin/python");
    let shared = dir.join(".venv-shared");
    std::fs::create_dir_all(&shared).unwrap();
    let from = purelib(python);
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        // .pth files are read only in site folders, not in a folder a .pth adds.
        if name == "__pycache__" || name.ends_with(".pth") || belongs(&name, left_out) {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), shared.join(&name)).unwrap();
    }
    std::fs::write(
        purelib(&new_python).join("kovan-test-shared.pth"),
        format!("{}\n", shared.display()),
    )
    .unwrap();
    new_python
}

#[cfg(test)]
mod tests {
    use super::belongs;

    #[test]
    fn a_package_is_left_out_with_its_metadata_and_nothing_else() {
        for yes in ["redis", "redis-5.3.1.dist-info", "redis.py", "Redis"] {
            assert!(belongs(yes, &["redis"]), "{yes}");
        }
        for no in [
            "redis_cache",
            "channels_redis",
            "channels_redis-4.3.0.dist-info",
            "redisx",
        ] {
            assert!(!belongs(no, &["redis"]), "{no}");
        }
        assert!(belongs(
            "django_environ-0.14.0.dist-info",
            &["django-environ"]
        ));
    }
}
