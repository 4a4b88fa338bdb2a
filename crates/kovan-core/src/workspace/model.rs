//! The workspace as Kovan uses it: a valid kovan.toml's project, Redis, database, instances,
//! presets and supervisor settings, in types.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

/// A loaded, valid kovan.toml.
#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    /// Absolute path of the kovan.toml.
    pub file: PathBuf,
    pub project: Project,
    pub redis: Option<RedisConfig>,
    pub database: DatabaseEngine,
    /// The PostgreSQL server Kovan creates the units' databases on: its own (`managed = true`)
    /// or one the user runs (`url`). None: SQLite, or PostgreSQL with the project's own
    /// DATABASES credentials and databases made by hand.
    pub postgres: Option<PostgresConfig>,
    pub instances: Vec<Instance>,
    pub presets: Vec<Preset>,
    /// `[site.*]`: groups of instances that are one website. None declared: every instance isolated.
    pub sites: Vec<Site>,
    /// `[[process]]`: companion processes without a port (a Celery worker, a CSS watcher), each
    /// run with the environment of an instance or a site.
    pub processes: Vec<Process>,
    pub supervisor: SupervisorSettings,
    pub undo: UndoSettings,
}

/// How a flush can be undone: `[undo]` in kovan.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UndoSettings {
    /// A flush's snapshot grows to at most this many MiB; past it the flush stops and says so.
    pub limit_mib: u64,
    /// Snapshots older than this are removed.
    pub keep_hours: u64,
    /// Per instance, the newest ones kept.
    pub keep_last: u32,
}

impl Default for UndoSettings {
    fn default() -> Self {
        Self {
            limit_mib: 256,
            keep_hours: 24,
            keep_last: 5,
        }
    }
}

/// Role servers that together are one website: they share the database, SECRET_KEY, session and
/// CSRF cookies, session store, media root and channel layer, behind one front door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub name: String,
    /// Its members, in the file's order.
    pub instances: Vec<String>,
    /// The port the site's nginx listens on (loopback).
    pub front_door: u16,
    /// Path prefix -> role, the file's `routes` over the default ones, longest prefix first.
    pub routes: Vec<SiteRoute>,
}

/// A companion process: a command without a port that runs beside a unit (an instance, or a
/// site), with its environment, supervised like an instance (its own group, log, restarts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// In the namespace of instances and sites: `[a-z][a-z0-9_]{0,31}`.
    pub name: String,
    /// Run by /bin/sh with `exec`, like an instance's `command`, with `{python}` filled in and
    /// the project's virtualenv first in PATH.
    pub command: String,
    pub unit: ProcessUnit,
    pub restart: RestartPolicy,
    pub max_restarts: u32,
    /// Started when its unit is ready (the default); false: only when asked for by name.
    pub autostart: bool,
}

/// The unit whose environment a companion runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessUnit {
    /// That instance's env file and names.
    Instance(String),
    /// The site's main-role member's env file and names (the site's shared ones with them).
    Site(String),
}

impl ProcessUnit {
    /// The instance's or the site's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Instance(n) | Self::Site(n) => n,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRoute {
    pub prefix: String,
    pub role: Role,
}

/// How Kovan runs the instances: `[supervisor]` in kovan.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupervisorSettings {
    /// Between SIGTERM to an instance's process group and SIGKILL.
    pub stop_grace: std::time::Duration,
    /// For the port to accept and /health/ to answer 200.
    pub start_timeout: std::time::Duration,
    /// Lines of output kept in memory per instance.
    pub log_lines: usize,
}

impl Default for SupervisorSettings {
    fn default() -> Self {
        Self {
            stop_grace: std::time::Duration::from_secs(5),
            start_timeout: std::time::Duration::from_secs(30),
            log_lines: 5000,
        }
    }
}

/// What to do when an instance exits on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    Never,
    /// Start again after a crash, waiting 1 s, 2 s, 4 s... up to `max_restarts` times in a row.
    OnFailure,
}

/// What a start does with a database whose migrations are not all applied: `migrate` in
/// `[project]` (every instance's default) and in `[[instance]]` (its own). A site's shared
/// database follows its main-role member (the first one; the site's first member when none is
/// main).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum MigratePolicy {
    /// Asked each time: `kovan up` on its terminal (refused without one unless `--yes`), the
    /// window before its Start.
    #[default]
    Ask,
    /// Applied before the start, once per unit, without asking.
    Auto,
    /// Never applied by a start: the instance runs, and counts as up but not ready (its state
    /// says how many are not applied) until `kovan migrate` or the card applies them.
    Never,
}

impl MigratePolicy {
    pub(super) const ALL: [(&'static str, MigratePolicy); 3] = [
        ("ask", MigratePolicy::Ask),
        ("auto", MigratePolicy::Auto),
        ("never", MigratePolicy::Never),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ask => "ask",
            Self::Auto => "auto",
            Self::Never => "never",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub name: String,
    /// Absolute path of the folder with manage.py.
    pub django_root: PathBuf,
    /// The project's own settings module; the instances run Kovan's settings that import it.
    pub settings: String,
    pub python: Option<String>,
    /// `migrate`: the instances' default (theirs overrides it).
    pub migrate: MigratePolicy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedisConfig {
    pub(super) url: url::Url,
    pub managed: bool,
    /// How a rediss:// server is trusted (ignored for redis://).
    pub tls: RedisTls,
}

/// `[redis] ca_file`, `cert_file`, `key_file`, `verify`: Kovan's own connections and the generated
/// Django settings both use them. Paths are absolute (kovan.toml's are relative to its folder).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RedisTls {
    pub ca_file: Option<PathBuf>,
    /// The client certificate and its key; validation makes sure both or neither are set.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub verify: TlsVerify,
}

/// What of the server's certificate is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TlsVerify {
    /// The chain up to a trusted CA, and that it names the host of the URL.
    #[default]
    Full,
    /// The chain only: for a server whose certificate names another host (an IP, a container name).
    Ca,
    /// Nothing: the traffic is encrypted, but anybody can pose as the server.
    None,
}

impl TlsVerify {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Ca => "ca",
            Self::None => "none",
        }
    }
}

impl RedisConfig {
    /// The URL to connect with, password included. Never show it: use [`RedisConfig::redacted`].
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The URL with its password replaced, safe for the window and logs.
    pub fn redacted(&self) -> String {
        crate::redact::url(&self.url)
    }
}

/// `[database] engine = "postgresql"` with `managed = true` or a `url`.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresConfig {
    /// Kovan runs the server itself, from the system's PostgreSQL, on 127.0.0.1:`port`.
    pub managed: bool,
    pub host: String,
    pub port: u16,
    /// A server the user runs: the URL with the credentials Kovan creates databases and roles
    /// with. Never show it: use [`PostgresConfig::redacted`].
    pub(super) url: Option<url::Url>,
}

/// The port of a managed PostgreSQL when kovan.toml names none: not 5432, where a system
/// server usually is.
pub const DEFAULT_POSTGRES_PORT: u16 = 54320;

impl PostgresConfig {
    pub fn url(&self) -> Option<&url::Url> {
        self.url.as_ref()
    }

    /// Where the server is, safe for the window and logs.
    pub fn redacted(&self) -> String {
        match &self.url {
            Some(url) => crate::redact::url(url),
            None => format!("the managed PostgreSQL on {}:{}", self.host, self.port),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseEngine {
    #[default]
    Sqlite,
    Postgresql,
}

/// Which part of the site an instance serves; nginx routes by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Main,
    Api,
    Websocket,
}

/// The Django cache backend an instance uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum CacheBackend {
    #[default]
    Redis,
    Locmem,
    File,
    Db,
    Dummy,
}

impl Role {
    pub(super) const ALL: [(&'static str, Role); 3] = [
        ("main", Role::Main),
        ("api", Role::Api),
        ("websocket", Role::Websocket),
    ];
}

pub(super) const RESTART_POLICIES: [(&str, RestartPolicy); 2] = [
    ("never", RestartPolicy::Never),
    ("on-failure", RestartPolicy::OnFailure),
];

impl CacheBackend {
    pub(super) const ALL: [(&'static str, CacheBackend); 5] = [
        ("redis", CacheBackend::Redis),
        ("locmem", CacheBackend::Locmem),
        ("file", CacheBackend::File),
        ("db", CacheBackend::Db),
        ("dummy", CacheBackend::Dummy),
    ];

    /// The Django backend class this maps to.
    pub fn django_class(self) -> &'static str {
        match self {
            Self::Redis => "django.core.cache.backends.redis.RedisCache",
            Self::Locmem => "django.core.cache.backends.locmem.LocMemCache",
            Self::File => "django.core.cache.backends.filebased.FileBasedCache",
            Self::Db => "django.core.cache.backends.db.DatabaseCache",
            Self::Dummy => "django.core.cache.backends.dummy.DummyCache",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub name: String,
    pub port: u16,
    pub role: Role,
    pub cache: CacheBackend,
    /// Seconds, Django's TIMEOUT.
    pub cache_timeout: u32,
    /// nginx upstream weight.
    pub weight: u32,
    pub names: DerivedNames,
    /// The site it is a member of; None: isolated (its own unit).
    pub site: Option<String>,
    /// The command that runs it, when not `{python} manage.py runserver 127.0.0.1:{port}`;
    /// run by /bin/sh with `{python}` and `{port}` filled in.
    pub command: Option<String>,
    pub restart: RestartPolicy,
    pub max_restarts: u32,
    /// Its own `migrate`, or the project's. For a site's member, see [`Workspace::migrate_policy`].
    pub migrate: MigratePolicy,
    /// The Django cache alias `cache`, `cache_timeout` and `names.cache_prefix` describe:
    /// [`DEFAULT_ALIAS`] for the instance as declared; another alias's name in a view made by
    /// [`Instance::through`].
    pub cache_alias: String,
    /// Its other cache aliases (`[instance.caches.NAME]`), in the file's order; `default` is the
    /// instance's own `cache`.
    pub caches: Vec<CacheAlias>,
}

/// The alias of the cache an instance's `cache = …` declares (Django's `CACHES["default"]`).
pub const DEFAULT_ALIAS: &str = "default";

/// One more Django cache of an instance: `[instance.caches.local] backend = "locmem"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheAlias {
    /// The key in Django's CACHES, `[a-z][a-z0-9_]{0,31}`, never `default`.
    pub name: String,
    pub backend: CacheBackend,
    /// Seconds, Django's TIMEOUT.
    pub timeout: u32,
    /// Derived: `{instance's cache prefix}.{alias}` (names.rs, `alias_names`).
    pub prefix: String,
    /// Derived like the instance's own location, with `.{alias}` after it; None for Redis, dummy.
    pub location: Option<String>,
}

impl Instance {
    /// Every alias of its cache: `default` first, then the declared ones in the file's order.
    pub fn alias_names(&self) -> Vec<&str> {
        std::iter::once(DEFAULT_ALIAS)
            .chain(self.caches.iter().map(|c| c.name.as_str()))
            .collect()
    }

    /// The instance as one of its cache aliases sees it: `cache`, `cache_timeout`, the cache
    /// prefix and location are the alias's, everything else the instance's. `default` is itself.
    /// Each cache backend counts and flushes such a view as it does an instance.
    pub fn through(&self, alias: &str) -> Option<Instance> {
        if alias == DEFAULT_ALIAS {
            return Some(self.clone());
        }
        let a = self.caches.iter().find(|c| c.name == alias)?;
        let mut view = self.clone();
        view.cache = a.backend;
        view.cache_timeout = a.timeout;
        view.names.cache_prefix = a.prefix.clone();
        view.names.cache_location = a.location.clone();
        view.cache_alias = a.name.clone();
        view.caches.clear();
        Some(view)
    }

    /// Every alias as a view ([`Instance::through`]), `default` first.
    pub fn alias_views(&self) -> Vec<Instance> {
        self.alias_names()
            .into_iter()
            .filter_map(|a| self.through(a))
            .collect()
    }

    /// Whether this is the instance's `default` cache (and not a view of another alias).
    pub fn is_default_alias(&self) -> bool {
        self.cache_alias == DEFAULT_ALIAS
    }

    /// "chat_main" for the default alias, "chat_main (local)" for another: how a flush's words
    /// name what they cover.
    pub fn cache_label(&self) -> String {
        if self.is_default_alias() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.cache_alias)
        }
    }
}

/// Every name that keeps one instance apart from the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DerivedNames {
    /// The isolation unit: the site's name for its members, the instance's own otherwise. Every
    /// name below marked "unit" is derived from it and shared by the unit's members.
    pub unit: String,
    /// (unit) SQLite file relative to the Django root, or the PostgreSQL database name.
    pub database: String,
    /// Django KEY_PREFIX; Redis keys are `{prefix}:{version}:{key}`.
    pub cache_prefix: String,
    /// Where a per-instance cache lives: the LocMem name, the file cache's folder (relative to the
    /// Django root) or the database cache's table. None for Redis (the URL is the workspace's) and dummy.
    pub cache_location: Option<String>,
    /// (unit)
    pub session_cookie: String,
    /// (unit)
    pub csrf_cookie: String,
    /// (unit) Where sessions live: Django's session table in the unit's database.
    pub session_store: String,
    /// (unit) channels_redis `prefix`; keys `{prefix}:group:…` and `{prefix}{channel}`.
    pub channel_prefix: String,
    pub static_root: String,
    /// (unit)
    pub media_root: String,
    pub env_file: String,
    pub log_file: String,
}

impl DerivedNames {
    /// Each derived name with whether it is the unit's (shared by a site's members) or the
    /// instance's own, in the order `kovan check --json` shows them. SECRET_KEY is the unit's too:
    /// its value lives in the env files, so it is named here by the unit it belongs to.
    pub fn scoped(&self) -> Vec<(&'static str, String, Scope)> {
        let unit = |v: &str| (v.to_string(), Scope::Unit);
        let own = |v: &str| (v.to_string(), Scope::Instance);
        let rows = [
            ("database", unit(&self.database)),
            ("secret_key", unit(&format!("SECRET_KEY of {}", self.unit))),
            ("session_cookie", unit(&self.session_cookie)),
            ("csrf_cookie", unit(&self.csrf_cookie)),
            ("session_store", unit(&self.session_store)),
            ("media_root", unit(&self.media_root)),
            ("channel_prefix", unit(&self.channel_prefix)),
            ("cache_prefix", own(&self.cache_prefix)),
            ("static_root", own(&self.static_root)),
            ("env_file", own(&self.env_file)),
            ("log_file", own(&self.log_file)),
        ];
        rows.into_iter().map(|(k, (v, s))| (k, v, s)).collect()
    }
}

/// Whether a derived name comes from the isolation unit or from the instance alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Unit,
    Instance,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    pub name: String,
    pub instances: Vec<String>,
}

impl Workspace {
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name == name)
    }

    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.name == name)
    }

    /// The site an instance belongs to, if any.
    pub fn site_of(&self, instance: &str) -> Option<&Site> {
        self.sites
            .iter()
            .find(|s| s.instances.iter().any(|m| m == instance))
    }

    pub fn process(&self, name: &str) -> Option<&Process> {
        self.processes.iter().find(|p| p.name == name)
    }

    /// The instance whose environment a companion runs with: its instance, or its site's
    /// main-role member (the first, when several).
    pub fn process_instance(&self, process: &Process) -> Option<&Instance> {
        match &process.unit {
            ProcessUnit::Instance(i) => self.instance(i),
            ProcessUnit::Site(s) => self.site(s).and_then(|site| {
                site.instances
                    .iter()
                    .filter_map(|m| self.instance(m))
                    .find(|i| i.role == Role::Main)
            }),
        }
    }

    /// What a start does with the migrations of `instance`'s database: its own `migrate` when
    /// isolated; for a site's member the site's, which is its main-role member's (the first
    /// one; the site's first member when none is main): the members share one database,
    /// migrated once.
    pub fn migrate_policy(&self, instance: &str) -> MigratePolicy {
        let decides = match self.site_of(instance) {
            Some(site) => {
                let members: Vec<&Instance> = site
                    .instances
                    .iter()
                    .filter_map(|m| self.instance(m))
                    .collect();
                members
                    .iter()
                    .find(|i| i.role == Role::Main)
                    .or(members.first())
                    .copied()
            }
            None => self.instance(instance),
        };
        decides.map_or(self.project.migrate, |i| i.migrate)
    }

    /// The companions that run with `instance`'s environment: its own, and its site's when it
    /// is the site's main-role member. They start after it is ready and stop before it stops.
    pub fn companions_of(&self, instance: &str) -> Vec<&Process> {
        self.processes
            .iter()
            .filter(|p| self.process_instance(p).is_some_and(|i| i.name == instance))
            .collect()
    }

    /// The instances that share `instance`'s unit, itself included (only itself when isolated).
    pub fn unit_members(&self, instance: &str) -> Vec<&Instance> {
        match self.site_of(instance) {
            Some(site) => site
                .instances
                .iter()
                .filter_map(|m| self.instance(m))
                .collect(),
            None => self.instance(instance).into_iter().collect(),
        }
    }

    /// The Python interpreter, as run from the Django root: `python` from kovan.toml, else the
    /// project's `.venv` or `venv`, else `python3` from PATH.
    pub fn python(&self) -> String {
        if let Some(python) = &self.project.python {
            return python.clone();
        }
        virtualenv_python(&self.project.django_root)
            .unwrap_or(FALLBACK_PYTHON)
            .to_string()
    }
}

/// The interpreter used when kovan.toml names none and the Django root has no virtualenv.
pub const FALLBACK_PYTHON: &str = "python3";

/// The Python of the project's `.venv`, else its `venv`, relative to the Django root.
pub fn virtualenv_python(django_root: &Path) -> Option<&'static str> {
    [".venv/bin/python", "venv/bin/python"]
        .into_iter()
        .find(|candidate| django_root.join(candidate).is_file())
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Role::ALL
            .iter()
            .find(|(_, r)| r == self)
            .map_or("", |(n, _)| n);
        f.write_str(name)
    }
}

impl fmt::Display for CacheBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = CacheBackend::ALL
            .iter()
            .find(|(_, c)| c == self)
            .map_or("", |(n, _)| n);
        f.write_str(name)
    }
}
