//! A site's front door as a group the supervisor runs: nginx started once the members answer,
//! recorded in the store under the site's name (so `kovan stop`, `kovan status` and a later window
//! find it), reloaded when a member starts or stops alone, and closed before the members stop.

use super::*;
use crate::services::nginx::{self, FrontDoor, Paths};

impl Supervisor {
    /// Start a site: its members (all checked first; their shared database migrated once before
    /// any starts as `migrate` in kovan.toml says, a failure or refusal starting none), then its front door once they answer. A member that
    /// does not come up leaves the door closed; a door that cannot open (no nginx)
    /// leaves the members running and says why.
    pub async fn start_site(&self, site: &str) -> Result<Vec<InstanceState>, SupervisorError> {
        self.start_site_with(site, MigrateFirst::Policy).await
    }

    /// [`Self::start_site`], with what to do about the shared database's migrations (the
    /// window's confirm answers `migrations_pending` with [`MigrateFirst::Yes`]).
    pub async fn start_site_with(
        &self,
        site: &str,
        migrate: MigrateFirst,
    ) -> Result<Vec<InstanceState>, SupervisorError> {
        self.refuse_if_observer()?;
        let members = self.site_members(site)?;
        // The shared database is migrated once, before any member starts (as its policy says).
        let mut states = self.start_members(&members, Some(site), migrate).await?;
        if let Some(failed) = states.iter().find(|s| s.status != RunStatus::Running) {
            return Err(SupervisorError::FrontDoor {
                site: site.into(),
                message: format!(
                    "the front door of {site} stays closed: {} {}",
                    failed.instance,
                    failed.detail.as_deref().unwrap_or("did not start")
                ),
            });
        }
        states.push(self.open_door(site).await?);
        Ok(states)
    }

    /// Stop a site: the front door first (no request reaches a member that is stopping), then its
    /// members, last declared first.
    pub async fn stop_site(
        &self,
        site: &str,
    ) -> Result<Vec<Result<StopReport, SupervisorError>>, SupervisorError> {
        self.refuse_if_observer()?;
        let members = self.site_members(site)?;
        let mut reports = vec![self.stop(site).await];
        reports.extend(self.stop_many(&members).await);
        Ok(reports)
    }

    /// The front door's state (its slot is named after the site).
    pub fn door_state(&self, site: &str) -> Option<InstanceState> {
        self.inner.ws.site(site)?;
        self.state(site)
    }

    fn site_members(&self, site: &str) -> Result<Vec<String>, SupervisorError> {
        self.inner
            .ws
            .site(site)
            .map(|s| s.instances.clone())
            .ok_or_else(|| SupervisorError::UnknownSite { site: site.into() })
    }

    fn door_paths(&self, site: &str) -> Paths {
        let ws = &self.inner.ws;
        Paths::for_site(&crate::store::data_dir(), &ws.file, &ws.project.name, site)
    }

    /// The door routing to the members that run now, leaving out `leaving`.
    fn door_now(&self, site: &crate::workspace::Site, leaving: Option<&str>) -> FrontDoor {
        FrontDoor::of_members(&self.inner.ws, site, |m| {
            Some(m) != leaving
                && self
                    .state(m)
                    .is_some_and(|s| matches!(s.status, RunStatus::Running))
        })
    }

    /// Open the site's front door: find nginx, write and check its config (routing to the members
    /// that run), start it as a group of its own and wait until it answers its probe.
    pub async fn open_door(&self, site: &str) -> Result<InstanceState, SupervisorError> {
        self.refuse_if_observer()?;
        let s = self
            .inner
            .ws
            .site(site)
            .cloned()
            .ok_or_else(|| SupervisorError::UnknownSite { site: site.into() })?;
        if let Some(state) = self
            .state(site)
            .filter(|st| matches!(st.status, RunStatus::Running | RunStatus::Starting))
        {
            // Open already: follow the members instead.
            self.follow_members(site, None).await;
            return Ok(state);
        }
        let fail = |e: nginx::NginxError| SupervisorError::FrontDoor {
            site: site.into(),
            message: e.to_string(),
        };
        let door = self.door_now(&s, None);
        let port = s.front_door;
        let run = self.begin_run(site, port);
        let failed = |sup: &Self, e: SupervisorError| {
            sup.update(site, Some(run), |st| {
                st.status = RunStatus::FailedToStart;
                st.detail = Some(e.to_string());
            });
            e
        };
        let binary = nginx::binary(site).map_err(|e| failed(self, fail(e)))?;
        let version = nginx::version(&binary);
        let paths = self.door_paths(site);
        nginx::prepare(&binary, &door, &paths, version).map_err(|e| failed(self, fail(e)))?;
        let argv = nginx::argv(&binary, &paths, version);
        let (exit_tx, _exit_rx) = watch::channel(false);
        let group = self
            .spawn_group(
                site,
                run,
                argv,
                &paths.dir,
                Vec::new(),
                port,
                Some((paths.dir.join("nginx.log"), exit_tx)),
            )
            .map_err(|e| failed(self, e))?;
        match nginx::wait_until_open(&door, Duration::from_secs(10)).await {
            Ok(()) => {
                self.update(site, Some(run), |st| {
                    if st.status == RunStatus::Starting {
                        st.status = RunStatus::Running;
                        st.detail = Some(door.url());
                    }
                });
                let started = self
                    .state(site)
                    .and_then(|st| st.started_at)
                    .unwrap_or_else(store_now);
                self.record_process(site, &group, port, started, String::new(), true);
                self.record(
                    site,
                    HistoryEvent::Start {
                        port: Some(port),
                        pid: group.pgid,
                        front_door: true,
                        unit: None,
                        initdb: None,
                        millis: None,
                    },
                );
                Ok(self.state(site).expect("slot"))
            }
            Err(e) => {
                self.stop_failed_start(site, &group, port, run).await;
                self.forget(site);
                Err(failed(self, fail(e)))
            }
        }
    }

    /// A member of a site started or is about to stop alone: when the site's door is open, its
    /// config is rewritten for the members that run (without `leaving`) and nginx reloaded, which
    /// keeps the connections it holds. A failure is said in the door's log and kept in its
    /// detail; the door keeps its old config.
    pub(super) async fn follow_members(&self, member_or_site: &str, leaving: Option<&str>) {
        let ws = &self.inner.ws;
        let Some(site) = ws
            .site(member_or_site)
            .or_else(|| ws.site_of(member_or_site))
            .cloned()
        else {
            return;
        };
        let group = {
            let slots = self.slots();
            match slots.get(&site.name) {
                Some(slot) if slot.state.status == RunStatus::Running => slot.group.clone(),
                _ => None,
            }
        };
        let Some(group) = group else { return };
        let Some(start_time) = group.leader_start else {
            return;
        };
        let door = self.door_now(&site, leaving);
        let result = async {
            let binary = nginx::binary(&site.name)?;
            let version = nginx::version(&binary);
            nginx::prepare(&binary, &door, &self.door_paths(&site.name), version)?;
            nginx::reload(&site.name, group.pgid, start_time, Duration::from_secs(10)).await
        }
        .await;
        let routed: Vec<String> = door
            .upstreams
            .iter()
            .flat_map(|u| u.servers.iter().map(|s| s.instance.clone()))
            .collect();
        match result {
            Ok(()) => {
                let text = if routed.is_empty() {
                    "kovan: front door reloaded: no member runs, every path answers 502".to_string()
                } else {
                    format!(
                        "kovan: front door reloaded: routes to {}",
                        routed.join(", ")
                    )
                };
                self.note(&site.name, &text);
                self.record(&site.name, HistoryEvent::Reload { members: routed });
            }
            Err(e) => self.note(&site.name, &format!("kovan: front door not reloaded: {e}")),
        }
    }
}
