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
        group: GroupIdentity,
        port: u16,
        pumps: [Option<tokio::task::JoinHandle<()>>; 2],
        exit_tx: Option<watch::Sender<bool>>,
    ) {
        let status = child.wait().await;
        // Reaped: from now on the group's number may be given to someone else once its last
        // member is gone, so this run no longer names a group to signal.
        let (requested, since) = {
            let mut slots = self.slots();
            match slots.get_mut(&instance) {
                Some(s) if s.run == run => {
                    s.group = None;
                    (s.stop_requested, s.state.started_at)
                }
                _ => (false, None),
            }
        };
        let outside = if requested {
            None
        } else {
            self.stopped_from_outside(&instance, group.pgid, since)
        };
        if !requested && outside.is_none() {
            // The leader died on its own: what it left in its group must not keep the port. Only
            // processes carrying this instance's markers: the leader no longer holds the number.
            let out = group.signal(libc::SIGKILL, &[]);
            if let Some(text) = out.refusal_text() {
                self.note(&instance, &text);
            }
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
        if let Some(by) = outside {
            // Another Kovan stopped it (`kovan stop`, the window): a stop, which that Kovan
            // records; nothing to restart.
            self.note(&instance, &format!("kovan: stopped by {by}"));
            let updated = self.update(&instance, Some(run), |s| {
                s.status = RunStatus::Stopped;
                s.detail = Some(format!("stopped by {by}"));
                s.exit_code = code;
                s.signal = signal;
                s.pid = None;
            });
            if updated {
                if let Some(slot) = self.slots().get_mut(&instance) {
                    slot.stopped_by = Some(by);
                }
            }
            if let Some(tx) = exit_tx {
                let _ = tx.send(true);
            }
            return;
        }
        let what = match (code, signal) {
            (Some(c), _) => format!("exited with code {c}"),
            (_, Some(sig)) => format!("killed by signal {sig}{}", signal_name(sig)),
            _ => "exited".to_string(),
        };
        self.note(&instance, &format!("kovan: {what}"));
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
            s.detail = Some(what.clone());
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
        // The door stops routing to a member that crashed (and routes again once it restarts).
        if self.inner.ws.site_of(&instance).is_some() {
            self.follow_members(&instance, None).await;
        }
        self.record(&instance, HistoryEvent::Crash { code, signal, port });
        self.maybe_restart(&instance, run, port).await;
    }

    /// Who stopped the group `pid` led, when another Kovan did: its mark on the record (set
    /// before its first signal), or, once it has forgotten the record, its stop event (one of
    /// this run's: recorded since it started, in Unix milliseconds).
    pub(super) fn stopped_from_outside(
        &self,
        instance: &str,
        pid: i32,
        since: Option<i64>,
    ) -> Option<String> {
        let store = self.inner.store.as_ref()?;
        let ws = &self.inner.ws.file;
        if let Ok(Some(rec)) = store.process(ws, instance) {
            if rec.pid == pid {
                return rec.stop_requested_by;
            }
        }
        store
            .events_filtered(ws, Some(instance), &["stop"], 5)
            .ok()?
            .into_iter()
            .find_map(|e| match e.event {
                HistoryEvent::Stop {
                    pid: Some(p), by, ..
                } if p == pid && since.is_none_or(|t| e.at >= t) => {
                    Some(by.unwrap_or_else(|| "another Kovan".to_string()))
                }
                _ => None,
            })
    }

    /// The run's group is gone (stopped after a failed start): nothing of it is to be signalled.
    /// Kovan's own stop of a start that did not come up (readiness timed out, the door failed):
    /// marked as requested first, so that the exit watcher does not take the exit for a crash and
    /// overwrite the start's own verdict (FailedToStart, with what /health/ answered); then the
    /// group is stopped and this run forgets it.
    pub(super) async fn stop_failed_start(
        &self,
        instance: &str,
        group: &GroupIdentity,
        port: u16,
        run: u64,
    ) {
        if let Some(slot) = self.slots().get_mut(instance) {
            if slot.run == run {
                slot.stop_requested = true;
            }
        }
        let _ = self.stop_group(instance, group, port).await;
        self.clear_group(instance, run);
    }

    pub(super) fn clear_group(&self, instance: &str, run: u64) {
        if let Some(slot) = self.slots().get_mut(instance) {
            if slot.run == run {
                slot.group = None;
            }
        }
    }

    pub(super) async fn maybe_restart(&self, instance: &str, run: u64, port: u16) {
        let ws = &self.inner.ws;
        let companion = ws.process(instance).is_some();
        let Some((policy, max_restarts)) = ws
            .instance(instance)
            .map(|i| (i.restart, i.max_restarts))
            .or_else(|| ws.process(instance).map(|p| (p.restart, p.max_restarts)))
        else {
            return;
        };
        let restarts = self.state(instance).map_or(0, |s| s.restarts);
        if policy != RestartPolicy::OnFailure || restarts >= max_restarts || self.retired() {
            return;
        }
        let backoff = Duration::from_secs(1u64 << restarts.min(5));
        self.note(
            instance,
            &format!(
                "kovan: restarting in {} s (try {} of {})",
                backoff.as_secs(),
                restarts + 1,
                max_restarts
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
        self.record(
            instance,
            HistoryEvent::Restart {
                attempt: restarts + 1,
            },
        );
        let sup = self.clone();
        let name = instance.to_string();
        // A fresh task: a restart's own crash must not nest inside this one.
        tokio::spawn(async move {
            if companion {
                let _ = sup.run_companion(&name).await;
            } else {
                let _ = sup
                    .spawn_and_wait(
                        &name,
                        StartOptions {
                            port: Some(port),
                            // A restart after a crash applies nothing: the start before did.
                            migrate: MigrateFirst::Decided,
                        },
                    )
                    .await;
            }
        });
    }

    /// Remember the group in the store. Called at spawn, and again once ready: by then the program
    /// has exec'd (through shims such as pyenv's), so /proc shows its command line.
    pub(super) fn record_process(
        &self,
        instance: &str,
        group: &GroupIdentity,
        port: u16,
        started_ms: i64,
        fallback: String,
        ready: bool,
    ) {
        let (Some(store), Some(start_time)) = (self.writable_store(), group.leader_start) else {
            return;
        };
        let pid = group.pgid;
        let cmdline = platform::cmdline(pid)
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
                boot_id: platform::boot_id(),
                ready,
                stop_requested_by: None,
            },
        );
    }

    pub(super) fn forget(&self, instance: &str) {
        if let Some(store) = self.writable_store() {
            let _ = store.forget_process(&self.inner.ws.file, instance);
        }
    }
}

/// " (SIGTERM)" for the signals a server usually dies of.
fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGHUP => " (SIGHUP)",
        libc::SIGINT => " (SIGINT)",
        libc::SIGQUIT => " (SIGQUIT)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGTERM => " (SIGTERM)",
        _ => "",
    }
}
