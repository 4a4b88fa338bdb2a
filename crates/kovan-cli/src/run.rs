//! `kovan up`, `kovan status`, `kovan stop`: the supervisor from a terminal.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kovan_core::django::migrations;
use kovan_core::health;
use kovan_core::store::{Store, StoreTrouble, StoreTroubleKind};
use kovan_core::supervisor::lock::{self, LockError, SupervisorLock};
use kovan_core::supervisor::{
    InstanceState, MigrateFirst, RunStatus, StopHow, Stream, Supervisor, SupervisorEvent,
};
use kovan_core::workspace::MigratePolicy;
use kovan_core::Workspace;

const COLOURS: [&str; 6] = ["36", "35", "33", "32", "34", "31"];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Kovan's store, and what is wrong with it; whatever is wrong is said on stderr, once, here,
/// and later failures the moment they happen.
pub(crate) fn store() -> Option<Arc<Store>> {
    store_and_trouble().0
}

pub(crate) fn store_and_trouble() -> (Option<Arc<Store>>, Option<StoreTrouble>) {
    let (store, trouble) = match Store::open_default() {
        Ok(s) => {
            let trouble = s.trouble();
            (Some(Arc::new(s)), trouble)
        }
        Err(e) => {
            let path = kovan_core::store::data_dir().join("kovan.sqlite3");
            (
                None,
                Some(StoreTrouble::unavailable(&path.display().to_string(), &e)),
            )
        }
    };
    if let Some(t) = &trouble {
        errln!("{}", t.line());
    }
    if let Some(s) = &store {
        s.on_trouble(Arc::new(|t: &StoreTrouble| errln!("{}", t.line())));
    }
    (store, trouble)
}

/// Instances found by their processes' markers that the store had no record of: said, since the
/// store should have named them (it was emptied, replaced, deleted or cannot be read).
fn say_found_by_markers(sup: &Supervisor, store: Option<&Store>, said_trouble: bool) {
    let found = sup.found_by_markers();
    if found.is_empty() || said_trouble {
        return;
    }
    let file = store.map_or_else(
        || kovan_core::store::data_dir().join("kovan.sqlite3"),
        |s| s.path().to_path_buf(),
    );
    errln!(
        "warning: {} found running from the process table by their markers (KOVAN_WORKSPACE, KOVAN_INSTANCE): Kovan's history database {} has no record of them (it was emptied, replaced or deleted); a `kovan stop` or `kovan up` records them again.",
        found.join(", "),
        file.display()
    );
}

fn status_word(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Stopped => "stopped",
        RunStatus::Starting => "starting",
        RunStatus::Running => "running",
        RunStatus::Stopping => "stopping",
        RunStatus::Crashed => "crashed",
        RunStatus::FailedToStart => "failed to start",
    }
}

/// "chat_main is starting", "chat_main crashed: exited with code 1": one status change, said once.
fn status_line(s: &InstanceState) -> String {
    let what = match s.status {
        RunStatus::Stopped => "stopped",
        RunStatus::Starting => "is starting",
        RunStatus::Running => "is running",
        RunStatus::Stopping => "is stopping",
        RunStatus::Crashed => "crashed",
        RunStatus::FailedToStart => "failed to start",
    };
    match s.detail.as_deref() {
        // "chat_main stopped by kovan stop, PID 4242"
        Some(d) if s.status == RunStatus::Stopped && d.starts_with("stopped ") => {
            format!("kovan: {} {d}", s.instance)
        }
        Some(d) => format!("kovan: {} {what}: {d}", s.instance),
        None => format!("kovan: {} {what}", s.instance),
    }
}

/// Sites and presets expand to their members; instance names stay; nothing given means every
/// instance. A companion process is a target only with `processes` (`kovan stop worker`); it
/// starts with its unit.
fn targets(ws: &Workspace, names: &[String], processes: bool) -> Result<Vec<String>, String> {
    if names.is_empty() {
        return Ok(ws.instances.iter().map(|i| i.name.clone()).collect());
    }
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let members = if let Some(s) = ws.site(n) {
            s.instances.clone()
        } else if let Some(p) = ws.presets.iter().find(|p| &p.name == n) {
            p.instances.clone()
        } else if ws.instance(n).is_some() {
            vec![n.clone()]
        } else if let Some(p) = ws.process(n) {
            if !processes {
                return Err(format!(
                    "`{n}` is a companion process of {}: it starts once {} is ready (kovan up {}).",
                    p.unit.name(),
                    p.unit.name(),
                    p.unit.name()
                ));
            }
            vec![n.clone()]
        } else {
            let presets: Vec<&str> = ws.presets.iter().map(|p| p.name.as_str()).collect();
            let instances: Vec<&str> = ws.instances.iter().map(|i| i.name.as_str()).collect();
            let sites: Vec<&str> = ws.sites.iter().map(|s| s.name.as_str()).collect();
            let sites = if sites.is_empty() {
                String::new()
            } else {
                format!(" nor a site ({})", sites.join(", "))
            };
            return Err(format!(
                "`{n}` is neither a preset ({}) nor an instance ({}){sites}.",
                presets.join(", "),
                instances.join(", ")
            ));
        };
        for m in members {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// Before starting: the interpreter has what each instance needs, and each database's
/// migrations are dealt with as its `migrate` policy says (see below); without `migrations`,
/// only the first.
fn prepare(
    ws: &Workspace,
    members: &[String],
    yes: bool,
    migrations: bool,
) -> Result<(), ExitCode> {
    let probe = match kovan_core::django::probe::probe(ws) {
        Ok(p) => p,
        Err(e) => {
            errln!("error: {e}");
            return Err(ExitCode::from(1));
        }
    };
    let mut missing = false;
    for m in members {
        let report = kovan_core::django::packages::check(ws, &probe, Some(m));
        if let Some(message) = report.message() {
            errln!("error: {m}: {message}");
            missing = true;
        }
    }
    if missing {
        return Err(ExitCode::from(1));
    }
    if !migrations || !probe.has("django") {
        // No instance needs Django (their commands are their own): no migrations to look at.
        return Ok(());
    }
    let terminal = std::io::stdin().is_terminal();
    // Once per unit: a site's members share one database, migrated through its first member,
    // as the unit's `migrate` says: "auto" applies, "never" leaves them (the instance runs, up
    // but not ready), "ask" asks on a terminal, is answered by --yes, and refuses without either.
    let mut refused = false;
    let confirm = |u: &migrations::UnitMigrations| {
        let m = &u.through;
        let apply = match ws.migrate_policy(m) {
            MigratePolicy::Auto => true,
            MigratePolicy::Never => {
                errln!(
                    "kovan: {m}: {}; not applied (migrate = \"never\"): it starts up but not ready; `kovan migrate {m}` applies them",
                    u.status.summary()
                );
                false
            }
            MigratePolicy::Ask if yes => true,
            MigratePolicy::Ask if terminal => {
                err!("kovan: {m}: {}. Apply them now? [Y/n] ", u.status.summary());
                let mut answer = String::new();
                let _ = std::io::stdin().read_line(&mut answer);
                !answer.trim().to_lowercase().starts_with('n')
            }
            MigratePolicy::Ask => {
                errln!(
                    "error: {m}: {}; not applied without a terminal to ask on: run `kovan up --yes` or `kovan migrate {m}`, or set migrate = \"auto\" in kovan.toml",
                    u.status.summary()
                );
                refused = true;
                false
            }
        };
        if apply {
            errln!("kovan: {m}: applying {}", u.status.summary());
        }
        // Nothing more is applied once one unit is refused: nothing starts.
        apply && !refused
    };
    let on_line = |u: &migrations::UnitMigrations, line: &str| {
        errln!("{} | migrate | {line}", u.through);
    };
    if let Err(e) = migrations::migrate_units(ws, members, confirm, on_line) {
        errln!("error: {e}");
        return Err(ExitCode::from(1));
    }
    if refused {
        errln!("error: nothing was started");
        return Err(ExitCode::from(1));
    }
    Ok(())
}

/// Run instances in the foreground with prefixed logs; Ctrl-C or SIGTERM stops every group started.
pub fn up(ws: Workspace, names: &[String], yes: bool, take_over: bool) -> ExitCode {
    let members = match targets(&ws, names, false) {
        Ok(m) => m,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // One supervisor per workspace: a second one would fight the first over its processes.
    let who = format!("kovan up, PID {}", std::process::id());
    let acquired = if take_over {
        SupervisorLock::take_over(&ws.file, &who, HAND_OVER_WAIT)
    } else {
        SupervisorLock::acquire(&ws.file, &who)
    };
    let lock = match acquired {
        Ok(lock) => lock,
        Err(LockError::Held { by }) => {
            errln!(
                "error: {} is already supervised by {by}. Take over with `kovan up --take-over` (what it runs keeps running), stop it there (Ctrl-C), or stop its instances with `kovan stop --all`.",
                ws.file.display()
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    // Nothing is started that the store cannot record: a later `kovan status` or window would
    // then know it only by its markers, and its history would be lost.
    let (store, trouble) = store_and_trouble();
    if let Some(t) = trouble
        .as_ref()
        .filter(|t| t.kind != StoreTroubleKind::Recovered)
    {
        errln!(
            "error: nothing was started: {} and what starts now would not be recorded. {}",
            t.message(),
            t.fix()
        );
        return ExitCode::from(1);
    }
    // With a PostgreSQL Kovan provisions, the databases exist only once the server runs: the
    // migrations are looked at after it started (below).
    let provisioned = ws.postgres.is_some();
    // A missing driver (psycopg) is said before anything starts.
    if let Err(code) = prepare(&ws, &members, yes, !provisioned) {
        return code;
    }
    let prepare_ws = ws.clone();
    let colour = crate::style::colour();
    // The companions that start with the members, once each is ready.
    let companions: Vec<String> = members
        .iter()
        .flat_map(|m| ws.companions_of(m))
        .filter(|p| p.autostart)
        .map(|p| p.name.clone())
        .collect();
    let width = members
        .iter()
        .chain(&companions)
        .map(String::len)
        .chain(ws.sites.iter().map(|s| s.name.len()))
        .max()
        .unwrap_or(0)
        .max(if provisioned {
            kovan_core::supervisor::POSTGRES_SERVICE.len()
        } else {
            "redis-server".len()
        });
    // A closed stdout or stderr (`kovan up dev | head -3`) stops what this command started, like
    // Ctrl-C does, and only then ends it.
    let output_closed = Arc::new(tokio::sync::Notify::new());
    let notify = output_closed.clone();
    crate::out::on_close(move || notify.notify_one());
    crate::out::watch_for_closed_pipes();
    // The sites whose members all start here open their front doors once the members answer.
    let sites: Vec<kovan_core::workspace::Site> = ws
        .sites
        .iter()
        .filter(|s| s.instances.iter().all(|m| members.contains(m)))
        .cloned()
        .collect();
    let rt = runtime();
    rt.block_on(async move {
        // A status event also comes when only the PID is known: the line is said when the status
        // or its detail changes, not once per event.
        let said = std::sync::Mutex::new(std::collections::HashMap::new());
        // While this command stops what it started, each stop is said once, by its report (with
        // how and how long), not also by the status events of the same stop.
        let reporting_stops = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let quiet = reporting_stops.clone();
        // From the start: a SIGTERM while the members start (or the front door opens) is kept for
        // the wait below instead of killing this process and leaving them running.
        let signals = Signals::new();
        let sink = Arc::new(move |event: SupervisorEvent| {
            if let SupervisorEvent::Status(s) = event {
                if quiet.load(std::sync::atomic::Ordering::Relaxed)
                    && matches!(s.status, RunStatus::Stopping | RunStatus::Stopped)
                {
                    return;
                }
                let line = status_line(&s);
                let mut said = said.lock().unwrap_or_else(|e| e.into_inner());
                if said.get(&s.instance) != Some(&line) {
                    errln!("{line}");
                    said.insert(s.instance.clone(), line);
                }
            }
        });
        let sup = Supervisor::new(ws, store.clone(), sink);
        sup.set_actor("kovan up");
        say_found_by_markers(&sup, store.as_deref(), trouble.is_some());
        let mut prefixed: Vec<String> = members.clone();
        prefixed.extend(companions.iter().cloned());
        prefixed.extend(sites.iter().map(|s| s.name.clone()));
        prefixed.push(kovan_core::supervisor::REDIS_SERVICE.into());
        prefixed.push(kovan_core::supervisor::POSTGRES_SERVICE.into());
        for (n, name) in prefixed.iter().enumerate() {
            let tag = crate::style::paint(
                colour,
                COLOURS[n % COLOURS.len()],
                &format!("{name:<width$} |"),
            );
            let _ = sup.subscribe_logs(
                name,
                Box::new(move |lines| {
                    for l in lines {
                        // The instance's own output, as it wrote it (Django colours its log).
                        if l.stream == Stream::Stderr {
                            err_raw!("{tag} {}\n", l.text);
                        } else {
                            out_raw!("{tag} {}\n", l.text);
                        }
                    }
                    true
                }),
            );
        }
        if provisioned {
            if let Err(e) = sup.ensure_postgres(&members).await {
                errln!("error: {e}");
                sup.stop_all().await;
                return ExitCode::from(1);
            }
            if let Err(code) =
                tokio::task::block_in_place(|| prepare(&prepare_ws, &members, yes, true))
            {
                sup.stop_all().await;
                return code;
            }
        }
        // prepare() has dealt with the migrations (asked, applied or left as the policy says).
        if let Err(e) = sup.start_many(&members, MigrateFirst::Decided).await {
            errln!("error: {e}");
            sup.stop_all().await;
            return ExitCode::from(1);
        }
        if crate::out::any_closed() {
            reporting_stops.store(true, std::sync::atomic::Ordering::Relaxed);
            return stop_after_closed_output(&sup).await;
        }
        let failed: Vec<InstanceState> = members
            .iter()
            .filter_map(|m| sup.state(m))
            .filter(|s| s.status != RunStatus::Running)
            .collect();
        if !failed.is_empty() {
            for s in &failed {
                errln!(
                    "error: {} {}",
                    s.instance,
                    s.detail.as_deref().unwrap_or(status_word(s.status))
                );
            }
            sup.stop_all().await;
            return ExitCode::from(1);
        }
        // The front doors, each a group the supervisor records: `kovan stop` and the window find
        // them, and a member started or stopped alone meanwhile is followed by a reload.
        for site in &sites {
            match sup.open_door(&site.name).await {
                Ok(_) => errln!(
                    "kovan: the front door of {} is open: http://127.0.0.1:{}/",
                    site.name,
                    site.front_door
                ),
                // The members keep running on their own ports.
                Err(e) => errln!("error: {e}"),
            }
        }
        let with: Vec<&str> = companions
            .iter()
            .filter(|c| sup.state(c).is_some_and(|s| s.status == RunStatus::Running))
            .map(String::as_str)
            .collect();
        if with.is_empty() {
            errln!("kovan: {} running; Ctrl-C stops them", members.join(", "));
        } else {
            errln!(
                "kovan: {} running (with {}); Ctrl-C stops them",
                members.join(", "),
                with.join(", ")
            );
        }
        tokio::select! {
            () = signals.wait() => {}
            by = hand_over_asked(&lock) => {
                // Nothing is stopped: the one that asked adopts what runs. The lock goes with
                // this process.
                errln!(
                    "kovan: {by} took over {}; what ran here keeps running under it",
                    sup.workspace().file.display()
                );
                return ExitCode::SUCCESS;
            }
            () = output_closed.notified() => {
                reporting_stops.store(true, std::sync::atomic::Ordering::Relaxed);
                return stop_after_closed_output(&sup).await;
            }
            by = stopped_from_outside(&sup, &members) => {
                errln!(
                    "kovan: {} stopped by {by}; nothing left to supervise",
                    members.join(", ")
                );
                // What is still running of what this command started (a front door, a managed Redis).
                reporting_stops.store(true, std::sync::atomic::Ordering::Relaxed);
                for r in sup.stop_all().await {
                    match r {
                        Ok(r) if r.how == StopHow::NotRunning => {}
                        Ok(r) => errln!("kovan: {} {}{}", named(sup.workspace(), &r.instance), r.how, took(&r)),
                        Err(e) => errln!("error: {e}"),
                    }
                }
                return ExitCode::SUCCESS;
            }
        }
        errln!("kovan: stopping");
        reporting_stops.store(true, std::sync::atomic::Ordering::Relaxed);
        // stop_all closes the front doors first, so no request reaches a member that is stopping.
        let mut code = ExitCode::SUCCESS;
        for r in sup.stop_all().await {
            match r {
                Ok(r) if r.how == StopHow::NotRunning => {}
                Ok(r) => errln!("kovan: {} {}{}", named(sup.workspace(), &r.instance), r.how, took(&r)),
                Err(e) => {
                    errln!("error: {e}");
                    code = ExitCode::from(1);
                }
            }
        }
        code
    })
}

/// stdout or stderr closed: stop every group this command started, then end with the closed-pipe
/// status (1 when a group survived).
async fn stop_after_closed_output(sup: &Supervisor) -> ExitCode {
    errln!("kovan: output closed; stopping what this command started");
    let mut code = ExitCode::from(crate::out::status());
    for r in sup.stop_all().await {
        match r {
            Ok(r) => errln!(
                "kovan: {} {}{}",
                named(sup.workspace(), &r.instance),
                r.how,
                took(&r)
            ),
            Err(e) => {
                errln!("error: {e}");
                code = ExitCode::from(1);
            }
        }
    }
    code
}

/// How long `kovan up --take-over` waits for the supervisor it asks to let go.
const HAND_OVER_WAIT: Duration = Duration::from_secs(15);

/// Resolves when another Kovan asks to take this workspace over, with who asks.
async fn hand_over_asked(lock: &SupervisorLock) -> String {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(by) = lock.hand_over_asked() {
            return by;
        }
    }
}

/// Resolves when every member was stopped by another Kovan (`kovan stop`, the window), with who
/// stopped them.
async fn stopped_from_outside(sup: &Supervisor, members: &[String]) -> String {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let by: Option<Vec<String>> = members
            .iter()
            .map(|m| {
                sup.stopped_by(m)
                    .filter(|_| sup.state(m).is_some_and(|s| s.status == RunStatus::Stopped))
            })
            .collect();
        if let Some(mut by) = by {
            by.sort();
            by.dedup();
            return by.join(" and ");
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP, caught from the moment this is made.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Self {
            int: signal(SignalKind::interrupt()).expect("a SIGINT handler"),
            term: signal(SignalKind::terminate()).expect("a SIGTERM handler"),
            hup: signal(SignalKind::hangup()).expect("a SIGHUP handler"),
        }
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
    }
}

/// One row of `kovan status --json`: an instance, a site's front door or the managed Redis.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusRow<'a> {
    /// The instance's name, the site's for its front door, `redis-server`.
    instance: &'a str,
    kind: RowKind,
    /// The site the row belongs to: the front door's own, or the member's.
    site: Option<&'a str>,
    status: RunStatus,
    pid: Option<i32>,
    port: u16,
    health: Option<&'a health::once::Verdict>,
    health_detail: Option<&'a str>,
    started_at: Option<i64>,
    /// The address a browser opens (front doors only).
    url: Option<String>,
    /// The members the front door routes to now (front doors only).
    routes_to: Vec<&'a str>,
    /// The instance or site whose environment it runs with (processes only).
    unit: Option<&'a str>,
}

#[derive(serde::Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
enum RowKind {
    Instance,
    FrontDoor,
    Redis,
    Postgres,
    /// A companion process (`[[process]]`), beneath its unit.
    Process,
}

/// Every instance of the workspace: state, PID, port and health, including ones the app started.
/// A site is a line of its own (its front door) with its members beneath; isolated instances and
/// the Redis follow.
pub fn status(ws: Workspace, json: bool) -> ExitCode {
    let rt = runtime();
    rt.block_on(async move {
        // Looks only: the store is the supervisor's to write (a record that looks stale here may be
        // one `kovan up` is about to finish).
        let supervised_by = lock::holder(&ws.file);
        let (store, trouble) = store_and_trouble();
        let sup = Supervisor::observe(ws, store.clone());
        say_found_by_markers(&sup, store.as_deref(), trouble.is_some());
        let ws = sup.workspace();
        let states: Vec<InstanceState> = sup.states();
        let state_of = |name: &str| states.iter().find(|s| s.instance == name);
        // Sites first, each door then its members, in the file's order; then the rest.
        let mut order: Vec<(&InstanceState, RowKind, Option<&str>)> = Vec::new();
        // Each unit's companions right beneath it: a site's after its members.
        let companions_of = |unit: &str| {
            ws.processes
                .iter()
                .filter(|p| p.unit.name() == unit)
                .filter_map(|p| state_of(&p.name))
                .collect::<Vec<_>>()
        };
        for site in &ws.sites {
            if let Some(s) = state_of(&site.name) {
                order.push((s, RowKind::FrontDoor, Some(&site.name)));
            }
            for m in &site.instances {
                if let Some(s) = state_of(m) {
                    order.push((s, RowKind::Instance, Some(&site.name)));
                    for c in companions_of(m) {
                        order.push((c, RowKind::Process, None));
                    }
                }
            }
            for c in companions_of(&site.name) {
                order.push((c, RowKind::Process, None));
            }
        }
        for s in &states {
            if order.iter().any(|(o, _, _)| o.instance == s.instance) {
                continue;
            }
            if ws.process(&s.instance).is_some() {
                continue; // beneath its unit
            }
            let isolated = ws.instance(&s.instance).is_some();
            let kind = if s.instance == kovan_core::supervisor::REDIS_SERVICE {
                RowKind::Redis
            } else if s.instance == kovan_core::supervisor::POSTGRES_SERVICE {
                RowKind::Postgres
            } else {
                RowKind::Instance
            };
            order.push((s, kind, None));
            if isolated {
                for c in companions_of(&s.instance) {
                    order.push((c, RowKind::Process, None));
                }
            }
        }
        let mut rows = Vec::new();
        for (s, kind, site) in order {
            // The window's rule: the health endpoint and the derived names for an instance, the
            // probe nginx answers itself for a front door, PING for the Redis.
            let health = if s.status != RunStatus::Running {
                None
            } else {
                match kind {
                    // No port, no health endpoint: running is all there is to say.
                    RowKind::Process => None,
                    RowKind::Redis => health::once::redis(ws).await,
                    RowKind::Postgres => health::once::postgres(ws).await,
                    RowKind::FrontDoor => Some(
                        health::once::front_door(&s.instance, s.port, Duration::from_secs(2)).await,
                    ),
                    RowKind::Instance => match ws.instance(&s.instance) {
                        Some(i) => Some(
                            health::once::instance(ws, i, s.port, Duration::from_secs(2)).await,
                        ),
                        None => None,
                    },
                }
            };
            rows.push((s, kind, site, health));
        }
        let routes_to = |site: &str| -> Vec<&str> {
            ws.site(site)
                .map(|st| {
                    st.instances
                        .iter()
                        .filter(|m| state_of(m).is_some_and(|s| s.status == RunStatus::Running))
                        .map(String::as_str)
                        .collect()
                })
                .unwrap_or_default()
        };
        if json {
            let out: Vec<StatusRow> = rows
                .iter()
                .map(|(s, kind, site, h)| {
                    let door = *kind == RowKind::FrontDoor;
                    StatusRow {
                        instance: &s.instance,
                        kind: *kind,
                        site: *site,
                        status: s.status,
                        pid: s.pid,
                        port: s.port,
                        health: h.as_ref().map(|h| &h.verdict),
                        health_detail: h.as_ref().map(|h| h.detail.as_str()),
                        started_at: s.started_at,
                        url: door.then(|| format!("http://127.0.0.1:{}/", s.port)),
                        routes_to: if door && s.status == RunStatus::Running {
                            routes_to(&s.instance)
                        } else {
                            Vec::new()
                        },
                        unit: ws.process(&s.instance).map(|p| p.unit.name()),
                    }
                })
                .collect();
            outln!("{}", serde_json::to_string_pretty(&out).expect("json"));
        } else {
            outln!(
                "{:<18} {:<16} {:>7} {:>6}  HEALTH",
                "INSTANCE",
                "STATE",
                "PID",
                "PORT"
            );
            for (s, kind, site, h) in &rows {
                let pid = s.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
                let process = ws.process(&s.instance);
                let name = match (kind, site) {
                    (RowKind::FrontDoor, _) => format!("site {}", s.instance),
                    (RowKind::Process, _) => {
                        // Beneath its unit, one step further in than the unit's own row.
                        let nested = process.is_some_and(|p| {
                            ws.site(p.unit.name()).is_some() || ws.site_of(p.unit.name()).is_some()
                        });
                        let indent = if nested { "    " } else { "  " };
                        format!("{indent}{}", s.instance)
                    }
                    (_, Some(_)) => format!("  {}", s.instance),
                    _ => s.instance.clone(),
                };
                let detail = match (kind, h) {
                    (RowKind::FrontDoor, Some(h)) => {
                        let to = routes_to(&s.instance);
                        if to.is_empty() {
                            format!("{}; no member runs", h.detail)
                        } else {
                            format!("{}; routes to {}", h.detail, to.join(", "))
                        }
                    }
                    (RowKind::FrontDoor, None) => {
                        format!("front door http://127.0.0.1:{}/ closed", s.port)
                    }
                    (RowKind::Process, _) => match process {
                        Some(p) if ws.site(p.unit.name()).is_some() => {
                            format!("process of site {}", p.unit.name())
                        }
                        Some(p) => format!("process of {}", p.unit.name()),
                        None => "-".into(),
                    },
                    (_, Some(h)) => h.detail.clone(),
                    (_, None) => "-".into(),
                };
                let port = if *kind == RowKind::Process {
                    "-".to_string()
                } else {
                    s.port.to_string()
                };
                outln!(
                    "{name:<18} {:<16} {pid:>7} {port:>6}  {detail}",
                    status_word(s.status),
                );
            }
            if let Some(by) = &supervised_by {
                outln!("supervised by {by}");
            }
        }
        ExitCode::SUCCESS
    })
}

/// Stop groups recorded in the store, whoever started them. A site named stops its front door
/// first, then its members; each instance's companion processes stop before it; `--all` stops every
/// front door, instance, companion and the Redis Kovan started.
pub fn stop(ws: Workspace, names: &[String], all: bool) -> ExitCode {
    let members = if all {
        ws.instances
            .iter()
            .map(|i| i.name.clone())
            .collect::<Vec<_>>()
    } else {
        match targets(&ws, names, true) {
            Ok(m) => m,
            Err(e) => {
                errln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let doors: Vec<String> = ws
        .sites
        .iter()
        .filter(|s| all || names.contains(&s.name))
        .map(|s| s.name.clone())
        .collect();
    let rt = runtime();
    rt.block_on(async move {
        let (store, trouble) = store_and_trouble();
        let sup = Supervisor::new(ws, store.clone(), Arc::new(|_| {}));
        sup.set_actor("kovan stop");
        say_found_by_markers(&sup, store.as_deref(), trouble.is_some());
        let mut reports = Vec::new();
        // The doors first: no request reaches a member that is stopping.
        for door in &doors {
            reports.push(sup.stop(door).await);
        }
        reports.extend(sup.stop_many(&members).await);
        if all && sup.state(kovan_core::supervisor::REDIS_SERVICE).is_some() {
            reports.push(sup.stop_redis_unless_used().await);
        }
        if all
            && sup
                .state(kovan_core::supervisor::POSTGRES_SERVICE)
                .is_some()
        {
            reports.push(sup.stop_postgres_unless_used().await);
        }
        let mut code = ExitCode::SUCCESS;
        for r in reports {
            match r {
                Ok(r) if r.how == StopHow::NotRunning => {}
                Ok(r) => outln!(
                    "{}: {}{}",
                    named(sup.workspace(), &r.instance),
                    r.how,
                    took(&r)
                ),
                Err(e) => {
                    errln!("error: {e}");
                    code = ExitCode::from(1);
                }
            }
        }
        code
    })
}

/// How a stopped group is named: "front door of chat" for a site's, its name otherwise.
fn named(ws: &Workspace, name: &str) -> String {
    if ws.site(name).is_some() {
        format!("front door of {name}")
    } else {
        name.to_string()
    }
}

/// " in 29 ms" after a stop; nothing when nothing was stopped (a Redis left running for others).
fn took(r: &kovan_core::supervisor::StopReport) -> String {
    if let StopHow::LeftRunning { .. } = r.how {
        String::new()
    } else {
        format!(" in {} ms", r.millis)
    }
}
