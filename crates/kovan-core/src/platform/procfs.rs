//! Linux only: what the kernel knows about processes, sockets and file locks, read from /proc (and
//! asked through libc): who is in a process group, when a process started (in clock ticks since
//! boot, which with the boot id names one process; the check that Kovan only ever signals a group
//! it started rests on it), its command line, cwd and environment (the markers), which process owns
//! a port, and who holds a lock on a file. sysinfo has none of these as exact figures (see
//! mod.rs); CPU time and memory come from sysinfo (usage.rs).

use std::net::TcpListener;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
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

/// The process group a process is in, as /proc/PID/stat says (None once it is gone).
pub fn stat_pgid(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(2)?.parse().ok()
}

/// Whether a process exists and is not a zombie.
pub fn is_alive(pid: i32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().map(String::as_str) != Some("Z"))
}

/// This boot's identity (/proc/sys/kernel/random/boot_id): with a PID and a start time it names
/// one process across reboots, where start times begin again from zero.
pub fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// The value of `key` in the environment a process was started with (/proc/PID/environ). None
/// when it is not set, the process is gone, or its environment cannot be read.
pub fn environ_var(pid: i32, key: &str) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{key}=");
    raw.split(|&b| b == 0)
        .find_map(|e| e.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Every live process whose environment sets `key`, with its value.
pub fn processes_with_env(key: &str) -> Vec<(i32, String)> {
    pids()
        .filter(|&pid| is_alive(pid))
        .filter_map(|pid| environ_var(pid, key).map(|v| (pid, v)))
        .collect()
}

/// A handle on one process (pidfd_open(2)): a signal sent through it reaches that process or
/// nobody, never a later process that was given the same PID.
#[derive(Debug)]
pub struct Pidfd(std::os::fd::OwnedFd);

impl Pidfd {
    /// Err(ESRCH) when there is no such process; Err(ENOSYS) on kernels before 5.3.
    pub fn open(pid: i32) -> std::io::Result<Self> {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open(2) takes a PID and flags and returns a new descriptor we own.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the descriptor was just returned by the kernel and nobody else holds it.
        Ok(Self(unsafe {
            std::os::fd::OwnedFd::from_raw_fd(fd as i32)
        }))
    }

    /// Err(ESRCH) when the process has exited meanwhile.
    pub fn send_signal(&self, signal: i32) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: pidfd_send_signal(2) with no siginfo; the descriptor is open for our lifetime.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// Whether a server could listen on 127.0.0.1:port right now.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A process listening on a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
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

/// The process group a process belongs to.
pub fn pgid_of(pid: i32) -> Option<i32> {
    // SAFETY: getpgid(2) reads a value from the kernel; no memory is involved.
    let g = unsafe { libc::getpgid(pid) };
    (g > 0).then_some(g)
}

/// Clock ticks per second, the unit of /proc/PID/stat's times.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf(3) only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// When a process started, as wall-clock time. From /proc/uptime (10 ms resolution) rather than
/// /proc/stat's btime, whose whole seconds would make a process look up to a second older than it
/// is (and a file written just before it started look newer).
pub fn started_at(pid: i32) -> Option<std::time::SystemTime> {
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let since_boot = start_time(pid)? as f64 / ticks_per_second() as f64;
    let age = std::time::Duration::from_secs_f64((uptime - since_boot).max(0.0));
    std::time::SystemTime::now().checked_sub(age)
}

/// The kernel's table of file locks (/proc/locks), empty when it cannot be read.
pub fn file_locks() -> String {
    std::fs::read_to_string("/proc/locks").unwrap_or_default()
}

/// The files a process has open (targets of /proc/PID/fd), sockets and pipes left out.
pub fn open_files(pid: i32) -> Vec<PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter(|target| target.is_absolute())
        .collect()
}

/// The processes other than Kovan itself that have `file` (or its -wal/-shm/-journal companions)
/// open, by PID: who holds a SQLite database.
pub fn holders_of(file: &std::path::Path) -> Vec<i32> {
    holders_of_each(&[file]).pop().unwrap_or_default()
}

/// [`holders_of`] for several files in one pass over /proc (each process's fds are read once,
/// not once per file): the holders of each, in the order given.
pub fn holders_of_each(files: &[&std::path::Path]) -> Vec<Vec<i32>> {
    // A file that does not exist has no holders; its slot stays empty.
    let watched: Vec<Option<(PathBuf, [PathBuf; 3])>> = files
        .iter()
        .map(|f| {
            let file = f.canonicalize().ok()?;
            let companion = |suffix: &str| {
                let mut p = file.as_os_str().to_owned();
                p.push(suffix);
                PathBuf::from(p)
            };
            let companions = [companion("-wal"), companion("-shm"), companion("-journal")];
            Some((file, companions))
        })
        .collect();
    let mut holders = vec![Vec::new(); files.len()];
    if watched.iter().all(Option::is_none) {
        return holders;
    }
    let ours = std::process::id() as i32;
    for pid in pids().filter(|&pid| pid != ours) {
        let open = open_files(pid);
        for (slot, watch) in watched.iter().enumerate() {
            let Some((file, companions)) = watch else {
                continue;
            };
            if open.iter().any(|o| o == file || companions.contains(o)) {
                holders[slot].push(pid);
            }
        }
    }
    holders
}

/// Socket inodes a process has open.
pub fn socket_inodes(pid: i32) -> Vec<u64> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| {
            std::fs::read_link(fd.path())
                .ok()?
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// A listening TCP socket: its local address and the kernel's inode for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub address: std::net::IpAddr,
    pub port: u16,
    pub inode: u64,
}

/// The listening sockets in the network namespace `pid` lives in (/proc/PID/net/tcp and tcp6):
/// reading through the process, not /proc/net, sees what it sees even inside a container.
pub fn listeners_seen_by(pid: i32) -> Vec<Listener> {
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|t| std::fs::read_to_string(format!("/proc/{pid}/net/{t}")).ok())
        .flat_map(|text| parse_listeners(&text))
        .collect()
}

/// Rows in LISTEN state (0A) of a /proc/net/tcp or tcp6 table.
pub fn parse_listeners(table: &str) -> Vec<Listener> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(3) != Some(&"0A") {
                return None;
            }
            let (addr, port) = f.get(1)?.split_once(':')?;
            Some(Listener {
                address: parse_hex_address(addr)?,
                port: u16::from_str_radix(port, 16).ok()?,
                inode: f.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

/// The kernel prints addresses as 32-bit words in host byte order (little-endian here).
fn parse_hex_address(hex: &str) -> Option<std::net::IpAddr> {
    let words: Vec<u32> = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).ok())
        .collect::<Option<_>>()?;
    let bytes: Vec<u8> = words
        .iter()
        .flat_map(|w| w.swap_bytes().to_be_bytes())
        .collect();
    match bytes.len() {
        4 => Some(std::net::IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(std::net::IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_rows_give_address_port_and_inode() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0 100 0 0 10 0
   1: 00000000:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 222 1 0 100 0 0 10 0
   2: 0100007F:1F40 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 333 1 0 100 0 0 10 0
";
        let l = parse_listeners(table);
        assert_eq!(l.len(), 2, "the ESTABLISHED row is not a listener");
        assert_eq!(
            (l[0].address.to_string(), l[0].port, l[0].inode),
            ("127.0.0.1".into(), 8000, 111)
        );
        assert!(l[1].address.is_unspecified());
        let v6 = "h\n   0: 00000000000000000000000001000000:1F40 00000000000000000000000000000000:0000 0A 0 0 0 0 0 9 1\n";
        assert_eq!(parse_listeners(v6)[0].address.to_string(), "::1");
    }
}
