//! Health at a glance: a poller per workspace that checks every instance's `/health/` on an
//! interval, with hysteresis so one slow answer does not flap the card, compares what each instance
//! reports with the names Kovan derived, and adds its SQLite file, process-group resources and the
//! workspace's Redis. Results go to a sink (the desktop shell emits them as `instance://health`)
//! and, when a store is given, into its history.

pub mod endpoint;
pub mod feed;
pub mod hysteresis;
pub mod once;
pub mod resources;
pub mod sqlite;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use ts_rs::TS;

pub use endpoint::{Mismatch, NameField, Reported};
pub use feed::Seen;
pub use hysteresis::{HealthState, Hysteresis};
pub use resources::Resources;
pub use sqlite::{DatabaseHealth, WriteLock};

use crate::running;
use crate::services::redis_server::{self, RedisProbe};
use crate::store::{now_millis, HealthSample, HistoryEvent, Store};
use crate::workspace::{Instance, Workspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollerOptions {
    /// Between two checks while the window has the focus (and without a window: the CLI).
    pub interval: Duration,
    /// The same while the window is visible but not focused.
    pub unfocused_interval: Duration,
    /// The same while the window is hidden or minimized: next to nothing, caught up when shown.
    pub hidden_interval: Duration,
    /// For one whole check; a slower answer counts as a failure.
    pub timeout: Duration,
    /// Successes in a row before a card turns green.
    pub up_after: u32,
    /// Failures in a row before it turns red: 3 × 2 s rides out a reload or a slow request.
    pub down_after: u32,
}

impl Default for PollerOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            unfocused_interval: Duration::from_secs(10),
            hidden_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(1),
            up_after: 1,
            down_after: 3,
        }
    }
}

impl PollerOptions {
    /// The time between two checks while the window is seen as `seen`.
    pub fn interval_for(&self, seen: Seen) -> Duration {
        match seen {
            Seen::Focused => self.interval,
            Seen::Unfocused => self.unfocused_interval.max(self.interval),
            Seen::Hidden => self
                .hidden_interval
                .max(self.unfocused_interval)
                .max(self.interval),
        }
    }
}

/// Wait for the next check: `interval_for` the window's state, measured from when the wait began.
/// A change of state counts at once: shown again after an hour hidden, the check is due now.
async fn pause(seen: &mut tokio::sync::watch::Receiver<Seen>, options: &PollerOptions) {
    let started = tokio::time::Instant::now();
    loop {
        let wait = options.interval_for(*seen.borrow_and_update());
        let left = wait.saturating_sub(started.elapsed());
        if left.is_zero() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(left) => return,
            changed = seen.changed() => {
                if changed.is_err() {
                    // No one to say otherwise any more: the pace stays.
                    tokio::time::sleep(left).await;
                    return;
                }
            }
        }
    }
}

/// One instance after one check.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstanceHealth {
    pub instance: String,
    pub port: u16,
    /// After hysteresis: what the card shows.
    pub state: HealthState,
    /// The state before this check; `up` -> `down` is the moment to notify.
    pub previous: HealthState,
    /// Whether this one check succeeded.
    pub check_ok: bool,
    /// Milliseconds this check took (until the timeout when it failed that way).
    pub latency_ms: f64,
    pub http_status: Option<u16>,
    /// Why this check failed: core's sentence (the CLI, the log, the tooltip).
    pub error: Option<String>,
    /// The same as data, for the window's words.
    pub failure: Option<endpoint::CheckFailure>,
    pub reported: Option<Reported>,
    /// Names the instance reports differently from what Kovan derived.
    pub mismatches: Vec<Mismatch>,
    /// SQLite only.
    pub database: Option<DatabaseHealth>,
    /// When a running process group was found for it.
    pub resources: Option<Resources>,
    /// Unix milliseconds.
    #[ts(type = "number")]
    pub checked_at: i64,
}

/// The workspace's Redis after one probe.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RedisHealth {
    /// Password masked.
    pub url: String,
    pub state: HealthState,
    pub probe: Option<RedisProbe>,
    pub error: Option<String>,
    #[ts(type = "number")]
    pub checked_at: i64,
}

/// What the poller reports; the window gets them through the feed (`feed::HealthBatch`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum HealthEvent {
    Instance(Box<InstanceHealth>),
    Redis(RedisHealth),
}

pub type HealthSink = Arc<dyn Fn(HealthEvent) + Send + Sync>;

/// A running poller; dropping it (or [`PollerHandle::stop`]) stops every check.
pub struct PollerHandle {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    latest: Arc<Mutex<HashMap<String, InstanceHealth>>>,
    sink: Gate,
    seen: tokio::sync::watch::Sender<Seen>,
}

impl PollerHandle {
    /// How the window is seen: the checks slow down while it is not focused and all but stop
    /// while it is hidden; a window shown or focused again gets a check of every instance at once.
    pub fn set_seen(&self, seen: Seen) {
        self.seen
            .send_if_modified(|now| std::mem::replace(now, seen) != seen);
    }

    /// The last check of every instance checked so far, in no particular order.
    pub fn latest(&self) -> Vec<InstanceHealth> {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn stop(self) {}
}

impl Drop for PollerHandle {
    fn drop(&mut self) {
        self.sink.close();
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Start polling every instance of `ws` (and its Redis) on the current tokio runtime.
pub fn start(
    ws: Workspace,
    store: Option<Arc<Store>>,
    options: PollerOptions,
    sink: HealthSink,
) -> PollerHandle {
    let ws = Arc::new(ws);
    let latest = Arc::new(Mutex::new(HashMap::new()));
    let sink = Gate::new(sink);
    let (seen, watching) = tokio::sync::watch::channel(Seen::Focused);
    let mut tasks: Vec<_> = ws
        .instances
        .iter()
        .map(|i| {
            let mut poller = InstancePoller::new(ws.clone(), &i.name, store.clone(), options);
            let (sink, latest, mut seen) = (sink.clone(), latest.clone(), watching.clone());
            tokio::spawn(async move {
                loop {
                    let health = poller.poll().await;
                    latest
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(health.instance.clone(), health.clone());
                    sink.send(HealthEvent::Instance(Box::new(health)));
                    pause(&mut seen, &options).await;
                }
            })
        })
        .collect();
    if let Some(redis) = ws.redis.clone() {
        let (sink, mut seen) = (sink.clone(), watching.clone());
        tasks.push(tokio::spawn(async move {
            let mut state = Hysteresis::new(options.up_after, options.down_after);
            let mut first = true;
            loop {
                if !std::mem::take(&mut first) {
                    pause(&mut seen, &options).await;
                }
                let probe = probe_redis(&redis).await;
                let state = state.observe(probe.is_ok());
                sink.send(HealthEvent::Redis(RedisHealth {
                    url: redis.redacted(),
                    state,
                    error: probe.as_ref().err().cloned(),
                    probe: probe.ok(),
                    checked_at: now_millis(),
                }));
            }
        }));
    }
    PollerHandle {
        tasks,
        latest,
        sink,
        seen,
    }
}

/// The sink behind a switch: aborting a task does not stop a check already past its last await
/// from reporting, so a dropped handle closes the gate first; after that, nothing reaches the sink.
#[derive(Clone)]
struct Gate(Arc<Mutex<Option<HealthSink>>>);

impl Gate {
    fn new(sink: HealthSink) -> Self {
        Self(Arc::new(Mutex::new(Some(sink))))
    }

    fn send(&self, event: HealthEvent) {
        if let Some(sink) = &*self.0.lock().unwrap_or_else(|e| e.into_inner()) {
            sink(event);
        }
    }

    fn close(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// PING latency and DBSIZE; over TLS one DBSIZE round trip through the cache module's client.
pub(crate) async fn probe_redis(
    redis: &crate::workspace::RedisConfig,
) -> Result<RedisProbe, String> {
    if redis.url().scheme() == "redis" {
        return redis_server::probe(redis)
            .await
            .ok_or_else(|| format!("{} does not answer PING within 1 s", redis.redacted()));
    }
    let cache = crate::cache::RedisCache::connect(redis)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let dbsize = cache.dbsize().await.map_err(|e| e.to_string())?;
    Ok(RedisProbe {
        ping_ms: started.elapsed().as_secs_f64() * 1000.0,
        dbsize,
    })
}

/// The checks of one instance, with what they carry from one to the next.
pub struct InstancePoller {
    ws: Arc<Workspace>,
    instance: String,
    store: Option<Arc<Store>>,
    options: PollerOptions,
    state: Hysteresis,
    resources: resources::ResourceSampler,
}

impl InstancePoller {
    pub fn new(
        ws: Arc<Workspace>,
        instance: &str,
        store: Option<Arc<Store>>,
        options: PollerOptions,
    ) -> Self {
        Self {
            ws,
            instance: instance.to_string(),
            store,
            options,
            state: Hysteresis::new(options.up_after, options.down_after),
            resources: resources::ResourceSampler::default(),
        }
    }

    fn config(&self) -> &Instance {
        self.ws
            .instance(&self.instance)
            .expect("pollers are made for the workspace's instances")
    }

    /// Check once: `/health/`, the database file, the group's resources; record the sample.
    pub async fn poll(&mut self) -> InstanceHealth {
        let i = self.config().clone();
        let check = endpoint::check(i.port, self.options.timeout).await;
        let previous = self.state.state();
        let state = self.state.observe(check.ok());
        let mismatches = check
            .reported
            .as_ref()
            .map(|r| endpoint::mismatches(&self.ws, &i, r))
            .unwrap_or_default();
        let database = endpoint::sqlite_path(&self.ws, &i).map(|p| sqlite::probe(&p));
        let group = running::find(&self.ws, self.store.as_deref())
            .into_iter()
            .find(|r| r.instance == i.name);
        let resources = group.and_then(|g| self.resources.sample(g.pgid));
        let health = InstanceHealth {
            instance: i.name.clone(),
            port: i.port,
            state,
            previous,
            check_ok: check.ok(),
            latency_ms: check.latency.as_secs_f64() * 1000.0,
            http_status: check.status,
            error: check.error,
            failure: check.failure,
            reported: check.reported,
            mismatches,
            database,
            resources,
            checked_at: now_millis(),
        };
        if let Some(store) = &self.store {
            let _ = store.record_health_sample(
                &self.ws.file,
                &HealthSample {
                    instance: health.instance.clone(),
                    at: health.checked_at,
                    up: state == HealthState::Up,
                    latency_ms: health.check_ok.then_some(health.latency_ms),
                    cpu: health.resources.as_ref().and_then(|r| r.cpu_percent),
                    rss: health.resources.as_ref().map(|r| r.rss_bytes),
                },
            );
            if state != previous && previous != HealthState::Unknown {
                let (error, port) = (health.error.clone(), health.port);
                let event = match state {
                    HealthState::Up => HistoryEvent::HealthUp { error, port },
                    _ => HistoryEvent::HealthDown { error, port },
                };
                let _ = store.record(&self.ws.file, Some(&health.instance), &event);
            }
        }
        health
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checks_slow_down_unfocused_and_all_but_stop_hidden() {
        let options = PollerOptions::default();
        assert_eq!(options.interval_for(Seen::Focused), Duration::from_secs(2));
        assert_eq!(
            options.interval_for(Seen::Unfocused),
            Duration::from_secs(10)
        );
        assert_eq!(options.interval_for(Seen::Hidden), Duration::from_secs(60));
        // Never faster out of sight than in it, whatever the options say.
        let odd = PollerOptions {
            interval: Duration::from_secs(5),
            unfocused_interval: Duration::from_secs(1),
            hidden_interval: Duration::from_secs(3),
            ..options
        };
        assert_eq!(odd.interval_for(Seen::Unfocused), Duration::from_secs(5));
        assert_eq!(odd.interval_for(Seen::Hidden), Duration::from_secs(5));
    }

    fn quick() -> PollerOptions {
        PollerOptions {
            interval: Duration::from_millis(20),
            unfocused_interval: Duration::from_millis(200),
            hidden_interval: Duration::from_secs(600),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_window_shown_again_is_checked_at_once() {
        let (seen, mut watching) = tokio::sync::watch::channel(Seen::Hidden);
        let options = quick();
        let waiting = tokio::spawn(async move { pause(&mut watching, &options).await });
        tokio::task::yield_now().await;
        assert!(
            !waiting.is_finished(),
            "hidden: the next check is ten minutes away"
        );
        seen.send_replace(Seen::Focused);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("shown: the check is due now")
            .unwrap();
    }

    #[tokio::test]
    async fn a_window_that_loses_the_focus_waits_the_longer_interval() {
        let (seen, mut watching) = tokio::sync::watch::channel(Seen::Focused);
        let options = quick();
        let started = std::time::Instant::now();
        seen.send_replace(Seen::Unfocused);
        pause(&mut watching, &options).await;
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "{:?}",
            started.elapsed()
        );
    }
}
