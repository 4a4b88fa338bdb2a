//! How a run ends on its own: decided by wait(), the rest of the group cleaned up, a crash recorded
//! and, by policy, a restart after a backoff; and the store's record of the group.

use super::*;

impl Supervisor {
    /// Decide the exit by wait(), never by the pipes closing; then clean up the rest of the group.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn watch_exit(
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

    pub(super) async fn maybe_restart(&self, instance: &str, run: u64, port: u16) {
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
    pub(super) fn record_process(
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

    pub(super) fn forget(&self, instance: &str) {
        if let Some(store) = &self.inner.store {
            let _ = store.forget_process(&self.inner.ws.file, instance);
        }
    }
}
