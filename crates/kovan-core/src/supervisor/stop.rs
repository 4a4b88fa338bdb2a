//! Stopping: SIGTERM to the group, SIGKILL after the grace period; stopped means the group is gone
//! and the port is free. Also restart, and what the panel stops on exit.

use super::*;

impl Supervisor {
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

    pub(super) async fn stop_group(
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

    /// On the panel's exit: stop what it started, unless the user chose to leave it running (the
    /// next panel adopts it from the store).
    pub async fn shutdown(&self, leave_running: bool) {
        if !leave_running {
            self.stop_all().await;
        }
    }
}
