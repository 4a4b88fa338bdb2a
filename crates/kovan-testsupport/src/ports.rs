//! Ports for the servers a test starts.
//!
//! Not the kernel's `bind(:0)`: that hands out ports from the ephemeral range, the same range every
//! outgoing connection (a client of redis-server, of runserver) takes its local port from, so the
//! "free" port could be taken by somebody's connection before the server binds it ("That port is
//! already in use"). These come from below the ephemeral range, each at most once per process,
//! starting at a place that depends on the process so that test binaries running side by side
//! rarely meet; each is checked to be free on 127.0.0.1 before it is handed out.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// Below Linux's default ephemeral range (32768–60999) and above the well-known ports.
const FIRST: u32 = 20_000;
const LAST: u32 = 32_767;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A loopback port no other test of this process was given, free right now.
pub fn free_port() -> u16 {
    let span = LAST - FIRST + 1;
    // Processes start at different places: the PID spreads them over the span.
    let _ = NEXT.compare_exchange(
        0,
        (std::process::id() * 7919) % span + 1,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = (FIRST + n % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {FIRST} and {LAST} on 127.0.0.1");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_free_distinct_and_outside_the_ephemeral_range() {
        let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len());
        assert!(ports
            .iter()
            .all(|&p| (FIRST..=LAST).contains(&u32::from(p))));
    }
}
