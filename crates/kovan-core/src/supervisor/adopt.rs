//! Recovery: groups an earlier panel recorded, adopted when they are still the same processes, and
//! watched by polling since they are not our children. Groups the store does not name (it was
//! damaged, replaced, deleted or cannot be read) are found by the markers their processes carry.

use super::*;

/// What an observer's states are made of, cheap to read again: the store's rows of the
/// workspace's processes, each with whether it is still the process recorded (None when there is
/// no store to read: then only a fresh look tells), and whether the leader of each group it shows
/// is still alive (a group found by its markers has no row). One query and a /proc read per group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sight {
    rows: Option<Vec<(ProcessRecord, bool)>>,
    leaders: Vec<(String, bool)>,
}

impl Sight {
    /// Whether it says anything (there is a store to read).
    pub fn is_known(&self) -> bool {
        self.rows.is_some()
    }
}

impl Supervisor {
    /// What this supervisor's view of the processes rests on, as the store and /proc say now.
    pub fn sight(&self) -> Sight {
        Sight {
            rows: self.rows_sight(),
            leaders: self.leaders_sight(),
        }
    }

    fn rows_sight(&self) -> Option<Vec<(ProcessRecord, bool)>> {
        let records = self
            .inner
            .store
            .as_ref()?
            .processes(&self.inner.ws.file)
            .ok()?;
        Some(
            records
                .into_iter()
                .map(|r| {
                    let same = platform::is_same_process(r.pid, r.start_time);
                    (r, same)
                })
                .collect(),
        )
    }

    fn leaders_sight(&self) -> Vec<(String, bool)> {
        let mut leaders: Vec<(String, bool)> = self
            .slots()
            .iter()
            .filter_map(|(name, slot)| {
                let group = slot.group.as_ref()?;
                Some((name.clone(), group.leader_check().is_ok()))
            })
            .collect();
        leaders.sort();
        leaders
    }

    /// For an observer: look again, cheaply. When the store's rows and their processes are as they
    /// were when it was built, None (one small query and a /proc read per row); else a fresh
    /// observer built from them (store, /proc and markers read again), naming the same holder.
    pub fn look_again(&self) -> Option<Supervisor> {
        if !self.inner.observer {
            return None;
        }
        let now = self.sight();
        if now.is_known() && now == *self.inner.sight.lock().unwrap_or_else(|e| e.into_inner()) {
            return None;
        }
        let fresh = Self::observe(self.inner.ws.clone(), self.inner.store.clone());
        fresh.set_supervised_by(
            &self
                .inner
                .supervised_by
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        Some(fresh)
    }

    pub(super) fn adopt_recorded(&self) {
        // An observer's rows are read before what it is made of, so that a change in between is
        // seen at the next look; the leaders of what it shows, after.
        let rows = self.inner.observer.then(|| self.rows_sight());
        self.adopt_from_store();
        self.adopt_marked();
        if let Some(rows) = rows {
            *self.inner.sight.lock().unwrap_or_else(|e| e.into_inner()) = Sight {
                rows,
                leaders: self.leaders_sight(),
            };
        }
    }

    fn adopt_from_store(&self) {
        let Some(store) = &self.inner.store else {
            return;
        };
        let Ok(records) = store.processes(&self.inner.ws.file) else {
            return;
        };
        let boot = platform::boot_id();
        for rec in records {
            // Boot id, PID and start time name one process; the command line does not:
            // redis-server, Celery and gunicorn rewrite their process title once they run. A row
            // without a boot id (an older Kovan's) cannot be told from a process of another boot.
            let this_boot = rec.boot_id.is_some() && rec.boot_id == boot;
            let same = this_boot && platform::is_same_process(rec.pid, rec.start_time);
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
                tracing::info!(
                    "adopted {} (PID {}) from the history database",
                    rec.instance,
                    rec.pid
                );
                slot.ring.push(Stream::Kovan, &format!("kovan: found {} running from an earlier session (PID {}); its earlier output is in {}", rec.instance, rec.pid, "the log file"));
            }
            if !self.inner.observer && tokio::runtime::Handle::try_current().is_ok() {
                tokio::spawn(self.clone().watch_adopted(rec.instance.clone(), group));
            }
        }
    }

    /// Every instance the store did not name that has a group whose processes carry this
    /// workspace's markers: adopted like a recorded one, and recorded again when the store can be
    /// written. Only the marked processes of such a group are ever signalled (group.rs), unless
    /// its leader is alive and carries the markers itself.
    fn adopt_marked(&self) {
        let unnamed = self.slots().values().any(|s| s.group.is_none());
        if !unnamed {
            return;
        }
        for found in crate::running::marked_groups(&self.workspace_marker()) {
            let fresh = self
                .slots()
                .get(&found.instance)
                .is_some_and(|s| s.group.is_none());
            if !fresh {
                continue;
            }
            let configured = self.slots()[&found.instance].state.port;
            // A companion carries its unit's DJANGO_SERVER_PORT, yet has no port of its own.
            let companion = self.is_companion(&found.instance);
            let port = if companion {
                0
            } else {
                found.port.unwrap_or(configured)
            };
            // It runs when one of its processes listens on its port (a companion: when it is
            // there at all); until then it is starting.
            let listening = companion
                || platform::port_owner(port).is_some_and(|o| found.members.contains(&o.pid));
            let started_ms = platform::started_at(found.pgid)
                .or_else(|| found.members.first().and_then(|&p| platform::started_at(p)))
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or_else(store_now, |d| d.as_millis() as i64);
            let group = GroupIdentity {
                pgid: found.pgid,
                leader_start: found.leader_start,
                workspace: self.workspace_marker(),
                instance: found.instance.clone(),
            };
            tracing::info!(
                "adopted {} (group {}) from its processes' markers",
                found.instance,
                found.pgid
            );
            {
                let mut slots = self.slots();
                let slot = slots.get_mut(&found.instance).expect("checked above");
                slot.run += 1;
                slot.group = Some(group.clone());
                slot.state = InstanceState {
                    status: if listening {
                        RunStatus::Running
                    } else {
                        RunStatus::Starting
                    },
                    pid: Some(found.pgid),
                    port,
                    started_at: Some(started_ms),
                    adopted: true,
                    ..InstanceState::stopped(&found.instance, port)
                };
                slot.ring.push(
                    Stream::Kovan,
                    &format!(
                        "kovan: found {} running from its processes' markers (group {}), not from Kovan's history database",
                        found.instance, found.pgid
                    ),
                );
            }
            self.inner
                .found_by_markers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(found.instance.clone());
            // Known again to the store, when it can be written (record_process writes only
            // for a supervisor, and only a group whose leader's start time is known).
            self.record_process(
                &found.instance,
                &group,
                port,
                started_ms,
                String::new(),
                listening,
            );
            if !self.inner.observer && tokio::runtime::Handle::try_current().is_ok() {
                tokio::spawn(self.clone().watch_adopted(found.instance.clone(), group));
            }
        }
    }

    /// The instances found running by their markers rather than by the store's records (the
    /// store did not name them: it was damaged, replaced or could not be read).
    pub fn found_by_markers(&self) -> Vec<String> {
        self.inner
            .found_by_markers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
                    let ready = status == RunStatus::Starting
                        && (self.is_companion(&instance) || readiness::look(port).await.is_up());
                    if ready {
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
