//! What the kernel knows about processes and listening sockets (Linux /proc): who is in a process
//! group, when a process started, its command line, and which process owns a port.

use std::net::TcpListener;
use std::path::PathBuf;

use serde::Serialize;
use ts_rs::TS;

/// The fields of /proc/PID/stat after the command name, which may itself hold spaces and `)`.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// Start time of a process in clock ticks since boot: with the PID, it names one process for good
/// (PIDs are reused, start times of reused PIDs differ).
pub fn start_time(pid: i32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

pub fn cmdline(pid: i32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    (!args.is_empty()).then_some(args)
}

pub fn cwd(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/cwd")).ok()
}

fn pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
}

/// Live (not zombie) processes in a process group. Empty means the group is gone.
pub fn group_members(pgid: i32) -> Vec<i32> {
    pids()
        .filter(|&pid| {
            stat_fields(pid).is_some_and(|f| {
                f.first().map(String::as_str) != Some("Z")
                    && f.get(2).and_then(|g| g.parse().ok()) == Some(pgid)
            })
        })
        .collect()
}

/// Whether a process is alive and is the one that started at `started` (not a reused PID).
pub fn is_same_process(pid: i32, started: u64) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().map(String::as_str) != Some("Z"))
        && start_time(pid) == Some(started)
}

/// Whether a server could listen on 127.0.0.1:port right now.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A process listening on a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PortOwner {
    pub pid: i32,
    pub command: String,
}

/// The process that listens on `port` (any address), from the kernel's socket table and each
/// process's open file descriptors. None when nobody listens, or the owner is hidden from us.
pub fn port_owner(port: u16) -> Option<PortOwner> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return None;
    }
    let mut candidates: Vec<i32> = pids().collect();
    candidates.sort_unstable();
    candidates.into_iter().find_map(|pid| {
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
        let owns = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .ok()
                .and_then(|l| {
                    l.to_str()?
                        .strip_prefix("socket:[")?
                        .strip_suffix(']')?
                        .parse::<u64>()
                        .ok()
                })
                .is_some_and(|inode| inodes.contains(&inode))
        });
        owns.then(|| PortOwner {
            pid,
            command: cmdline(pid)
                .map(|a| a.join(" "))
                .unwrap_or_else(|| format!("PID {pid}")),
        })
    })
}

/// Socket inodes in LISTEN state (0A) on `port`, over IPv4 and IPv6.
fn listening_inodes(port: u16) -> Vec<u64> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let Some(local_port) = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok())
            else {
                continue;
            };
            if local_port == port && f.get(3) == Some(&"0A") {
                if let Some(inode) = f.get(9).and_then(|i| i.parse().ok()) {
                    inodes.push(inode);
                }
            }
        }
    }
    inodes
}

/// The first port from `start` upwards that is free and not in `taken`.
pub fn next_free_port(start: u16, taken: &[u16]) -> Option<u16> {
    (start..=u16::MAX).find(|p| !taken.contains(p) && port_is_free(*p))
}

/// Send `signal` to every process in the group; false when the group no longer exists.
pub fn send_signal_to_group(pgid: i32, signal: i32) -> bool {
    // SAFETY: kill(2) with a negative PID signals a process group; no memory is involved.
    unsafe { libc::kill(-pgid, signal) == 0 }
}
