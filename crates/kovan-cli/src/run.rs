//! `kovan up`, `kovan status`, `kovan stop`: the supervisor from a terminal.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kovan_core::django::migrations;
use kovan_core::health;
use kovan_core::store::Store;
use kovan_core::supervisor::lock::{self, LockError, SupervisorLock};
use kovan_core::supervisor::{InstanceState, RunStatus, Stream, Supervisor, SupervisorEvent};
use kovan_core::Workspace;

const COLOURS: [&str; 6] = ["36", "35", "33", "32", "34", "31"];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

pub(crate) fn store() -> Option<Arc<Store>> {
    match Store::open_default() {
        Ok(s) => Some(Arc::new(s)),
        Err(e) => {
            errln!("warning: {e}; instances started now will not be found by `kovan status` or the app");
            None
        }
    }
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
/// instance.
fn targets(ws: &Workspace, names: &[String]) -> Result<Vec<String>, String> {
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

/// Before starting: the interpreter has what each instance needs, and each database is migrated
/// (asked on a terminal; applied with `--yes`; left, and said, with neither); without
/// `migrations`, only the first.
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
    for m in members {
        let Some(i) = ws.instance(m) else { continue };
        if !kovan_core::django::packages::runs_django(i.command.as_deref()) {
            continue;
        }
        let status = match migrations::status(ws, i) {
            Ok(s) => s,
            Err(e) => {
                errln!("error: {e}");
                return Err(ExitCode::from(1));
            }
        };
        if status.unapplied.is_empty() {
            continue;
        }
        let apply = if yes {
            true
        } else if terminal {
            err!("kovan: {m}: {}. Apply them now? [Y/n] ", status.summary());
            let mut answer = String::new();
            let _ = std::io::stdin().read_line(&mut answer);
            !answer.trim().to_lowercase().starts_with('n')
        } else {
            errln!(
                "kovan: {m}: {}; not applied without a terminal to ask on: run `kovan up --yes` or `kovan migrate {m}`",
                status.summary()
            );
            false
        };
        if apply {
            errln!("kovan: {m}: applying {}", status.summary());
            let tag = format!("{m} | migrate |");
            if let Err(e) = migrations::migrate_unit(ws, i, |line| errln!("{tag} {line}")) {
                errln!("error: {e}");
                return Err(ExitCode::from(1));
            }
        }
    }
    Ok(())
}

/// Run instances in the foreground with prefixed logs; Ctrl-C or SIGTERM stops every group started.
pub fn up(ws: Workspace, names: &[String], yes: bool) -> ExitCode {
    let members = match targets(&ws, names) {
        Ok(m) => m,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // One supervisor per workspace: a second one would fight the first over its processes.
    let who = format!("kovan up, PID {}", std::process::id());
    let _lock = match SupervisorLock::acquire(&ws.file, &who) {
        Ok(lock) => lock,
        Err(LockError::Held { by }) => {
            errln!(
                "error: {} is already supervised by {by}. Stop it there (Ctrl-C), or stop its instances with `kovan stop --all`, then run kovan up again.",
                ws.file.display()
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    // With a PostgreSQL Kovan provisions, the databases exist only once the server runs: the
    // migrations are looked at after it started (below).
    let provisioned = ws.postgres.is_some();
    // A missing driver (psycopg) is said before anything starts.
    if let Err(code) = prepare(&ws, &members, yes, !provisioned) {
        return code;
    }
    let prepare_ws = ws.clone();
    let colour = crate::style::colour();
    let width = members
        .iter()
        .map(String::len)
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
    let door_ws = ws.clone();
    let rt = runtime();
    rt.block_on(async move {
        // A status event also comes when only the PID is known: the line is said when the status
        // or its detail changes, not once per event.
        let said = std::sync::Mutex::new(std::collections::HashMap::new());
        // From the start: a SIGTERM while the members start (or the front door opens) is kept for
        // the wait below instead of killing this process and leaving them running.
        let signals = Signals::new();
        let sink = Arc::new(move |event: SupervisorEvent| {
            if let SupervisorEvent::Status(s) = event {
                let line = status_line(&s);
                let mut said = said.lock().unwrap_or_else(|e| e.into_inner());
                if said.get(&s.instance) != Some(&line) {
                    errln!("{line}");
                    said.insert(s.instance.clone(), line);
                }
            }
        });
        let sup = Supervisor::new(ws, store(), sink);
        sup.set_actor("kovan up");
        let mut prefixed: Vec<String> = members.clone();
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
        if let Err(e) = sup.start_many(&members).await {
            errln!("error: {e}");
            sup.stop_all().await;
            return ExitCode::from(1);
        }
        if crate::out::any_closed() {
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
        let mut doors = Vec::new();
        for (n, site) in sites.iter().enumerate() {
            let tag = crate::style::paint(
                colour,
                COLOURS[(members.len() + 1 + n) % COLOURS.len()],
                &format!("{:<width$} |", site.name),
            );
            let on_line = Arc::new(move |is_err: bool, line: String| {
                if is_err {
                    err_raw!("{tag} {line}\n");
                } else {
                    out_raw!("{tag} {line}\n");
                }
            });
            let data = kovan_core::store::data_dir();
            match kovan_core::services::nginx::open(&door_ws, site, &data, on_line).await {
                Ok(door) => {
                    errln!(
                        "kovan: the front door of {} is open: {}",
                        site.name,
                        door.door.url()
                    );
                    doors.push(door);
                }
                // The members keep running on their own ports.
                Err(e) => errln!("error: {e}"),
            }
        }
        errln!("kovan: {} running; Ctrl-C stops them", members.join(", "));
        tokio::select! {
            () = signals.wait() => {}
            () = output_closed.notified() => {
                for door in &mut doors {
                    door.close().await;
                }
                return stop_after_closed_output(&sup).await;
            }
            by = stopped_from_outside(&sup, &members) => {
                errln!(
                    "kovan: {} stopped by {by}; nothing left to supervise",
                    members.join(", ")
                );
                for door in &mut doors {
                    door.close().await;
                }
                // What is still running of what this command started (a managed Redis).
                for r in sup.stop_all().await {
                    match r {
                        Ok(r) if r.how == "not running" => {}
                        Ok(r) => errln!("kovan: {} {}{}", r.instance, r.how, took(&r)),
                        Err(e) => errln!("error: {e}"),
                    }
                }
                return ExitCode::SUCCESS;
            }
        }
        errln!("kovan: stopping");
        // The front doors first, so no request reaches a member that is stopping.
        for door in &mut doors {
            door.close().await;
            errln!("kovan: the front door of {} closed", door.door.site);
        }
        let mut code = ExitCode::SUCCESS;
        for r in sup.stop_all().await {
            match r {
                Ok(r) if r.how == "not running" => {}
                Ok(r) => errln!("kovan: {} {}{}", r.instance, r.how, took(&r)),
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
            Ok(r) => errln!("kovan: {} {}{}", r.instance, r.how, took(&r)),
            Err(e) => {
                errln!("error: {e}");
                code = ExitCode::from(1);
            }
        }
    }
    code
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

/// Every instance of the workspace: state, PID, port and health, including ones the app started.
pub fn status(ws: Workspace, json: bool) -> ExitCode {
    let rt = runtime();
    rt.block_on(async move {
        // Looks only: the store is the supervisor's to write (a record that looks stale here may be
        // one `kovan up` is about to finish).
        let supervised_by = lock::holder(&ws.file);
        let sup = Supervisor::observe(ws, store());
        let mut rows = Vec::new();
        let ws = sup.workspace();
        for s in sup.states() {
            // The window's rule: the health endpoint and the derived names for an instance, PING
            // for the Redis.
            let health = if s.status != RunStatus::Running {
                None
            } else if s.instance == kovan_core::supervisor::REDIS_SERVICE {
                health::once::redis(ws).await
            } else if s.instance == kovan_core::supervisor::POSTGRES_SERVICE {
                health::once::postgres(ws).await
            } else {
                match ws.instance(&s.instance) {
                    Some(i) => {
                        Some(health::once::instance(ws, i, s.port, Duration::from_secs(2)).await)
                    }
                    None => None,
                }
            };
            rows.push((s, health));
        }
        if json {
            let out: Vec<serde_json::Value> = rows
                .iter()
                .map(|(s, h)| {
                    serde_json::json!({
                        "instance": s.instance, "status": s.status, "pid": s.pid, "port": s.port,
                        "health": h.as_ref().map(|h| &h.verdict),
                        "healthDetail": h.as_ref().map(|h| &h.detail), "startedAt": s.started_at,
                    })
                })
                .collect();
            outln!("{}", serde_json::to_string_pretty(&out).expect("json"));
        } else {
            outln!(
                "{:<16} {:<16} {:>7} {:>6}  HEALTH",
                "INSTANCE",
                "STATE",
                "PID",
                "PORT"
            );
            for (s, h) in &rows {
                let pid = s.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
                outln!(
                    "{:<16} {:<16} {pid:>7} {:>6}  {}",
                    s.instance,
                    status_word(s.status),
                    s.port,
                    h.as_ref().map_or("-", |h| h.detail.as_str())
                );
            }
            if let Some(by) = &supervised_by {
                outln!("supervised by {by}");
            }
        }
        ExitCode::SUCCESS
    })
}

/// Stop groups recorded in the store, whoever started them.
pub fn stop(ws: Workspace, names: &[String], all: bool) -> ExitCode {
    let members = if all {
        ws.instances
            .iter()
            .map(|i| i.name.clone())
            .collect::<Vec<_>>()
    } else {
        match targets(&ws, names) {
            Ok(m) => m,
            Err(e) => {
                errln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let rt = runtime();
    rt.block_on(async move {
        let sup = Supervisor::new(ws, store(), Arc::new(|_| {}));
        sup.set_actor("kovan stop");
        let mut reports = sup.stop_many(&members).await;
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
                Ok(r) if r.how == "not running" => {}
                Ok(r) => outln!("{}: {}{}", r.instance, r.how, took(&r)),
                Err(e) => {
                    errln!("error: {e}");
                    code = ExitCode::from(1);
                }
            }
        }
        code
    })
}

/// " in 29 ms" after a stop; nothing when nothing was stopped (a Redis left running for others).
fn took(r: &kovan_core::supervisor::StopReport) -> String {
    if r.how.starts_with("left running") {
        String::new()
    } else {
        format!(" in {} ms", r.millis)
    }
}
