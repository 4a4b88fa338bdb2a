//! Where a kovan.toml is: named by `--workspace` or `KOVAN_WORKSPACE`, a folder's, or the nearest
//! one above the current folder.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

pub const FILE_NAME: &str = "kovan.toml";
/// The environment variable that names the workspace when no `--workspace` is given.
pub const ENV_VAR: &str = "KOVAN_WORKSPACE";

/// The kovan.toml a path names: the path itself, or `kovan.toml` inside it when it is a folder.
pub fn file_in(path: &Path) -> PathBuf {
    let path = normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    if path.is_dir() {
        path.join(FILE_NAME)
    } else {
        path
    }
}

/// The workspace named explicitly (`--workspace`), else by `KOVAN_WORKSPACE`; `None` when neither is.
pub fn named(explicit: Option<&Path>, env: Option<OsString>) -> Option<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| env.filter(|v| !v.is_empty()).map(PathBuf::from))
        .map(|p| file_in(&p))
}

/// The nearest kovan.toml in `start` or a folder above it.
pub fn find_upwards(start: &Path) -> Option<PathBuf> {
    let start = std::path::absolute(start).ok()?;
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|f| f.is_file())
}

/// `p` with `.` and `..` resolved by text, without touching the file system.
pub(super) fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
