//! Recovery: groups an earlier panel recorded, adopted when they are still the same processes, and
//! watched by polling since they are not our children.

use super::*;

impl Supervisor {
    pub(super) fn adopt_recorded(&self) {
        let Some(store) = &self.inner.store else {
            return;
        };
        let Ok(records) = store.processes(&self.inner.ws.file) else {
            return;
        };
        let boot = process_table::boot_id();
        for rec in records {
            // Boot id, PID and start time name one process; the command line does not:
            // redis-server, Celery and gunicorn rewrite their process title once they run. A row
            // without a boot id (an older Kovan's) cannot be told from a process of another boot.
            let this_boot = rec.boot_id.is_some() && rec.boot_id == boot;
            let same = this_boot && process_table::is_same_process(rec.pid, rec.start_time);
            let known = self.slots().contains_key(&rec.instance);
            if !same || !known {
                if !self.inner.observer {
                    let _ = store.forget_process(&self.inner.ws.file, &rec.instance);
                }
                continue;
            }
            let group = GroupIdentity {
                pgid: rec.pid,
                leader_start: Some(rec.start_time),
                workspace: self.workspace_marker(),
                instance: rec.instance.clone(),
            };
            {
                let mut slots = self.slots();
                let slot = slots.get_mut(&rec.instance).expect("known");
                slot.run += 1;
                slot.group = Some(group.clone());
                slot.state = InstanceState {
                    // Recorded at spawn, before it answered: it is starting until it does.
                    status: if rec.ready {
                        RunStatus::Running
                    } else {
                        RunStatus::Starting
                    },
                    pid: Some(rec.pid),
                    port: rec.port,
                    started_at: Some(rec.started_at * 1000),
                    adopted: true,
                    ..InstanceState::stopped(&rec.instance, rec.port)
                };
                slot.ring.push(Stream::Kovan, &format!("kovan: found {} running from an earlier session (PID {}); its earlier output is in {}", rec.instance, rec.pid, "the log file"));
            }
            if !self.inner.observer && tokio::runtime::Handle::try_current().is_ok() {
                tokio::spawn(self.clone().watch_adopted(rec.instance.clone(), group));
            }
        }
    }

    /// An adopted group is not our child: watch it by polling the process table.
    pub(super) async fn watch_adopted(self, instance: String, group: GroupIdentity) {
        let run = self.slots().get(&instance).map_or(0, |s| s.run);
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let current = self
                .slots()
                .get(&instance)
                .map(|s| (s.run, s.stop_requested, s.state.status, s.state.port));
            match current {
                Some((r, false, status, port)) if r == run => {
                    if status == RunStatus::Starting && readiness::look(port).await.is_ok() {
                        self.update(&instance, Some(run), |s| {
                            if s.status == RunStatus::Starting {
                                s.status = RunStatus::Running;
                            }
                        });
                    }
                }
                _ => return,
            }
            // Gone when its leader is (it no longer holds the group's number) and nothing with
            // its markers is left; a group that now has its number is someone else's.
            if group.leader_check().is_ok() || !group.own_members().is_empty() {
                continue;
            }
            // Recorded in whole seconds.
            let since = self
                .state(&instance)
                .and_then(|s| s.started_at)
                .map(|t| t - 1000);
            let outside = self
                .stopped_from_outside(&instance, group.pgid, since)
                .or_else(|| {
                    // Stopped from elsewhere through Kovan (its record is gone), or it died.
                    self.inner
                        .store
                        .as_ref()
                        .is_some_and(|s| !s.has_process(&self.inner.ws.file, &instance))
                        .then(|| "another Kovan".to_string())
                });
            let updated = self.update(&instance, Some(run), |s| {
                s.status = if outside.is_some() {
                    RunStatus::Stopped
                } else {
                    RunStatus::Crashed
                };
                s.detail = Some(match &outside {
                    Some(by) => format!("stopped by {by}"),
                    None => "its processes are gone".into(),
                });
                s.pid = None;
            });
            if updated {
                if let Some(slot) = self.slots().get_mut(&instance) {
                    slot.group = None;
                    slot.stopped_by = outside;
                }
                self.forget(&instance);
            }
            return;
        }
    }
}
