//! CPU, memory and uptime of an instance, summed over its process group (runserver's autoreloader
//! and its child, or whatever the instance's command spawned), from /proc.

use std::time::{Instant, SystemTime};

use serde::Serialize;
use ts_rs::TS;

use crate::process_table;

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

/// Keeps the previous CPU reading of one group: CPU % is the difference of two.
#[derive(Debug, Default)]
pub struct ResourceSampler {
    previous: Option<(i32, u64, Instant)>,
}

impl ResourceSampler {
    pub fn sample(&mut self, pgid: i32) -> Option<Resources> {
        let members = process_table::group_members(pgid);
        if members.is_empty() {
            self.previous = None;
            return None;
        }
        let ticks: u64 = members
            .iter()
            .filter_map(|&p| process_table::cpu_ticks(p))
            .sum();
        let rss = members
            .iter()
            .filter_map(|&p| process_table::rss_bytes(p))
            .sum();
        let now = Instant::now();
        let cpu_percent = match self.previous {
            // A process that exited between samples takes its ticks with it: never below zero.
            Some((group, before, at)) if group == pgid => {
                let secs = now.duration_since(at).as_secs_f64();
                (secs > 0.0).then(|| {
                    ticks.saturating_sub(before) as f64
                        / process_table::ticks_per_second() as f64
                        / secs
                        * 100.0
                })
            }
            _ => None,
        };
        self.previous = Some((pgid, ticks, now));
        let leader = if members.contains(&pgid) {
            pgid
        } else {
            members[0]
        };
        let uptime_secs = process_table::started_at(leader)
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
