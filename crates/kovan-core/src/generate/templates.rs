//! The bodies of the generated files. Templates are compiled into the binary.

use std::fmt::Write as _;

use minijinja::value::{Value, ValueKind};
use minijinja::Environment;
use serde::Serialize;

use super::GenerateError;
use crate::django::{self, version, FeatureChoice, ProjectFacts};
use crate::workspace::{Role, Workspace};

/// Where Kovan's staff-only console page is mounted (a path under the site's root).
pub const CONSOLE_PATH: &str = "kovan/";

const SETTINGS_TEMPLATE: &str = include_str!("../../templates/django/multi_server_settings.py.j2");

/// The Django app Kovan installs into the project (health endpoint, clear endpoint, clear_cache).
pub const DJANGO_APP_PACKAGE: &str = "kovan_django";
pub const DJANGO_APP_FILES: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../templates/django/kovan_django/__init__.py"),
    ),
    (
        "apps.py",
        include_str!("../../templates/django/kovan_django/apps.py"),
    ),
    (
        "urls.py",
        include_str!("../../templates/django/kovan_django/urls.py"),
    ),
    (
        "views.py",
        include_str!("../../templates/django/kovan_django/views.py"),
    ),
    (
        "redis_prefix.py",
        include_str!("../../templates/django/kovan_django/redis_prefix.py"),
    ),
    (
        "whole_cache.py",
        include_str!("../../templates/django/kovan_django/whole_cache.py"),
    ),
    (
        "scope.py",
        include_str!("../../templates/django/kovan_django/scope.py"),
    ),
    (
        "debug.py",
        include_str!("../../templates/django/kovan_django/debug.py"),
    ),
    (
        "management/__init__.py",
        include_str!("../../templates/django/kovan_django/management/__init__.py"),
    ),
    (
        "management/commands/__init__.py",
        include_str!("../../templates/django/kovan_django/management/commands/__init__.py"),
    ),
    (
        "management/commands/clear_cache.py",
        include_str!("../../templates/django/kovan_django/management/commands/clear_cache.py"),
    ),
];

/// The settings module the instances run: `{package}.multi_server_settings`.
pub fn settings_module(ws: &Workspace) -> String {
    match ws.project.settings.rsplit_once('.') {
        Some((package, _)) => format!("{package}.multi_server_settings"),
        None => "multi_server_settings".to_string(),
    }
}

/// Its file, relative to the Django root.
pub fn settings_path(ws: &Workspace) -> String {
    format!("{}.py", settings_module(ws).replace('.', "/"))
}

#[derive(Serialize)]
struct InstanceContext<'a> {
    name: &'a str,
    port: u16,
    role: String,
    cache: String,
    cache_class: &'static str,
    cache_timeout: u32,
    cache_location: Option<&'a str>,
    database: &'a str,
    cache_prefix: &'a str,
    session_cookie: &'a str,
    csrf_cookie: &'a str,
    static_root: &'a str,
    media_root: &'a str,
    log_file: &'a str,
    env_file: &'a str,
    /// The isolation unit: its site, or the instance itself.
    unit: &'a str,
    site: Option<&'a str>,
    /// The unit has more than this instance: database, sessions and channel layer span processes.
    shared: bool,
    channel_prefix: &'a str,
    /// The origins a browser sends through the site's front door (CSRF_TRUSTED_ORIGINS).
    front_door_origins: Vec<String>,
    /// Its cache aliases beside `default`, in the file's order.
    caches: Vec<AliasContext<'a>>,
}

#[derive(Serialize)]
struct AliasContext<'a> {
    alias: &'a str,
    cache: String,
    cache_class: &'static str,
    cache_timeout: u32,
    cache_location: Option<&'a str>,
    cache_prefix: &'a str,
}

#[derive(Serialize)]
struct FeatureContext {
    what: &'static str,
    /// A Python tuple literal, `(5, 1, 0)`.
    since: String,
}

/// A value as a Python literal. JSON string syntax is valid Python string syntax.
fn py(value: Value) -> String {
    match value.kind() {
        ValueKind::None | ValueKind::Undefined => "None".into(),
        ValueKind::Bool => if value.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number => value.to_string(),
        _ => serde_json::to_string(&value.to_string()).expect("strings serialize"),
    }
}

pub fn settings(ws: &Workspace, facts: &ProjectFacts) -> Result<String, GenerateError> {
    let mut env = Environment::new();
    env.set_keep_trailing_newline(true);
    env.add_filter("py", py);
    env.add_template("settings", SETTINGS_TEMPLATE)
        .map_err(|e| GenerateError::Template(e.to_string()))?;
    let instances: Vec<InstanceContext> = ws
        .instances
        .iter()
        .map(|i| InstanceContext {
            name: &i.name,
            port: i.port,
            role: i.role.to_string(),
            cache: i.cache.to_string(),
            cache_class: i.cache.django_class(),
            cache_timeout: i.cache_timeout,
            cache_location: i.names.cache_location.as_deref(),
            database: &i.names.database,
            cache_prefix: &i.names.cache_prefix,
            session_cookie: &i.names.session_cookie,
            csrf_cookie: &i.names.csrf_cookie,
            static_root: &i.names.static_root,
            media_root: &i.names.media_root,
            log_file: &i.names.log_file,
            env_file: &i.names.env_file,
            unit: &i.names.unit,
            site: i.site.as_deref(),
            shared: ws.unit_members(&i.name).len() > 1,
            channel_prefix: &i.names.channel_prefix,
            front_door_origins: ws
                .site_of(&i.name)
                .map(|s| {
                    vec![
                        format!("http://127.0.0.1:{}", s.front_door),
                        format!("http://localhost:{}", s.front_door),
                    ]
                })
                .unwrap_or_default(),
            caches: i
                .caches
                .iter()
                .map(|c| AliasContext {
                    alias: &c.name,
                    cache: c.backend.to_string(),
                    cache_class: c.backend.django_class(),
                    cache_timeout: c.timeout,
                    cache_location: c.location.as_deref(),
                    cache_prefix: &c.prefix,
                })
                .collect(),
        })
        .collect();
    let choice = FeatureChoice::new(facts.django, &django::wanted_features(ws));
    let listed = |features: &[version::Feature]| -> Vec<FeatureContext> {
        features
            .iter()
            .map(|f| FeatureContext {
                what: f.what(),
                since: f.since().python_tuple(),
            })
            .collect()
    };
    // `uses.sqliteTransactionMode`: what the template may write, by the table in django::version.
    let uses: std::collections::BTreeMap<String, bool> = version::FEATURES
        .iter()
        .map(|row| {
            let name = serde_json::to_value(row.feature)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            (name, choice.uses(row.feature))
        })
        .collect();
    let engine = match ws.database {
        crate::workspace::DatabaseEngine::Sqlite => "sqlite",
        crate::workspace::DatabaseEngine::Postgresql => "postgresql",
    };
    // rediss:// with kovan.toml's trust: the same files and checks Kovan's own connections use.
    let redis_tls = ws
        .redis
        .as_ref()
        .filter(|r| r.url().scheme() == "rediss")
        .map(|r| {
            let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
            std::collections::BTreeMap::from([
                ("ca_file", path(&r.tls.ca_file)),
                ("cert_file", path(&r.tls.cert_file)),
                ("key_file", path(&r.tls.key_file)),
                ("verify", Some(r.tls.verify.as_str().to_string())),
            ])
        });
    let ctx = minijinja::context! {
        redis_tls => redis_tls,
        base_settings => ws.project.settings,
        root_parents => settings_module(ws).matches('.').count(),
        app_package => DJANGO_APP_PACKAGE,
        project => ws.project.name,
        engine => engine,
        kovan_server => ws.postgres.is_some(),
        kovan_server_managed => ws.postgres.as_ref().is_some_and(|p| p.managed),
        instances => instances,
        django_target => facts.django.map(|v| v.series()),
        features_used => listed(&choice.used),
        features_left_out => listed(&choice.left_out),
        uses => uses,
        oldest_supported => version::OLDEST_SUPPORTED.python_tuple(),
        console_path => CONSOLE_PATH,
    };
    env.get_template("settings")
        .and_then(|t| t.render(ctx))
        .map_err(|e| GenerateError::Template(e.to_string()))
}

/// The port nginx listens on: 8080, or the next one no instance uses.
pub fn nginx_port(ws: &Workspace) -> u16 {
    (8080..u16::MAX)
        .find(|p| ws.instances.iter().all(|i| i.port != *p))
        .unwrap_or(8080)
}

/// One upstream per role, so the main, API and websocket servers never share a weighted pool.
/// With sites: each site's front door exactly as Kovan runs it (services::nginx), so a server of
/// the user's own routes the same way.
pub fn nginx(ws: &Workspace) -> String {
    if !ws.sites.is_empty() {
        let doors: Vec<String> = ws
            .sites
            .iter()
            .map(|s| {
                format!(
                    "# The front door of the site {}: {}\n{}",
                    s.name,
                    s.instances.join(", "),
                    crate::services::nginx::server_config(&crate::services::nginx::FrontDoor::of(
                        ws, s
                    ))
                )
            })
            .collect();
        return doors.join("\n");
    }
    let project = &ws.project.name;
    let mut out = String::new();
    let roles = [
        (Role::Main, "main"),
        (Role::Api, "api"),
        (Role::Websocket, "websocket"),
    ];
    for (role, label) in roles {
        let members: Vec<_> = ws.instances.iter().filter(|i| i.role == role).collect();
        if members.is_empty() {
            continue;
        }
        let _ = writeln!(out, "upstream {project}_{label} {{");
        for i in members {
            let _ = writeln!(
                out,
                "    server 127.0.0.1:{} weight={} max_fails=3 fail_timeout=10s;  # {}",
                i.port, i.weight, i.name
            );
        }
        out.push_str("}\n\n");
    }
    let has = |role: Role| ws.instances.iter().any(|i| i.role == role);
    if has(Role::Websocket) {
        out.push_str("map $http_upgrade $kovan_connection_upgrade {\n    default upgrade;\n    ''      close;\n}\n\n");
    }
    let _ = writeln!(
        out,
        "server {{\n    listen 127.0.0.1:{};\n    server_name localhost;\n",
        nginx_port(ws)
    );
    let proxy_headers = "        proxy_set_header Host $host;\n        proxy_set_header X-Real-IP $remote_addr;\n        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n        proxy_set_header X-Forwarded-Proto $scheme;\n";
    if has(Role::Websocket) {
        let _ = writeln!(
            out,
            "    location /ws/ {{\n        proxy_pass http://{project}_websocket;\n        proxy_http_version 1.1;\n        proxy_set_header Upgrade $http_upgrade;\n        proxy_set_header Connection $kovan_connection_upgrade;\n{proxy_headers}        proxy_read_timeout 1h;\n    }}\n"
        );
    }
    if has(Role::Api) {
        let _ = writeln!(out, "    location /api/ {{\n        proxy_pass http://{project}_api;\n{proxy_headers}    }}\n");
    }
    // `/` goes to the main servers; without any, to the API servers.
    let fallback = if has(Role::Main) {
        Some("main")
    } else if has(Role::Api) {
        Some("api")
    } else {
        None
    };
    if let Some(label) = fallback {
        let _ = writeln!(out, "    location / {{\n        proxy_pass http://{project}_{label};\n{proxy_headers}    }}");
    }
    out.push_str("}\n");
    out
}

/// One line per instance; each loads its own env file, so honcho and overmind need no `-e`.
pub fn procfile(ws: &Workspace) -> String {
    let python = ws.python();
    let mut out = String::new();
    for i in &ws.instances {
        let _ = writeln!(
            out,
            "{}: set -a && . ./{} && set +a && exec {python} manage.py runserver 127.0.0.1:{}",
            i.name, i.names.env_file, i.port
        );
    }
    out
}
