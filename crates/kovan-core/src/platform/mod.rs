//! Everything Kovan asks the operating system about processes, in one module.
//!
//! Portable, through sysinfo ([`usage`]): the CPU time and resident memory of a process, the same
//! figures /proc/PID/stat gave (user + system time; resident pages times the page size).
//!
//! Linux only, through /proc and libc ([`procfs`]), because sysinfo lacks them or gives rounder
//! figures than the checks need:
//! - process groups (members of a group, a process's group): sysinfo knows parents and sessions,
//!   not groups, and Kovan starts and signals whole groups;
//! - start times in clock ticks since boot and the boot id: with the PID they name one process, so
//!   a reused PID or PGID is never signalled (sysinfo rounds start times to whole seconds);
//! - the wall-clock start for uptimes at /proc/uptime's 10 ms (sysinfo: whole seconds);
//! - command lines, cwd and environment variables read one at a time for the markers that tell an
//!   instance's processes (sysinfo reads them only as part of a refresh of the whole process);
//! - listening sockets and their owners (/proc/net/tcp{,6} and the fd tables), which sysinfo does
//!   not read at all, and the file locks of /proc/locks (SQLite's write lock).

pub mod procfs;
pub mod usage;

pub use procfs::*;
