//! Runs the instances: each in a process group of its own, ready when `/health/` answers, stopped
//! with SIGTERM then SIGKILL to the whole group, its output in a bounded ring and a rotated log file.
//! What it starts is recorded in the store, so a panel restarted after a crash finds it again.

mod adopt;
mod companion;
mod door;
mod error;
mod exit;
pub mod group;
pub mod lock;
pub mod logs;

mod output;
mod preflight;
pub mod readiness;
mod start;
mod state;
mod stop;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use process_wrap::tokio::{ChildWrapper, CommandWrap, ProcessGroup};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;

pub use adopt::Sight;
pub use companion::COMPANION_READY_AFTER;
pub use error::SupervisorError;
pub use logs::{LogLine, Stream};

use crate::generate::env_file;
use crate::platform::{self, pgid_of};
use crate::store::{HistoryEvent, ProcessRecord, Store};
use crate::workspace::{Instance, RestartPolicy, Workspace};
use logs::LogFile;

use crate::services::{postgres, redis_server};
pub use crate::services::{POSTGRES_SERVICE, REDIS_SERVICE};

use group::GroupIdentity;
use state::Slot;
pub use state::{
    EventSink, InstanceState, LogSubscriber, MigrateFirst, RunStatus, StartOptions, StopHow,
    StopReport, SupervisorEvent,
};

const OUTPUT_BATCH: Duration = Duration::from_millis(100);
const OUTPUT_BATCH_LINES: usize = 2000;
const LAST_LINES_ON_CRASH: usize = 20;

struct Inner {
    ws: Workspace,
    store: Option<Arc<Store>>,
    sink: EventSink,
    slots: Mutex<HashMap<String, Slot>>,
    /// Replaced by a supervisor of a reloaded kovan.toml: silent, restarts nothing.
    retired: std::sync::atomic::AtomicBool,
    /// Who this supervisor is, in the words a stop is attributed with ("kovan stop, PID 4242").
    actor: Mutex<String>,
    /// Built to look (`kovan status`, a window while another program supervises): it reads the
    /// store and never writes it, watches nothing, and refuses every start and stop.
    observer: bool,
    /// Who supervises the workspace while this one only looks, as its refusals name it.
    supervised_by: Mutex<String>,
    /// An observer's: the store's rows and their processes when it was built (`look_again`).
    sight: Mutex<adopt::Sight>,
    /// Instances adopted from their processes' markers, the store having no record of them.
    found_by_markers: Mutex<Vec<String>>,
}

/// Starts, watches and stops the workspace's instances (and its managed Redis).
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

impl Supervisor {
    /// A supervisor for `ws`. Groups recorded in the store by an earlier panel that are still the
    /// same processes (PID, start time and command line all match) are adopted as running.
    pub fn new(ws: Workspace, store: Option<Arc<Store>>, sink: EventSink) -> Self {
        Self::build(ws, store, sink, false)
    }

    /// A supervisor that only looks: the recorded groups that are still the same processes show
    /// as running, and nothing is written to the store (a stale record is left to the supervisor
    /// that owns it). For `kovan status` beside a running `kovan up` or window. Every start and
    /// stop is refused with [`SupervisorError::Observing`], naming who holds the workspace's lock.
    pub fn observe(ws: Workspace, store: Option<Arc<Store>>) -> Self {
        Self::build(ws, store, Arc::new(|_| {}), true)
    }

    /// Whether this supervisor only looks ([`Supervisor::observe`]).
    pub fn is_observer(&self) -> bool {
        self.inner.observer
    }

    /// Who supervises the workspace now, for an observer's refusals ("kovan up, PID 4242").
    pub fn set_supervised_by(&self, by: &str) {
        *self
            .inner
            .supervised_by
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = by.to_string();
    }

    /// An observer starts and stops nothing: every such call begins here. The one check for the
    /// window's buttons, its tray and the CLI alike.
    fn refuse_if_observer(&self) -> Result<(), SupervisorError> {
        if !self.inner.observer {
            return Ok(());
        }
        Err(SupervisorError::Observing {
            by: self
                .inner
                .supervised_by
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        })
    }

    fn build(ws: Workspace, store: Option<Arc<Store>>, sink: EventSink, observer: bool) -> Self {
        let mut slots = HashMap::new();
        let capacity = ws.supervisor.log_lines;
        for i in &ws.instances {
            slots.insert(i.name.clone(), Slot::new(&i.name, i.port, capacity));
        }
        // A site's front door runs in a slot of the site's name (no instance has it).
        for site in &ws.sites {
            slots.insert(
                site.name.clone(),
                Slot::new(&site.name, site.front_door, capacity),
            );
        }
        // A companion has no port: its slot's is 0.
        for p in &ws.processes {
            slots.insert(p.name.clone(), Slot::new(&p.name, 0, capacity));
        }
        if let Some(r) = &ws.redis {
            let port = r.url().port().unwrap_or(6379);
            slots.insert(
                REDIS_SERVICE.into(),
                Slot::new(REDIS_SERVICE, port, capacity),
            );
        }
        if let Some(pg) = ws.postgres.as_ref().filter(|p| p.managed) {
            slots.insert(
                POSTGRES_SERVICE.into(),
                Slot::new(POSTGRES_SERVICE, pg.port, capacity),
            );
        }
        let ws_file = ws.file.clone();
        let sup = Self {
            inner: Arc::new(Inner {
                ws,
                store,
                sink,
                slots: Mutex::new(slots),
                retired: std::sync::atomic::AtomicBool::new(false),
                actor: Mutex::new(format!("Kovan, PID {}", std::process::id())),
                observer,
                supervised_by: Mutex::new(if observer {
                    lock::holder(&ws_file).unwrap_or_else(|| "another Kovan".into())
                } else {
                    String::new()
                }),
                sight: Mutex::new(adopt::Sight::default()),
                found_by_markers: Mutex::new(Vec::new()),
            }),
        };
        sup.adopt_recorded();
        sup
    }

    pub fn workspace(&self) -> &Workspace {
        &self.inner.ws
    }

    pub fn states(&self) -> Vec<InstanceState> {
        let slots = self.slots();
        let mut order: Vec<&str> = self
            .inner
            .ws
            .instances
            .iter()
            .map(|i| i.name.as_str())
            .chain(self.inner.ws.sites.iter().map(|s| s.name.as_str()))
            .chain(self.inner.ws.processes.iter().map(|p| p.name.as_str()))
            .collect();
        order.push(REDIS_SERVICE);
        order.push(POSTGRES_SERVICE);
        order
            .iter()
            .filter_map(|n| slots.get(*n).map(|s| s.state.clone()))
            .collect()
    }

    pub fn state(&self, instance: &str) -> Option<InstanceState> {
        self.slots().get(instance).map(|s| s.state.clone())
    }

    /// The ring's lines now, then every new batch to `subscriber` (no line lost or repeated between).
    pub fn subscribe_logs(
        &self,
        instance: &str,
        subscriber: LogSubscriber,
    ) -> Result<Vec<LogLine>, SupervisorError> {
        let mut slots = self.slots();
        let slot = slots.get_mut(instance).ok_or_else(|| unknown(instance))?;
        slot.subscribers.push(subscriber);
        Ok(slot.ring.snapshot())
    }

    pub fn logs(&self, instance: &str) -> Result<Vec<LogLine>, SupervisorError> {
        self.slots()
            .get(instance)
            .map(|s| s.ring.snapshot())
            .ok_or_else(|| unknown(instance))
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.inner.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn instance(&self, name: &str) -> Result<&Instance, SupervisorError> {
        self.inner.ws.instance(name).ok_or_else(|| unknown(name))
    }

    /// Hand over to a supervisor of a reloaded workspace, which adopts the running groups from the
    /// store; this one stops reporting and restarting.
    pub fn retire(&self) {
        self.inner
            .retired
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Name this supervisor's program ("kovan stop", "the Kovan window"): what it stops is said
    /// to be stopped by "{what}, PID {pid}".
    pub fn set_actor(&self, what: &str) {
        *self.inner.actor.lock().unwrap_or_else(|e| e.into_inner()) =
            format!("{what}, PID {}", std::process::id());
    }

    fn actor(&self) -> String {
        self.inner
            .actor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Who stopped `instance` from outside (another Kovan), when that is how its last run ended.
    pub fn stopped_by(&self, instance: &str) -> Option<String> {
        self.slots().get(instance)?.stopped_by.clone()
    }

    fn retired(&self) -> bool {
        self.inner.retired.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn publish(&self, instance: &str) {
        if self.retired() {
            return;
        }
        if let Some(state) = self.state(instance) {
            (self.inner.sink)(SupervisorEvent::Status(state));
        }
    }

    fn update(&self, instance: &str, run: Option<u64>, f: impl FnOnce(&mut InstanceState)) -> bool {
        let changed = {
            let mut slots = self.slots();
            match slots.get_mut(instance) {
                Some(slot) if run.is_none_or(|r| r == slot.run) => {
                    f(&mut slot.state);
                    true
                }
                _ => false,
            }
        };
        if changed {
            self.publish(instance);
        }
        changed
    }

    /// The store to write to; None for an observer.
    fn writable_store(&self) -> Option<&Arc<Store>> {
        self.inner.store.as_ref().filter(|_| !self.inner.observer)
    }

    fn record(&self, instance: &str, event: HistoryEvent) {
        if let Some(store) = self.writable_store() {
            if let Err(e) = store.record(&self.inner.ws.file, Some(instance), &event) {
                tracing::warn!("{instance}: the event could not be kept in the history: {e}");
            }
        }
    }

    /// The group Kovan started for `leader`, named by the leader's start time and the markers.
    fn identity(&self, instance: &str, leader: i32) -> GroupIdentity {
        GroupIdentity::of_leader(leader, &self.workspace_marker(), instance)
    }

    /// The value of `KOVAN_WORKSPACE` in every process this supervisor starts.
    fn workspace_marker(&self) -> String {
        self.inner.ws.file.display().to_string()
    }

    fn note(&self, instance: &str, text: &str) {
        self.push_lines(instance, Stream::Kovan, &[text.to_string()]);
    }
}

fn unknown(instance: &str) -> SupervisorError {
    SupervisorError::UnknownInstance {
        instance: instance.into(),
    }
}

fn store_now() -> i64 {
    crate::store::now_millis()
}
