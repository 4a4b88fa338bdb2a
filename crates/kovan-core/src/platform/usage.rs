//! CPU time and resident memory of processes, through sysinfo (only its `system` part).
//!
//! The figures are the ones /proc/PID/stat gave before: sysinfo's accumulated CPU time is
//! utime + stime (clock ticks turned into milliseconds) and its memory the resident set (statm's
//! resident pages times the page size, the same count as stat's rss).

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// What a set of processes used, summed over those still alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// CPU time used so far, user and system, in milliseconds.
    pub cpu_ms: u64,
    /// Resident memory, in bytes.
    pub rss_bytes: u64,
}

/// CPU time and memory of `pids`, read now. Each reading starts from nothing, so no process that
/// left is kept between two: a CPU percentage is the difference of two readings.
pub fn of(pids: &[i32]) -> Usage {
    let pids: Vec<Pid> = pids
        .iter()
        .filter_map(|&p| u32::try_from(p).ok())
        .map(Pid::from_u32)
        .collect();
    let mut system = System::new();
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&pids),
        true,
        ProcessRefreshKind::nothing().with_cpu().with_memory(),
    );
    pids.iter()
        .filter_map(|pid| system.process(*pid))
        .fold(Usage::default(), |sum, p| Usage {
            cpu_ms: sum.cpu_ms + p.accumulated_cpu_time(),
            rss_bytes: sum.rss_bytes + p.memory(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same figures as /proc/self/stat: resident pages times the page size, and utime + stime.
    #[test]
    fn the_figures_are_those_of_proc_stat() {
        // Some CPU time and memory of our own to measure.
        let mut spent = vec![0u64; 4 << 20];
        for (i, x) in spent.iter_mut().enumerate() {
            *x = (i as u64).wrapping_mul(2654435761);
        }
        let me = std::process::id() as i32;
        let stat = || {
            let text = std::fs::read_to_string("/proc/self/stat").unwrap();
            let after = text.rsplit_once(')').unwrap().1.to_string();
            let f: Vec<u64> = after
                .split_whitespace()
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            // SAFETY: sysconf(3) only reads configuration values.
            let (page, hz) = unsafe {
                (
                    libc::sysconf(libc::_SC_PAGESIZE) as u64,
                    libc::sysconf(libc::_SC_CLK_TCK) as u64,
                )
            };
            ((f[11] + f[12]) * 1000 / hz, f[21] * page)
        };
        let (cpu_before, rss_before) = stat();
        let usage = of(&[me]);
        let (cpu_after, rss_after) = stat();
        assert!(
            (cpu_before..=cpu_after).contains(&usage.cpu_ms),
            "{cpu_before} <= {} <= {cpu_after}",
            usage.cpu_ms
        );
        // Memory moves a little between the reads (other test threads): within 4 MiB.
        let (low, high) = (rss_before.min(rss_after), rss_before.max(rss_after));
        assert!(
            usage.rss_bytes + (4 << 20) >= low && usage.rss_bytes <= high + (4 << 20),
            "{low} .. {high}: {}",
            usage.rss_bytes
        );
        assert!(usage.rss_bytes > 32 << 20, "{}", usage.rss_bytes);
        assert_eq!(spent.len(), 4 << 20);
    }

    #[test]
    fn a_process_that_is_gone_counts_nothing() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert_eq!(of(&[pid]), Usage::default());
    }
}
