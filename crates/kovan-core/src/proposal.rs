//! The kovan.toml Kovan proposes for a Django project that has none, built from a [`Detection`], and
//! writing it without ever replacing an existing file.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

use crate::detect::{
    self, AsgiServer, DetectError, Detection, DjangoAnswer, DjangoSettings, FailedStage,
    NginxUpstream, SettingsSource,
};
use crate::services::redis_server;
use crate::workspace::{self, suggest_name, WorkspaceError, FILE_NAME};

/// Used when neither the settings package nor the folder gives a usable project name.
const FALLBACK_NAME: &str = "django";
/// Settings packages named for their role, not the project: a poor base for derived names.
const GENERIC_PACKAGES: &[&str] = &[
    "app", "backend", "conf", "config", "core", "main", "project", "server", "settings", "site",
    "src", "web", "website",
];
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/0";
const REDIS_BACKENDS: &[&str] = &[
    "django.core.cache.backends.redis.RedisCache",
    "django_redis.cache.RedisCache",
];

/// A kovan.toml ready to write, with what it was built from and what could not be detected.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    /// Absolute path the kovan.toml would be written to.
    pub file: String,
    /// A kovan.toml is already there: [`write`] refuses to replace it.
    pub exists: bool,
    /// The proposed file, comments included; it validates with `workspace::parse`.
    pub text: String,
    /// The project name chosen (the base of every derived name).
    pub name: String,
    /// Why the instances are proposed as a site or as isolated instances, in one line.
    pub reason: String,
    /// What Kovan could not detect, each with what it used instead and what to do.
    pub undetected: Vec<String>,
    pub detection: Detection,
}

#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    #[error(transparent)]
    Detect(#[from] DetectError),
    #[error("{}: a kovan.toml is already there and Kovan never replaces one. Check it with `kovan check`; to start over, move it aside and run `kovan init` again (`kovan init --dry-run` shows the proposal without writing).", path.display())]
    Exists { path: PathBuf },
    #[error("{}: cannot be written ({source}). Check that the folder exists and that you may write to it.", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The proposal failed Kovan's own validation: a bug in the proposal, reported rather than written.
    #[error(
        "the proposed kovan.toml does not validate, which is a bug in Kovan; please report it. {0}"
    )]
    Invalid(WorkspaceError),
}

impl crate::error::Classified for ProposalError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Self::Detect(e) => e.kind(),
            Self::Exists { .. } => ErrorKind::WorkspaceExists,
            Self::Write { .. } => ErrorKind::WorkspaceUnwritable,
            Self::Invalid(_) => ErrorKind::ProposalInvalid,
        }
    }

    fn detail(&self) -> Option<crate::error::ErrorDetail> {
        match self {
            Self::Detect(e) => e.detail(),
            Self::Exists { path } | Self::Write { path, .. } => {
                Some(crate::error::ErrorDetail::Path {
                    path: path.display().to_string(),
                })
            }
            Self::Invalid(e) => e.detail(),
        }
    }
}

/// Detect the Django project in `folder` and propose a kovan.toml for it (in `folder`).
pub fn propose(folder: &Path) -> Result<Proposal, ProposalError> {
    from_detection(detect::detect(folder)?)
}

/// The proposal for a detection already made.
pub fn from_detection(detection: Detection) -> Result<Proposal, ProposalError> {
    let folder = PathBuf::from(&detection.folder);
    let file = folder.join(FILE_NAME);
    let mut undetected = Vec::new();
    let choices = Choices::new(&detection, &folder, &mut undetected);
    let mut text = choices.render(None);
    let parsed = workspace::parse(&file, &text).map_err(ProposalError::Invalid)?;
    if let Some(Err(why)) = parsed.redis.as_ref().map(redis_server::can_manage) {
        text = choices.render(Some(&why));
        workspace::parse(&file, &text).map_err(ProposalError::Invalid)?;
    }
    Ok(Proposal {
        exists: file.symlink_metadata().is_ok(),
        file: file.display().to_string(),
        text,
        name: choices.name,
        reason: choices.shape.reason.clone(),
        undetected,
        detection,
    })
}

/// Write the proposal to its file, atomically, only if no file is there. Returns the path written.
pub fn write(proposal: &Proposal) -> Result<PathBuf, ProposalError> {
    let path = PathBuf::from(&proposal.file);
    if path.symlink_metadata().is_ok() {
        return Err(ProposalError::Exists { path });
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let failed = |source| ProposalError::Write {
        path: path.clone(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".kovan-")
        .tempfile_in(dir)
        .map_err(failed)?;
    tmp.write_all(proposal.text.as_bytes()).map_err(failed)?;
    tmp.as_file().sync_all().map_err(failed)?;
    // A committed project file, readable like the rest of the project (temporary files are 0600).
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644)).map_err(failed)?;
    // No-clobber rename: a kovan.toml created meanwhile (by the window, an editor) is kept.
    tmp.persist_noclobber(&path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            ProposalError::Exists { path: path.clone() }
        } else {
            failed(e.error)
        }
    })?;
    Ok(path)
}

/// Every value of the proposal, with the sentence that explains it.
struct Choices {
    name: String,
    name_why: String,
    django_root: String,
    settings: String,
    settings_why: String,
    python_line: String,
    database_engine: &'static str,
    database_why: String,
    redis_url: String,
    redis_why: String,
    cookies_why: String,
    caches_why: Vec<String>,
    shape: Shape,
}

/// The proposed instances: one site of role servers, or isolated instances.
struct Shape {
    /// The site's name and front-door port; None: every instance isolated.
    site: Option<(String, u16)>,
    /// name, port, role, cache, cache_timeout.
    members: Vec<Member>,
    /// The websocket member's `command` line, or the comment explaining there is none.
    websocket_command: Option<String>,
    reason: String,
}

struct Member {
    name: String,
    port: u16,
    role: &'static str,
    cache: &'static str,
    /// None: Django's default.
    cache_timeout: Option<u32>,
}

/// The site's name when the project uses Channels (the guide's chat trio).
const CHANNELS_SITE: &str = "chat";
/// The site's name when the upstream's own name gives none.
const FALLBACK_SITE: &str = "site";
/// Member names are `{site}_websocket`: the site's name leaves room for the longest role.
const MAX_SITE_NAME: usize = crate::workspace::MAX_NAME_LEN - "_websocket".len();
/// The first front-door port tried.
const FRONT_DOOR: u16 = 8080;
/// The guide's per-role caches: (role, cache, timeout in seconds).
const ROLES: [(&str, &str, u32); 3] = [
    ("main", "redis", 3600),
    ("api", "redis", 1800),
    ("websocket", "locmem", 300),
];

impl Choices {
    fn new(d: &Detection, folder: &Path, undetected: &mut Vec<String>) -> Self {
        let folder_name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let settings_django = match &d.django {
            DjangoAnswer::Read(s) => Some(&**s),
            DjangoAnswer::Failed { stage, message } => {
                let fix = match stage {
                    FailedStage::Python => "install Python 3, or create the project's .venv, or set project.python",
                    FailedStage::Django => "install Django into that interpreter (or create the project's .venv) or set project.python",
                    FailedStage::Settings => "fix the import (or project.settings)",
                };
                undetected.push(format!(
                    "Django could not be asked about the settings with {} ({message}). Caches, database and cookie names below are Kovan's defaults; {fix}, then compare with `kovan init --dry-run`.",
                    d.python
                ));
                None
            }
        };

        let (name, name_why) = project_name(d.settings.as_deref(), &folder_name);
        let (settings, settings_why) = match (&d.settings, d.settings_source) {
            (Some(s), SettingsSource::ManagePy) => (
                s.clone(),
                "manage.py's DJANGO_SETTINGS_MODULE default".to_string(),
            ),
            (Some(s), _) => {
                undetected.push(format!("manage.py sets no DJANGO_SETTINGS_MODULE default; {s} is the only settings.py found. Change project.settings if the project runs another module."));
                (
                    s.clone(),
                    "the only settings.py found (manage.py names none)".into(),
                )
            }
            (None, _) => {
                let guess = format!("{name}.settings");
                undetected.push(format!("no settings module found (manage.py sets no DJANGO_SETTINGS_MODULE default and no single settings.py exists); `{guess}` is a guess. Set project.settings to the module your project runs."));
                (guess, "a guess: set the module your project runs".into())
            }
        };

        let python_line = if d.virtualenv {
            format!(
                "# python = {}   # found automatically: the project's virtualenv",
                quoted(&d.python)
            )
        } else {
            undetected.push(format!("no .venv or venv folder in the Django root: Kovan runs {} from PATH. Set project.python if the project's interpreter is elsewhere.", d.python));
            format!(
                "# python = {}   # no .venv or venv found: Kovan runs python3 from PATH",
                quoted(&d.python)
            )
        };

        let (database_engine, database_why) = database(settings_django, undetected);
        let (redis_url, redis_why) = redis(settings_django, undetected);
        let cookies_why = match settings_django {
            Some(s) => format!(
                "Your settings name the cookies `{}` and `{}`; each instance gets its own (sessionid_main, csrftoken_main, ...): browsers ignore the port, so equal names would log users out of each other.",
                s.session_cookie, s.csrf_cookie
            ),
            None => "Each instance gets its own cookie names (sessionid_main, csrftoken_main, ...): browsers ignore the port, so equal names would log users out of each other.".into(),
        };
        let caches_why = caches(settings_django);
        let shape = shape(d, settings_django, &redis_url, undetected);
        let (database_why, cookies_why) = match &shape.site {
            Some((site, _)) => (
                format!("{database_why} The site's members share one database (db_{site}.sqlite3 in WAL mode for SQLite, or {{project}}_{site}): a row written through one member is there for the others."),
                format!("{cookies_why} The site's members share theirs (sessionid_{site}, csrftoken_{site}) and SECRET_KEY: a user logged in through the front door stays logged in on every member."),
            ),
            None => (database_why, cookies_why),
        };
        Self {
            name,
            name_why,
            django_root: d.django_root.clone(),
            settings,
            settings_why,
            python_line,
            database_engine,
            database_why,
            redis_url,
            redis_why,
            cookies_why,
            caches_why,
            shape,
        }
    }

    /// The kovan.toml text; `unmanaged` is why Kovan cannot start this Redis itself, when it cannot.
    fn render(&self, unmanaged: Option<&str>) -> String {
        let managed_line = match unmanaged {
            None => {
                "managed = true    # Kovan starts redis-server on this port when nothing answers"
                    .to_string()
            }
            Some(why) => format!("managed = false   # {}", one_line(why)),
        };
        let mut out = String::new();
        let mut line = |s: &str| {
            out.push_str(s);
            out.push('\n');
        };
        line("# Kovan workspace proposed by `kovan init` from what Django reported about this project.");
        line("# Check it with `kovan check`; then `kovan gen --write` writes each instance's config.");
        line("");
        line("# The Django project. `name` is the base of every per-instance name Kovan derives");
        line("# (database file, cache key prefix, cookie names).");
        line("[project]");
        line(&format!(
            "name = {}   # {}",
            quoted(&self.name),
            one_line(&self.name_why)
        ));
        line(&format!(
            "django_root = {}   # the folder with manage.py",
            quoted(&self.django_root)
        ));
        line(&format!(
            "settings = {}   # {}",
            quoted(&self.settings),
            one_line(&self.settings_why)
        ));
        line(&self.python_line);
        line("");
        line(&comment(&self.database_why));
        line("[database]");
        line(&format!("engine = {}", quoted(self.database_engine)));
        line("");
        line("# The Redis server the redis-cached instances share; each instance's keys carry its own");
        line("# prefix ({project}_{instance}), so flushing one never touches the others.");
        line(&comment(&self.redis_why));
        line("[redis]");
        line(&format!("url = {}", quoted(&self.redis_url)));
        line(&managed_line);
        line("");
        self.render_instances(&mut line);
        out
    }
}

impl Choices {
    fn render_instances(&self, line: &mut impl FnMut(&str)) {
        let shape = &self.shape;
        let Some((site, front_door)) = &shape.site else {
            line("# One block per runserver process: `role` decides nginx routing, `cache` the Django cache");
            line("# backend. Start them together with `kovan up dev` (main + api) or `kovan up chat` (all three).");
            line(&comment(&format!(
                "Kovan {}; each instance has its own database, SECRET_KEY, cookies and cache prefix.",
                shape.reason
            )));
            line(&comment(&self.cookies_why));
            for why in &self.caches_why {
                line(&comment(why));
            }
            for m in &shape.members {
                if m.role == "websocket" {
                    line("# Real-time data is short-lived and process-local, so this one keeps its own LocMem cache.");
                }
                member(line, m, None);
            }
            line("# Named groups to start and stop together.");
            line("[preset.dev]");
            line("instances = [\"main\", \"api\"]");
            line("");
            line("[preset.chat]");
            line("instances = [\"main\", \"api\", \"websocket\"]");
            return;
        };
        line("# The site's members, one block per role server: `role` decides the front door's routing,");
        line("# `cache` the Django cache backend and `cache_timeout` its TTL (each keeps its own prefix).");
        line(&comment(&self.cookies_why));
        for why in &self.caches_why {
            line(&comment(why));
        }
        for m in &shape.members {
            let command = if m.role == "websocket" {
                line("# Real-time data is short-lived and process-local, so this one keeps its own LocMem cache.");
                shape.websocket_command.as_deref()
            } else {
                None
            };
            member(line, m, command);
        }
        line(&comment(&format!(
            "Kovan {}. Its members are one website behind one front door, an nginx Kovan runs on front_door routing /ws/ to the websocket role, /api/ to the api role and the rest to main. `kovan up {site}` starts it.",
            shape.reason
        )));
        line(&format!("[site.{site}]"));
        let names: Vec<String> = shape.members.iter().map(|m| quoted(&m.name)).collect();
        line(&format!("instances = [{}]", names.join(", ")));
        line(&format!("front_door = {front_door}"));
        if let [main, api, ..] = &shape.members[..] {
            line("");
            line("# A named group to start and stop together: the dev pair.");
            line("[preset.dev]");
            line(&format!(
                "instances = [{}, {}]",
                quoted(&main.name),
                quoted(&api.name)
            ));
        }
    }
}

fn member(line: &mut impl FnMut(&str), m: &Member, command: Option<&str>) {
    line("[[instance]]");
    line(&format!("name = {}", quoted(&m.name)));
    line(&format!("port = {}", m.port));
    line(&format!("role = {}", quoted(m.role)));
    line(&format!("cache = {}", quoted(m.cache)));
    if let Some(timeout) = m.cache_timeout {
        line(&format!("cache_timeout = {timeout}"));
    }
    if let Some(command) = command {
        if command.starts_with('#') {
            line(command);
        } else {
            line(&format!("command = {}", quoted(command)));
        }
    }
    line("");
}

/// A site when the project uses Channels or its nginx config has one upstream over several local
/// servers (the guide's layout); isolated instances otherwise.
fn shape(
    d: &Detection,
    settings: Option<&DjangoSettings>,
    redis_url: &str,
    undetected: &mut Vec<String>,
) -> Shape {
    let channels = settings.filter(|s| s.uses_channels());
    let upstream: Option<&NginxUpstream> = match &d.nginx_upstreams[..] {
        [one] => Some(one),
        [] => None,
        several => {
            let named: Vec<String> = several
                .iter()
                .map(|u| format!("`{}` in {}", u.name, u.file))
                .collect();
            undetected.push(format!("the nginx config has several upstreams over several servers ({}); Kovan proposes a site for one upstream only. Add a [site.NAME] per website yourself (see `kovan check`).", named.join(", ")));
            None
        }
    };
    let upstream_words = |u: &NginxUpstream| {
        let ports: Vec<String> = u.ports.iter().map(u16::to_string).collect();
        format!(
            "{} has one upstream `{}` over {} servers (ports {})",
            u.file,
            u.name,
            u.ports.len(),
            ports.join(", ")
        )
    };
    let (site, reason) = match (channels, upstream) {
        (None, None) => {
            let why = match settings {
                Some(_) => "the project uses no Django Channels and has no nginx upstream over several servers",
                None => "Django could not be asked whether the project uses Channels, and it has no nginx upstream over several servers",
            };
            let members = ROLES
                .iter()
                .zip([8000, 8001, 8002])
                .map(|(&(role, cache, _), port)| Member {
                    name: role.into(),
                    port,
                    role,
                    cache,
                    cache_timeout: None,
                })
                .collect();
            return Shape {
                site: None,
                members,
                websocket_command: None,
                reason: format!("proposed isolated instances: {why}"),
            };
        }
        (Some(s), upstream) => {
            let asgi = s.asgi_application.as_deref().unwrap_or("?");
            let also = upstream
                .map(|u| format!(", and {}", upstream_words(u)))
                .unwrap_or_default();
            (
                CHANNELS_SITE.to_string(),
                format!("the project uses Django Channels (ASGI_APPLICATION = {asgi}){also}"),
            )
        }
        (None, Some(u)) => (site_name(&u.name), upstream_words(u)),
    };
    let ports: Vec<u16> = match upstream {
        Some(u) => u.ports.clone(),
        None => vec![8000, 8001, 8002],
    };
    let mut counts = std::collections::HashMap::<&str, u32>::new();
    let members: Vec<Member> = ports
        .iter()
        .enumerate()
        .map(|(i, &port)| {
            // The guide's trio first; more servers are more main-role members (weighted by nginx).
            let (role, cache, cache_timeout) = ROLES.get(i).copied().unwrap_or(ROLES[0]);
            let n = counts.entry(role).or_default();
            *n += 1;
            let name = if *n == 1 {
                format!("{site}_{role}")
            } else {
                format!("{site}_{role}_{n}")
            };
            Member {
                name,
                port,
                role,
                cache,
                cache_timeout: Some(cache_timeout),
            }
        })
        .collect();
    let mut taken: Vec<u16> = members.iter().map(|m| m.port).collect();
    if let Some(port) = url::Url::parse(redis_url)
        .ok()
        .and_then(|u| u.port_or_known_default())
    {
        taken.push(port);
    }
    let front_door = front_door(&taken);
    let websocket_command = channels.and_then(|s| websocket_command(s, &site, undetected));
    if let Some(s) = channels {
        if !s.channels_redis_installed {
            undetected.push(format!("channels_redis is not installed: the members of the site {site} cannot share a channel layer (an in-memory one does not span processes). Install channels_redis into the project's interpreter."));
        }
    }
    Shape {
        site: Some((site.clone(), front_door)),
        members,
        websocket_command,
        reason: format!("proposed the site `{site}`: {reason}"),
    }
}

/// A valid site name from an upstream's name, short enough for its members' names.
fn site_name(upstream: &str) -> String {
    let name: String = suggest_name(upstream).chars().take(MAX_SITE_NAME).collect();
    let name = name.trim_end_matches('_').to_string();
    if name.is_empty() {
        FALLBACK_SITE.into()
    } else {
        name
    }
}

/// The first port from 8080 that no member or Redis uses and nothing on this machine listens on
/// now (a project's own nginx often does).
fn front_door(taken: &[u16]) -> u16 {
    let free =
        |p: u16| !taken.contains(&p) && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
    (FRONT_DOOR..FRONT_DOOR + 20)
        .chain(18080..18100)
        .find(|&p| free(p))
        .or_else(|| (FRONT_DOOR..).find(|p| !taken.contains(p)))
        .unwrap_or(FRONT_DOOR)
}

/// The websocket member's command under the ASGI server the project has: a `command` line, or a
/// comment when daphne's runserver already speaks ASGI; None (and a note) without one.
fn websocket_command(
    s: &DjangoSettings,
    site: &str,
    undetected: &mut Vec<String>,
) -> Option<String> {
    // ASGI_APPLICATION is `package.asgi.application`: the server takes `package.asgi:application`.
    let target = s
        .asgi_application
        .as_deref()
        .and_then(|a| a.rsplit_once('.'))
        .map(|(module, attr)| format!("{module}:{attr}"))?;
    match s.asgi_servers.first() {
        Some(AsgiServer::DaphneRunserver) => Some(
            "# daphne is in INSTALLED_APPS: its runserver speaks ASGI (websockets included), so no `command`."
                .into(),
        ),
        Some(AsgiServer::Daphne) => Some(format!(
            "{{python}} -m daphne -b 127.0.0.1 -p {{port}} {target}"
        )),
        Some(AsgiServer::Uvicorn) => Some(format!(
            "{{python}} -m uvicorn --host 127.0.0.1 --port {{port}} {target}"
        )),
        None => {
            undetected.push(format!("no ASGI server (daphne, uvicorn) is installed: {site}_websocket would run Django's runserver, which serves no websockets. Install daphne (or uvicorn) into the project's interpreter."));
            None
        }
    }
}

/// The settings package's name unless it is a generic one (`config`), else the folder's.
fn project_name(settings: Option<&str>, folder: &str) -> (String, String) {
    let package = settings.and_then(|s| s.split('.').next()).unwrap_or("");
    let from_package = suggest_name(package);
    if !from_package.is_empty() && !GENERIC_PACKAGES.contains(&from_package.as_str()) {
        return (
            from_package,
            format!("from the settings package `{package}`"),
        );
    }
    let from_folder = suggest_name(folder);
    if !from_folder.is_empty() {
        let why = if package.is_empty() {
            format!("from the folder name `{folder}`")
        } else {
            format!("from the folder name `{folder}` (the settings package `{package}` names no project)")
        };
        return (from_folder, why);
    }
    (
        FALLBACK_NAME.into(),
        "neither the settings package nor the folder gives a usable name".into(),
    )
}

fn database(s: Option<&DjangoSettings>, undetected: &mut Vec<String>) -> (&'static str, String) {
    let separate = "each instance gets its own SQLite file db_{instance}.sqlite3, so they never lock each other out.";
    let Some(s) = s else {
        return ("sqlite", format!("Database: {separate}"));
    };
    let engine = s.database.engine.as_deref().unwrap_or("");
    let name = s.database.name.as_deref().unwrap_or("?");
    if engine.contains("postgresql") || engine.contains("postgis") {
        (
            "postgresql",
            format!("Your settings use PostgreSQL ({name}); each instance gets its own database {{project}}_{{instance}}."),
        )
    } else if engine.contains("sqlite3") {
        (
            "sqlite",
            format!("Your settings use SQLite ({name}); {separate}"),
        )
    } else {
        let shown = if engine.is_empty() {
            "no database"
        } else {
            engine
        };
        undetected.push(format!("the default database uses {shown}; Kovan separates instances' databases for SQLite and PostgreSQL only, so each instance gets a SQLite file. Change [database] engine to \"postgresql\" if the project needs PostgreSQL."));
        (
            "sqlite",
            format!("Your settings use {shown}; Kovan proposes SQLite files instead: {separate}"),
        )
    }
}

/// The Redis URL of the project's Redis cache (the default alias first), or Kovan's default.
fn redis(s: Option<&DjangoSettings>, undetected: &mut Vec<String>) -> (String, String) {
    let default = (
        DEFAULT_REDIS_URL.to_string(),
        "Your settings use no Redis cache: a local Redis on the default port.".to_string(),
    );
    let Some(s) = s else {
        return (
            DEFAULT_REDIS_URL.into(),
            "Django could not be asked about a Redis cache: a local Redis on the default port."
                .into(),
        );
    };
    let mut redis_caches: Vec<_> = s
        .caches
        .iter()
        .filter(|c| {
            c.backend
                .as_deref()
                .is_some_and(|b| REDIS_BACKENDS.contains(&b))
        })
        .collect();
    redis_caches.sort_by_key(|c| c.alias != "default");
    let Some(cache) = redis_caches.first() else {
        return default;
    };
    let Some(location) = cache.location.first() else {
        undetected.push(format!(
            "the Redis cache `{}` has no LOCATION; Kovan proposes {DEFAULT_REDIS_URL}.",
            cache.alias
        ));
        return default;
    };
    let mut url = match url::Url::parse(location) {
        Ok(url)
            if matches!(url.scheme(), "redis" | "rediss")
                && url.host_str().is_some_and(|h| !h.is_empty()) =>
        {
            url
        }
        _ => {
            undetected.push(format!("the Redis cache `{}` has the LOCATION `{location}`, which is not a redis:// or rediss:// URL with a host; Kovan proposes {DEFAULT_REDIS_URL}. Set [redis] url to the server the instances should share.", cache.alias));
            return default;
        }
    };
    if url.password().is_some() {
        // kovan.toml is meant to be committed; a password does not belong in it unasked.
        let _ = url.set_password(None);
        undetected.push(format!("the Redis URL of the cache `{}` has a password, left out of kovan.toml because the file is meant to be committed. Add it to [redis] url (redis://user:password@host:port/db) if that server needs it.", cache.alias));
    }
    let url = url.to_string();
    let why = format!("From your cache `{}` (LOCATION {}).", cache.alias, url);
    (url, why)
}

/// What happens to the project's own cache settings, one sentence each.
fn caches(s: Option<&DjangoSettings>) -> Vec<String> {
    let Some(s) = s else { return Vec::new() };
    let mut out = Vec::new();
    for c in &s.caches {
        let backend = c.backend.as_deref().unwrap_or("no BACKEND");
        if c.alias == "default" {
            let prefix = if c.key_prefix.is_empty() {
                String::new()
            } else {
                format!(" and KEY_PREFIX `{}`", c.key_prefix)
            };
            out.push(format!(
                "Your default cache is {backend}{prefix}; each instance gets the backend below and its own prefix {{project}}_{{instance}}."
            ));
        } else {
            out.push(format!(
                "Your cache `{}` ({backend}) is kept as your settings define it and is shared by every instance.",
                c.alias
            ));
        }
    }
    if s.django_redis_installed
        || s.caches
            .iter()
            .any(|c| c.backend.as_deref() == Some("django_redis.cache.RedisCache"))
    {
        out.push("django-redis is installed; Kovan's generated settings use Django's built-in RedisCache for the default cache.".into());
    }
    out
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML comment wrapped at 100 columns.
fn comment(text: &str) -> String {
    let mut lines = vec![String::from("#")];
    for word in one_line(text).split_whitespace() {
        let last = lines.last_mut().expect("one line at least");
        if last.len() + 1 + word.len() > 100 && last.len() > 1 {
            lines.push(format!("# {word}"));
        } else {
            last.push(' ');
            last.push_str(word);
        }
    }
    lines.join("\n")
}

/// Detected text (folder names, aliases) put in a comment must not end the comment early.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{CacheSetting, DatabaseSetting};
    use crate::error::Classified;

    /// A folder with a manage.py (so the proposal can validate) and a detection of it.
    fn detection(
        folder_name: &str,
        settings: &str,
        django: DjangoAnswer,
    ) -> (tempfile::TempDir, Detection) {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(folder_name);
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("manage.py"), "").unwrap();
        let d = Detection {
            folder: folder.display().to_string(),
            django_root: ".".into(),
            settings: Some(settings.into()),
            settings_source: SettingsSource::ManagePy,
            python: ".venv/bin/python".into(),
            virtualenv: true,
            django,
            nginx_upstreams: Vec::new(),
        };
        (dir, d)
    }

    fn read(caches: Vec<CacheSetting>, engine: &str) -> DjangoAnswer {
        DjangoAnswer::Read(Box::new(DjangoSettings {
            django_version: "5.2".into(),
            caches,
            database: DatabaseSetting {
                engine: Some(engine.into()),
                name: Some("shop".into()),
            },
            session_cookie: "shop_session".into(),
            csrf_cookie: "csrftoken".into(),
            django_redis_installed: false,
            asgi_application: None,
            channels_version: None,
            channel_layer_backend: None,
            channels_redis_installed: false,
            asgi_servers: Vec::new(),
        }))
    }

    fn cache(alias: &str, backend: &str, location: &str) -> CacheSetting {
        CacheSetting {
            alias: alias.into(),
            backend: Some(backend.into()),
            location: vec![location.into()],
            key_prefix: "shop".into(),
        }
    }

    fn parsed(p: &Proposal) -> workspace::Workspace {
        workspace::parse(Path::new(&p.file), &p.text).unwrap_or_else(|e| panic!("{e}\n{}", p.text))
    }

    #[test]
    fn a_redis_cache_gives_its_url_without_the_password() {
        let django = read(
            vec![
                cache(
                    "sessions",
                    "django.core.cache.backends.locmem.LocMemCache",
                    "s",
                ),
                cache(
                    "default",
                    "django.core.cache.backends.redis.RedisCache",
                    "redis://:***@10.0.0.5:6380/2",
                ),
            ],
            "django.db.backends.postgresql",
        );
        let (_dir, d) = detection("shop", "shop.settings", django);
        let p = from_detection(d).unwrap();
        let ws = parsed(&p);
        let redis = ws.redis.as_ref().unwrap();
        assert_eq!(redis.url().as_str(), "redis://10.0.0.5:6380/2");
        assert!(
            !redis.managed,
            "Kovan cannot start a Redis on another host:\n{}",
            p.text
        );
        assert_eq!(ws.database, workspace::DatabaseEngine::Postgresql);
        assert!(
            p.undetected.iter().any(|u| u.contains("password")),
            "{:?}",
            p.undetected
        );
        assert!(
            p.text.contains("`sessions`") && p.text.contains("shared by every instance"),
            "{}",
            p.text
        );
        assert!(p.text.contains("`shop_session`"), "{}", p.text);
        assert!(
            p.text
                .lines()
                .all(|l| l.len() <= 100 || !l.starts_with('#')),
            "{}",
            p.text
        );
    }

    #[test]
    fn a_local_redis_is_managed_and_presets_name_the_instances() {
        let django = read(
            vec![cache(
                "default",
                "django_redis.cache.RedisCache",
                "redis://127.0.0.1:6390/1",
            )],
            "django.db.backends.sqlite3",
        );
        let (_dir, d) = detection("shop", "shop.settings", django);
        let p = from_detection(d).unwrap();
        let ws = parsed(&p);
        assert_eq!(
            ws.redis.as_ref().unwrap().url().as_str(),
            "redis://127.0.0.1:6390/1"
        );
        assert!(ws.redis.as_ref().unwrap().managed);
        let names: Vec<(&str, u16, workspace::Role)> = ws
            .instances
            .iter()
            .map(|i| (i.name.as_str(), i.port, i.role))
            .collect();
        assert_eq!(
            names,
            [
                ("main", 8000, workspace::Role::Main),
                ("api", 8001, workspace::Role::Api),
                ("websocket", 8002, workspace::Role::Websocket)
            ]
        );
        let presets: Vec<(&str, usize)> = ws
            .presets
            .iter()
            .map(|p| (p.name.as_str(), p.instances.len()))
            .collect();
        assert_eq!(presets, [("dev", 2), ("chat", 3)]);
        assert!(p.undetected.is_empty(), "{:?}", p.undetected);
        assert!(p.text.contains("django-redis"), "{}", p.text);
    }

    #[test]
    fn a_generic_settings_package_gives_way_to_the_folder_name() {
        let (_dir, d) = detection(
            "Shop-App 2",
            "config.settings.local",
            read(vec![], "django.db.backends.mysql"),
        );
        let p = from_detection(d).unwrap();
        assert_eq!(p.name, "shop_app_2");
        let ws = parsed(&p);
        assert_eq!(ws.project.settings, "config.settings.local");
        assert_eq!(ws.database, workspace::DatabaseEngine::Sqlite);
        assert!(
            p.undetected
                .iter()
                .any(|u| u.contains("django.db.backends.mysql")),
            "{:?}",
            p.undetected
        );
    }

    #[test]
    fn a_redis_location_that_is_no_url_falls_back_with_an_explanation() {
        let django = read(
            vec![cache(
                "default",
                "django_redis.cache.RedisCache",
                "unix:///run/redis.sock",
            )],
            "django.db.backends.sqlite3",
        );
        let (_dir, d) = detection("shop", "shop.settings", django);
        let p = from_detection(d).unwrap();
        assert_eq!(parsed(&p).redis.unwrap().url().as_str(), DEFAULT_REDIS_URL);
        assert!(
            p.undetected
                .iter()
                .any(|u| u.contains("unix:///run/redis.sock")),
            "{:?}",
            p.undetected
        );
    }

    #[test]
    fn channels_with_uvicorn_only_runs_the_websocket_member_under_uvicorn_and_names_what_is_missing(
    ) {
        let mut django = read(vec![], "django.db.backends.sqlite3");
        if let DjangoAnswer::Read(s) = &mut django {
            s.asgi_application = Some("shop.asgi.application".into());
            s.channels_version = Some("4.2.0".into());
            s.asgi_servers = vec![AsgiServer::Uvicorn];
        }
        let (_dir, d) = detection("shop", "shop.settings", django);
        let p = from_detection(d).unwrap();
        assert_eq!(
            p.reason,
            "proposed the site `chat`: the project uses Django Channels (ASGI_APPLICATION = shop.asgi.application)"
        );
        let ws = parsed(&p);
        let site = ws.site("chat").expect("a site");
        assert_eq!(site.instances, ["chat_main", "chat_api", "chat_websocket"]);
        assert_eq!(
            ws.instance("chat_websocket").unwrap().command.as_deref(),
            Some("{python} -m uvicorn --host 127.0.0.1 --port {port} shop.asgi:application")
        );
        let timeouts: Vec<u32> = ws.instances.iter().map(|i| i.cache_timeout).collect();
        assert_eq!(timeouts, [3600, 1800, 300]);
        assert!(
            p.undetected
                .iter()
                .any(|u| u.contains("channels_redis is not installed")),
            "{:?}",
            p.undetected
        );
        assert!(
            p.text
                .lines()
                .all(|l| l.len() <= 100 || !l.starts_with('#')),
            "{}",
            p.text
        );
    }

    #[test]
    fn an_upstream_takes_its_ports_and_the_front_door_avoids_them_and_a_busy_port() {
        // Something on this machine listens on the first candidate that the members leave free.
        let busy = (FRONT_DOOR + 1..FRONT_DOOR + 20)
            .find_map(|p| std::net::TcpListener::bind(("127.0.0.1", p)).ok());
        let busy_port = busy.as_ref().map(|l| l.local_addr().unwrap().port());
        let (_dir, mut d) = detection(
            "shop",
            "shop.settings",
            read(vec![], "django.db.backends.sqlite3"),
        );
        d.nginx_upstreams = vec![NginxUpstream {
            file: "nginx/shop.conf".into(),
            name: "Shop-Backend".into(),
            ports: (FRONT_DOOR..=busy_port.unwrap_or(FRONT_DOOR + 1))
                .chain([9000, 9001])
                .collect(),
        }];
        let p = from_detection(d).unwrap();
        let ws = parsed(&p);
        let site = ws.site("shop_backend").expect("named after the upstream");
        assert!(p.reason.starts_with("proposed the site `shop_backend`: nginx/shop.conf has one upstream `Shop-Backend` over"), "{}", p.reason);
        let names: Vec<(&str, workspace::Role)> = ws
            .instances
            .iter()
            .map(|i| (i.name.as_str(), i.role))
            .collect();
        assert_eq!(
            names[..3],
            [
                ("shop_backend_main", workspace::Role::Main),
                ("shop_backend_api", workspace::Role::Api),
                ("shop_backend_websocket", workspace::Role::Websocket),
            ]
        );
        assert_eq!(names[3], ("shop_backend_main_2", workspace::Role::Main));
        assert_eq!(ws.instances[0].port, FRONT_DOOR);
        assert!(ws.instances.iter().all(|i| i.port != site.front_door));
        assert_ne!(Some(site.front_door), busy_port);
        assert!(ws.instances.iter().all(|i| i.command.is_none()));
        drop(busy);
    }

    #[test]
    fn writing_never_replaces_a_file() {
        let (_dir, d) = detection(
            "shop",
            "shop.settings",
            read(vec![], "django.db.backends.sqlite3"),
        );
        let p = from_detection(d).unwrap();
        assert!(!p.exists);
        let path = write(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), p.text);
        std::fs::write(&path, "# mine\n").unwrap();
        let again = from_detection(p.detection.clone()).unwrap();
        assert!(again.exists);
        let err = write(&again).unwrap_err();
        assert_eq!(err.kind().as_str(), "workspace_exists");
        assert!(err.to_string().contains("kovan init --dry-run"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    }
}
