//! One supervisor per workspace: the supervising program (`kovan up`, the window) holds an
//! exclusive flock(2) on a file of the workspace's own in Kovan's data dir, and writes in it who it
//! is. Another program that would supervise the same workspace is told who does ("kovan up, PID
//! 4242") instead of fighting over its processes; observers ask without taking anything.
//!
//! The lock goes with the holder's process: a holder killed with SIGKILL leaves the file, never
//! the lock. The descriptor is close-on-exec, so the servers it starts do not inherit it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Held for as long as it lives.
#[derive(Debug)]
pub struct SupervisorLock {
    _file: File,
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    #[error("this workspace is already supervised by {by}")]
    Held { by: String },
    #[error("the supervisor lock {path} cannot be used: {why}")]
    Io { path: String, why: String },
}

/// The lock file, under `data_dir`, of the workspace whose kovan.toml is `workspace_file`.
pub fn lock_path(data_dir: &Path, workspace_file: &Path) -> PathBuf {
    let hash = xxhash_rust::xxh3::xxh3_64(workspace_file.as_os_str().as_encoded_bytes());
    data_dir
        .join("supervisors")
        .join(format!("{hash:016x}.lock"))
}

fn flock(file: &File, how: i32) -> std::io::Result<()> {
    // SAFETY: flock(2) on a descriptor the File owns; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), how | libc::LOCK_NB) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn read_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    let text = text.trim();
    if text.is_empty() {
        "another Kovan".into()
    } else {
        text.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    }
}

impl SupervisorLock {
    /// Take the workspace's lock as `who` ("kovan up, PID 4242"), or say who holds it.
    pub fn acquire(workspace_file: &Path, who: &str) -> Result<Self, LockError> {
        Self::acquire_in(&crate::store::data_dir(), workspace_file, who)
    }

    /// The same, with the lock files under `data_dir`.
    pub fn acquire_in(
        data_dir: &Path,
        workspace_file: &Path,
        who: &str,
    ) -> Result<Self, LockError> {
        let path = lock_path(data_dir, workspace_file);
        let io = |e: std::io::Error| LockError::Io {
            path: path.display().to_string(),
            why: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match flock(&file, libc::LOCK_EX) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => {
                return Err(LockError::Held {
                    by: read_holder(&mut file),
                })
            }
            Err(e) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(format!("{who}\n").as_bytes()).map_err(io)?;
        Ok(Self { _file: file, path })
    }
}

/// Who supervises the workspace now, without taking or writing anything; None when nobody does.
pub fn holder(workspace_file: &Path) -> Option<String> {
    holder_in(&crate::store::data_dir(), workspace_file)
}

/// The same, with the lock files under `data_dir`.
pub fn holder_in(data_dir: &Path, workspace_file: &Path) -> Option<String> {
    let mut file = File::open(lock_path(data_dir, workspace_file)).ok()?;
    match flock(&file, libc::LOCK_SH) {
        Ok(()) => None, // released when `file` closes
        Err(_) => Some(read_holder(&mut file)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_supervisor_is_told_who_supervises_and_observers_see_it() {
        let data = tempfile::tempdir().unwrap();
        let d = data.path();
        let ws = Path::new("/projects/a/kovan.toml");
        assert_eq!(holder_in(d, ws), None);
        let lock = SupervisorLock::acquire_in(d, ws, "kovan up, PID 4242").unwrap();
        assert!(lock.path.starts_with(d));
        assert_eq!(holder_in(d, ws).as_deref(), Some("kovan up, PID 4242"));
        assert_eq!(
            SupervisorLock::acquire_in(d, ws, "the Kovan window, PID 7").unwrap_err(),
            LockError::Held {
                by: "kovan up, PID 4242".into()
            }
        );
        assert_eq!(holder_in(d, Path::new("/projects/b/kovan.toml")), None);
        drop(lock);
        assert_eq!(holder_in(d, ws), None);
        let again = SupervisorLock::acquire_in(d, ws, "the Kovan window, PID 7").unwrap();
        assert_eq!(holder_in(d, ws).as_deref(), Some("the Kovan window, PID 7"));
        drop(again);
    }
}
