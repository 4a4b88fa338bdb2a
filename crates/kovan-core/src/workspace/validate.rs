//! The validator: every rule a kovan.toml is held to, each problem reported with its field, line
//! and fix, all of them in one pass.

use std::collections::HashMap;
use std::path::{Component, Path};

use indexmap::IndexMap;
use toml::Spanned;

use super::error::Problem;
use super::locate::normalize;
use super::model::{
    CacheAlias, CacheBackend, DatabaseEngine, Instance, MigratePolicy, PostgresConfig, Preset,
    Process, ProcessUnit, Project, RedisConfig, RedisTls, Role, Site, SiteRoute,
    SupervisorSettings, TlsVerify, UndoSettings, Workspace, RESTART_POLICIES,
};
use super::names::{alias_names, check_cookie_name, check_name, derive_names, NameOverrides};
use super::raw::{
    RawCacheAlias, RawDatabase, RawFile, RawInstance, RawPreset, RawProcess, RawProject, RawRedis,
    RawSite, RawSupervisor, RawUndo,
};
use super::toml_error::line_at;

const PORT_RANGE: std::ops::RangeInclusive<i64> = 1024..=65535;
const WEIGHT_RANGE: std::ops::RangeInclusive<i64> = 1..=100;

pub(super) struct Validator<'s> {
    pub(super) source: &'s str,
    pub(super) problems: Vec<Problem>,
}

/// What kind of value a derived name is, for collision messages and checks.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Namespace {
    /// Files and folders under the Django root: they must all differ.
    Path,
    /// Cookie names share one namespace per host, whatever the port (RFC 6265 §8.5).
    Cookie,
    /// PostgreSQL database names.
    DatabaseName,
}

struct Claim<'a> {
    value: String,
    instance: &'a str,
    field: &'static str,
    line: Option<u32>,
}

impl Validator<'_> {
    fn line_of<T>(&self, s: &Spanned<T>) -> Option<u32> {
        Some(line_at(self.source, s.span().start))
    }

    fn report(
        &mut self,
        field: impl Into<String>,
        line: Option<u32>,
        message: String,
        fix: String,
    ) {
        self.problems.push(Problem {
            field: field.into(),
            line,
            message,
            fix,
        });
    }

    pub(super) fn workspace(&mut self, file: &Path, root: &Path, raw: RawFile) -> Workspace {
        let project = self.project(root, raw.project);
        let mut postgres = None;
        let database = match raw.database {
            None => DatabaseEngine::Sqlite,
            Some(db) => match db.engine.get_ref().as_str() {
                "postgresql" => {
                    postgres = self.postgres(&db);
                    DatabaseEngine::Postgresql
                }
                "sqlite" if db.managed.is_some() || db.port.is_some() || db.url.is_some() => {
                    let line = self.line_of(&db.engine);
                    self.report(
                        "database",
                        line,
                        "`managed`, `port` and `url` are for a PostgreSQL server; an SQLite database is a file per unit.".into(),
                        "Remove them, or set engine = \"postgresql\".".into(),
                    );
                    DatabaseEngine::Sqlite
                }
                "sqlite" => DatabaseEngine::Sqlite,
                other => {
                    let line = self.line_of(&db.engine);
                    self.report(
                        "database.engine",
                        line,
                        format!("`{other}` is not a database engine Kovan knows."),
                        "Use \"sqlite\" (one file per instance) or \"postgresql\" (one database per instance).".into(),
                    );
                    DatabaseEngine::Sqlite
                }
            },
        };
        let redis = raw.redis.and_then(|r| self.redis(root, r));
        // Membership first: a member's shared names are derived from its site.
        let mut membership: HashMap<String, String> = HashMap::new();
        for (site, raw_site) in &raw.sites {
            for m in &raw_site.get_ref().instances {
                membership
                    .entry(m.get_ref().clone())
                    .or_insert_with(|| site.clone());
            }
        }
        let shared_aliases = self.alias_specs(&raw.caches, &|alias| format!("caches.{alias}"));
        let instances = self.instances(
            (&project.name, project.migrate),
            database,
            raw.instances,
            &membership,
            &shared_aliases,
        );
        let on_redis = |i: &Instance| {
            i.cache == CacheBackend::Redis
                || i.caches.iter().any(|c| c.backend == CacheBackend::Redis)
        };
        if instances.iter().any(on_redis) && redis.is_none() {
            let users: Vec<&str> = instances
                .iter()
                .filter(|i| on_redis(i))
                .map(|i| i.name.as_str())
                .collect();
            if !self.problems.iter().any(|p| p.field.starts_with("redis")) {
                self.report(
                    "redis",
                    None,
                    format!("{} use cache = \"redis\", but there is no [redis] table.", users.join(", ")),
                    "Add `[redis]` with `url = \"redis://127.0.0.1:6379/0\"`, or choose another cache for them.".into(),
                );
            }
        }
        let presets = self.presets(&instances, raw.presets);
        let sites = self.sites(&instances, &presets, raw.sites);
        let processes = self.processes(&instances, &sites, raw.processes);
        let supervisor = raw
            .supervisor
            .map(|r| self.supervisor(r))
            .unwrap_or_default();
        let undo = raw.undo.map(|r| self.undo(r)).unwrap_or_default();
        Workspace {
            file: file.to_path_buf(),
            project,
            redis,
            database,
            postgres,
            instances,
            presets,
            sites,
            processes,
            supervisor,
            undo,
        }
    }

    /// `[[process]]`: each companion's name (one namespace with instances and sites), its
    /// command, and exactly one unit it runs with, which must exist.
    fn processes(
        &mut self,
        instances: &[Instance],
        sites: &[Site],
        raw: Vec<RawProcess>,
    ) -> Vec<Process> {
        let mut out: Vec<Process> = Vec::new();
        let mut name_lines: Vec<Option<u32>> = Vec::new();
        for (index, r) in raw.into_iter().enumerate() {
            let name = r.name.get_ref().clone();
            let line = self.line_of(&r.name);
            let name_ok = match check_name(&name, "process") {
                Ok(()) => true,
                Err((message, fix)) => {
                    self.report(format!("process[{}].name", index + 1), line, message, fix);
                    false
                }
            };
            let at = |field: &str| {
                if name_ok {
                    format!("process.{name}.{field}")
                } else {
                    format!("process[{}].{field}", index + 1)
                }
            };
            if name_ok {
                let clash = if instances.iter().any(|i| i.name == name) {
                    Some("an instance".to_string())
                } else if sites.iter().any(|s| s.name == name) {
                    Some("a site".to_string())
                } else {
                    out.iter().position(|p| p.name == name).map(|first| {
                        format!("another process (line {})", name_lines[first].unwrap_or(0))
                    })
                };
                if let Some(what) = clash {
                    self.report(
                        at("name"),
                        line,
                        format!("the process `{name}` has the name of {what}: processes, instances and sites share one namespace (`kovan stop {name}`, its log logs/{name}.log)."),
                        format!("Rename the process, e.g. `{name}_worker`."),
                    );
                }
            }
            let command = r.command.get_ref().trim().to_string();
            if command.is_empty() {
                let c_line = self.line_of(&r.command);
                self.report(
                    at("command"),
                    c_line,
                    "the command is empty.".into(),
                    "Give the command it runs, e.g. \"celery -A config worker -l info\".".into(),
                );
            }
            let unit = match (&r.instance, &r.site) {
                (Some(i), Some(_)) => {
                    let i_line = self.line_of(i);
                    self.report(
                        at("instance"),
                        i_line,
                        format!("the process {name} names both an instance and a site; it runs with the environment of one of them."),
                        "Keep `instance = \"…\"` or `site = \"…\"`, not both.".into(),
                    );
                    None
                }
                (None, None) => {
                    self.report(
                        at("instance"),
                        line,
                        format!("the process {name} names neither an instance nor a site: it needs a unit whose environment it runs with."),
                        "Add `instance = \"NAME\"` (that instance's env file) or `site = \"NAME\"` (the site's main member's).".into(),
                    );
                    None
                }
                (Some(i), None) => {
                    let given = i.get_ref();
                    if instances.iter().any(|x| &x.name == given) {
                        Some(ProcessUnit::Instance(given.clone()))
                    } else {
                        let known: Vec<&str> = instances.iter().map(|x| x.name.as_str()).collect();
                        let i_line = self.line_of(i);
                        self.report(
                            at("instance"),
                            i_line,
                            format!("`{given}` is not an instance of this workspace."),
                            format!("Use one of: {}.", known.join(", ")),
                        );
                        None
                    }
                }
                (None, Some(s)) => {
                    let given = s.get_ref();
                    if sites.iter().any(|x| &x.name == given) {
                        Some(ProcessUnit::Site(given.clone()))
                    } else {
                        let known: Vec<&str> = sites.iter().map(|x| x.name.as_str()).collect();
                        let s_line = self.line_of(s);
                        let fix = if known.is_empty() {
                            "This workspace declares no [site.*]: use `instance = \"NAME\"`.".into()
                        } else {
                            format!("Use one of: {}.", known.join(", "))
                        };
                        self.report(
                            at("site"),
                            s_line,
                            format!("`{given}` is not a site of this workspace."),
                            fix,
                        );
                        None
                    }
                }
            };
            let restart = self.choice(r.restart.as_ref(), &RESTART_POLICIES, &at("restart"));
            let max_restarts = self.number(
                r.max_restarts.as_ref(),
                0..=100,
                5,
                &at("max_restarts"),
                "tries in a row",
            );
            out.push(Process {
                name,
                command,
                unit: unit.unwrap_or(ProcessUnit::Instance(String::new())),
                restart,
                max_restarts,
                autostart: r.autostart.map(Spanned::into_inner).unwrap_or(true),
            });
            name_lines.push(line);
        }
        out
    }

    fn undo(&mut self, raw: RawUndo) -> UndoSettings {
        let d = UndoSettings::default();
        UndoSettings {
            limit_mib: u64::from(self.number(
                raw.limit_mib.as_ref(),
                1..=1_048_576,
                d.limit_mib as u32,
                "undo.limit_mib",
                "MiB a flush's undo snapshot may take",
            )),
            keep_hours: u64::from(self.number(
                raw.keep_hours.as_ref(),
                1..=8760,
                d.keep_hours as u32,
                "undo.keep_hours",
                "hours a snapshot is kept",
            )),
            keep_last: self.number(
                raw.keep_last.as_ref(),
                1..=100,
                d.keep_last,
                "undo.keep_last",
                "snapshots kept per instance",
            ),
        }
    }

    fn supervisor(&mut self, raw: RawSupervisor) -> SupervisorSettings {
        let d = SupervisorSettings::default();
        let secs = |n: u32| std::time::Duration::from_secs(u64::from(n));
        SupervisorSettings {
            stop_grace: secs(self.number(
                raw.stop_grace.as_ref(),
                0..=600,
                d.stop_grace.as_secs() as u32,
                "supervisor.stop_grace",
                "seconds between SIGTERM and SIGKILL",
            )),
            start_timeout: secs(self.number(
                raw.start_timeout.as_ref(),
                1..=3600,
                d.start_timeout.as_secs() as u32,
                "supervisor.start_timeout",
                "seconds to wait for /health/",
            )),
            log_lines: self.number(
                raw.log_lines.as_ref(),
                100..=1_000_000,
                d.log_lines as u32,
                "supervisor.log_lines",
                "lines kept in memory per instance",
            ) as usize,
        }
    }

    fn project(&mut self, root: &Path, raw: RawProject) -> Project {
        let name_line = self.line_of(&raw.name);
        if let Err((message, fix)) = check_name(raw.name.get_ref(), "project") {
            self.report("project.name", name_line, message, fix);
        }
        let (root_text, root_line) = match &raw.django_root {
            Some(r) => (r.get_ref().clone(), self.line_of(r)),
            None => (".".to_string(), None),
        };
        let django_root = normalize(&root.join(&root_text));
        if !django_root.is_dir() {
            self.report(
                "project.django_root",
                root_line,
                format!("the folder {} does not exist.", django_root.display()),
                "Set django_root to the folder that holds manage.py, relative to kovan.toml."
                    .into(),
            );
        } else if !django_root.join("manage.py").is_file() {
            self.report(
                "project.django_root",
                root_line,
                format!("{} has no manage.py.", django_root.display()),
                "Set django_root to the folder that holds manage.py, relative to kovan.toml."
                    .into(),
            );
        }
        let settings = raw.settings.get_ref().clone();
        if !is_dotted_module(&settings) {
            let line = self.line_of(&raw.settings);
            self.report(
                "project.settings",
                line,
                format!("`{settings}` is not a Python module path."),
                "Give the dotted module of your settings, as in DJANGO_SETTINGS_MODULE: \"dashboard_project.settings\".".into(),
            );
        }
        let migrate = self.choice(raw.migrate.as_ref(), &MigratePolicy::ALL, "project.migrate");
        Project {
            name: raw.name.into_inner(),
            django_root,
            settings,
            python: raw.python.map(Spanned::into_inner),
            migrate,
        }
    }

    fn postgres(&mut self, db: &RawDatabase) -> Option<PostgresConfig> {
        let managed = db.managed.as_ref().is_some_and(|m| *m.get_ref());
        if let (true, Some(url)) = (managed, &db.url) {
            let line = self.line_of(url);
            self.report(
                "database.url",
                line,
                "`managed = true` and a `url` both say where the server is.".into(),
                "Keep `managed = true` for a server Kovan runs, or the `url` of one you run."
                    .into(),
            );
            return None;
        }
        if managed {
            let port = match &db.port {
                None => super::model::DEFAULT_POSTGRES_PORT,
                Some(p) if PORT_RANGE.contains(p.get_ref()) => *p.get_ref() as u16,
                Some(p) => {
                    let line = self.line_of(p);
                    self.report(
                        "database.port",
                        line,
                        format!("port {} is out of range.", p.get_ref()),
                        format!(
                            "Use a port from {} to {}.",
                            PORT_RANGE.start(),
                            PORT_RANGE.end()
                        ),
                    );
                    return None;
                }
            };
            return Some(PostgresConfig {
                managed: true,
                host: "127.0.0.1".into(),
                port,
                url: None,
            });
        }
        if let Some(p) = &db.port {
            let line = self.line_of(p);
            self.report(
                "database.port",
                line,
                "`port` is the port of the server Kovan manages, and this one is not managed."
                    .into(),
                "Add `managed = true`, or give the server's port in `url`.".into(),
            );
            return None;
        }
        let raw = db.url.as_ref()?;
        let line = self.line_of(raw);
        let fix = "Write it as postgresql://user:password@host:port/ (a user who may create databases and roles).";
        let url = match url::Url::parse(raw.get_ref()) {
            Ok(url)
                if matches!(url.scheme(), "postgresql" | "postgres")
                    && url.host_str().is_some_and(|h| !h.is_empty()) =>
            {
                url
            }
            _ => {
                self.report(
                    "database.url",
                    line,
                    format!(
                        "`{}` is not a postgresql:// URL with a host.",
                        crate::redact::url_text(raw.get_ref())
                    ),
                    fix.into(),
                );
                return None;
            }
        };
        Some(PostgresConfig {
            managed: false,
            host: url
                .host_str()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .to_string(),
            port: url.port().unwrap_or(5432),
            url: Some(url),
        })
    }

    fn redis(&mut self, root: &Path, raw: RawRedis) -> Option<RedisConfig> {
        let line = self.line_of(&raw.url);
        let text = raw.url.get_ref();
        let fix = "Write it as redis://[user:password@]host:port/db or rediss://… for TLS, e.g. \"redis://127.0.0.1:6379/0\".";
        let url = match url::Url::parse(text) {
            Ok(url) => url,
            Err(e) => {
                self.report(
                    "redis.url",
                    line,
                    format!("`{}` is not a URL ({e}).", crate::redact::url_text(text)),
                    fix.into(),
                );
                return None;
            }
        };
        let shown = crate::redact::url(&url);
        if !matches!(url.scheme(), "redis" | "rediss") {
            self.report(
                "redis.url",
                line,
                format!("`{shown}` uses the scheme `{}`.", url.scheme()),
                fix.into(),
            );
            return None;
        }
        if url.host_str().is_none_or(str::is_empty) {
            self.report(
                "redis.url",
                line,
                format!("`{shown}` names no host."),
                fix.into(),
            );
            return None;
        }
        let db = url.path().trim_start_matches('/');
        if !db.is_empty() && db.parse::<u32>().is_err() {
            self.report(
                "redis.url",
                line,
                format!("the database index `{db}` in `{shown}` is not a number."),
                "End the URL with /0, /1, … to choose the Redis database.".into(),
            );
            return None;
        }
        let tls = self.redis_tls(root, &url, &raw)?;
        Some(RedisConfig {
            url,
            managed: raw.managed,
            tls,
        })
    }

    /// `ca_file`, `cert_file`, `key_file` and `verify`: only with rediss://, the two halves of a
    /// client certificate together, every file readable now (rather than at the first connection).
    fn redis_tls(&mut self, root: &Path, url: &url::Url, raw: &RawRedis) -> Option<RedisTls> {
        let given: Vec<(&str, &Spanned<String>)> = [
            ("ca_file", &raw.ca_file),
            ("cert_file", &raw.cert_file),
            ("key_file", &raw.key_file),
            ("verify", &raw.verify),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        if url.scheme() != "rediss" {
            for (key, value) in &given {
                self.report(
                    format!("redis.{key}"),
                    self.line_of(value),
                    format!("`{key}` is for TLS, but the URL is redis://, which does not use it."),
                    "Write the URL as rediss://… (a TLS port), or remove the line.".into(),
                );
            }
            return given.is_empty().then(RedisTls::default);
        }
        let mut ok = true;
        let mut file = |this: &mut Self, key: &str, value: &Option<Spanned<String>>| {
            let value = value.as_ref()?;
            let path = root.join(value.get_ref());
            match std::fs::File::open(&path) {
                Ok(_) => Some(path),
                Err(e) => {
                    this.report(
                        format!("redis.{key}"),
                        this.line_of(value),
                        format!("`{}` cannot be read: {} ({e}).", value.get_ref(), path.display()),
                        "Point it at a PEM file this user can read (a path relative to kovan.toml, or absolute).".into(),
                    );
                    ok = false;
                    None
                }
            }
        };
        let ca_file = file(self, "ca_file", &raw.ca_file);
        let cert_file = file(self, "cert_file", &raw.cert_file);
        let key_file = file(self, "key_file", &raw.key_file);
        for (have, lacks, value, other) in [
            ("cert_file", "key_file", &raw.cert_file, &raw.key_file),
            ("key_file", "cert_file", &raw.key_file, &raw.cert_file),
        ] {
            if let (Some(value), None) = (value, other) {
                self.report(
                    format!("redis.{lacks}"),
                    self.line_of(value),
                    format!(
                        "`{have}` is set but `{lacks}` is not: a client certificate needs both."
                    ),
                    format!("Add {lacks} = \"…pem\" beside it, or remove {have}."),
                );
                ok = false;
            }
        }
        let verify = match raw.verify.as_ref().map(|v| (v, v.get_ref().as_str())) {
            None | Some((_, "full")) => TlsVerify::Full,
            Some((_, "ca")) => TlsVerify::Ca,
            Some((_, "none")) => TlsVerify::None,
            Some((value, other)) => {
                self.report(
                    "redis.verify",
                    self.line_of(value),
                    format!("`{other}` is not a way Kovan checks a certificate."),
                    "Use \"full\" (chain and host name), \"ca\" (chain only) or \"none\".".into(),
                );
                ok = false;
                TlsVerify::Full
            }
        };
        ok.then_some(RedisTls {
            ca_file,
            cert_file,
            key_file,
            verify,
        })
    }

    /// `project`: its name and its `migrate`, each instance's default.
    fn instances(
        &mut self,
        (project, default_migrate): (&str, MigratePolicy),
        engine: DatabaseEngine,
        raw: Vec<RawInstance>,
        membership: &HashMap<String, String>,
        shared_aliases: &[(String, CacheBackend, u32)],
    ) -> Vec<Instance> {
        if raw.is_empty() {
            self.report(
                "instance",
                None,
                "the file declares no instance.".into(),
                "Add an [[instance]] table with at least name and port, e.g. name = \"chat_main\", port = 8000.".into(),
            );
        }
        let mut out: Vec<Instance> = Vec::new();
        let mut lines: Vec<InstanceLines> = Vec::new();
        for (index, r) in raw.into_iter().enumerate() {
            let name = r.name.get_ref().clone();
            let name_line = self.line_of(&r.name);
            let name_ok = match check_name(&name, "instance") {
                Ok(()) => true,
                Err((message, fix)) => {
                    self.report(
                        format!("instance[{}].name", index + 1),
                        name_line,
                        message,
                        fix,
                    );
                    false
                }
            };
            let at = |field: &str| {
                if name_ok {
                    format!("instance.{name}.{field}")
                } else {
                    format!("instance[{}].{field}", index + 1)
                }
            };
            if let Some(first) = out.iter().position(|i| i.name == name) {
                if name_ok {
                    self.report(
                        at("name"),
                        name_line,
                        format!(
                            "the name `{name}` is used twice (first at line {}).",
                            lines[first].name.unwrap_or(0)
                        ),
                        "Give every instance its own name.".into(),
                    );
                }
            }

            let port_line = self.line_of(&r.port);
            let port = *r.port.get_ref();
            if !PORT_RANGE.contains(&port) {
                let why = if port < *PORT_RANGE.start() {
                    "is below 1024; ports under 1024 need root and clash with system services"
                } else {
                    "is above 65535, the highest TCP port"
                };
                self.report(
                    at("port"),
                    port_line,
                    format!("port {port} {why}."),
                    "Choose a port from 1024 to 65535, e.g. 8000.".into(),
                );
            } else if let Some(other) = out.iter().position(|i| i64::from(i.port) == port) {
                self.report(
                    at("port"),
                    port_line,
                    format!("port {port} is already used by {}.", out[other].name),
                    "Give every instance its own port.".into(),
                );
            }

            let role = self.choice(r.role.as_ref(), &Role::ALL, &at("role"));
            let cache = self.choice(r.cache.as_ref(), &CacheBackend::ALL, &at("cache"));
            let cache_timeout = self.number(
                r.cache_timeout.as_ref(),
                0..=31_536_000,
                300,
                &at("cache_timeout"),
                "seconds; 0 expires at once, up to one year",
            );
            let weight = self.number(
                r.weight.as_ref(),
                WEIGHT_RANGE,
                1,
                &at("weight"),
                "the nginx upstream weight, from 1 to 100",
            );

            let overrides = NameOverrides {
                database: r.database.as_ref().map(|s| s.get_ref().clone()),
                cache_prefix: r.cache_prefix.as_ref().map(|s| s.get_ref().clone()),
                cache_location: r.cache_location.as_ref().map(|s| s.get_ref().clone()),
                session_cookie: r.session_cookie.as_ref().map(|s| s.get_ref().clone()),
                csrf_cookie: r.csrf_cookie.as_ref().map(|s| s.get_ref().clone()),
                static_root: r.static_root.as_ref().map(|s| s.get_ref().clone()),
                media_root: r.media_root.as_ref().map(|s| s.get_ref().clone()),
                env_file: r.env_file.as_ref().map(|s| s.get_ref().clone()),
                log_file: r.log_file.as_ref().map(|s| s.get_ref().clone()),
            };
            let line_of = |s: &Option<Spanned<String>>| {
                s.as_ref().map(|s| line_at(self.source, s.span().start))
            };
            let il = InstanceLines {
                name: name_line,
                database: line_of(&r.database).or(name_line),
                cache_prefix: line_of(&r.cache_prefix).or(name_line),
                cache_location: line_of(&r.cache_location).or(name_line),
                session_cookie: line_of(&r.session_cookie).or(name_line),
                csrf_cookie: line_of(&r.csrf_cookie).or(name_line),
                static_root: line_of(&r.static_root).or(name_line),
                media_root: line_of(&r.media_root).or(name_line),
                env_file: line_of(&r.env_file).or(name_line),
                log_file: line_of(&r.log_file).or(name_line),
            };
            self.check_overrides(&overrides, engine, cache, &il, &at);
            let site = membership.get(&name).cloned();
            if let Some(site) = &site {
                for (field, given, line) in [
                    ("database", &r.database, il.database),
                    ("session_cookie", &r.session_cookie, il.session_cookie),
                    ("csrf_cookie", &r.csrf_cookie, il.csrf_cookie),
                    ("media_root", &r.media_root, il.media_root),
                ] {
                    if given.is_some() {
                        self.report(
                            at(field),
                            line,
                            format!("{name} is a member of the site {site}, whose members share one {field}: an override on one member would split the site."),
                            format!("Remove {field} here; Kovan derives the site's from its name ({site})."),
                        );
                    }
                }
            }

            let restart = self.choice(r.restart.as_ref(), &RESTART_POLICIES, &at("restart"));
            let max_restarts = self.number(
                r.max_restarts.as_ref(),
                0..=100,
                5,
                &at("max_restarts"),
                "tries in a row",
            );
            let migrate = match r.migrate.as_ref() {
                Some(given) => self.choice(Some(given), &MigratePolicy::ALL, &at("migrate")),
                None => default_migrate,
            };
            let command = r.command.as_ref().map(|c| c.get_ref().trim().to_string());
            if command.as_deref() == Some("") {
                let line = self.line_of(r.command.as_ref().unwrap());
                self.report(at("command"), line, "the command is empty.".into(), "Remove `command` to run `manage.py runserver`, or give the command, e.g. \"daphne -b 127.0.0.1 -p {port} dashboard_project.asgi:application\".".into());
            }
            let names = derive_names(project, &name, site.as_deref(), engine, cache, &overrides);
            // The project's `[caches.*]`, then the instance's own (which win by name).
            let own = self.alias_specs(&r.caches, &|alias| at(&format!("caches.{alias}")));
            let caches = shared_aliases
                .iter()
                .filter(|(a, _, _)| own.iter().all(|(o, _, _)| o != a))
                .chain(&own)
                .map(|(alias, backend, timeout)| {
                    let (prefix, location) =
                        alias_names(project, &name, &names.cache_prefix, alias, *backend);
                    CacheAlias {
                        name: alias.clone(),
                        backend: *backend,
                        timeout: *timeout,
                        prefix,
                        location,
                    }
                })
                .collect();
            out.push(Instance {
                names,
                cache_alias: super::model::DEFAULT_ALIAS.to_string(),
                caches,
                site,
                name,
                port: u16::try_from(port).unwrap_or(0),
                role,
                cache,
                cache_timeout,
                weight,
                command,
                restart,
                max_restarts,
                migrate,
            });
            lines.push(il);
        }
        self.collisions(&out, &lines, engine);
        out
    }

    /// `[caches.ALIAS]` (every instance's) or `[instance.NAME.caches.ALIAS]` (its own), named in
    /// problems by `field`: each alias's name (held to the name rule, never `default`, which is
    /// the instance's own `cache`), backend and timeout. Problems are said once, here.
    fn alias_specs(
        &mut self,
        raw: &IndexMap<String, Spanned<RawCacheAlias>>,
        field: &dyn Fn(&str) -> String,
    ) -> Vec<(String, CacheBackend, u32)> {
        let mut out = Vec::new();
        for (alias, given) in raw {
            let line = self.line_of(given);
            let field = field(alias);
            if alias == super::model::DEFAULT_ALIAS {
                self.report(
                    field,
                    line,
                    "`default` is the instance's own cache (its `cache` and `cache_timeout`); it cannot be declared again under caches.".into(),
                    "Set `cache` and `cache_timeout` on the instance for `default`, and give this alias another name, e.g. local.".into(),
                );
                continue;
            }
            if let Err((message, fix)) = check_name(alias, "cache alias") {
                self.report(field, line, message, fix);
                continue;
            }
            let given = given.get_ref();
            if given.backend.get_ref().is_empty() {
                // Missing: the shape check has said so.
                continue;
            }
            let said = self.problems.len();
            let backend = self.choice(
                Some(&given.backend),
                &CacheBackend::ALL,
                &format!("{field}.backend"),
            );
            let timeout = self.number(
                given.timeout.as_ref(),
                0..=31_536_000,
                300,
                &format!("{field}.timeout"),
                "seconds; 0 expires at once, up to one year",
            );
            if self.problems.len() == said {
                out.push((alias.clone(), backend, timeout));
            }
        }
        out
    }

    fn choice<T: Copy + Default>(
        &mut self,
        given: Option<&Spanned<String>>,
        all: &[(&'static str, T)],
        field: &str,
    ) -> T {
        let Some(given) = given else {
            return T::default();
        };
        if let Some((_, v)) = all.iter().find(|(k, _)| k == given.get_ref()) {
            return *v;
        }
        let names: Vec<String> = all.iter().map(|(k, _)| format!("\"{k}\"")).collect();
        let line = self.line_of(given);
        self.report(
            field,
            line,
            format!("`{}` is not one of {}.", given.get_ref(), names.join(", ")),
            format!("Use one of {}.", names.join(", ")),
        );
        T::default()
    }

    fn number(
        &mut self,
        given: Option<&Spanned<i64>>,
        range: std::ops::RangeInclusive<i64>,
        default: u32,
        field: &str,
        meaning: &str,
    ) -> u32 {
        let Some(given) = given else { return default };
        let n = *given.get_ref();
        if range.contains(&n) {
            return u32::try_from(n).unwrap_or(default);
        }
        let line = self.line_of(given);
        self.report(
            field,
            line,
            format!("{n} is out of range ({meaning})."),
            format!("Use a number from {} to {}.", range.start(), range.end()),
        );
        default
    }

    fn check_overrides(
        &mut self,
        o: &NameOverrides,
        engine: DatabaseEngine,
        cache: CacheBackend,
        lines: &InstanceLines,
        at: &dyn Fn(&str) -> String,
    ) {
        if let Some(location) = &o.cache_location {
            let wrong = match cache {
                CacheBackend::Redis | CacheBackend::Dummy => Some(format!(
                    "cache = \"{cache}\" has no per-instance location (Redis takes [redis] url)"
                )),
                CacheBackend::Db if !is_identifier(location) => {
                    Some(format!("`{location}` is not a table name"))
                }
                CacheBackend::Locmem if location.is_empty() => Some("it is empty".into()),
                _ => None,
            };
            if let Some(why) = wrong {
                self.report(
                    at("cache_location"),
                    lines.cache_location,
                    format!("cache_location: {why}."),
                    "Remove cache_location so Kovan derives it, or give a folder (file), a table (db) or a name (locmem).".into(),
                );
            }
        }
        for (field, value, line) in [
            ("session_cookie", &o.session_cookie, lines.session_cookie),
            ("csrf_cookie", &o.csrf_cookie, lines.csrf_cookie),
        ] {
            if let Some(v) = value {
                if let Err(why) = check_cookie_name(v) {
                    self.report(
                        at(field),
                        line,
                        format!("`{v}` is not a valid cookie name: {why}."),
                        "Use letters, digits and _ only, e.g. sessionid_chat_main.".into(),
                    );
                }
            }
        }
        if let Some(prefix) = &o.cache_prefix {
            if prefix.is_empty() || prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
                self.report(
                    at("cache_prefix"),
                    lines.cache_prefix,
                    format!("the cache prefix `{prefix}` is empty or holds spaces or control characters."),
                    "Use a non-empty prefix without spaces, e.g. context7_chat_main.".into(),
                );
            }
        }
        let mut paths = vec![
            ("static_root", &o.static_root, lines.static_root),
            ("media_root", &o.media_root, lines.media_root),
            ("env_file", &o.env_file, lines.env_file),
            ("log_file", &o.log_file, lines.log_file),
        ];
        if cache == CacheBackend::File {
            paths.push(("cache_location", &o.cache_location, lines.cache_location));
        }
        if engine == DatabaseEngine::Sqlite {
            paths.push(("database", &o.database, lines.database));
        } else if let Some(db) = &o.database {
            if db.is_empty()
                || db.len() > 63
                || !db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                self.report(
                    at("database"),
                    lines.database,
                    format!("`{db}` is not a PostgreSQL database name Kovan can create safely."),
                    "Use up to 63 letters, digits and _.".into(),
                );
            }
        }
        for (field, value, line) in paths {
            if let Some(v) = value {
                if let Err(why) = check_relative_path(v) {
                    self.report(
                        at(field),
                        line,
                        format!("`{v}` {why}."),
                        "Give a path relative to the Django root that stays inside it, e.g. logs/chat_main.log.".into(),
                    );
                }
            }
        }
    }

    fn collisions(
        &mut self,
        instances: &[Instance],
        lines: &[InstanceLines],
        engine: DatabaseEngine,
    ) {
        let mut claims: HashMap<Namespace, Vec<Claim>> = HashMap::new();
        for (j, (inst, l)) in instances.iter().zip(lines).enumerate() {
            // A repeated name is reported already; its derived names would only echo it.
            if instances[..j].iter().any(|i| i.name == inst.name) {
                continue;
            }
            let n = &inst.names;
            // A site's members share these by design: the site claims them once, for its first member.
            let first_of_unit = instances[..j]
                .iter()
                .all(|i| i.site.is_none() || i.site != inst.site);
            let mut add = |ns, value: String, field, line| {
                let shared = matches!(
                    field,
                    "database" | "session_cookie" | "csrf_cookie" | "media_root"
                );
                if shared && !first_of_unit {
                    return;
                }
                claims.entry(ns).or_default().push(Claim {
                    value,
                    instance: &inst.name,
                    field,
                    line,
                })
            };
            if let (CacheBackend::File, Some(dir)) = (inst.cache, &n.cache_location) {
                add(
                    Namespace::Path,
                    path_key(dir),
                    "cache_location",
                    l.cache_location,
                );
            }
            match engine {
                DatabaseEngine::Sqlite => add(
                    Namespace::Path,
                    path_key(&n.database),
                    "database",
                    l.database,
                ),
                DatabaseEngine::Postgresql => add(
                    Namespace::DatabaseName,
                    n.database.clone(),
                    "database",
                    l.database,
                ),
            }
            add(
                Namespace::Cookie,
                n.session_cookie.clone(),
                "session_cookie",
                l.session_cookie,
            );
            add(
                Namespace::Cookie,
                n.csrf_cookie.clone(),
                "csrf_cookie",
                l.csrf_cookie,
            );
            add(
                Namespace::Path,
                path_key(&n.static_root),
                "static_root",
                l.static_root,
            );
            add(
                Namespace::Path,
                path_key(&n.media_root),
                "media_root",
                l.media_root,
            );
            add(
                Namespace::Path,
                path_key(&n.env_file),
                "env_file",
                l.env_file,
            );
            add(
                Namespace::Path,
                path_key(&n.log_file),
                "log_file",
                l.log_file,
            );
        }
        for ns in [Namespace::Path, Namespace::DatabaseName, Namespace::Cookie] {
            let Some(list) = claims.get(&ns) else {
                continue;
            };
            for (j, later) in list.iter().enumerate() {
                if let Some(earlier) = list[..j].iter().find(|c| c.value == later.value) {
                    let (what, why) = match ns {
                        Namespace::Path => ("path", "both would write the same file or folder"),
                        Namespace::DatabaseName => ("database", "both would use one database"),
                        Namespace::Cookie => (
                            "cookie name",
                            "browsers ignore the port, so the instances would overwrite each other's cookie and log users out",
                        ),
                    };
                    self.report(
                        format!("instance.{}.{}", later.instance, later.field),
                        later.line,
                        format!(
                            "the {what} `{}` is also the {} of {}: {why}.",
                            later.value, earlier.field, earlier.instance
                        ),
                        format!(
                            "Give {} its own {}, or remove the override so Kovan derives one.",
                            later.instance, later.field
                        ),
                    );
                }
            }
        }
        self.prefix_collisions(instances, lines);
        self.channel_prefix_collisions(instances, lines);
    }

    /// A unit's channel-layer keys (`{prefix}:group:…`) must never match another unit's cache
    /// prefix pattern (`{prefix}:*`), or clearing that cache would drop the other unit's groups.
    fn channel_prefix_collisions(&mut self, instances: &[Instance], lines: &[InstanceLines]) {
        for (j, b) in instances.iter().enumerate() {
            if instances[..j].iter().any(|i| i.name == b.name) {
                continue;
            }
            let mut seen: Vec<&str> = Vec::new();
            for a in instances {
                let channel = a.names.channel_prefix.as_str();
                if a.names.unit == b.names.unit || seen.contains(&channel) {
                    continue;
                }
                seen.push(channel);
                let cache = b.names.cache_prefix.as_str();
                if cache == channel || nested(cache, &b.name, channel, &a.names.unit).is_some() {
                    self.report(
                        format!("instance.{}.cache_prefix", b.name),
                        lines[j].cache_prefix,
                        format!(
                            "the cache prefix `{cache}` of {} meets the channel-layer prefix `{channel}` of {} at a `:`: clearing the cache would delete its channel groups.",
                            b.name, a.names.unit
                        ),
                        "Choose another cache prefix, or remove the override so Kovan derives one."
                            .into(),
                    );
                }
            }
        }
    }

    fn sites(
        &mut self,
        instances: &[Instance],
        presets: &[Preset],
        raw: IndexMap<String, Spanned<RawSite>>,
    ) -> Vec<Site> {
        let mut out: Vec<Site> = Vec::new();
        let mut member_of: HashMap<String, String> = HashMap::new();
        for (name, site) in raw {
            let line = self.line_of(&site);
            if let Err((message, fix)) = check_name(&name, "site") {
                self.report(format!("site.{name}"), line, message, fix);
            }
            if instances.iter().any(|i| i.name == name) {
                self.report(
                    format!("site.{name}"),
                    line,
                    format!("the site `{name}` has the name of an instance: site and instance names share one namespace (both name databases, cookies and prefixes)."),
                    format!("Rename the site, e.g. `{name}_site`."),
                );
            }
            if presets.iter().any(|p| p.name == name) {
                self.report(
                    format!("site.{name}"),
                    line,
                    format!("`{name}` is both a site and a preset: `kovan up {name}` could mean either."),
                    "Remove the preset (starting a site starts its members) or rename one of them."
                        .into(),
                );
            }
            let site = site.into_inner();
            let field = format!("site.{name}.instances");
            let mut members: Vec<String> = Vec::new();
            for member in site.instances {
                let Some((m, m_line)) = self.member(&field, member, instances, &members) else {
                    continue;
                };
                if let Some(other) = member_of.get(&m) {
                    self.report(
                        field.clone(),
                        m_line,
                        format!("`{m}` is already a member of the site {other}: an instance shares one database and one login with one site only."),
                        format!("Remove `{m}` from one of the two sites."),
                    );
                } else {
                    member_of.insert(m.clone(), name.clone());
                    members.push(m);
                }
            }
            let roles: Vec<Role> = members
                .iter()
                .filter_map(|m| instances.iter().find(|i| &i.name == m))
                .map(|i| i.role)
                .collect();
            if !roles.contains(&Role::Main) {
                self.report(
                    field.clone(),
                    line,
                    format!("the site {name} has no member with role = \"main\": nothing would answer `/` at its front door."),
                    "Add an instance with role = \"main\" to its instances.".into(),
                );
            }
            let door_field = format!("site.{name}.front_door");
            let door_line = self.line_of(&site.front_door);
            let door = *site.front_door.get_ref();
            if !PORT_RANGE.contains(&door) {
                self.report(
                    door_field,
                    door_line,
                    format!("the front-door port {door} is not from 1024 to 65535."),
                    "Choose a free port from 1024 to 65535, e.g. 8080.".into(),
                );
            } else if let Some(i) = instances.iter().find(|i| i64::from(i.port) == door) {
                self.report(
                    door_field,
                    door_line,
                    format!(
                        "the front-door port {door} is the port of the instance {}.",
                        i.name
                    ),
                    "Give the front door a port no instance uses, e.g. 8080.".into(),
                );
            } else if let Some(other) = out.iter().find(|s| i64::from(s.front_door) == door) {
                self.report(
                    door_field,
                    door_line,
                    format!(
                        "the front-door port {door} is also the front door of the site {}.",
                        other.name
                    ),
                    "Give every site its own front-door port.".into(),
                );
            }
            let mut routes: Vec<SiteRoute> = Vec::new();
            let defaults = [
                ("/ws/", Role::Websocket),
                ("/api/", Role::Api),
                ("/", Role::Main),
            ];
            for (prefix, role) in defaults {
                if roles.contains(&role) {
                    routes.push(SiteRoute {
                        prefix: prefix.into(),
                        role,
                    });
                }
            }
            for (prefix, role_name) in site.routes {
                let route_field = format!("site.{name}.routes");
                let r_line = self.line_of(&role_name);
                let role = self.choice(Some(&role_name), &Role::ALL, &route_field);
                if !prefix.starts_with('/')
                    || prefix
                        .chars()
                        .any(|c| c.is_whitespace() || c == ';' || c == '{' || c == '}')
                {
                    self.report(
                        route_field,
                        r_line,
                        format!("the route `{prefix}` is not a path prefix."),
                        "Start it with / and leave out spaces, ; and braces, e.g. \"/admin/\"."
                            .into(),
                    );
                    continue;
                }
                if Role::ALL.iter().any(|(n, _)| n == role_name.get_ref()) && !roles.contains(&role)
                {
                    self.report(
                        route_field,
                        r_line,
                        format!("the route `{prefix}` goes to the role {role}, which no member of {name} has."),
                        format!("Route it to a role the site's members have, or add a member with role = \"{role}\"."),
                    );
                }
                routes.retain(|r| r.prefix != prefix);
                routes.push(SiteRoute { prefix, role });
            }
            routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
            out.push(Site {
                name,
                instances: members,
                front_door: u16::try_from(door).unwrap_or(0),
                routes,
            });
        }
        out
    }

    fn prefix_collisions(&mut self, instances: &[Instance], lines: &[InstanceLines]) {
        for (j, b) in instances.iter().enumerate() {
            if instances[..j].iter().any(|i| i.name == b.name) {
                continue;
            }
            // Another instance's alias (derived `{its prefix}.{alias}`) against this one's
            // prefix: only an override can make them meet.
            for a in instances.iter().filter(|a| a.name != b.name) {
                for alias in &a.caches {
                    let pb = &b.names.cache_prefix;
                    let meets = alias.prefix == *pb
                        || nested(&alias.prefix, &a.name, pb, &b.name).is_some();
                    if meets {
                        self.report(
                            format!("instance.{}.cache_prefix", b.name),
                            lines[j].cache_prefix,
                            format!(
                                "the cache prefix `{pb}` meets `{}`, the prefix of {}'s cache alias {}: their keys would mix.",
                                alias.prefix, a.name, alias.name
                            ),
                            "Choose another prefix, or remove the override so Kovan derives it.".into(),
                        );
                    }
                }
            }
            for a in &instances[..j] {
                let (pa, pb) = (&a.names.cache_prefix, &b.names.cache_prefix);
                let message = if pa == pb {
                    format!(
                        "the cache prefix `{pb}` is also the prefix of {}: their cache keys would mix, and clearing one would clear the other.",
                        a.name
                    )
                } else if let Some((outer, outer_name, inner, inner_name)) =
                    nested(pa, &a.name, pb, &b.name)
                {
                    format!(
                        "the cache prefix `{inner}` of {inner_name} starts with `{outer}:`, so clearing {outer_name} (keys `{outer}:*`) would also delete {inner_name}'s keys."
                    )
                } else {
                    continue;
                };
                self.report(
                    format!("instance.{}.cache_prefix", b.name),
                    lines[j].cache_prefix,
                    message,
                    "Choose prefixes where neither is the other followed by `:`, or remove the overrides so Kovan derives them.".into(),
                );
            }
        }
    }

    fn presets(
        &mut self,
        instances: &[Instance],
        raw: IndexMap<String, Spanned<RawPreset>>,
    ) -> Vec<Preset> {
        let mut out = Vec::new();
        for (name, preset) in raw {
            let line = self.line_of(&preset);
            if let Err((message, fix)) = check_name(&name, "preset") {
                self.report(format!("preset.{name}"), line, message, fix);
            }
            let field = format!("preset.{name}.instances");
            let preset = preset.into_inner();
            if preset.instances.is_empty() {
                self.report(
                    field.clone(),
                    line,
                    "the preset names no instance.".into(),
                    "List the instances it starts, e.g. instances = [\"chat_main\", \"chat_api\"]."
                        .into(),
                );
            }
            let mut members: Vec<String> = Vec::new();
            for member in preset.instances {
                if let Some((m, _)) = self.member(&field, member, instances, &members) {
                    members.push(m);
                }
            }
            out.push(Preset {
                name,
                instances: members,
            });
        }
        out
    }

    /// One name of a member list (a preset's, a site's): the name and its line when it is an
    /// instance not yet listed; otherwise the problem is reported and None.
    fn member(
        &mut self,
        field: &str,
        member: Spanned<String>,
        instances: &[Instance],
        listed: &[String],
    ) -> Option<(String, Option<u32>)> {
        let line = self.line_of(&member);
        let m = member.into_inner();
        if instances.iter().all(|i| i.name != m) {
            let known: Vec<&str> = instances.iter().map(|i| i.name.as_str()).collect();
            self.report(
                field,
                line,
                format!("`{m}` is not an instance of this workspace."),
                format!("Use one of: {}.", known.join(", ")),
            );
            None
        } else if listed.contains(&m) {
            self.report(
                field,
                line,
                format!("`{m}` is listed twice."),
                "List each instance once.".into(),
            );
            None
        } else {
            Some((m, line))
        }
    }
}

/// Lines of an instance's fields; a derived name points at the instance's `name` line.
struct InstanceLines {
    name: Option<u32>,
    database: Option<u32>,
    cache_prefix: Option<u32>,
    cache_location: Option<u32>,
    session_cookie: Option<u32>,
    csrf_cookie: Option<u32>,
    static_root: Option<u32>,
    media_root: Option<u32>,
    env_file: Option<u32>,
    log_file: Option<u32>,
}

/// When one prefix is the other followed by `:`, returns (outer, outer's instance, inner, inner's).
fn nested<'a>(
    pa: &'a str,
    a: &'a str,
    pb: &'a str,
    b: &'a str,
) -> Option<(&'a str, &'a str, &'a str, &'a str)> {
    let starts = |inner: &str, outer: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with(':'))
    };
    if starts(pb, pa) {
        Some((pa, a, pb, b))
    } else if starts(pa, pb) {
        Some((pb, b, pa, a))
    } else {
        None
    }
}

fn check_relative_path(p: &str) -> Result<(), &'static str> {
    let path = Path::new(p);
    if p.trim().is_empty() {
        return Err("is empty");
    }
    if path.is_absolute() {
        return Err("is absolute; Kovan keeps every instance's files inside the Django root");
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err("leaves the Django root through `..`");
    }
    Ok(())
}

/// Comparable form of a relative path: `./a//b/` and `a/b` are the same file.
fn path_key(p: &str) -> String {
    Path::new(p)
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn is_dotted_module(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}
