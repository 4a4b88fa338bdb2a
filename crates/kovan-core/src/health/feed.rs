//! What the window hears of the poller: only what changes on screen, in batches.
//!
//! The poller checks every instance every 2 s; sent as they come, its results made the window paint
//! several times a second with nothing new to show (issue 17). The feed sits between the poller and
//! the desktop shell:
//! - a check that changes nothing the card shows, at the precision it shows it, is not sent;
//! - a change of what the card says (up/down, an error, a mismatch, a lock, migrations) goes out in
//!   the next batch, and batches leave at most twice a second ([`FeedOptions::batch_every`]);
//! - the live figures (latency, CPU, memory, database size) and the sparkline's points go out at most
//!   every [`FeedOptions::figures_focused`] while the window has the focus, every
//!   [`FeedOptions::figures_unfocused`] while it does not, and not at all while it is hidden or
//!   minimized; an instance's points since its last batch go with its next one (figures or words),
//!   so a sparkline loses none; a window shown again asks for the latest checks once
//!   (`health_latest`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use ts_rs::TS;

use super::{HealthEvent, HealthSink, HealthState, InstanceHealth, RedisHealth};

/// What the shell sends to the window: the payload of `instance://health`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HealthBatch {
    /// The newest check of each instance whose card changes, and the newest Redis probe when what
    /// it says changed; at most one per instance.
    pub events: Vec<HealthEvent>,
    /// Each instance's latencies since the last batch, oldest first; null where a check failed.
    pub latencies: Vec<LatencyPoints>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LatencyPoints {
    pub instance: String,
    pub points: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedOptions {
    /// The shortest time between two batches.
    pub batch_every: Duration,
    /// The shortest time between two updates of the live figures while the window has the focus.
    pub figures_focused: Duration,
    /// The same while the window is visible but not focused.
    pub figures_unfocused: Duration,
}

impl Default for FeedOptions {
    fn default() -> Self {
        Self {
            batch_every: Duration::from_millis(500),
            figures_focused: Duration::from_secs(10),
            figures_unfocused: Duration::from_secs(60),
        }
    }
}

/// How the window is seen now: the shell hears focus from the window and visibility from the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Focused,
    Unfocused,
    Hidden,
}

/// The card's words of a check: everything it shows except the live figures.
fn verdict(h: &InstanceHealth) -> InstanceHealth {
    let mut v = h.clone();
    v.previous = HealthState::Unknown;
    v.latency_ms = 0.0;
    v.checked_at = 0;
    if let Some(r) = &mut v.resources {
        r.cpu_percent = None;
        r.rss_bytes = 0;
        r.uptime_secs = 0;
    }
    if let Some(db) = &mut v.database {
        db.size_bytes = 0;
    }
    v
}

/// A size as the card writes it: KB under a megabyte, MB with one decimal under ten, whole MB above.
fn shown_size(bytes: u64) -> i64 {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if mb < 1.0 {
        -((bytes as f64 / 1024.0).ceil() as i64)
    } else if mb < 10.0 {
        (mb * 10.0).round() as i64 * 1000
    } else {
        mb.round() as i64 * 1_000_000
    }
}

/// The live figures as the card writes them (latency with one decimal under 10 ms, CPU with one).
fn figures(h: &InstanceHealth) -> (Option<i64>, Option<i64>, Option<i64>, Option<i64>) {
    let latency = h.check_ok.then(|| {
        if h.latency_ms < 10.0 {
            (h.latency_ms * 10.0).round() as i64
        } else {
            h.latency_ms.round() as i64 * 10
        }
    });
    let cpu = h
        .resources
        .as_ref()
        .and_then(|r| r.cpu_percent)
        .map(|c| (c * 10.0).round() as i64);
    let rss = h.resources.as_ref().map(|r| shown_size(r.rss_bytes));
    let db = h
        .database
        .as_ref()
        .filter(|d| d.exists)
        .map(|d| shown_size(d.size_bytes));
    (latency, cpu, rss, db)
}

fn redis_words(r: &RedisHealth) -> (HealthState, Option<String>, String) {
    (r.state, r.error.clone(), r.url.clone())
}

#[derive(Default)]
struct Instance {
    /// What the window was last sent (or fetched with `health_latest`).
    sent: Option<InstanceHealth>,
    /// The newest check not sent yet.
    pending: Option<InstanceHealth>,
    /// Latencies since the last batch.
    points: Vec<Option<f64>>,
}

/// The feed's state; [`start`] runs it on a timer, tests drive it with [`Feed::push`] and [`Feed::due`].
pub struct Feed {
    options: FeedOptions,
    seen: Seen,
    instances: BTreeMap<String, Instance>,
    redis_sent: Option<RedisHealth>,
    redis_pending: Option<RedisHealth>,
    last_batch: Option<Instant>,
    last_figures: Option<Instant>,
}

/// Points kept per instance while the figures wait (a sparkline shows 45).
const MAX_POINTS: usize = 64;

impl Feed {
    pub fn new(options: FeedOptions) -> Self {
        Self {
            options,
            seen: Seen::Focused,
            instances: BTreeMap::new(),
            redis_sent: None,
            redis_pending: None,
            last_batch: None,
            last_figures: None,
        }
    }

    /// One result of the poller.
    pub fn push(&mut self, event: HealthEvent) {
        match event {
            HealthEvent::Instance(h) => {
                let entry = self.instances.entry(h.instance.clone()).or_default();
                if self.seen != Seen::Hidden {
                    entry.points.push(h.check_ok.then_some(h.latency_ms));
                    let extra = entry.points.len().saturating_sub(MAX_POINTS);
                    entry.points.drain(..extra);
                }
                entry.pending = Some(*h);
            }
            HealthEvent::Redis(r) => self.redis_pending = Some(r),
        }
    }

    /// Focus and visibility changed. A window shown again fetches the latest checks itself: they
    /// count as sent, and the points it missed are in its fetched history.
    pub fn set_seen(&mut self, seen: Seen, latest: &[InstanceHealth]) {
        if self.seen == Seen::Hidden && seen != Seen::Hidden {
            for i in self.instances.values_mut() {
                i.points.clear();
                i.pending = None;
            }
            for h in latest {
                self.instances.entry(h.instance.clone()).or_default().sent = Some(h.clone());
            }
            self.last_figures = None;
        }
        self.seen = seen;
    }

    pub fn seen(&self) -> Seen {
        self.seen
    }

    /// Another workspace: nothing sent yet.
    pub fn reset(&mut self) {
        self.instances.clear();
        self.redis_sent = None;
        self.redis_pending = None;
        self.last_figures = None;
    }

    /// The batch to send now, if any.
    pub fn due(&mut self, now: Instant) -> Option<HealthBatch> {
        if self
            .last_batch
            .is_some_and(|t| now.duration_since(t) < self.options.batch_every)
        {
            return None;
        }
        let figures_every = match self.seen {
            Seen::Focused => Some(self.options.figures_focused),
            Seen::Unfocused => Some(self.options.figures_unfocused),
            Seen::Hidden => None,
        };
        let figures_due = figures_every.is_some_and(|every| {
            self.last_figures
                .is_none_or(|t| now.duration_since(t) >= every)
        });
        let mut events = Vec::new();
        let mut latencies = Vec::new();
        for (name, i) in &mut self.instances {
            let mut sent = false;
            if let Some(pending) = &i.pending {
                let words_changed = i
                    .sent
                    .as_ref()
                    .is_none_or(|s| verdict(s) != verdict(pending));
                let figures_changed = i
                    .sent
                    .as_ref()
                    .is_none_or(|s| figures(s) != figures(pending));
                if words_changed || (figures_due && figures_changed) {
                    events.push(HealthEvent::Instance(Box::new(pending.clone())));
                    i.sent = i.pending.take();
                    sent = true;
                } else if !figures_changed {
                    i.pending = None;
                }
            }
            // A card drawn again for its words gets its sparkline's points in the same frame.
            if (figures_due || sent) && !i.points.is_empty() {
                latencies.push(LatencyPoints {
                    instance: name.clone(),
                    points: std::mem::take(&mut i.points),
                });
            }
        }
        if figures_due && (!events.is_empty() || !latencies.is_empty()) {
            self.last_figures = Some(now);
        }
        if let Some(r) = self.redis_pending.take() {
            if self
                .redis_sent
                .as_ref()
                .is_none_or(|s| redis_words(s) != redis_words(&r))
            {
                events.push(HealthEvent::Redis(r.clone()));
                self.redis_sent = Some(r);
            }
        }
        if events.is_empty() && latencies.is_empty() {
            return None;
        }
        self.last_batch = Some(now);
        Some(HealthBatch { events, latencies })
    }
}

/// A running feed: its sink takes the poller's results, a task sends the batches.
#[derive(Clone)]
pub struct FeedHandle {
    feed: Arc<Mutex<Feed>>,
}

impl FeedHandle {
    /// The sink to give the poller.
    pub fn sink(&self) -> HealthSink {
        let feed = self.feed.clone();
        Arc::new(move |event: HealthEvent| lock(&feed).push(event))
    }

    pub fn set_seen(&self, seen: Seen, latest: &[InstanceHealth]) {
        lock(&self.feed).set_seen(seen, latest);
    }

    pub fn seen(&self) -> Seen {
        lock(&self.feed).seen()
    }

    pub fn reset(&self) {
        lock(&self.feed).reset();
    }
}

fn lock(feed: &Mutex<Feed>) -> std::sync::MutexGuard<'_, Feed> {
    feed.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run a feed on the current tokio runtime: every `batch_every` it sends what is due to `send`.
/// The task lives as long as the runtime (one per window).
pub fn start(
    options: FeedOptions,
    send: impl Fn(HealthBatch) + Send + Sync + 'static,
) -> FeedHandle {
    let feed = Arc::new(Mutex::new(Feed::new(options)));
    let ticking = feed.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(options.batch_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let batch = lock(&ticking).due(Instant::now());
            if let Some(batch) = batch {
                send(batch);
            }
        }
    });
    FeedHandle { feed }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{DatabaseHealth, Resources, WriteLock};
    use std::collections::HashMap;

    fn check(name: &str, state: HealthState, latency: f64) -> InstanceHealth {
        InstanceHealth {
            instance: name.into(),
            port: 8000,
            state,
            previous: state,
            check_ok: state == HealthState::Up,
            latency_ms: latency,
            http_status: Some(200),
            error: None,
            failure: None,
            reported: None,
            mismatches: vec![],
            database: Some(DatabaseHealth {
                path: "/db.sqlite3".into(),
                exists: true,
                size_bytes: 128 * 1024 * 1024,
                journal_mode: Some("wal".into()),
                write_lock: WriteLock::None,
                lock_holder: None,
            }),
            resources: Some(Resources {
                cpu_percent: Some(0.2),
                rss_bytes: 60 * 1024 * 1024,
                uptime_secs: 10,
                processes: 2,
            }),
            checked_at: 1,
        }
    }

    fn counts(batch: &HealthBatch) -> HashMap<&'static str, usize> {
        let mut counts = HashMap::new();
        for e in &batch.events {
            let kind = match e {
                HealthEvent::Instance(_) => "instance",
                HealthEvent::Redis(_) => "redis",
            };
            *counts.entry(kind).or_insert(0) += 1;
        }
        counts
    }

    fn push(feed: &mut Feed, h: InstanceHealth) {
        feed.push(HealthEvent::Instance(Box::new(h)));
    }

    fn names(batch: &HealthBatch) -> Vec<String> {
        batch
            .events
            .iter()
            .map(|e| match e {
                HealthEvent::Instance(h) => h.instance.clone(),
                HealthEvent::Redis(_) => "redis".into(),
            })
            .collect()
    }

    #[test]
    fn a_check_that_changes_nothing_shown_is_not_sent() {
        let t0 = Instant::now();
        let mut feed = Feed::new(FeedOptions::default());
        push(&mut feed, check("a", HealthState::Up, 4.21));
        let first = feed.due(t0).expect("the first check is news");
        assert_eq!(names(&first), ["a"]);
        // Later checks: same words, figures equal at the card's precision; only uptime and time move.
        for n in 1..30u64 {
            let mut h = check("a", HealthState::Up, 4.19);
            h.checked_at = n as i64;
            h.resources.as_mut().unwrap().uptime_secs = 10 + 2 * n;
            push(&mut feed, h);
            let batch = feed.due(t0 + Duration::from_secs(2 * n));
            // Only the sparkline's points go out, on the figures' cadence (every 10 s).
            if let Some(b) = batch {
                assert!(b.events.is_empty(), "{b:?}");
                assert_eq!(b.latencies.len(), 1);
            }
        }
    }

    #[test]
    fn words_go_out_in_the_next_batch_figures_on_their_cadence() {
        let t0 = Instant::now();
        let mut feed = Feed::new(FeedOptions::default());
        push(&mut feed, check("a", HealthState::Up, 4.0));
        push(&mut feed, check("b", HealthState::Up, 4.0));
        assert_eq!(names(&feed.due(t0).unwrap()), ["a", "b"]);
        // A figure change 2 s later waits for the 10 s cadence...
        push(&mut feed, check("a", HealthState::Up, 7.5));
        assert_eq!(feed.due(t0 + Duration::from_secs(2)), None);
        // ...but b going down goes out at once; a's figures still wait.
        push(&mut feed, check("b", HealthState::Down, 1000.0));
        let batch = feed.due(t0 + Duration::from_millis(2600)).unwrap();
        assert_eq!(names(&batch), ["b"]);
        // With b's point, not a's: a's card is not drawn in this batch.
        assert_eq!(batch.latencies.len(), 1);
        assert_eq!(batch.latencies[0].instance, "b");
        // Not twice within half a second.
        push(&mut feed, check("a", HealthState::Down, 1000.0));
        assert_eq!(feed.due(t0 + Duration::from_millis(2800)), None);
        let batch = feed.due(t0 + Duration::from_millis(3100)).unwrap();
        assert_eq!(names(&batch), ["a"]);
        assert_eq!(batch.latencies[0].points, [Some(7.5), None]);
        // The figures' turn: a's latency points since its last batch, nothing else changed.
        push(&mut feed, check("a", HealthState::Down, 1000.0));
        let batch = feed.due(t0 + Duration::from_secs(10)).unwrap();
        assert!(batch.events.is_empty(), "{batch:?}");
        assert_eq!(batch.latencies.len(), 1);
        assert_eq!(batch.latencies[0].points, [None]);
    }

    #[test]
    fn a_hidden_window_gets_only_changes_of_words_and_catches_up_from_latest() {
        let t0 = Instant::now();
        let mut feed = Feed::new(FeedOptions::default());
        push(&mut feed, check("a", HealthState::Up, 4.0));
        feed.due(t0).unwrap();
        feed.set_seen(Seen::Hidden, &[]);
        for n in 1..60u64 {
            push(&mut feed, check("a", HealthState::Up, 4.0 + n as f64));
            assert_eq!(feed.due(t0 + Duration::from_secs(2 * n)), None, "check {n}");
        }
        // Going down is still said (a notification may follow), the figures are not.
        push(&mut feed, check("a", HealthState::Down, 1000.0));
        let batch = feed.due(t0 + Duration::from_secs(121)).unwrap();
        assert_eq!(names(&batch), ["a"]);
        assert!(batch.latencies.is_empty());
        // Shown again: the page fetched the latest itself; an equal check is not sent again.
        let latest = check("a", HealthState::Down, 1000.0);
        feed.set_seen(Seen::Focused, std::slice::from_ref(&latest));
        push(&mut feed, latest.clone());
        let batch = feed.due(t0 + Duration::from_secs(123)).unwrap();
        assert!(batch.events.is_empty(), "{batch:?}");
        assert_eq!(batch.latencies[0].points, [None]);
    }

    #[test]
    fn redis_is_sent_only_when_what_it_says_changes() {
        let t0 = Instant::now();
        let mut feed = Feed::new(FeedOptions::default());
        let probe = |state, at| RedisHealth {
            url: "redis://127.0.0.1:6379/0".into(),
            state,
            probe: None,
            error: None,
            checked_at: at,
        };
        feed.push(HealthEvent::Redis(probe(HealthState::Up, 1)));
        assert_eq!(counts(&feed.due(t0).unwrap())["redis"], 1);
        feed.push(HealthEvent::Redis(probe(HealthState::Up, 2)));
        assert_eq!(feed.due(t0 + Duration::from_secs(2)), None);
        feed.push(HealthEvent::Redis(probe(HealthState::Down, 3)));
        assert_eq!(
            counts(&feed.due(t0 + Duration::from_secs(4)).unwrap())["redis"],
            1
        );
    }
}
