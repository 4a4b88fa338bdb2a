//! Runs the instances: each in a process group of its own, ready when `/health/` answers, stopped
//! with SIGTERM then SIGKILL to the whole group, its output in a bounded ring and a rotated log file.
//! What it starts is recorded in the store, so a panel restarted after a crash finds it again.

mod error;
pub mod logs;
pub mod managed_redis;
pub mod readiness;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use process_wrap::tokio::{ChildWrapper, CommandWrap, ProcessGroup};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;
use ts_rs::TS;

pub use error::SupervisorError;
pub use logs::{LogLine, Stream};

use crate::generate::env_file;
use crate::process_table::{self, pgid_of};
use crate::store::{ProcessRecord, Store};
use crate::workspace::{Instance, RestartPolicy, Workspace};
use logs::{LogFile, LogRing};

/// The name the managed Redis server goes by; not a valid instance name, so it cannot collide.
pub const REDIS_SERVICE: &str = "redis-server";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum RunStatus {
    Stopped,
    Starting,
    Running,
    Stopping,
    Crashed,
    FailedToStart,
}

/// One instance as the card shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct InstanceState {
    pub instance: String,
    pub status: RunStatus,
    pub pid: Option<i32>,
    /// The port it runs on (kovan.toml's, or the free one the user chose instead).
    pub port: u16,
    /// Unix milliseconds.
    #[ts(type = "number | null")]
    pub started_at: Option<i64>,
    /// Automatic restarts since the user last started it.
    pub restarts: u32,
    /// How it stopped, why it crashed or failed to start.
    pub detail: Option<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// The last lines it printed, kept with a crash.
    pub last_lines: Vec<String>,
    /// Found running after the panel restarted (its output before that is not in the ring).
    pub adopted: bool,
}

impl InstanceState {
    fn stopped(instance: &str, port: u16) -> Self {
        Self {
            instance: instance.to_string(),
            status: RunStatus::Stopped,
            pid: None,
            port,
            started_at: None,
            restarts: 0,
            detail: None,
            exit_code: None,
            signal: None,
            last_lines: Vec::new(),
            adopted: false,
        }
    }
}

/// What the supervisor reports as it works.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SupervisorEvent {
    Status(InstanceState),
    Log {
        instance: String,
        lines: Vec<LogLine>,
    },
}

pub type EventSink = Arc<dyn Fn(SupervisorEvent) + Send + Sync>;
/// Receives an instance's new log lines; returns false to unsubscribe.
pub type LogSubscriber = Box<dyn FnMut(&[LogLine]) -> bool + Send>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StopReport {
    pub instance: String,
    /// "terminated" (exited after SIGTERM), "killed" (SIGKILL after the grace period) or "not running".
    pub how: String,
    #[ts(type = "number")]
    pub millis: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct StartOptions {
    /// Run on this port instead of kovan.toml's (the "next free port" choice after a conflict).
    pub port: Option<u16>,
}

const OUTPUT_BATCH: Duration = Duration::from_millis(100);
const OUTPUT_BATCH_LINES: usize = 2000;
const LAST_LINES_ON_CRASH: usize = 20;

struct Slot {
    state: InstanceState,
    ring: LogRing,
    subscribers: Vec<LogSubscriber>,
    pgid: Option<i32>,
    /// Bumped on every start, so a task from an earlier run cannot overwrite a newer state.
    run: u64,
    stop_requested: bool,
}

struct Inner {
    ws: Workspace,
    store: Option<Arc<Store>>,
    sink: EventSink,
    slots: Mutex<HashMap<String, Slot>>,
    /// Replaced by a supervisor of a reloaded kovan.toml: silent, restarts nothing.
    retired: std::sync::atomic::AtomicBool,
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
        let mut slots = HashMap::new();
        let capacity = ws.supervisor.log_lines;
        for i in &ws.instances {
            slots.insert(i.name.clone(), Slot::new(&i.name, i.port, capacity));
        }
        if let Some(r) = &ws.redis {
            let port = r.url().port().unwrap_or(6379);
            slots.insert(
                REDIS_SERVICE.into(),
                Slot::new(REDIS_SERVICE, port, capacity),
            );
        }
        let sup = Self {
            inner: Arc::new(Inner {
                ws,
                store,
                sink,
                slots: Mutex::new(slots),
                retired: std::sync::atomic::AtomicBool::new(false),
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
            .collect();
        order.push(REDIS_SERVICE);
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

    fn record_event(&self, instance: &str, kind: &str, detail: serde_json::Value) {
        if let Some(store) = &self.inner.store {
            let _ = store.record_event(&self.inner.ws.file, Some(instance), kind, &detail);
        }
    }

    fn note(&self, instance: &str, text: &str) {
        self.push_lines(instance, Stream::Kovan, &[text.to_string()]);
    }

    // ---- checks before starting ----

    /// Why `instance` cannot start now, checked without starting anything.
    pub fn preflight(&self, instance: &str, options: StartOptions) -> Result<(), SupervisorError> {
        let i = self.instance(instance)?;
        if let Some(state) = self.state(instance) {
            if matches!(
                state.status,
                RunStatus::Starting | RunStatus::Running | RunStatus::Stopping
            ) {
                return Err(SupervisorError::AlreadyRunning {
                    instance: instance.into(),
                    state: format!("{:?}", state.status).to_lowercase(),
                });
            }
        }
        let root = &self.inner.ws.project.django_root;
        if i.command.is_none() {
            let python = self.python_path();
            if python.components().count() > 1 && !python.is_file() {
                return Err(SupervisorError::Missing {
                    instance: instance.into(),
                    what: "the Python interpreter".into(),
                    path: python.display().to_string(),
                    fix: "Create the virtualenv (python3 -m venv .venv and install the requirements), or set [project] python in kovan.toml.".into(),
                });
            }
            if !root.join("manage.py").is_file() {
                return Err(SupervisorError::Missing {
                    instance: instance.into(),
                    what: "manage.py".into(),
                    path: root.join("manage.py").display().to_string(),
                    fix: "Set [project] django_root to the folder with manage.py.".into(),
                });
            }
        }
        let env = root.join(&i.names.env_file);
        if !env.is_file() {
            return Err(SupervisorError::Missing {
                instance: instance.into(),
                what: "its env file".into(),
                path: env.display().to_string(),
                fix: "Generate the config first (Config generator, or kovan gen --write).".into(),
            });
        }
        let port = options.port.unwrap_or(i.port);
        if !process_table::port_is_free(port) {
            return Err(self.port_conflict(instance, port));
        }
        Ok(())
    }

    fn port_conflict(&self, instance: &str, port: u16) -> SupervisorError {
        let owner = process_table::port_owner(port);
        let root = &self.inner.ws.project.django_root;
        // A lost instance: a process of this workspace's Django root serving this instance's port.
        let lost_instance = owner.as_ref().is_some_and(|o| {
            let pgid = pgid_of(o.pid);
            let leader = pgid
                .and_then(process_table::cmdline)
                .map(|a| a.join(" "))
                .unwrap_or_default();
            process_table::cwd(o.pid).as_deref() == Some(root.as_path())
                && (o.command.contains(&format!(":{port}")) || leader.contains(&format!(":{port}")))
        });
        let taken: Vec<u16> = self.inner.ws.instances.iter().map(|i| i.port).collect();
        SupervisorError::PortInUse {
            instance: instance.into(),
            port,
            owner,
            lost_instance,
            next_free: port
                .checked_add(1)
                .and_then(|p| process_table::next_free_port(p, &taken)),
        }
    }

    /// Stop the process that holds `instance`'s port, only when it is that instance, left running
    /// by an earlier Kovan and no longer tracked.
    pub async fn stop_lost_instance(&self, instance: &str) -> Result<StopReport, SupervisorError> {
        let port = self.instance(instance)?.port;
        match self.port_conflict(instance, port) {
            SupervisorError::PortInUse {
                lost_instance: true,
                owner: Some(owner),
                ..
            } => {
                let pgid = pgid_of(owner.pid).unwrap_or(owner.pid);
                let report = self.stop_group(instance, pgid, port).await?;
                if let Some(store) = &self.inner.store {
                    let _ = store.forget_process(&self.inner.ws.file, instance);
                }
                Ok(report)
            }
            other => Err(other),
        }
    }

    fn python_path(&self) -> PathBuf {
        let python = PathBuf::from(self.inner.ws.python());
        if python.components().count() > 1 && python.is_relative() {
            self.inner.ws.project.django_root.join(python)
        } else {
            python
        }
    }

    // ---- starting ----

    /// Start one instance and wait until it is ready (or has failed).
    pub async fn start(
        &self,
        instance: &str,
        options: StartOptions,
    ) -> Result<InstanceState, SupervisorError> {
        self.preflight(instance, options)?;
        if self.instance(instance)?.cache == crate::workspace::CacheBackend::Redis {
            self.ensure_redis().await?;
        }
        self.reset_restarts(instance);
        self.spawn_and_wait(instance, options).await
    }

    fn reset_restarts(&self, instance: &str) {
        if let Some(slot) = self.slots().get_mut(instance) {
            slot.state.restarts = 0;
        }
    }

    /// Start a preset's members in order, after checking all of them: if any check fails, none starts.
    pub async fn start_preset(&self, preset: &str) -> Result<Vec<InstanceState>, SupervisorError> {
        let members = self
            .inner
            .ws
            .presets
            .iter()
            .find(|p| p.name == preset)
            .map(|p| p.instances.clone())
            .ok_or_else(|| SupervisorError::UnknownPreset {
                preset: preset.into(),
            })?;
        self.start_many(&members).await
    }

    /// Start several instances in order, all checked first.
    pub async fn start_many(
        &self,
        members: &[String],
    ) -> Result<Vec<InstanceState>, SupervisorError> {
        let pending: Vec<&String> = members
            .iter()
            .filter(|m| {
                !self
                    .state(m)
                    .is_some_and(|s| matches!(s.status, RunStatus::Running | RunStatus::Starting))
            })
            .collect();
        let mut problems: Vec<SupervisorError> = pending
            .iter()
            .filter_map(|m| self.preflight(m, StartOptions::default()).err())
            .collect();
        let needs_redis = pending.iter().any(|m| {
            self.inner
                .ws
                .instance(m)
                .is_some_and(|i| i.cache == crate::workspace::CacheBackend::Redis)
        });
        if needs_redis {
            if let Err(e) = self.redis_startable().await {
                problems.push(e);
            }
        }
        if !problems.is_empty() {
            let message = format!(
                "Nothing was started: {}",
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            return Err(SupervisorError::Preflight { problems, message });
        }
        if needs_redis {
            self.ensure_redis().await?;
        }
        let mut states = Vec::new();
        for m in pending {
            self.reset_restarts(m);
            states.push(self.spawn_and_wait(m, StartOptions::default()).await?);
        }
        Ok(states)
    }

    async fn redis_startable(&self) -> Result<(), SupervisorError> {
        let Some(redis) = &self.inner.ws.redis else {
            return Ok(());
        };
        if managed_redis::answers(redis).await
            || self
                .state(REDIS_SERVICE)
                .is_some_and(|s| s.status == RunStatus::Running)
        {
            return Ok(());
        }
        let fail = |why: String| SupervisorError::Redis {
            url: redis.redacted(),
            why,
        };
        if !redis.managed {
            return Err(fail(
                "kovan.toml says managed = false: start it, or set managed = true so Kovan does."
                    .into(),
            ));
        }
        managed_redis::can_manage(redis).map_err(fail)?;
        managed_redis::server_binary().map_err(fail)?;
        Ok(())
    }

    /// Make sure the workspace's Redis answers, starting it when kovan.toml lets Kovan manage it.
    pub async fn ensure_redis(&self) -> Result<(), SupervisorError> {
        let Some(redis) = self.inner.ws.redis.clone() else {
            return Ok(());
        };
        if managed_redis::answers(&redis).await {
            return Ok(());
        }
        self.redis_startable().await?;
        let port = managed_redis::can_manage(&redis).map_err(|why| SupervisorError::Redis {
            url: redis.redacted(),
            why,
        })?;
        let binary = managed_redis::server_binary().map_err(|why| SupervisorError::Redis {
            url: redis.redacted(),
            why,
        })?;
        let dir = crate::store::data_dir().join("redis");
        std::fs::create_dir_all(&dir).map_err(|e| SupervisorError::Spawn {
            instance: REDIS_SERVICE.into(),
            message: format!("{}: {e}", dir.display()),
        })?;
        let mut argv = vec![binary.display().to_string()];
        argv.extend(managed_redis::server_args(port, &dir));
        let run = self.begin_run(REDIS_SERVICE, port);
        let pgid = self.spawn_group(REDIS_SERVICE, run, argv, &dir, Vec::new(), port, None)?;
        if managed_redis::wait_until_up(port, Duration::from_secs(10)).await {
            self.update(REDIS_SERVICE, Some(run), |s| s.status = RunStatus::Running);
            Ok(())
        } else {
            let _ = self.stop_group(REDIS_SERVICE, pgid, port).await;
            self.update(REDIS_SERVICE, Some(run), |s| {
                s.status = RunStatus::FailedToStart;
                s.detail = Some("redis-server did not accept connections within 10 s".into());
            });
            Err(SupervisorError::Redis {
                url: redis.redacted(),
                why: "the redis-server Kovan started did not accept connections within 10 s; see its log.".into(),
            })
        }
    }

    fn begin_run(&self, instance: &str, port: u16) -> u64 {
        let run = {
            let mut slots = self.slots();
            let slot = slots
                .get_mut(instance)
                .expect("slot exists for every instance");
            slot.run += 1;
            slot.stop_requested = false;
            let restarts = slot.state.restarts;
            slot.state = InstanceState::stopped(instance, port);
            slot.state.status = RunStatus::Starting;
            slot.state.restarts = restarts;
            slot.run
        };
        self.publish(instance);
        run
    }

    fn command_for(&self, i: &Instance, port: u16) -> Vec<String> {
        match &i.command {
            Some(cmd) => {
                let filled = cmd
                    .replace("{port}", &port.to_string())
                    .replace("{python}", &self.python_path().display().to_string());
                // exec: the server itself leads the group and its exit is what wait() sees.
                vec!["/bin/sh".into(), "-c".into(), format!("exec {filled}")]
            }
            None => vec![
                self.python_path().display().to_string(),
                "manage.py".into(),
                "runserver".into(),
                format!("127.0.0.1:{port}"),
            ],
        }
    }

    fn instance_env(&self, i: &Instance, port: u16) -> Vec<(String, String)> {
        let root = &self.inner.ws.project.django_root;
        let mut env: Vec<(String, String)> = std::fs::read_to_string(root.join(&i.names.env_file))
            .map(|t| env_file::parse(&t).into_iter().collect())
            .unwrap_or_default();
        env.retain(|(k, _)| k != "DJANGO_SERVER_PORT");
        env.extend([
            ("DJANGO_SERVER_INSTANCE".into(), i.name.clone()),
            ("DJANGO_SERVER_PORT".into(), port.to_string()),
            (
                "DJANGO_SETTINGS_MODULE".into(),
                crate::generate::settings_module(&self.inner.ws),
            ),
            // Kovan writes logs/{name}.log itself; the generated settings then skip their file handler.
            ("KOVAN_SUPERVISED".into(), "1".into()),
            // Lines arrive as printed, not in 8 kB blocks.
            ("PYTHONUNBUFFERED".into(), "1".into()),
        ]);
        env
    }

    async fn spawn_and_wait(
        &self,
        instance: &str,
        options: StartOptions,
    ) -> Result<InstanceState, SupervisorError> {
        let i = self.instance(instance)?.clone();
        let port = options.port.unwrap_or(i.port);
        let run = self.begin_run(instance, port);
        let argv = self.command_for(&i, port);
        let env = self.instance_env(&i, port);
        let log_file = self.inner.ws.project.django_root.join(&i.names.log_file);
        let root = self.inner.ws.project.django_root.clone();
        let (exit_tx, mut exit_rx) = watch::channel(false);
        let pgid = match self.spawn_group(
            instance,
            run,
            argv,
            &root,
            env,
            port,
            Some((log_file, exit_tx)),
        ) {
            Ok(pgid) => pgid,
            Err(e) => {
                self.update(instance, Some(run), |s| {
                    s.status = RunStatus::FailedToStart;
                    s.detail = Some(e.to_string());
                });
                return Err(e);
            }
        };
        let deadline = Instant::now() + self.inner.ws.supervisor.start_timeout;
        loop {
            if *exit_rx.borrow() {
                // The exit watcher has already recorded the crash.
                return Ok(self.state(instance).expect("slot"));
            }
            if readiness::is_ready(port).await {
                self.update(instance, Some(run), |s| {
                    if s.status == RunStatus::Starting {
                        s.status = RunStatus::Running;
                    }
                });
                let started = self
                    .state(instance)
                    .and_then(|s| s.started_at)
                    .unwrap_or_else(store_now);
                self.record_process(instance, pgid, port, started, String::new());
                self.record_event(
                    instance,
                    "start",
                    serde_json::json!({ "port": port, "pid": pgid }),
                );
                return Ok(self.state(instance).expect("slot"));
            }
            if Instant::now() >= deadline {
                let secs = self.inner.ws.supervisor.start_timeout.as_secs();
                let _ = self.stop_group(instance, pgid, port).await;
                let last = self.last_lines(instance);
                self.update(instance, Some(run), |s| {
                    s.status = RunStatus::FailedToStart;
                    s.detail = Some(format!(
                        "/health/ did not answer 200 on port {port} within {secs} s"
                    ));
                    s.last_lines = last;
                    s.pid = None;
                });
                self.forget(instance);
                self.record_event(
                    instance,
                    "failed_to_start",
                    serde_json::json!({ "port": port }),
                );
                return Ok(self.state(instance).expect("slot"));
            }
            tokio::select! {
                _ = exit_rx.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(150)) => {}
            }
        }
    }

    /// Spawn `argv` as the leader of a new process group, pump its output and watch its exit.
    #[allow(clippy::too_many_arguments)]
    fn spawn_group(
        &self,
        instance: &str,
        run: u64,
        argv: Vec<String>,
        cwd: &std::path::Path,
        env: Vec<(String, String)>,
        port: u16,
        log_and_exit: Option<(PathBuf, watch::Sender<bool>)>,
    ) -> Result<i32, SupervisorError> {
        let spawn_err = |message: String| SupervisorError::Spawn {
            instance: instance.into(),
            message,
        };
        let mut command = CommandWrap::with_new(&argv[0], |c| {
            c.args(&argv[1..])
                .current_dir(cwd)
                .envs(env)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        });
        command.wrap(ProcessGroup::leader());
        let mut child = command
            .spawn()
            .map_err(|e| spawn_err(format!("{}: {e}", argv[0])))?;
        let pid = child
            .id()
            .ok_or_else(|| spawn_err("exited before its PID could be read".into()))?
            as i32;
        let started = store_now();
        {
            let mut slots = self.slots();
            let slot = slots.get_mut(instance).expect("slot");
            slot.pgid = Some(pid);
            slot.state.pid = Some(pid);
            slot.state.started_at = Some(started);
        }
        self.publish(instance);
        self.record_process(instance, pid, port, started, argv.join(" "));
        self.note(
            instance,
            &format!("kovan: started {} (PID {pid}, port {port})", argv.join(" ")),
        );

        let (log_file, exit_tx) = match log_and_exit {
            Some((path, tx)) => (LogFile::open(path).ok(), Some(tx)),
            None => (None, None),
        };
        let log_file = Arc::new(Mutex::new(log_file));
        let stdout = child.stdout().take();
        let stderr = child.stderr().take();
        let pumps = [
            stdout.map(|s| {
                tokio::spawn(self.clone().pump(
                    instance.to_string(),
                    Stream::Stdout,
                    s,
                    log_file.clone(),
                ))
            }),
            stderr.map(|s| {
                tokio::spawn(self.clone().pump(
                    instance.to_string(),
                    Stream::Stderr,
                    s,
                    log_file.clone(),
                ))
            }),
        ];
        tokio::spawn(self.clone().watch_exit(
            instance.to_string(),
            run,
            child,
            pid,
            port,
            pumps,
            exit_tx,
        ));
        Ok(pid)
    }

    /// Read one output stream line by line into the ring, the log file and batched events.
    async fn pump(
        self,
        instance: String,
        stream: Stream,
        pipe: impl AsyncRead + Unpin,
        log_file: Arc<Mutex<Option<LogFile>>>,
    ) {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        let mut batch: Vec<String> = Vec::new();
        let mut flush_at = tokio::time::Instant::now() + OUTPUT_BATCH;
        loop {
            tokio::select! {
                read = reader.read_until(b'\n', &mut buf) => {
                    match read {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let text = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
                            buf.clear();
                            if let Some(f) = log_file.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                                let _ = f.write_line(&text);
                            }
                            batch.push(text);
                            if batch.len() >= OUTPUT_BATCH_LINES {
                                self.push_lines(&instance, stream, &std::mem::take(&mut batch));
                                flush_at = tokio::time::Instant::now() + OUTPUT_BATCH;
                            }
                        }
                    }
                }
                _ = tokio::time::sleep_until(flush_at), if !batch.is_empty() => {
                    self.push_lines(&instance, stream, &std::mem::take(&mut batch));
                    flush_at = tokio::time::Instant::now() + OUTPUT_BATCH;
                }
            }
        }
        if !batch.is_empty() {
            self.push_lines(&instance, stream, &batch);
        }
    }

    fn push_lines(&self, instance: &str, stream: Stream, texts: &[String]) {
        let lines = {
            let mut slots = self.slots();
            let Some(slot) = slots.get_mut(instance) else {
                return;
            };
            let lines: Vec<LogLine> = texts.iter().map(|t| slot.ring.push(stream, t)).collect();
            slot.subscribers.retain_mut(|s| s(&lines));
            lines
        };
        if self.retired() {
            return;
        }
        (self.inner.sink)(SupervisorEvent::Log {
            instance: instance.to_string(),
            lines,
        });
    }

    fn last_lines(&self, instance: &str) -> Vec<String> {
        self.slots()
            .get(instance)
            .map(|s| s.ring.last(LAST_LINES_ON_CRASH))
            .unwrap_or_default()
    }

    /// Decide the exit by wait(), never by the pipes closing; then clean up the rest of the group.
    #[allow(clippy::too_many_arguments)]
    async fn watch_exit(
        self,
        instance: String,
        run: u64,
        mut child: Box<dyn ChildWrapper>,
        pgid: i32,
        port: u16,
        pumps: [Option<tokio::task::JoinHandle<()>>; 2],
        exit_tx: Option<watch::Sender<bool>>,
    ) {
        let status = child.wait().await;
        let requested = self
            .slots()
            .get(&instance)
            .is_some_and(|s| s.run == run && s.stop_requested);
        if !requested {
            // The leader died on its own: whatever it left in its group must not keep the port.
            process_table::send_signal_to_group(pgid, libc::SIGKILL);
        }
        for pump in pumps.into_iter().flatten() {
            // Output still buffered in the pipes belongs in the log; do not wait on stray writers.
            let _ = tokio::time::timeout(Duration::from_secs(2), pump).await;
        }
        if requested {
            return; // stop() reports how it stopped.
        }
        use std::os::unix::process::ExitStatusExt;
        let (code, signal) = match &status {
            Ok(s) => (s.code(), s.signal()),
            Err(_) => (None, None),
        };
        let what = match (code, signal) {
            (Some(c), _) => format!("exited with code {c}"),
            (_, Some(sig)) => format!("was killed by signal {sig}"),
            _ => "exited".to_string(),
        };
        self.note(&instance, &format!("kovan: {instance} {what}"));
        let last = self.last_lines(&instance);
        let was_starting = self
            .state(&instance)
            .is_some_and(|s| s.status == RunStatus::Starting);
        let updated = self.update(&instance, Some(run), |s| {
            s.status = if was_starting {
                RunStatus::FailedToStart
            } else {
                RunStatus::Crashed
            };
            s.detail = Some(format!("{instance} {what}"));
            s.exit_code = code;
            s.signal = signal;
            s.last_lines = last;
            s.pid = None;
        });
        if let Some(tx) = exit_tx {
            let _ = tx.send(true);
        }
        if !updated || self.retired() {
            return;
        }
        self.forget(&instance);
        self.record_event(
            &instance,
            "crash",
            serde_json::json!({ "code": code, "signal": signal, "port": port }),
        );
        self.maybe_restart(&instance, run, port).await;
    }

    async fn maybe_restart(&self, instance: &str, run: u64, port: u16) {
        let Some(i) = self.inner.ws.instance(instance).cloned() else {
            return;
        };
        let restarts = self.state(instance).map_or(0, |s| s.restarts);
        if i.restart != RestartPolicy::OnFailure || restarts >= i.max_restarts || self.retired() {
            return;
        }
        let backoff = Duration::from_secs(1u64 << restarts.min(5));
        self.note(
            instance,
            &format!(
                "kovan: restarting in {} s (try {} of {})",
                backoff.as_secs(),
                restarts + 1,
                i.max_restarts
            ),
        );
        tokio::time::sleep(backoff).await;
        // The user may have started or stopped it meanwhile.
        let still = !self.retired()
            && self.slots().get(instance).is_some_and(|s| {
                s.run == run
                    && matches!(
                        s.state.status,
                        RunStatus::Crashed | RunStatus::FailedToStart
                    )
            });
        if !still {
            return;
        }
        if let Some(slot) = self.slots().get_mut(instance) {
            slot.state.restarts = restarts + 1;
        }
        self.record_event(
            instance,
            "restart",
            serde_json::json!({ "try": restarts + 1 }),
        );
        let sup = self.clone();
        let name = instance.to_string();
        // A fresh task: a restart's own crash must not nest inside this one.
        tokio::spawn(async move {
            let _ = sup
                .spawn_and_wait(&name, StartOptions { port: Some(port) })
                .await;
        });
    }

    /// Remember the group in the store. Called at spawn, and again once ready: by then the program
    /// has exec'd (through shims such as pyenv's), so /proc shows the command line recovery compares.
    fn record_process(
        &self,
        instance: &str,
        pid: i32,
        port: u16,
        started_ms: i64,
        fallback: String,
    ) {
        let (Some(store), Some(start_time)) = (&self.inner.store, process_table::start_time(pid))
        else {
            return;
        };
        let cmdline = process_table::cmdline(pid)
            .map(|a| a.join(" "))
            .unwrap_or(fallback);
        let _ = store.record_process(
            &self.inner.ws.file,
            &ProcessRecord {
                instance: instance.into(),
                pid,
                pgid: pid,
                start_time,
                cmdline,
                port,
                started_at: started_ms / 1000,
            },
        );
    }

    fn forget(&self, instance: &str) {
        if let Some(store) = &self.inner.store {
            let _ = store.forget_process(&self.inner.ws.file, instance);
        }
    }

    // ---- stopping ----

    /// SIGTERM to the instance's group, SIGKILL after the grace period; stopped means the group is
    /// empty and the port is free.
    pub async fn stop(&self, instance: &str) -> Result<StopReport, SupervisorError> {
        let (pgid, port) = {
            let mut slots = self.slots();
            let slot = slots.get_mut(instance).ok_or_else(|| unknown(instance))?;
            match slot.pgid {
                Some(pgid) => {
                    slot.stop_requested = true;
                    slot.state.status = RunStatus::Stopping;
                    (pgid, slot.state.port)
                }
                None => {
                    return Ok(StopReport {
                        instance: instance.into(),
                        how: "not running".into(),
                        millis: 0,
                    })
                }
            }
        };
        self.publish(instance);
        let report = self.stop_group(instance, pgid, port).await;
        let stuck = report.is_err();
        {
            let mut slots = self.slots();
            if let Some(slot) = slots.get_mut(instance) {
                if !stuck {
                    slot.pgid = None;
                    let restarts = slot.state.restarts;
                    slot.state = InstanceState::stopped(
                        instance,
                        self.inner.ws.instance(instance).map_or(port, |i| i.port),
                    );
                    slot.state.restarts = restarts;
                    slot.state.detail = report
                        .as_ref()
                        .ok()
                        .map(|r| format!("{} after {} ms", r.how, r.millis));
                }
            }
        }
        if !stuck {
            self.forget(instance);
        }
        self.publish(instance);
        if let Ok(r) = &report {
            self.note(
                instance,
                &format!("kovan: stopped ({}, {} ms)", r.how, r.millis),
            );
            self.record_event(
                instance,
                "stop",
                serde_json::json!({ "how": r.how, "millis": r.millis }),
            );
        }
        report
    }

    async fn stop_group(
        &self,
        instance: &str,
        pgid: i32,
        port: u16,
    ) -> Result<StopReport, SupervisorError> {
        let started = Instant::now();
        let gone = |port: u16| {
            process_table::group_members(pgid).is_empty()
                && (port == 0 || process_table::port_is_free(port))
        };
        process_table::send_signal_to_group(pgid, libc::SIGTERM);
        let grace = self.inner.ws.supervisor.stop_grace;
        let mut how = "terminated";
        while !gone(port) {
            if started.elapsed() >= grace {
                how = "killed";
                process_table::send_signal_to_group(pgid, libc::SIGKILL);
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let kill_deadline = Instant::now() + Duration::from_secs(5);
        while !gone(port) {
            if Instant::now() >= kill_deadline {
                return Err(SupervisorError::StuckGroup {
                    instance: instance.into(),
                    pids: process_table::group_members(pgid),
                });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Ok(StopReport {
            instance: instance.into(),
            how: how.into(),
            millis: started.elapsed().as_millis() as u64,
        })
    }

    /// Stop the given instances in reverse order.
    pub async fn stop_many(&self, members: &[String]) -> Vec<Result<StopReport, SupervisorError>> {
        let mut reports = Vec::new();
        for m in members.iter().rev() {
            reports.push(self.stop(m).await);
        }
        reports
    }

    /// Stop every instance (last declared first), then the managed Redis.
    pub async fn stop_all(&self) -> Vec<Result<StopReport, SupervisorError>> {
        let names: Vec<String> = self
            .inner
            .ws
            .instances
            .iter()
            .map(|i| i.name.clone())
            .collect();
        let mut reports = self.stop_many(&names).await;
        let redis_running = self
            .slots()
            .get(REDIS_SERVICE)
            .is_some_and(|s| s.pgid.is_some());
        if redis_running {
            reports.push(self.stop(REDIS_SERVICE).await);
        }
        reports
    }

    pub async fn restart(&self, instance: &str) -> Result<InstanceState, SupervisorError> {
        self.stop(instance).await?;
        self.start(instance, StartOptions::default()).await
    }

    // ---- recovery ----

    fn adopt_recorded(&self) {
        let Some(store) = &self.inner.store else {
            return;
        };
        let Ok(records) = store.processes(&self.inner.ws.file) else {
            return;
        };
        for rec in records {
            let same = process_table::is_same_process(rec.pid, rec.start_time)
                && process_table::cmdline(rec.pid)
                    .map(|a| a.join(" "))
                    .as_deref()
                    == Some(rec.cmdline.as_str());
            let known = self.slots().contains_key(&rec.instance);
            if !same || !known {
                let _ = store.forget_process(&self.inner.ws.file, &rec.instance);
                continue;
            }
            {
                let mut slots = self.slots();
                let slot = slots.get_mut(&rec.instance).expect("known");
                slot.run += 1;
                slot.pgid = Some(rec.pgid);
                slot.state = InstanceState {
                    status: RunStatus::Running,
                    pid: Some(rec.pid),
                    port: rec.port,
                    started_at: Some(rec.started_at * 1000),
                    adopted: true,
                    ..InstanceState::stopped(&rec.instance, rec.port)
                };
                slot.ring.push(Stream::Kovan, &format!("kovan: found {} running from an earlier session (PID {}); its earlier output is in {}", rec.instance, rec.pid, "the log file"));
            }
            if tokio::runtime::Handle::try_current().is_ok() {
                tokio::spawn(self.clone().watch_adopted(rec.instance.clone(), rec.pgid));
            }
        }
    }

    /// An adopted group is not our child: watch it by polling the process table.
    async fn watch_adopted(self, instance: String, pgid: i32) {
        let run = self.slots().get(&instance).map_or(0, |s| s.run);
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let current = self
                .slots()
                .get(&instance)
                .map(|s| (s.run, s.stop_requested));
            match current {
                Some((r, false)) if r == run => {}
                _ => return,
            }
            if process_table::group_members(pgid).is_empty() {
                // Stopped from elsewhere through Kovan (its record is gone), or it died.
                let stopped_by_kovan = self
                    .inner
                    .store
                    .as_ref()
                    .is_some_and(|s| !s.has_process(&self.inner.ws.file, &instance));
                self.update(&instance, Some(run), |s| {
                    s.status = if stopped_by_kovan {
                        RunStatus::Stopped
                    } else {
                        RunStatus::Crashed
                    };
                    s.detail = Some(if stopped_by_kovan {
                        "stopped by another Kovan".into()
                    } else {
                        "its processes are gone".into()
                    });
                    s.pid = None;
                });
                if let Some(slot) = self.slots().get_mut(&instance) {
                    slot.pgid = None;
                }
                self.forget(&instance);
                return;
            }
        }
    }

    /// On the panel's exit: stop what it started, unless the user chose to leave it running (the
    /// next panel adopts it from the store).
    pub async fn shutdown(&self, leave_running: bool) {
        if !leave_running {
            self.stop_all().await;
        }
    }
}

impl Slot {
    fn new(instance: &str, port: u16, capacity: usize) -> Self {
        Self {
            state: InstanceState::stopped(instance, port),
            ring: LogRing::new(capacity),
            subscribers: Vec::new(),
            pgid: None,
            run: 0,
            stop_requested: false,
        }
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
