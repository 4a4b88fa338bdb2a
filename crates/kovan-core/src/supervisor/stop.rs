//! Stopping: SIGTERM to the group, SIGKILL after the grace period; stopped means the group is gone
//! and the port is free. Also restart, and what the panel stops on exit.

use super::*;

impl Supervisor {
    /// SIGTERM to the instance's group, SIGKILL after the grace period; stopped means the group is
    /// empty and the port is free.
    /// Its companions (`[[process]]` with its environment) are stopped first.
    pub async fn stop(&self, instance: &str) -> Result<StopReport, SupervisorError> {
        self.refuse_if_observer()?;
        for r in self.stop_companions_of(instance).await {
            if let Err(e) = r {
                self.note(instance, &format!("kovan: {e}"));
            }
        }
        self.stop_one(instance).await
    }

    /// Stop this group alone (an instance, a front door, a companion, a service).
    pub(super) async fn stop_one(&self, instance: &str) -> Result<StopReport, SupervisorError> {
        self.refuse_if_observer()?;
        // A member leaving an open front door: the door stops sending it requests first.
        if self.inner.ws.site_of(instance).is_some()
            && self
                .slots()
                .get(instance)
                .is_some_and(|s| s.group.is_some())
        {
            self.follow_members(instance, Some(instance)).await;
        }
        let (group, port) = {
            let mut slots = self.slots();
            let slot = slots.get_mut(instance).ok_or_else(|| unknown(instance))?;
            match slot.group.clone() {
                Some(group) => {
                    slot.stop_requested = true;
                    slot.state.status = RunStatus::Stopping;
                    (group, slot.state.port)
                }
                None => {
                    return Ok(StopReport {
                        instance: instance.into(),
                        how: StopHow::NotRunning,
                        millis: 0,
                    })
                }
            }
        };
        self.publish(instance);
        // Said before the first signal: a Kovan that supervises this group then knows its exit
        // for a stop, not a crash.
        let by = self.actor();
        if let Some(store) = self.writable_store() {
            let _ = store.mark_stop_requested(&self.inner.ws.file, instance, group.pgid, &by);
        }
        let report = self.stop_group(instance, &group, port).await;
        let stuck = report.is_err();
        {
            let mut slots = self.slots();
            if let Some(slot) = slots.get_mut(instance) {
                if !stuck {
                    slot.group = None;
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
        if let Ok(r) = &report {
            // The event before the record goes: whoever looks finds one or the other.
            self.record(
                instance,
                HistoryEvent::Stop {
                    how: r.how.clone(),
                    millis: r.millis,
                    pid: Some(group.pgid),
                    by: Some(by),
                },
            );
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
        }
        report
    }

    /// SIGTERM to every process of the group that is Kovan's (group::GroupIdentity::signal),
    /// SIGKILL after the grace period; done when none of them is left and the port is free.
    pub(super) async fn stop_group(
        &self,
        instance: &str,
        group: &GroupIdentity,
        port: u16,
    ) -> Result<StopReport, SupervisorError> {
        let started = Instant::now();
        let mut said = false;
        let mut pass = |signal: i32, reached: &mut Vec<i32>| {
            let out = group.signal(signal, reached);
            reached.extend(&out.signalled);
            if let (false, Some(text)) = (said, out.refusal_text()) {
                said = true;
                self.note(instance, &text);
            }
        };
        let grace = self.inner.ws.supervisor.stop_grace;
        if instance == POSTGRES_SERVICE && group.leader_check().is_ok() {
            // PostgreSQL's fast shutdown: SIGINT to the postmaster alone, which ends the
            // sessions and writes a checkpoint. SIGTERM to every process of its group would stop
            // its helpers under it and leave a cluster that needs recovery.
            // SAFETY: kill(2) on the leader just checked to be the one Kovan started.
            unsafe { libc::kill(group.pgid, libc::SIGINT) };
            while !group.own_members().is_empty() && started.elapsed() < grace {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            if group.own_members().is_empty() && platform::port_is_free(port) {
                return Ok(StopReport {
                    instance: instance.into(),
                    how: StopHow::Terminated,
                    millis: started.elapsed().as_millis() as u64,
                });
            }
        }
        let mut termed = Vec::new();
        pass(libc::SIGTERM, &mut termed);
        if termed.is_empty() && group.own_members().is_empty() {
            return Ok(StopReport {
                instance: instance.into(),
                how: StopHow::AlreadyGone,
                millis: started.elapsed().as_millis() as u64,
            });
        }
        let gone = |port: u16| {
            group.own_members().is_empty() && (port == 0 || platform::port_is_free(port))
        };
        let mut how = StopHow::Terminated;
        let mut killed = Vec::new();
        while !gone(port) {
            if started.elapsed() >= grace {
                how = StopHow::Killed;
                pass(libc::SIGKILL, &mut killed);
                break;
            }
            // Processes forked since the last pass (an autoreloader's new child) get theirs too.
            pass(libc::SIGTERM, &mut termed);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let kill_deadline = Instant::now() + Duration::from_secs(5);
        while !gone(port) {
            if Instant::now() >= kill_deadline {
                return Err(SupervisorError::StuckGroup {
                    instance: instance.into(),
                    pids: group.own_members(),
                });
            }
            if how == StopHow::Killed {
                pass(libc::SIGKILL, &mut killed);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Ok(StopReport {
            instance: instance.into(),
            how,
            millis: started.elapsed().as_millis() as u64,
        })
    }

    /// Stop the given instances in reverse order, each one's companions before it (their
    /// reports too).
    pub async fn stop_many(&self, members: &[String]) -> Vec<Result<StopReport, SupervisorError>> {
        if let Err(e) = self.refuse_if_observer() {
            return vec![Err(e)];
        }
        let mut reports = Vec::new();
        for m in members.iter().rev() {
            reports.extend(self.stop_companions_of(m).await);
            reports.push(self.stop_one(m).await);
        }
        reports
    }

    /// Stop every companion (last declared first), every front door, then every instance (last
    /// declared first), then the managed Redis.
    pub async fn stop_all(&self) -> Vec<Result<StopReport, SupervisorError>> {
        if let Err(e) = self.refuse_if_observer() {
            return vec![Err(e)];
        }
        let mut reports = Vec::new();
        let companions: Vec<String> = self
            .inner
            .ws
            .processes
            .iter()
            .map(|p| p.name.clone())
            .collect();
        for name in companions.iter().rev() {
            reports.push(self.stop_one(name).await);
        }
        for site in &self.inner.ws.sites {
            reports.push(self.stop(&site.name).await);
        }
        let names: Vec<String> = self
            .inner
            .ws
            .instances
            .iter()
            .map(|i| i.name.clone())
            .collect();
        reports.extend(self.stop_many(&names).await);
        let redis_running = self
            .slots()
            .get(REDIS_SERVICE)
            .is_some_and(|s| s.group.is_some());
        if redis_running {
            reports.push(self.stop_redis_unless_used().await);
        }
        let postgres_running = self
            .slots()
            .get(POSTGRES_SERVICE)
            .is_some_and(|s| s.group.is_some());
        if postgres_running {
            reports.push(self.stop_postgres_unless_used().await);
        }
        reports
    }

    /// Stop the managed PostgreSQL, unless instances of another workspace use it now (then it
    /// keeps running, recorded, and the report says for whom).
    pub async fn stop_postgres_unless_used(&self) -> Result<StopReport, SupervisorError> {
        self.refuse_if_observer()?;
        if let Some(pg) = &self.inner.ws.postgres {
            let users = crate::services::postgres::users_elsewhere(&self.inner.ws.file, pg);
            if !users.is_empty() {
                return Ok(StopReport {
                    instance: POSTGRES_SERVICE.into(),
                    how: StopHow::LeftRunning { users },
                    millis: 0,
                });
            }
        }
        self.stop(POSTGRES_SERVICE).await
    }

    /// Stop the managed redis-server, unless instances of another workspace use it now: then it
    /// keeps running (and recorded, so a later stop here stops it once they are gone), and the
    /// report says for whom.
    pub async fn stop_redis_unless_used(&self) -> Result<StopReport, SupervisorError> {
        self.refuse_if_observer()?;
        if let Some(redis) = &self.inner.ws.redis {
            let users = crate::services::redis_server::users_elsewhere(&self.inner.ws.file, redis);
            if !users.is_empty() {
                return Ok(StopReport {
                    instance: REDIS_SERVICE.into(),
                    how: StopHow::LeftRunning { users },
                    millis: 0,
                });
            }
        }
        self.stop(REDIS_SERVICE).await
    }

    pub async fn restart(&self, instance: &str) -> Result<InstanceState, SupervisorError> {
        self.refuse_if_observer()?;
        // Under "ask" a restart does not ask again: the instance ran with its database as it is,
        // and a refusal after the stop would leave it stopped. "auto" and "never" still apply.
        let migrate = match self.inner.ws.migrate_policy(instance) {
            crate::workspace::MigratePolicy::Ask => MigrateFirst::Decided,
            _ => MigrateFirst::Policy,
        };
        self.stop(instance).await?;
        let options = StartOptions {
            migrate,
            ..StartOptions::default()
        };
        self.start(instance, options).await
    }

    /// On the panel's exit: stop what it started, unless the user chose to leave it running (the
    /// next panel adopts it from the store).
    pub async fn shutdown(&self, leave_running: bool) {
        if self.inner.observer {
            return;
        }
        if leave_running {
            tracing::info!("leaving everything running for the next Kovan");
        } else {
            tracing::info!("stopping everything Kovan started");
            self.stop_all().await;
        }
    }
}
