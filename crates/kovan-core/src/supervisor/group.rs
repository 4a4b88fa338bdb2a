//! The process groups Kovan started, named beyond PID reuse, and the only way the supervisor
//! signals one: a process receives a signal only when it is verifiably Kovan's.
//!
//! A group number is free for reuse once its leader and every member are gone; whatever gets it
//! next is not ours. So before any signal each process of the group is checked: the leader by its
//! PID, its start time (/proc/PID/stat field 22) and that it still leads the group; any other
//! member by the leader being that one (a live leader keeps the number from being reused) or, once
//! the leader is gone, by the markers in its environment (`KOVAN_WORKSPACE`, `KOVAN_INSTANCE`).
//! Each process is opened as a pidfd before it is checked and signalled through that pidfd, so a
//! PID that changes hands between the check and the signal receives nothing.

use crate::platform::{self, Pidfd};

/// Environment variables every process Kovan starts carries, naming its workspace and instance.
pub const WORKSPACE_MARKER: &str = crate::workspace::ENV_VAR;
pub const INSTANCE_MARKER: &str = "KOVAN_INSTANCE";

/// A group Kovan started: its leader's PID (which is the group's number) and start time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupIdentity {
    pub pgid: i32,
    /// None when the leader was gone before its start time could be read: then only the markers
    /// name the group's processes.
    pub leader_start: Option<u64>,
    /// The markers its processes carry.
    pub workspace: String,
    pub instance: String,
}

/// What one pass of signals did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalOutcome {
    pub signalled: Vec<i32>,
    /// Processes in the group that were left alone, and why.
    pub refused: Vec<(i32, String)>,
}

impl SignalOutcome {
    /// One sentence on what was left alone, for the instance's log.
    pub fn refusal_text(&self) -> Option<String> {
        if self.refused.is_empty() {
            return None;
        }
        let why: Vec<String> = self
            .refused
            .iter()
            .map(|(pid, why)| format!("PID {pid}: {why}"))
            .collect();
        Some(format!(
            "kovan: did not signal processes that are not the ones Kovan started ({})",
            why.join("; ")
        ))
    }
}

impl GroupIdentity {
    /// The group `pid` leads, named by the start time it has now.
    pub fn of_leader(pid: i32, workspace: &str, instance: &str) -> Self {
        Self {
            pgid: pid,
            leader_start: platform::start_time(pid),
            workspace: workspace.into(),
            instance: instance.into(),
        }
    }

    /// Whether the leader is alive, is the process that was started (same start time) and still
    /// leads the group; otherwise why not.
    pub fn leader_check(&self) -> Result<(), String> {
        let Some(recorded) = self.leader_start else {
            return Err("its leader's start time was never known".into());
        };
        if !platform::is_alive(self.pgid) {
            return Err(format!("the group's leader, PID {}, is gone", self.pgid));
        }
        match platform::start_time(self.pgid) {
            Some(now) if now == recorded => {}
            Some(now) => {
                return Err(format!(
                    "the group's leader started at tick {now}, not at tick {recorded} as the one Kovan started"
                ))
            }
            None => return Err(format!("the group's leader, PID {}, is gone", self.pgid)),
        }
        if platform::stat_pgid(self.pgid) != Some(self.pgid) {
            return Err(format!(
                "PID {} no longer leads group {}",
                self.pgid, self.pgid
            ));
        }
        Ok(())
    }

    fn carries_markers(&self, pid: i32) -> bool {
        platform::environ_var(pid, INSTANCE_MARKER).as_deref() == Some(self.instance.as_str())
            && platform::environ_var(pid, WORKSPACE_MARKER).as_deref()
                == Some(self.workspace.as_str())
    }

    /// Whether `pid` (read while a pidfd on it is open, or just now) is one of this group's.
    fn owns(&self, pid: i32) -> Result<(), String> {
        if platform::stat_pgid(pid) != Some(self.pgid) {
            return Err(format!("it is no longer in group {}", self.pgid));
        }
        let leader = self.leader_check();
        if pid == self.pgid {
            return leader;
        }
        // Checked after the member was read: a leader alive now held the group's number the
        // whole time, so the member is in the group Kovan started.
        match leader {
            Ok(()) => Ok(()),
            Err(_) if self.carries_markers(pid) => Ok(()),
            Err(why) => Err(format!(
                "{why} and it does not carry {INSTANCE_MARKER}={}",
                self.instance
            )),
        }
    }

    /// The live processes of the group that are Kovan's. Empty means nothing of it is left.
    pub fn own_members(&self) -> Vec<i32> {
        platform::group_members(self.pgid)
            .into_iter()
            .filter(|&pid| self.owns(pid).is_ok())
            .collect()
    }

    /// Send `signal` to each process of the group that is Kovan's, skipping `already` (those a
    /// previous pass reached); every other process in the group is left alone and named.
    pub fn signal(&self, signal: i32, already: &[i32]) -> SignalOutcome {
        let mut out = SignalOutcome::default();
        for pid in platform::group_members(self.pgid) {
            if already.contains(&pid) {
                continue;
            }
            let fd = match Pidfd::open(pid) {
                Ok(fd) => Some(fd),
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => continue,
                Err(_) => None, // no pidfd on this kernel: the check and kill(2) right after it
            };
            if let Err(why) = self.owns(pid) {
                out.refused.push((pid, why));
                continue;
            }
            let sent = match &fd {
                Some(fd) => fd.send_signal(signal).is_ok(),
                // SAFETY: kill(2) on one PID just checked to be ours; no memory is involved.
                None => unsafe { libc::kill(pid, signal) == 0 },
            };
            if sent {
                out.signalled.push(pid);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn own_group(cmd: &mut Command) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0).spawn().unwrap()
    }

    #[test]
    fn a_leader_with_another_start_time_is_not_signalled_and_that_is_said() {
        let mut child = own_group(Command::new("sleep").arg("300"));
        let pid = child.id() as i32;
        let real = platform::start_time(pid).unwrap();
        let recorded = GroupIdentity {
            pgid: pid,
            leader_start: Some(real + 1),
            workspace: "/nowhere/kovan.toml".into(),
            instance: "a".into(),
        };
        let out = recorded.signal(libc::SIGKILL, &[]);
        assert!(out.signalled.is_empty(), "{out:?}");
        let text = out.refusal_text().expect("said");
        assert!(
            text.contains(&format!("PID {pid}")) && text.contains("not at tick"),
            "{text}"
        );
        assert!(recorded.own_members().is_empty());
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(child.try_wait().unwrap().is_none(), "the process survived");

        // The same group named by its real start time is signalled.
        let right = GroupIdentity {
            leader_start: Some(real),
            ..recorded
        };
        assert_eq!(right.own_members(), [pid]);
        assert_eq!(right.signal(libc::SIGKILL, &[]).signalled, [pid]);
        child.wait().unwrap();
    }

    #[test]
    fn with_the_leader_gone_only_members_with_the_markers_are_signalled() {
        // A leader that leaves two children in its group, one carrying the markers, then exits.
        let script = "KOVAN_INSTANCE=a KOVAN_WORKSPACE=/w/kovan.toml sleep 300 >/dev/null 2>&1 & \
                      KOVAN_INSTANCE=b KOVAN_WORKSPACE=/w/kovan.toml sleep 300 >/dev/null 2>&1 & \
                      echo $!; exit 0";
        let out = {
            use std::os::unix::process::CommandExt;
            Command::new("sh")
                .args(["-c", script])
                .process_group(0)
                .output()
                .unwrap()
        };
        let last: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let pgid = platform::stat_pgid(last).unwrap();
        let members = platform::group_members(pgid);
        assert_eq!(members.len(), 2, "{members:?}");
        let id = GroupIdentity {
            pgid,
            leader_start: Some(1),
            workspace: "/w/kovan.toml".into(),
            instance: "a".into(),
        };
        let own = id.own_members();
        assert_eq!(own.len(), 1);
        assert_ne!(own[0], last, "the `b` sleep is not instance a's");
        let sent = id.signal(libc::SIGKILL, &[]);
        assert_eq!(sent.signalled, own);
        assert_eq!(sent.refused.len(), 1);
        assert!(sent.refused[0]
            .1
            .contains("does not carry KOVAN_INSTANCE=a"));
        // SAFETY: the test's own process.
        unsafe { libc::kill(last, libc::SIGKILL) };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !platform::group_members(pgid).is_empty() {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
