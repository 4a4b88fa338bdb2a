//! Starting: one instance or several (all checked first), the managed Redis when they need it, the
//! command and environment of a run, and the wait until it is ready.

use super::*;

impl Supervisor {
    /// Start one instance and wait until it is ready (or has failed).
    pub async fn start(
        &self,
        instance: &str,
        options: StartOptions,
    ) -> Result<InstanceState, SupervisorError> {
        self.refuse_if_observer()?;
        self.preflight(instance, options)?;
        self.ensure_postgres(&[instance.to_string()]).await?;
        self.migrate_before_start(&[instance.to_string()], None, options.migrate)
            .await?;
        if self.instance(instance)?.cache == crate::workspace::CacheBackend::Redis {
            self.ensure_redis().await?;
        }
        self.reset_restarts(instance);
        self.spawn_and_wait(instance, options).await
    }

    pub(super) fn reset_restarts(&self, instance: &str) {
        if let Some(slot) = self.slots().get_mut(instance) {
            slot.state.restarts = 0;
        }
    }

    /// Start a preset's members in order, after checking all of them: if any check fails, none
    /// starts. Their databases' migrations as `migrate` says (the window's yes to
    /// `migrations_pending` is [`MigrateFirst::Yes`]).
    pub async fn start_preset(
        &self,
        preset: &str,
        migrate: MigrateFirst,
    ) -> Result<Vec<InstanceState>, SupervisorError> {
        self.refuse_if_observer()?;
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
        self.start_many(&members, migrate).await
    }

    /// Start several instances in order, all checked first; their databases are migrated first
    /// as `migrate` says (once per unit), a refusal or failure starting none of them.
    pub async fn start_many(
        &self,
        members: &[String],
        migrate: MigrateFirst,
    ) -> Result<Vec<InstanceState>, SupervisorError> {
        self.start_members(members, None, migrate).await
    }

    /// [`Self::start_many`]; with `site`, the migrate output goes to the site's log (the window's
    /// site log) instead of each unit's own.
    pub(super) async fn start_members(
        &self,
        members: &[String],
        site: Option<&str>,
        migrate: MigrateFirst,
    ) -> Result<Vec<InstanceState>, SupervisorError> {
        self.refuse_if_observer()?;
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
            .filter_map(|m| self.preflight_process(m, StartOptions::default()).err())
            .collect();
        // The interpreter is the workspace's: asked once for all of them.
        let names: Vec<String> = pending.iter().map(|m| m.to_string()).collect();
        if let Err(e) = self.packages_preflight(&names) {
            problems.push(e);
        }
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
        if !pending.is_empty() {
            if let Err(e) = self.postgres_startable(&pending).await {
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
        let pending_names = names;
        // A provisioned PostgreSQL database exists only once its server runs: before migrating.
        self.ensure_postgres(&pending_names).await?;
        if !pending_names.is_empty() {
            self.migrate_before_start(&pending_names, site, migrate)
                .await?;
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

    /// Before `members` start: the migrations their databases lack, once per unit (a site's
    /// members share one), dealt with as `migrate` and each unit's policy say
    /// ([`crate::workspace::Workspace::migrate_policy`]): applied ("auto", or the user's yes),
    /// left ("never": it starts up but not ready), or refused ("ask", nobody asked:
    /// `migrations_pending`, nothing started). Each line of `manage.py migrate` goes to the log
    /// of `site` when given, else to the ring of the member it runs through, and (by
    /// `migrate_unit`) to that member's log file.
    async fn migrate_before_start(
        &self,
        members: &[String],
        site: Option<&str>,
        migrate: MigrateFirst,
    ) -> Result<(), SupervisorError> {
        use crate::django::migrations::{self, UnitMigrations};
        use crate::workspace::MigratePolicy;
        if migrate == MigrateFirst::Decided {
            return Ok(());
        }
        let sup = self.clone();
        let (log, owned) = (site.map(str::to_string), members.to_vec());
        let result = tokio::task::spawn_blocking(move || {
            let ws = &sup.inner.ws;
            let log_of = |u: &UnitMigrations| log.clone().unwrap_or_else(|| u.through.clone());
            let mut refused = None;
            let applied = migrations::migrate_units(
                ws,
                &owned,
                |u| {
                    let policy = ws.migrate_policy(&u.through);
                    let apply = match (migrate, policy) {
                        (MigrateFirst::Yes, _) | (_, MigratePolicy::Auto) => true,
                        (_, MigratePolicy::Never) => {
                            sup.note(
                                &log_of(u),
                                &format!(
                                    "kovan: {}: {}; not applied (migrate = \"never\"): run `kovan migrate {}` or the card's Apply",
                                    u.through,
                                    u.status.summary(),
                                    u.through
                                ),
                            );
                            false
                        }
                        (_, MigratePolicy::Ask) => {
                            if refused.is_none() {
                                refused = Some(SupervisorError::MigrationsPending {
                                    unit: u.unit.clone(),
                                    instance: u.through.clone(),
                                    unapplied: u.status.unapplied.len() as u32,
                                    summary: u.status.summary(),
                                });
                            }
                            false
                        }
                    };
                    if apply {
                        sup.note(
                            &log_of(u),
                            &format!(
                                "kovan: migrating the database of {} once, through {}: {}",
                                u.members.join(", "),
                                u.through,
                                u.status.summary()
                            ),
                        );
                    }
                    // Nothing is applied once one unit is refused: nothing starts.
                    apply && refused.is_none()
                },
                |u, line| sup.push_lines(&log_of(u), Stream::Stdout, &[line.to_string()]),
            );
            (applied, refused)
        })
        .await;
        let (log, first) = (
            site.map(str::to_string),
            members.first().cloned().unwrap_or_default(),
        );
        let error = match result {
            Ok((Ok(_), None)) => return Ok(()),
            Ok((_, Some(refused))) => {
                if let SupervisorError::MigrationsPending { instance, .. } = &refused {
                    self.note(
                        log.as_deref().unwrap_or(instance),
                        &format!("kovan: not started: {refused}"),
                    );
                }
                return Err(refused);
            }
            Ok((Err(error), None)) => error,
            Err(join) => crate::django::MigrationError::NotStarted {
                instance: first.clone(),
                why: join.to_string(),
            },
        };
        self.note(
            log.as_deref().unwrap_or(&first),
            &format!("kovan: not started: {error}"),
        );
        Err(match site {
            Some(site) => SupervisorError::SiteNotMigrated {
                site: site.into(),
                error,
            },
            // One instance, a preset: the migration's own error (migrate_failed, …).
            None => SupervisorError::NotMigrated { error },
        })
    }

    /// The migrations of `instance`'s database were applied (the card's Apply): its unit's
    /// members that came up with migrations pending no longer say so.
    pub fn migrations_applied(&self, instance: &str) {
        let members: Vec<String> = self
            .inner
            .ws
            .unit_members(instance)
            .iter()
            .map(|i| i.name.clone())
            .collect();
        for m in members {
            let pending = self
                .state(&m)
                .is_some_and(|s| s.unapplied_migrations.is_some());
            if pending {
                self.update(&m, None, |s| {
                    s.unapplied_migrations = None;
                    if s.status == RunStatus::Running {
                        s.detail = None;
                    }
                });
            }
        }
    }

    pub(super) async fn redis_startable(&self) -> Result<(), SupervisorError> {
        let Some(redis) = &self.inner.ws.redis else {
            return Ok(());
        };
        if redis_server::answers(redis).await
            || self
                .state(REDIS_SERVICE)
                .is_some_and(|s| s.status == RunStatus::Running)
        {
            return Ok(());
        }
        let fail = |why: String| SupervisorError::Redis {
            url: redis.redacted(),
            managed: redis.managed,
            why,
        };
        if !redis.managed {
            return Err(fail(
                "kovan.toml says managed = false: start it, or set managed = true so Kovan does."
                    .into(),
            ));
        }
        redis_server::can_manage(redis).map_err(fail)?;
        redis_server::server_binary().map_err(fail)?;
        Ok(())
    }

    /// Make sure the workspace's Redis answers, starting it when kovan.toml lets Kovan manage it.
    pub async fn ensure_redis(&self) -> Result<(), SupervisorError> {
        self.refuse_if_observer()?;
        let Some(redis) = self.inner.ws.redis.clone() else {
            return Ok(());
        };
        if redis_server::answers(&redis).await {
            return Ok(());
        }
        self.redis_startable().await?;
        let port = redis_server::can_manage(&redis).map_err(|why| SupervisorError::Redis {
            url: redis.redacted(),
            managed: redis.managed,
            why,
        })?;
        let binary = redis_server::server_binary().map_err(|why| SupervisorError::Redis {
            url: redis.redacted(),
            managed: redis.managed,
            why,
        })?;
        let dir = crate::store::data_dir().join("redis");
        std::fs::create_dir_all(&dir).map_err(|e| SupervisorError::Spawn {
            instance: REDIS_SERVICE.into(),
            message: format!("{}: {e}", dir.display()),
        })?;
        let mut argv = vec![binary.display().to_string()];
        argv.extend(redis_server::server_args(port, &dir));
        let run = self.begin_run(REDIS_SERVICE, port);
        let group = self.spawn_group(REDIS_SERVICE, run, argv, &dir, Vec::new(), port, None)?;
        if redis_server::wait_until_up(port, Duration::from_secs(10)).await {
            self.update(REDIS_SERVICE, Some(run), |s| s.status = RunStatus::Running);
            self.record_process(
                REDIS_SERVICE,
                &group,
                port,
                store_now(),
                String::new(),
                true,
            );
            Ok(())
        } else {
            self.stop_failed_start(REDIS_SERVICE, &group, port, run)
                .await;
            self.update(REDIS_SERVICE, Some(run), |s| {
                s.status = RunStatus::FailedToStart;
                s.detail = Some("redis-server did not accept connections within 10 s".into());
            });
            Err(SupervisorError::Redis {
                url: redis.redacted(),
                managed: redis.managed,
                why: "the redis-server Kovan started did not accept connections within 10 s; see its log.".into(),
            })
        }
    }

    fn postgres_error(&self, why: String) -> SupervisorError {
        SupervisorError::Postgres {
            server: self
                .inner
                .ws
                .postgres
                .as_ref()
                .map(|p| p.redacted())
                .unwrap_or_default(),
            why,
        }
    }

    /// What can be known before anything starts: the units' passwords are in their env files,
    /// and a managed server's binaries are installed.
    pub(super) async fn postgres_startable(
        &self,
        members: &[&String],
    ) -> Result<(), SupervisorError> {
        let Some(pg) = &self.inner.ws.postgres else {
            return Ok(());
        };
        let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
        postgres::units_of(&self.inner.ws, &members).map_err(|why| self.postgres_error(why))?;
        if pg.managed && !postgres::answers(pg).await {
            postgres::bin_dir().map_err(|why| self.postgres_error(why))?;
        }
        Ok(())
    }

    /// Make sure the workspace's PostgreSQL answers (starting the managed one: initdb on first
    /// use) and that the units of `members` have their role and database.
    pub async fn ensure_postgres(&self, members: &[String]) -> Result<(), SupervisorError> {
        self.refuse_if_observer()?;
        let Some(pg) = self.inner.ws.postgres.clone() else {
            return Ok(());
        };
        let units =
            postgres::units_of(&self.inner.ws, members).map_err(|why| self.postgres_error(why))?;
        if units.is_empty() {
            return Ok(());
        }
        let ours_running = self
            .state(POSTGRES_SERVICE)
            .is_some_and(|s| s.status == RunStatus::Running);
        if pg.managed && !ours_running {
            if postgres::answers(&pg).await {
                // Started by another workspace from this data dir (then our password works), or
                // a server that is not Kovan's.
                if let Err(why) = postgres::connect_admin(&pg, "postgres").await {
                    let owner = platform::port_owner(pg.port)
                        .map(|o| format!("PID {} ({})", o.pid, o.command))
                        .unwrap_or_else(|| "another process".into());
                    return Err(self.postgres_error(format!(
                        "port {} is taken by {owner}, which is not the PostgreSQL Kovan manages ({why}). Stop it, or give [database] another port.",
                        pg.port
                    )));
                }
            } else {
                self.start_postgres(&pg).await?;
            }
        }
        let created = postgres::provision(&pg, &units)
            .await
            .map_err(|why| self.postgres_error(why))?;
        for db in created {
            self.record(
                POSTGRES_SERVICE,
                HistoryEvent::DatabaseCreated { database: db },
            );
        }
        Ok(())
    }

    async fn start_postgres(
        &self,
        pg: &crate::workspace::PostgresConfig,
    ) -> Result<(), SupervisorError> {
        let fail = |why: String| self.postgres_error(why);
        let bin = postgres::bin_dir().map_err(fail)?;
        let cluster = postgres::Cluster::for_port(pg.port);
        let begun = Instant::now();
        let made =
            tokio::task::block_in_place(|| postgres::init_cluster(&bin, &cluster)).map_err(fail)?;
        if made {
            self.note(
                POSTGRES_SERVICE,
                &format!(
                    "kovan: initdb made the cluster {} in {} ms",
                    cluster.data().display(),
                    begun.elapsed().as_millis()
                ),
            );
        }
        postgres::make_socket_dir(&cluster).map_err(fail)?;
        let argv = postgres::server_argv(&bin, &cluster).map_err(fail)?;
        let run = self.begin_run(POSTGRES_SERVICE, pg.port);
        let group = self.spawn_group(
            POSTGRES_SERVICE,
            run,
            argv,
            &cluster.dir,
            Vec::new(),
            pg.port,
            None,
        )?;
        match postgres::wait_until_up(pg, Duration::from_secs(20)).await {
            Ok(()) => {
                self.update(POSTGRES_SERVICE, Some(run), |s| {
                    s.status = RunStatus::Running
                });
                self.record_process(
                    POSTGRES_SERVICE,
                    &group,
                    pg.port,
                    store_now(),
                    String::new(),
                    true,
                );
                self.record(
                    POSTGRES_SERVICE,
                    HistoryEvent::Start {
                        port: Some(pg.port),
                        pid: group.pgid,
                        front_door: false,
                        unit: None,
                        initdb: Some(made),
                        millis: Some(begun.elapsed().as_millis() as u64),
                    },
                );
                Ok(())
            }
            Err(why) => {
                self.stop_failed_start(POSTGRES_SERVICE, &group, pg.port, run)
                    .await;
                let last = self.last_lines(POSTGRES_SERVICE);
                self.update(POSTGRES_SERVICE, Some(run), |s| {
                    s.status = RunStatus::FailedToStart;
                    s.detail = Some(format!("did not accept logins within 20 s: {why}"));
                });
                Err(fail(format!(
                    "the server Kovan started did not accept logins within 20 s ({why}). Its last lines: {}",
                    last.join(" | ")
                )))
            }
        }
    }

    pub(super) fn begin_run(&self, instance: &str, port: u16) -> u64 {
        let run = {
            let mut slots = self.slots();
            let slot = slots
                .get_mut(instance)
                .expect("slot exists for every instance");
            slot.run += 1;
            slot.stop_requested = false;
            slot.stopped_by = None;
            let restarts = slot.state.restarts;
            slot.state = InstanceState::stopped(instance, port);
            slot.state.status = RunStatus::Starting;
            slot.state.restarts = restarts;
            slot.run
        };
        self.publish(instance);
        run
    }

    pub(super) fn command_for(&self, i: &Instance, port: u16) -> Vec<String> {
        // A websocket server must speak ASGI: the project's ASGI server unless `command` is given.
        let asgi = (i.role == crate::workspace::Role::Websocket && i.command.is_none())
            .then(|| crate::django::probe::probe(&self.inner.ws).ok())
            .flatten()
            .and_then(|probe| crate::django::packages::asgi_command(&self.inner.ws, &probe));
        match i.command.as_ref().or(asgi.as_ref()) {
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

    pub(super) fn instance_env(&self, i: &Instance, port: u16) -> Vec<(String, String)> {
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

    pub(super) async fn spawn_and_wait(
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
        let group = match self.spawn_group(
            instance,
            run,
            argv,
            &root,
            env,
            port,
            Some((log_file, exit_tx)),
        ) {
            Ok(group) => group,
            Err(e) => {
                self.update(instance, Some(run), |s| {
                    s.status = RunStatus::FailedToStart;
                    s.detail = Some(e.to_string());
                });
                return Err(e);
            }
        };
        let deadline = Instant::now() + self.inner.ws.supervisor.start_timeout;
        // What /health/ said last, so a start that times out says why (a 503's own reason).
        let mut last_answer: Option<String> = None;
        loop {
            if *exit_rx.borrow() {
                // The exit watcher has already recorded the crash.
                return Ok(self.state(instance).expect("slot"));
            }
            let look = readiness::look(port).await;
            if look.is_up() {
                let pending = match &look {
                    readiness::Readiness::MigrationsPending { unapplied, why } => {
                        self.note(instance, &format!("kovan: up, not ready: {why}"));
                        Some((*unapplied, why.clone()))
                    }
                    _ => None,
                };
                self.update(instance, Some(run), |s| {
                    if s.status == RunStatus::Starting {
                        s.status = RunStatus::Running;
                        s.unapplied_migrations = pending.as_ref().map(|(n, _)| *n);
                        s.detail = pending.as_ref().map(|(_, why)| why.clone());
                    }
                });
                let started = self
                    .state(instance)
                    .and_then(|s| s.started_at)
                    .unwrap_or_else(store_now);
                self.record_process(instance, &group, port, started, String::new(), true);
                self.record(
                    instance,
                    HistoryEvent::Start {
                        port: Some(port),
                        pid: group.pgid,
                        front_door: false,
                        unit: None,
                        initdb: None,
                        millis: None,
                    },
                );
                // A member joining an open front door: it routes to it from now on.
                self.follow_members(instance, None).await;
                // Its companions (a Celery worker) once it is ready: they run with its env.
                self.start_companions_of(instance).await;
                return Ok(self.state(instance).expect("slot"));
            }
            if Instant::now() >= deadline {
                let secs = self.inner.ws.supervisor.start_timeout.as_secs();
                self.stop_failed_start(instance, &group, port, run).await;
                let last = self.last_lines(instance);
                self.update(instance, Some(run), |s| {
                    s.status = RunStatus::FailedToStart;
                    s.detail = Some(match &last_answer {
                        Some(why) => format!(
                            "/health/ did not answer 200 on port {port} within {secs} s: {why}"
                        ),
                        None => {
                            format!("/health/ did not answer 200 on port {port} within {secs} s")
                        }
                    });
                    s.last_lines = last;
                    s.pid = None;
                });
                self.forget(instance);
                self.record(instance, HistoryEvent::FailedToStart { port });
                return Ok(self.state(instance).expect("slot"));
            }
            if let readiness::Readiness::NotYet(why) = look {
                last_answer = Some(why);
            }
            tokio::select! {
                _ = exit_rx.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(150)) => {}
            }
        }
    }

    /// Spawn `argv` as the leader of a new process group, pump its output and watch its exit.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn spawn_group(
        &self,
        instance: &str,
        run: u64,
        argv: Vec<String>,
        cwd: &std::path::Path,
        env: Vec<(String, String)>,
        port: u16,
        log_and_exit: Option<(PathBuf, watch::Sender<bool>)>,
    ) -> Result<GroupIdentity, SupervisorError> {
        self.refuse_if_observer()?;
        let spawn_err = |message: String| SupervisorError::Spawn {
            instance: instance.into(),
            message,
        };
        let workspace = self.workspace_marker();
        let mut command = CommandWrap::with_new(&argv[0], |c| {
            c.args(&argv[1..])
                .current_dir(cwd)
                .envs(env)
                // Every process of the group inherits these: how Kovan tells its own processes
                // from others that later have the same group number (group.rs).
                .env(group::WORKSPACE_MARKER, &workspace)
                .env(group::INSTANCE_MARKER, instance)
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
        // Read now, while it cannot have been reaped yet unless it already exited (then None,
        // and only the markers name its processes).
        let group = self.identity(instance, pid);
        {
            let mut slots = self.slots();
            let slot = slots.get_mut(instance).expect("slot");
            slot.group = Some(group.clone());
            slot.state.pid = Some(pid);
            slot.state.started_at = Some(started);
        }
        self.publish(instance);
        self.record_process(instance, &group, port, started, argv.join(" "), false);
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
            group.clone(),
            port,
            pumps,
            exit_tx,
        ));
        Ok(group)
    }
}
