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
        for rec in records {
            // PID and start time name one process; the command line does not: redis-server,
            // Celery and gunicorn rewrite their process title once they run.
            let same = process_table::is_same_process(rec.pid, rec.start_time);
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
    pub(super) async fn watch_adopted(self, instance: String, pgid: i32) {
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
}
