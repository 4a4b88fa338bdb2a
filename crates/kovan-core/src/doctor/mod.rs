//! The isolation doctor: what keeps the instances from being apart, found from kovan.toml, the
//! files Kovan generated, what the running instances report and what the kernel says they hold.
//!
//! What is reachable: a valid kovan.toml cannot give two instances the same port, database file,
//! cookie or key prefix ([`crate::workspace`] refuses such collisions), so those findings come
//! from what the running instances REPORT on `/health/` (a settings module that overrides the
//! generated names, a hand-edited multi_server_settings.py) and from the processes themselves (two
//! groups holding one SQLite file open, one instance listening on another's port).

mod fix;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use fix::{apply_fix, DoctorError};

use crate::generate::{self, env_file, FileStatus};
use crate::health::{self, endpoint, InstanceHealth, Mismatch, NameField};
use crate::process_table;
use crate::running::{self, RunningInstance};
use crate::store::Store;
use crate::workspace::{CacheBackend, Workspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// A fix Kovan can make with one click. `Restart` is the caller's: it maps to the supervisor's
/// restart; [`apply_fix`] does the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FixAction {
    /// chmod 0600 an instance's env file.
    RestrictEnvFile { instance: String, path: String },
    /// Write these generated files again (relative to the Django root).
    Regenerate { paths: Vec<String> },
    /// Give the instance a new SECRET_KEY in its env file (its users are logged out).
    NewSecretKey { instance: String },
    /// Restart the instance so it reads its changed env or settings.
    Restart { instance: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Stable identifier of the kind of problem (the UI translates by it), e.g. "shared-sqlite-file".
    pub kind: String,
    pub severity: Severity,
    pub instances: Vec<String>,
    /// What is wrong (English).
    pub message: String,
    /// Why it matters.
    pub why: String,
    /// What to do.
    pub fix: String,
    pub fix_action: Option<FixAction>,
    /// For a name an instance reports differently: the structured difference.
    pub mismatch: Option<Mismatch>,
}

impl Finding {
    fn new(kind: &str, severity: Severity, instances: Vec<String>, message: String) -> Self {
        Self {
            kind: kind.into(),
            severity,
            instances,
            message,
            why: String::new(),
            fix: String::new(),
            fix_action: None,
            mismatch: None,
        }
    }

    fn why(mut self, why: &str) -> Self {
        self.why = why.into();
        self
    }

    fn fix(mut self, fix: String) -> Self {
        self.fix = fix;
        self
    }

    fn action(mut self, action: FixAction) -> Self {
        self.fix_action = Some(action);
        self
    }
}

/// What the doctor looks at besides the files: the running groups and their last health checks.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub running: Vec<RunningInstance>,
    /// The last check of each instance (the poller's [`health::PollerHandle::latest`]).
    pub health: Vec<InstanceHealth>,
}

impl Context {
    /// Find the running instances and check each one's `/health/` once (the CLI's way).
    pub async fn observe(ws: &Workspace, store: Option<&Store>) -> Self {
        let running = running::find(ws, store);
        let mut health = Vec::new();
        for r in &running {
            let mut poller = health::InstancePoller::new(
                std::sync::Arc::new(ws.clone()),
                &r.instance,
                None,
                health::PollerOptions {
                    timeout: Duration::from_secs(2),
                    ..Default::default()
                },
            );
            health.push(poller.poll().await);
        }
        Self { running, health }
    }

    /// The running groups now, with health the poller already has (the desktop's way).
    pub fn with_health(ws: &Workspace, store: Option<&Store>, health: Vec<InstanceHealth>) -> Self {
        Self {
            running: running::find(ws, store),
            health,
        }
    }

    fn is_running(&self, instance: &str) -> bool {
        self.running.iter().any(|r| r.instance == instance)
    }

    fn reports(&self) -> impl Iterator<Item = (&str, &endpoint::Reported)> {
        self.health
            .iter()
            .filter(|h| self.is_running(&h.instance))
            .filter_map(|h| Some((h.instance.as_str(), h.reported.as_ref()?)))
    }
}

/// Every finding for `ws`, errors first.
pub fn examine(ws: &Workspace, context: &Context) -> Vec<Finding> {
    let mut findings = Vec::new();
    reported_names(ws, context, &mut findings);
    ports(ws, context, &mut findings);
    shared_sqlite_files(context, &mut findings);
    all_interfaces(ws, context, &mut findings);
    shared_redis(ws, &mut findings);
    redis_cache_with_client_class(ws, &mut findings);
    env_files(ws, &mut findings);
    generated_files(ws, &mut findings);
    restart_needed(ws, context, &mut findings);
    findings.sort_by_key(|f| f.severity);
    findings
}

// ---- what the running instances report ----

fn reported_names(ws: &Workspace, context: &Context, findings: &mut Vec<Finding>) {
    for h in context
        .health
        .iter()
        .filter(|h| context.is_running(&h.instance))
    {
        if h.reported.is_none() && h.http_status.is_some() {
            findings.push(
                Finding::new(
                    "not-multi-server",
                    Severity::Error,
                    vec![h.instance.clone()],
                    format!(
                        "{} answers /health/ with {} and no Kovan health report",
                        h.instance,
                        h.http_status.unwrap_or_default()
                    ),
                )
                .why("It is not running the multi-server settings, so it uses the project's own database, cookies and cache prefix: the ones every other instance started this way shares.")
                .fix(format!(
                    "Start it with its env file loaded ({}), which sets DJANGO_SETTINGS_MODULE={}; Kovan's Başlat does this.",
                    ws.instance(&h.instance).map_or("", |i| i.names.env_file.as_str()),
                    generate::settings_module(ws)
                )),
            );
        }
        for m in &h.mismatches {
            findings.push(
                Finding {
                    mismatch: Some(m.clone()),
                    ..Finding::new(
                        "name-mismatch",
                        Severity::Error,
                        vec![h.instance.clone()],
                        m.message.clone(),
                    )
                }
                .why("The instance does not use the name Kovan gave it, so it may share it with another instance or the project's default, and Kovan's cache counts and flushes miss it.")
                .fix(format!(
                    "Find what overrides it after multi_server_settings ({}); remove the override, or set the name in kovan.toml, regenerate and restart.",
                    generate::settings_path(ws)
                )),
            );
        }
    }
    let shared = |field: NameField, value: &dyn Fn(&endpoint::Reported) -> Option<String>| {
        let mut by_value: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (instance, r) in context.reports() {
            if let Some(v) = value(r).filter(|v| !v.is_empty()) {
                by_value.entry(v).or_default().push(instance.to_string());
            }
        }
        by_value
            .into_iter()
            .filter(|(_, who)| who.len() > 1)
            .map(move |(v, who)| (field, v, who))
            .collect::<Vec<_>>()
    };
    let canonical = |name: &str| {
        std::fs::canonicalize(name).map_or_else(|_| name.to_string(), |p| p.display().to_string())
    };
    let mut all = shared(NameField::SessionCookie, &|r| {
        Some(r.session_cookie.clone())
    });
    all.extend(shared(NameField::CsrfCookie, &|r| {
        Some(r.csrf_cookie.clone())
    }));
    // A prefix only mixes keys in a store the instances share: Redis (LocMem is per process).
    all.extend(shared(NameField::CachePrefix, &|r| {
        r.cache
            .backend
            .contains("redis")
            .then(|| r.cache.key_prefix.clone())
    }));
    all.extend(shared(NameField::Database, &|r| {
        Some(canonical(&r.database.name))
    }));
    for (field, value, who) in all {
        let (kind, why) = match field {
            NameField::SessionCookie | NameField::CsrfCookie => ("shared-cookie", "Browsers send cookies by host name and ignore the port (RFC 6265 §8.5): logging in to one instance logs you out of the other."),
            NameField::CachePrefix => ("shared-cache-prefix", "Their cache keys mix in one Redis database: one instance reads the other's cached pages and sessions, and a flush of one deletes the other's keys."),
            _ => ("shared-database", "Two processes writing one SQLite file get \"database is locked\", and their data (users, sessions) is one."),
        };
        findings.push(
            Finding::new(
                kind,
                Severity::Error,
                who.clone(),
                format!("{} all report {} {value:?}", who.join(", "), field_words(field)),
            )
            .why(why)
            .fix("Remove the override that sets it (each instance should report the name Kovan derived), then restart them.".into()),
        );
    }
}

fn field_words(field: NameField) -> &'static str {
    match field {
        NameField::Instance => "instance name",
        NameField::SessionCookie => "session cookie",
        NameField::CsrfCookie => "CSRF cookie",
        NameField::CachePrefix => "cache key prefix",
        NameField::Database => "database",
    }
}

// ---- what the kernel says ----

fn ports(ws: &Workspace, context: &Context, findings: &mut Vec<Finding>) {
    for i in &ws.instances {
        let Some(owner) = process_table::port_owner(i.port) else {
            continue;
        };
        let holder = context
            .running
            .iter()
            .find(|r| r.members.contains(&owner.pid));
        match holder {
            Some(r) if r.instance == i.name => {}
            Some(r) => findings.push(
                Finding::new(
                    "port-held-by-instance",
                    Severity::Error,
                    vec![i.name.clone(), r.instance.clone()],
                    format!("{}'s port {} is served by {}", i.name, i.port, r.instance),
                )
                .why("Requests meant for one instance reach the other, and the first cannot start.")
                .fix(format!("Stop {} and start it on its own port {}.", r.instance, ws.instance(&r.instance).map_or(0, |o| o.port))),
            ),
            None => findings.push(
                Finding::new(
                    "port-taken",
                    Severity::Error,
                    vec![i.name.clone()],
                    format!(
                        "port {} of {} is held by PID {} ({}), not one of this workspace's instances",
                        i.port, i.name, owner.pid, owner.command
                    ),
                )
                .why("The instance cannot start on its port, and whatever answers there is not it.")
                .fix(format!("Stop PID {} if it is yours, or give {} another port in kovan.toml.", owner.pid, i.name)),
            ),
        }
    }
}

/// The database file an open file belongs to: `x.sqlite3-wal` and `-shm` and `-journal` count as `x.sqlite3`.
fn database_of(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    for suffix in ["-wal", "-shm", "-journal"] {
        if let Some(db) = text.strip_suffix(suffix) {
            return PathBuf::from(db);
        }
    }
    path.to_path_buf()
}

fn shared_sqlite_files(context: &Context, findings: &mut Vec<Finding>) {
    let mut holders: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for r in &context.running {
        for pid in &r.members {
            for file in process_table::open_files(*pid) {
                holders
                    .entry(database_of(&file))
                    .or_default()
                    .insert(r.instance.clone());
            }
        }
    }
    for (file, who) in holders {
        if who.len() < 2 || health::sqlite::journal_mode(&file).is_none() {
            continue;
        }
        let who: Vec<String> = who.into_iter().collect();
        findings.push(
            Finding::new(
                "shared-sqlite-file",
                Severity::Error,
                who.clone(),
                format!("{} all have {} open", who.join(", "), file.display()),
            )
            .why("One SQLite file allows one writer at a time: the others wait and fail with \"database is locked\", and the instances share every row.")
            .fix("Give each instance its own database (the derived db_{name}.sqlite3): remove the DATABASES override, then restart them.".into()),
        );
    }
}

fn all_interfaces(ws: &Workspace, context: &Context, findings: &mut Vec<Finding>) {
    for r in &context.running {
        let Some(port) = ws.instance(&r.instance).map(|i| i.port) else {
            continue;
        };
        let sockets: BTreeSet<u64> = r
            .members
            .iter()
            .flat_map(|p| process_table::socket_inodes(*p))
            .collect();
        let open_to_all = r
            .members
            .iter()
            .take(1)
            .flat_map(|p| process_table::listeners_seen_by(*p))
            .any(|l| l.port == port && l.address.is_unspecified() && sockets.contains(&l.inode));
        if open_to_all {
            findings.push(
                Finding::new(
                    "listens-on-all-interfaces",
                    Severity::Warning,
                    vec![r.instance.clone()],
                    format!("{} listens on every network interface (0.0.0.0:{port}), not only 127.0.0.1", r.instance),
                )
                .why("A development server with DEBUG on is reachable from the network: anyone on it sees tracebacks and settings.")
                .fix(format!("Run it on 127.0.0.1:{port} (Kovan's default command does); in a custom command in kovan.toml, replace 0.0.0.0 with 127.0.0.1, then restart.")),
            );
        }
    }
}

// ---- kovan.toml and the project's files ----

fn shared_redis(ws: &Workspace, findings: &mut Vec<Finding>) {
    let on_redis: Vec<String> = ws
        .instances
        .iter()
        .filter(|i| i.cache == CacheBackend::Redis)
        .map(|i| i.name.clone())
        .collect();
    if on_redis.len() < 2 {
        return;
    }
    let url = ws.redis.as_ref().map(|r| r.redacted()).unwrap_or_default();
    findings.push(
        Finding::new(
            "redis-shared-database",
            Severity::Info,
            on_redis.clone(),
            format!("{} share one Redis database ({url}), kept apart by their key prefixes", on_redis.join(", ")),
        )
        .why("Django's cache.clear() is FLUSHDB, in the built-in RedisCache and in django-redis alike: called from any of them (or a third-party command), it deletes every instance's keys and sessions.")
        .fix("Clear caches with Kovan (Cache Temizle, kovan flush) or manage.py clear_cache, which delete by prefix; never call cache.clear() on them.".into()),
    );
}

/// The project's settings module file(s): `a/b.py` or `a/b/__init__.py`.
fn project_settings_files(ws: &Workspace) -> Vec<PathBuf> {
    let base = ws
        .project
        .django_root
        .join(ws.project.settings.replace('.', "/"));
    [base.with_extension("py"), base.join("__init__.py")]
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
}

/// A text check, not Django's view of the settings: importing them means running the project's
/// code (and its side effects) in the doctor; the two strings side by side are what the error
/// needs, and a false hit costs a glance.
fn redis_cache_with_client_class(ws: &Workspace, findings: &mut Vec<Finding>) {
    for file in project_settings_files(ws) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if text.contains("django.core.cache.backends.redis.RedisCache")
            && text.contains("CLIENT_CLASS")
        {
            findings.push(
                Finding::new(
                    "redis-cache-with-django-redis-options",
                    Severity::Error,
                    Vec::new(),
                    format!("{} uses Django's built-in RedisCache with django-redis's CLIENT_CLASS option", file.display()),
                )
                .why("The built-in RedisCache does not know CLIENT_CLASS and raises TypeError on the first cache access: every page that caches fails.")
                .fix("Either use BACKEND \"django_redis.cache.RedisCache\" (pip install django-redis), or remove CLIENT_CLASS from OPTIONS.".into()),
            );
        }
    }
}

fn env_files(ws: &Workspace, findings: &mut Vec<Finding>) {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in &ws.instances {
        let path = ws.project.django_root.join(&i.names.env_file);
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            findings.push(
                Finding::new(
                    "env-file-readable",
                    Severity::Warning,
                    vec![i.name.clone()],
                    format!("{} has mode {mode:04o}: other users can read it", i.names.env_file),
                )
                .why("It holds the instance's SECRET_KEY and Kovan token (and a Redis password, if any): whoever reads it can forge sessions.")
                .fix(format!("chmod 600 {}", i.names.env_file))
                .action(FixAction::RestrictEnvFile { instance: i.name.clone(), path: i.names.env_file.clone() }),
            );
        }
        if let Some(key) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| env_file::parse(&t).remove("SECRET_KEY"))
            .filter(|k| !k.is_empty())
        {
            by_key.entry(key).or_default().push(i.name.clone());
        }
    }
    for who in by_key.into_values().filter(|w| w.len() > 1) {
        for other in &who[1..] {
            findings.push(
                Finding::new(
                    "shared-secret-key",
                    Severity::Error,
                    vec![who[0].clone(), other.clone()],
                    format!("{} and {} have the same SECRET_KEY", who[0], other),
                )
                .why("Sessions, password-reset links and signed cookies of one instance are valid on the other.")
                .fix(format!("Give {other} a new SECRET_KEY (its users are logged out), then restart it."))
                .action(FixAction::NewSecretKey { instance: other.clone() }),
            );
        }
    }
}

fn generated_files(ws: &Workspace, findings: &mut Vec<Finding>) {
    let Ok(plan) = generate::plan(ws) else { return };
    let stale: Vec<String> = plan
        .files
        .iter()
        .filter(|f| matches!(f.status, FileStatus::New | FileStatus::Changed))
        .map(|f| f.file.path.clone())
        .collect();
    if stale.is_empty() {
        return;
    }
    findings.push(
        Finding::new(
            "generated-stale",
            Severity::Warning,
            Vec::new(),
            format!("{} generated file(s) are missing or older than kovan.toml: {}", stale.len(), stale.join(", ")),
        )
        .why("The instances run what is on disk: a change to kovan.toml does nothing until the files are written again.")
        .fix("Regenerate the config (Config Üreteci, or kovan gen --write), then restart the running instances.".into())
        .action(FixAction::Regenerate { paths: stale }),
    );
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).ok()?.modified().ok()
}

/// The env file is read when the group's leader starts; settings when the serving process starts
/// (runserver's autoreloader starts a new child on a .py change, so its newest member counts).
fn restart_needed(ws: &Workspace, context: &Context, findings: &mut Vec<Finding>) {
    let root = &ws.project.django_root;
    let mut settings: Vec<PathBuf> = project_settings_files(ws);
    settings.push(root.join(generate::settings_path(ws)));
    for r in &context.running {
        let Some(i) = ws.instance(&r.instance) else {
            continue;
        };
        let started = |pid: &i32| process_table::started_at(*pid);
        let leader = started(&r.pgid).or_else(|| r.members.iter().filter_map(started).min());
        let newest = r.members.iter().filter_map(started).max();
        let env = root.join(&i.names.env_file);
        let mut changed: Vec<String> = Vec::new();
        if let (Some(start), Some(m)) = (leader, modified(&env)) {
            if m > start {
                changed.push(i.names.env_file.clone());
            }
        }
        for file in &settings {
            if let (Some(start), Some(m)) = (newest, modified(file)) {
                if m > start {
                    changed.push(
                        file.strip_prefix(root)
                            .unwrap_or(file)
                            .display()
                            .to_string(),
                    );
                }
            }
        }
        if changed.is_empty() {
            continue;
        }
        findings.push(
            Finding::new(
                "restart-needed",
                Severity::Warning,
                vec![r.instance.clone()],
                format!("{} was started before {} changed", r.instance, changed.join(" and ")),
            )
            .why("A running Django reads its environment and settings once: it still runs with the old values.")
            .fix(format!("Restart {} (yeniden başlatma gerekli).", r.instance))
            .action(FixAction::Restart { instance: r.instance.clone() }),
        );
    }
}
