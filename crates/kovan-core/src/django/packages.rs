//! What a workspace's configuration needs in its interpreter, and the exact command that installs
//! what is missing. Nothing is ever installed without being asked.

use serde::Serialize;
use ts_rs::TS;

use super::probe::Probe;
use super::version::{DjangoVersion, Support, OLDEST_SUPPORTED};
use crate::workspace::{CacheBackend, DatabaseEngine, Workspace};

use super::known_packages::{Package, PACKAGES};

fn known(import: &str) -> Option<&'static Package> {
    PACKAGES.iter().find(|p| p.import == import)
}

pub use crate::error::MissingPackage;

/// What the interpreter lacks for the workspace (or one instance of it), with one command that
/// installs all of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReport {
    /// As run from the Django root: `.venv/bin/python`.
    pub python: String,
    /// The Django version found, `5.2.19`.
    pub django: Option<String>,
    /// Set when the Django found is outside 4.0 through 6.x.
    pub django_problem: Option<String>,
    pub missing: Vec<MissingPackage>,
    /// `.venv/bin/python -m pip install 'redis>=5'`: installs every missing package Kovan knows.
    pub fix: Option<String>,
}

impl DependencyReport {
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.django_problem.is_none()
    }

    /// What [`Self::fix`] installs: every missing package Kovan knows, Django first when the one
    /// found is too old.
    pub fn requirements(&self) -> Vec<String> {
        let mut requirements: Vec<String> = self
            .missing
            .iter()
            .filter_map(|m| m.requirement.clone())
            .collect();
        if self.django_problem.is_some() {
            requirements.insert(0, "Django>=4.2".to_string());
        }
        requirements
    }

    /// One sentence for an error message: what is missing, why, and the command.
    pub fn message(&self) -> Option<String> {
        if self.ok() {
            return None;
        }
        let mut parts: Vec<String> = Vec::new();
        if let Some(problem) = &self.django_problem {
            parts.push(problem.clone());
        }
        for m in &self.missing {
            parts.push(match &m.requirement {
                Some(_) => format!(
                    "{} lacks `{}`, which {} needs",
                    self.python, m.import, m.needed_by
                ),
                None => format!(
                    "{} cannot import `{}`, which {} imports; install the package that provides it",
                    self.python, m.import, m.needed_by
                ),
            });
        }
        let mut text = parts.join("; ");
        if let Some(fix) = &self.fix {
            text.push_str(&format!(". Install with: {fix}"));
        }
        Some(text)
    }
}

/// Quote an argument for a POSIX shell, as the fix is meant to be pasted.
pub fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// `python -m pip install 'a' 'b'` for these requirements.
pub fn pip_install(python: &str, requirements: &[String]) -> String {
    let mut command = format!("{} -m pip install", shell_quote(python));
    for r in requirements {
        // Always quoted: `>=` and `[binary]` mean something to the shell.
        command.push_str(&format!(" '{}'", r.replace('\'', "'\\''")));
    }
    command
}

/// What the whole workspace, or one instance (`Some(name)`), needs from its interpreter.
pub fn check(ws: &Workspace, probe: &Probe, instance: Option<&str>) -> DependencyReport {
    check_where(ws, probe, |name| instance.is_none_or(|n| n == name))
}

/// What `members` together need from the workspace's interpreter: one report, each package
/// named once (a site's start checks its members once).
pub fn check_members(ws: &Workspace, probe: &Probe, members: &[String]) -> DependencyReport {
    check_where(ws, probe, |name| members.iter().any(|m| m == name))
}

fn check_where(ws: &Workspace, probe: &Probe, chosen: impl Fn(&str) -> bool) -> DependencyReport {
    let mut missing: Vec<MissingPackage> = Vec::new();
    let mut need = |import: &str, needed_by: String| {
        if probe.has(import) || missing.iter().any(|m| m.import == import) {
            return;
        }
        missing.push(MissingPackage {
            import: import.to_string(),
            requirement: known(import).map(|p| p.requirement.to_string()),
            needed_by,
        });
    };
    let instances: Vec<_> = ws.instances.iter().filter(|i| chosen(&i.name)).collect();
    let django_runs = instances.iter().any(|i| runs_django(i.command.as_deref()));
    // runserver, or a server of Django's (a command of the user's own may serve anything).
    if let Some(i) = instances.iter().find(|i| runs_django(i.command.as_deref())) {
        need(
            "django",
            match &i.command {
                None => format!("{} (manage.py runserver)", i.name),
                Some(_) => format!("{}'s command", i.name),
            },
        );
    }
    for i in &instances {
        if i.cache == CacheBackend::Redis && runs_django(i.command.as_deref()) {
            need(
                "redis",
                format!(
                    "{} (cache = \"redis\": Django's RedisCache uses redis-py)",
                    i.name
                ),
            );
        }
        if let Some(program) = i.command.as_deref().and_then(program_of) {
            if known(program).is_some() {
                need(program, format!("{}'s command", i.name));
            }
        }
    }
    if django_runs
        && ws.database == DatabaseEngine::Postgresql
        && !probe.has("psycopg")
        && !probe.has("psycopg2")
    {
        need("psycopg", "[database] engine = \"postgresql\"".into());
    }
    if let Some(scan) = probe.settings.as_ref().filter(|_| django_runs) {
        for import in scan.imports.iter().filter(|i| !i.importable) {
            need(
                &import.module,
                format!("the settings ({}:{})", import.file, import.line),
            );
        }
        for mention in &scan.mentions {
            let import = match mention.as_str() {
                "channels" => "channels",
                "daphne" => "daphne",
                m if m.starts_with("channels_redis.") => "channels_redis",
                m if m.starts_with("django_redis.") => "django_redis",
                _ => continue,
            };
            need(import, format!("the settings (they name `{mention}`)"));
        }
    }
    let django = probe
        .version_of("django")
        .and_then(|v| v.parse::<DjangoVersion>().ok());
    let django_problem = django.and_then(|v| match v.support() {
        Support::TooOld => Some(format!(
            "{} has Django {v}, older than {OLDEST_SUPPORTED}, the oldest Kovan supports (4.0 through 6.x)",
            ws.python()
        )),
        _ => None,
    });
    let mut report = DependencyReport {
        python: ws.python(),
        django: django.map(|v| v.to_string()),
        django_problem,
        missing,
        fix: None,
    };
    let requirements = report.requirements();
    report.fix = (!requirements.is_empty()).then(|| pip_install(&ws.python(), &requirements));
    report
}

/// Whether an instance's command (None: runserver) runs Django.
pub fn runs_django(command: Option<&str>) -> bool {
    match command {
        None => true,
        Some(c) => {
            c.contains("manage.py")
                || matches!(
                    program_of(c),
                    Some("daphne" | "uvicorn" | "gunicorn" | "django-admin")
                )
        }
    }
}

/// The program a command runs, past `VAR=value` assignments and `exec`: `daphne`, `celery`.
pub fn program_of(command: &str) -> Option<&str> {
    command
        .split_whitespace()
        .find(|w| !w.contains('=') && *w != "exec" && *w != "env")
        .map(|w| w.rsplit('/').next().unwrap_or(w))
}

/// The command a websocket-role instance runs when kovan.toml gives none: None keeps
/// `manage.py runserver`, which speaks ASGI when `daphne` is in INSTALLED_APPS (its runserver
/// replaces Django's) or when the project has no ASGI server at all; else daphne, else uvicorn,
/// on the project's ASGI module (`{settings package}.asgi:application`). Filled like `command`.
pub fn asgi_command(ws: &Workspace, probe: &Probe) -> Option<String> {
    let mentions = |what: &str| {
        probe
            .settings
            .as_ref()
            .is_some_and(|s| s.mentions.iter().any(|m| m == what))
    };
    if !mentions("channels") || (mentions("daphne") && probe.has("daphne")) {
        // No websockets to serve (a plain WSGI project), or daphne's runserver already speaks ASGI.
        return None;
    }
    let package = ws
        .project
        .settings
        .rsplit_once('.')
        .map_or("", |(package, _)| package);
    let file = ws
        .project
        .django_root
        .join(package.replace('.', "/"))
        .join("asgi.py");
    if !file.is_file() {
        return None;
    }
    let module = if package.is_empty() {
        "asgi:application".to_string()
    } else {
        format!("{package}.asgi:application")
    };
    if probe.has("daphne") {
        Some(format!(
            "{{python}} -m daphne -b 127.0.0.1 -p {{port}} {module}"
        ))
    } else if probe.has("uvicorn") {
        Some(format!(
            "{{python}} -m uvicorn --host 127.0.0.1 --port {{port}} {module}"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_websocket_instance_runs_the_asgi_server_the_project_has() {
        use crate::django::probe::{FoundPackage, SettingsScan};
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manage.py"), "").unwrap();
        std::fs::create_dir(dir.path().join("conf")).unwrap();
        std::fs::write(dir.path().join("conf/asgi.py"), "").unwrap();
        let file = dir.path().join("kovan.toml");
        let ws = crate::workspace::parse(
            &file,
            "[project]\nname = \"p\"\nsettings = \"conf.settings\"\n[[instance]]\nname = \"ws\"\nport = 8002\nrole = \"websocket\"\ncache = \"locmem\"\n",
        )
        .unwrap();
        let probe = |have: &[&str], mentions: &[&str]| Probe {
            python: "3.12.0".into(),
            executable: "python".into(),
            packages: have
                .iter()
                .map(|p| {
                    let found = FoundPackage {
                        version: Some("4.0".into()),
                        origin: None,
                    };
                    (p.to_string(), Some(found))
                })
                .collect(),
            site_dirs: Vec::new(),
            settings: Some(SettingsScan {
                mentions: mentions.iter().map(|m| m.to_string()).collect(),
                ..SettingsScan::default()
            }),
        };
        let channels = ["channels"];
        // daphne in INSTALLED_APPS: its runserver.
        assert_eq!(
            asgi_command(&ws, &probe(&["daphne"], &["channels", "daphne"])),
            None
        );
        assert_eq!(
            asgi_command(&ws, &probe(&["daphne", "uvicorn"], &channels)).as_deref(),
            Some("{python} -m daphne -b 127.0.0.1 -p {port} conf.asgi:application")
        );
        assert_eq!(
            asgi_command(&ws, &probe(&["uvicorn"], &channels)).as_deref(),
            Some("{python} -m uvicorn --host 127.0.0.1 --port {port} conf.asgi:application")
        );
        assert_eq!(asgi_command(&ws, &probe(&[], &channels)), None);
        // A project without Channels serves no websockets: runserver, whatever is installed.
        assert_eq!(asgi_command(&ws, &probe(&["daphne", "uvicorn"], &[])), None);
        // Nor without its ASGI module.
        std::fs::remove_file(dir.path().join("conf/asgi.py")).unwrap();
        assert_eq!(asgi_command(&ws, &probe(&["daphne"], &channels)), None);
    }

    #[test]
    fn fixes_are_quoted_for_pasting() {
        assert_eq!(
            pip_install(".venv/bin/python", &["redis>=5".into()]),
            ".venv/bin/python -m pip install 'redis>=5'"
        );
        assert_eq!(
            pip_install(
                "/opt/my env/python",
                &["psycopg[binary]>=3.1".into(), "celery>=5.3".into()]
            ),
            "'/opt/my env/python' -m pip install 'psycopg[binary]>=3.1' 'celery>=5.3'"
        );
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn programs_are_found_past_assignments() {
        assert_eq!(
            program_of("daphne -b 127.0.0.1 -p {port} x.asgi:application"),
            Some("daphne")
        );
        assert_eq!(
            program_of("FOO=1 exec .venv/bin/celery -A config worker"),
            Some("celery")
        );
        assert_eq!(program_of("   "), None);
    }
}
