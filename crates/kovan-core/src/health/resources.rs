//! CPU, memory and uptime of an instance, summed over its process group (runserver's autoreloader
//! and its child, or whatever the instance's command spawned): the group's members and the
//! leader's start from /proc, CPU time and memory through sysinfo (crate::platform).

use std::time::{Instant, SystemTime};

use serde::Serialize;
use ts_rs::TS;

use crate::platform::{self, usage};

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    /// Percent of one core since the previous sample; None on the first.
    pub cpu_percent: Option<f64>,
    #[ts(type = "number")]
    pub rss_bytes: u64,
    /// Seconds since the group's leader started.
    #[ts(type = "number")]
    pub uptime_secs: u64,
    pub processes: usize,
}

/// Keeps the previous CPU reading of one group (milliseconds): CPU % is the difference of two.
#[derive(Debug, Default)]
pub struct ResourceSampler {
    previous: Option<(i32, u64, Instant)>,
}

impl ResourceSampler {
    pub fn sample(&mut self, pgid: i32) -> Option<Resources> {
        let members = platform::group_members(pgid);
        if members.is_empty() {
            self.previous = None;
            return None;
        }
        let usage::Usage {
            cpu_ms,
            rss_bytes: rss,
        } = usage::of(&members);
        let now = Instant::now();
        let cpu_percent = match self.previous {
            // A process that exited between samples takes its ticks with it: never below zero.
            Some((group, before, at)) if group == pgid => {
                let secs = now.duration_since(at).as_secs_f64();
                (secs > 0.0).then(|| cpu_ms.saturating_sub(before) as f64 / 1000.0 / secs * 100.0)
            }
            _ => None,
        };
        self.previous = Some((pgid, cpu_ms, now));
        let leader = if members.contains(&pgid) {
            pgid
        } else {
            members[0]
        };
        let uptime_secs = platform::started_at(leader)
            .and_then(|s| SystemTime::now().duration_since(s).ok())
            .map_or(0, |d| d.as_secs());
        Some(Resources {
            cpu_percent,
            rss_bytes: rss,
            uptime_secs,
            processes: members.len(),
        })
    }
}
