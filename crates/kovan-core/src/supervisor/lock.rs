//! One supervisor per workspace: the supervising program (`kovan up`, the window) holds an
//! exclusive flock(2) on a file of the workspace's own in Kovan's data dir, and writes in it who it
//! is. Another program that would supervise the same workspace is told who does ("kovan up, PID
//! 4242") instead of fighting over its processes; observers ask without taking anything.
//!
//! The lock goes with the holder's process: a holder killed with SIGKILL leaves the file, never
//! the lock. The descriptor is close-on-exec, so the servers it starts do not inherit it.
//!
//! Taking over is asked, never forced: the one that would supervise writes a request file beside
//! the lock; the holder looks for it, lets go without stopping anything, and the asker takes the
//! lock and adopts the running groups. No signal goes to the holder.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

use crate::error::{Classified, ErrorDetail, ErrorKind};

/// Whether this program supervises the workspace it shows, as the window says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Supervision {
    /// It holds the lock: it starts, stops and watches the instances.
    Supervising,
    /// Another program holds it (`by`, e.g. "kovan up, PID 4242"): this one only looks, until it
    /// takes over or the other lets go.
    Observing { by: String },
}

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
    #[error("{by} did not hand this workspace over within {waited_s} s (it may be busy starting or stopping). Try again, or stop it there (Ctrl-C).")]
    NotHandedOver { by: String, waited_s: u64 },
}

impl Classified for LockError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Held { .. } => ErrorKind::SupervisedElsewhere,
            Self::NotHandedOver { .. } => ErrorKind::NotHandedOver,
            Self::Io { .. } => ErrorKind::SupervisorLock,
        }
    }

    fn detail(&self) -> Option<ErrorDetail> {
        match self {
            Self::Held { by } | Self::NotHandedOver { by, .. } => {
                Some(ErrorDetail::Supervisor { by: by.clone() })
            }
            Self::Io { path, .. } => Some(ErrorDetail::Path { path: path.clone() }),
        }
    }
}

/// The lock file, under `data_dir`, of the workspace whose kovan.toml is `workspace_file`.
pub fn lock_path(data_dir: &Path, workspace_file: &Path) -> PathBuf {
    let hash = xxhash_rust::xxh3::xxh3_64(workspace_file.as_os_str().as_encoded_bytes());
    data_dir
        .join("supervisors")
        .join(format!("{hash:016x}.lock"))
}

/// The request file beside the lock: who asks to take over.
fn request_path(lock: &Path) -> PathBuf {
    lock.with_extension("handover")
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
        // A request left for an earlier holder is not one for this one.
        let _ = std::fs::remove_file(request_path(&path));
        Ok(Self { _file: file, path })
    }

    /// Take the lock as `who`; when another holds it, ask it to hand over and wait up to `wait`
    /// for it to let go. The groups it ran keep running: the caller adopts them.
    pub fn take_over(
        workspace_file: &Path,
        who: &str,
        wait: std::time::Duration,
    ) -> Result<Self, LockError> {
        Self::take_over_in(&crate::store::data_dir(), workspace_file, who, wait)
    }

    /// The same, with the lock files under `data_dir`.
    pub fn take_over_in(
        data_dir: &Path,
        workspace_file: &Path,
        who: &str,
        wait: std::time::Duration,
    ) -> Result<Self, LockError> {
        let by = match Self::acquire_in(data_dir, workspace_file, who) {
            Err(LockError::Held { by }) => by,
            other => return other,
        };
        let path = lock_path(data_dir, workspace_file);
        let request = request_path(&path);
        std::fs::write(&request, format!("{who}\n")).map_err(|e| LockError::Io {
            path: request.display().to_string(),
            why: e.to_string(),
        })?;
        let until = std::time::Instant::now() + wait;
        loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            match Self::acquire_in(data_dir, workspace_file, who) {
                Err(LockError::Held { .. }) if std::time::Instant::now() < until => {}
                Err(LockError::Held { by: now }) => {
                    // Not left behind for the holder to act on later, when nobody waits any more.
                    let _ = std::fs::remove_file(&request);
                    return Err(LockError::NotHandedOver {
                        by: if now == by { by } else { now },
                        waited_s: wait.as_secs(),
                    });
                }
                other => return other,
            }
        }
    }

    /// Who asks this holder to hand the workspace over, if anyone does now.
    pub fn hand_over_asked(&self) -> Option<String> {
        let mut file = File::open(request_path(&self.path)).ok()?;
        Some(read_holder(&mut file))
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

    #[test]
    fn a_holder_asked_to_hand_over_lets_go_and_the_asker_takes_the_lock() {
        use std::time::Duration;
        let data = tempfile::tempdir().unwrap();
        let d = data.path().to_path_buf();
        let ws = Path::new("/projects/a/kovan.toml");
        let held = SupervisorLock::acquire_in(&d, ws, "kovan up, PID 4242").unwrap();
        assert_eq!(held.hand_over_asked(), None);
        // Nobody lets go: the asker gives up, says who kept it, and leaves no request behind.
        let refused = SupervisorLock::take_over_in(
            &d,
            ws,
            "the Kovan window, PID 7",
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert_eq!(
            refused,
            LockError::NotHandedOver {
                by: "kovan up, PID 4242".into(),
                waited_s: 0
            }
        );
        assert_eq!(held.hand_over_asked(), None);
        // The holder sees the request and lets go.
        let asker = {
            let d = d.clone();
            std::thread::spawn(move || {
                SupervisorLock::take_over_in(
                    &d,
                    ws,
                    "the Kovan window, PID 7",
                    Duration::from_secs(10),
                )
            })
        };
        let mut asked = None;
        for _ in 0..100 {
            asked = held.hand_over_asked();
            if asked.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(asked.as_deref(), Some("the Kovan window, PID 7"));
        drop(held);
        let taken = asker.join().unwrap().unwrap();
        assert_eq!(
            holder_in(&d, ws).as_deref(),
            Some("the Kovan window, PID 7")
        );
        // The request was for the holder that let go, not for the new one.
        assert_eq!(taken.hand_over_asked(), None);
    }
}
