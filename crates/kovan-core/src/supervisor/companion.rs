//! Companion processes (`[[process]]`): commands without a port that run beside a unit with its
//! environment (a Celery worker, a CSS watcher). Each is supervised like an instance: its own
//! group carrying the markers (KOVAN_INSTANCE is the companion's own name), its ring and
//! `logs/{name}.log`, restarts by policy, SIGTERM then SIGKILL, adoption from the store. Ready
//! means still running after [`COMPANION_READY_AFTER`]; it has no port.

use super::*;
use crate::workspace::Process;

/// A companion that has not exited this long after its start counts as running.
pub const COMPANION_READY_AFTER: Duration = Duration::from_secs(1);

impl Supervisor {
    pub(super) fn companion(&self, name: &str) -> Option<&Process> {
        self.inner.ws.process(name)
    }

    /// Whether `name` is a companion process of the workspace.
    pub fn is_companion(&self, name: &str) -> bool {
        self.companion(name).is_some()
    }

    /// Why the companion `name` cannot start now: unknown, already running, or its unit's env
    /// file is missing.
    pub fn companion_preflight(&self, name: &str) -> Result<(), SupervisorError> {
        let p = self.companion(name).ok_or_else(|| unknown(name))?;
        if let Some(state) = self.state(name) {
            if matches!(
                state.status,
                RunStatus::Starting | RunStatus::Running | RunStatus::Stopping
            ) {
                return Err(SupervisorError::AlreadyRunning {
                    instance: name.into(),
                    state: format!("{:?}", state.status).to_lowercase(),
                });
            }
        }
        let i = self
            .inner
            .ws
            .process_instance(p)
            .ok_or_else(|| unknown(p.unit.name()))?;
        let env = self.inner.ws.project.django_root.join(&i.names.env_file);
        if !env.is_file() {
            return Err(SupervisorError::Missing {
                instance: name.into(),
                what: format!("the env file of {}", i.name),
                path: env.display().to_string(),
                fix: "Generate the config first (Config generator, or kovan gen --write).".into(),
            });
        }
        Ok(())
    }

    /// Start the companion `name` (checked first) and wait until it has run for a second.
    pub async fn start_companion(&self, name: &str) -> Result<InstanceState, SupervisorError> {
        self.refuse_if_observer()?;
        self.companion_preflight(name)?;
        self.reset_restarts(name);
        self.run_companion(name).await
    }

    /// The autostart companions of `instance` that are not running, started after it is ready.
    pub(super) async fn start_companions_of(&self, instance: &str) {
        let names: Vec<String> = self
            .inner
            .ws
            .companions_of(instance)
            .into_iter()
            .filter(|p| p.autostart)
            .map(|p| p.name.clone())
            .collect();
        for name in names {
            if let Err(e) = self.start_companion(&name).await {
                if !matches!(e, SupervisorError::AlreadyRunning { .. }) {
                    self.note(&name, &format!("kovan: not started: {e}"));
                }
            }
        }
    }

    /// Stop the companions that run with `instance`'s environment, before it stops.
    pub async fn stop_companions_of(
        &self,
        instance: &str,
    ) -> Vec<Result<StopReport, SupervisorError>> {
        if let Err(e) = self.refuse_if_observer() {
            return vec![Err(e)];
        }
        let names: Vec<String> = self
            .inner
            .ws
            .companions_of(instance)
            .into_iter()
            .map(|p| p.name.clone())
            .collect();
        let mut reports = Vec::new();
        for name in names.iter().rev() {
            reports.push(self.stop_one(name).await);
        }
        reports
    }

    /// The command line: /bin/sh runs it with `exec`, as an instance's `command` is run, so the
    /// program itself leads the group.
    fn companion_argv(&self, p: &Process) -> Vec<String> {
        let filled = p
            .command
            .replace("{python}", &self.python_path().display().to_string());
        vec!["/bin/sh".into(), "-c".into(), format!("exec {filled}")]
    }

    /// The unit instance's environment, with the project's virtualenv first in PATH (as `kovan
    /// exec` has it): `celery` is the venv's.
    fn companion_env(&self, i: &Instance) -> Vec<(String, String)> {
        let mut env = self.instance_env(i, i.port);
        if let Some(venv) = crate::django::environment::virtualenv(&self.inner.ws) {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![venv.join("bin")];
            dirs.extend(std::env::split_paths(&path));
            if let Ok(joined) = std::env::join_paths(dirs) {
                env.push(("PATH".into(), joined.to_string_lossy().into_owned()));
            }
            env.push(("VIRTUAL_ENV".into(), venv.display().to_string()));
        }
        env
    }

    /// One run of a companion: spawned, then running once it has not exited for a second.
    pub(super) async fn run_companion(&self, name: &str) -> Result<InstanceState, SupervisorError> {
        let p = self.companion(name).ok_or_else(|| unknown(name))?.clone();
        let i = self
            .inner
            .ws
            .process_instance(&p)
            .ok_or_else(|| unknown(p.unit.name()))?
            .clone();
        let run = self.begin_run(name, 0);
        let argv = self.companion_argv(&p);
        let env = self.companion_env(&i);
        let root = self.inner.ws.project.django_root.clone();
        let log_file = root.join(format!("logs/{name}.log"));
        let (exit_tx, mut exit_rx) = watch::channel(false);
        let group =
            match self.spawn_group(name, run, argv, &root, env, 0, Some((log_file, exit_tx))) {
                Ok(group) => group,
                Err(e) => {
                    self.update(name, Some(run), |s| {
                        s.status = RunStatus::FailedToStart;
                        s.detail = Some(e.to_string());
                    });
                    return Err(e);
                }
            };
        // Recorded at once, not only when it counts as ready: a `kovan status` (or a SIGKILL of
        // this supervisor) in its first second must find it in the store, not only by its markers.
        let started = self
            .state(name)
            .and_then(|s| s.started_at)
            .unwrap_or_else(store_now);
        self.record_process(name, &group, 0, started, String::new(), false);
        let exited = tokio::select! {
            _ = exit_rx.changed() => true,
            _ = tokio::time::sleep(COMPANION_READY_AFTER) => false,
        };
        if exited || *exit_rx.borrow() {
            // The exit watcher has recorded it (failed to start) and restarts it by policy.
            return Ok(self.state(name).expect("slot"));
        }
        let promoted = self.update(name, Some(run), |s| {
            if s.status == RunStatus::Starting {
                s.status = RunStatus::Running;
            }
        });
        if promoted {
            self.record_process(name, &group, 0, started, String::new(), true);
            self.record(
                name,
                HistoryEvent::Start {
                    port: None,
                    pid: group.pgid,
                    front_door: false,
                    unit: Some(p.unit.name().to_string()),
                    initdb: None,
                    millis: None,
                },
            );
        }
        Ok(self.state(name).expect("slot"))
    }
}
