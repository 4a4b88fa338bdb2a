//! A first look at a Django project that has no kovan.toml yet: where manage.py is, which settings
//! module it names, which Python runs it, and what Django itself reports about its caches, database
//! and cookies. `kovan init` and the window's first-run screen both start from [`detect`].
//!
//! Settings are never parsed: Django is asked through the project's interpreter. Only manage.py's
//! `DJANGO_SETTINGS_MODULE` default is read as text, because it is needed to ask Django at all.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod nginx;
pub use nginx::{find_upstreams, NginxUpstream};

use crate::redact;
use crate::workspace;

/// The script run with `python -c`; it prints one line starting with [`MARK`].
const ASK_DJANGO: &str = include_str!("ask_django.py");
const MARK: &str = "KOVAN-DETECT ";
/// A settings module that blocks on import (a network call, a prompt) must not hang the first run.
const ASK_TIMEOUT: Duration = Duration::from_secs(30);

/// What Kovan found in a folder holding a Django project.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// The folder that was opened, absolute; kovan.toml is proposed here.
    pub folder: String,
    /// The folder with manage.py, relative to `folder` (`.` or one subfolder).
    pub django_root: String,
    /// The settings module, when manage.py's DJANGO_SETTINGS_MODULE default or a lone
    /// `<package>/settings.py` names one.
    pub settings: Option<String>,
    /// Where `settings` came from, for the explanation shown next to it.
    pub settings_source: SettingsSource,
    /// The interpreter as Kovan runs it from the Django root: `.venv/bin/python`, `venv/bin/python`
    /// or `python3` from PATH.
    pub python: String,
    /// Whether `python` is the project's own virtualenv (else `python3` from PATH).
    pub virtualenv: bool,
    /// What Django reported about its settings, or why it could not be asked.
    pub django: DjangoAnswer,
    /// The `upstream` blocks over several local servers in the project's nginx config
    /// (`nginx/*.conf`, `*.conf`): the guide's role servers of one website.
    pub nginx_upstreams: Vec<NginxUpstream>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum SettingsSource {
    /// `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "...")` in manage.py.
    ManagePy,
    /// manage.py names none; the only `settings.py` in a package of the Django root.
    SettingsFile,
    /// Neither: the user has to name it.
    NotFound,
}

/// Django's own account of the settings, or why it could not give one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum DjangoAnswer {
    Read(Box<DjangoSettings>),
    /// Django or the settings module did not import, or the interpreter did not run.
    #[serde(rename_all = "camelCase")]
    Failed {
        stage: FailedStage,
        /// The error as Python (or the OS) reported it, e.g. `ModuleNotFoundError: No module named 'django'`.
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum FailedStage {
    /// The interpreter could not be started, or printed no answer.
    Python,
    /// `import django` failed.
    Django,
    /// The settings module failed to import (or no settings module is known).
    Settings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DjangoSettings {
    pub django_version: String,
    /// Every alias of CACHES, in the settings' order.
    pub caches: Vec<CacheSetting>,
    /// DATABASES["default"].
    pub database: DatabaseSetting,
    pub session_cookie: String,
    pub csrf_cookie: String,
    /// `django_redis` is in INSTALLED_APPS.
    pub django_redis_installed: bool,
    /// ASGI_APPLICATION, when the settings set it.
    pub asgi_application: Option<String>,
    /// The installed version of Django Channels, when it can be imported.
    pub channels_version: Option<String>,
    /// CHANNEL_LAYERS["default"]["BACKEND"], when the settings define a channel layer.
    pub channel_layer_backend: Option<String>,
    /// `channels_redis` can be imported: the layer Kovan configures for a site.
    pub channels_redis_installed: bool,
    /// The ASGI servers the project can run under, best first.
    pub asgi_servers: Vec<AsgiServer>,
}

impl DjangoSettings {
    /// The project uses Django Channels: it names an ASGI application and Channels is installed.
    pub fn uses_channels(&self) -> bool {
        self.asgi_application.is_some() && self.channels_version.is_some()
    }
}

/// A server that speaks ASGI (websockets included), as the project has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum AsgiServer {
    /// `daphne` is in INSTALLED_APPS: its runserver replaces Django's (autoreload included).
    DaphneRunserver,
    /// The `daphne` command is installed.
    Daphne,
    /// `uvicorn` is installed.
    Uvicorn,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CacheSetting {
    pub alias: String,
    /// The BACKEND class path.
    pub backend: Option<String>,
    /// LOCATION split into its servers or paths; Redis passwords replaced by `***`.
    pub location: Vec<String>,
    pub key_prefix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSetting {
    pub engine: Option<String>,
    pub name: Option<String>,
}

/// A folder Kovan cannot propose a workspace for.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("{}: no such folder. Give the folder of your Django project (the one with manage.py).", path.display())]
    NoFolder { path: PathBuf },
    #[error("{}: no manage.py in this folder or a folder directly inside it. Open the folder of your Django project (the one with manage.py), or create a project with `django-admin startproject NAME`.", path.display())]
    NoManagePy { path: PathBuf },
    #[error("{}: several folders inside hold a manage.py ({}). Open the one whose project Kovan should run.", path.display(), candidates.join(", "))]
    SeveralManagePy {
        path: PathBuf,
        candidates: Vec<String>,
    },
}

impl crate::error::Classified for DetectError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Self::NoFolder { .. } => ErrorKind::DetectNoFolder,
            Self::NoManagePy { .. } => ErrorKind::DetectNoManagePy,
            Self::SeveralManagePy { .. } => ErrorKind::DetectSeveralManagePy,
        }
    }

    fn detail(&self) -> Option<crate::error::ErrorDetail> {
        let (Self::NoFolder { path }
        | Self::NoManagePy { path }
        | Self::SeveralManagePy { path, .. }) = self;
        Some(crate::error::ErrorDetail::Path {
            path: path.display().to_string(),
        })
    }
}

/// Look at the Django project in `folder` (manage.py in it or in one folder directly inside) and
/// ask Django about its settings. Runs the project's Python once, for up to 30 seconds.
pub fn detect(folder: &Path) -> Result<Detection, DetectError> {
    let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
    if !folder.is_dir() {
        return Err(DetectError::NoFolder { path: folder });
    }
    let django_root = find_django_root(&folder)?;
    let root = folder.join(&django_root);
    let (settings, settings_source) = settings_module(&root);
    let venv = workspace::virtualenv_python(&root);
    let python = venv.unwrap_or(workspace::FALLBACK_PYTHON).to_string();
    let django = match &settings {
        Some(module) => ask_django(&root, &python, module),
        None => DjangoAnswer::Failed {
            stage: FailedStage::Settings,
            message: "no settings module is known: manage.py sets no DJANGO_SETTINGS_MODULE default and no single settings.py was found".into(),
        },
    };
    let nginx_upstreams = find_upstreams(&folder, &django_root);
    Ok(Detection {
        folder: folder.display().to_string(),
        django_root,
        settings,
        settings_source,
        python,
        virtualenv: venv.is_some(),
        django,
        nginx_upstreams,
    })
}

/// `.` when manage.py is in `folder`, else the one subfolder holding it.
fn find_django_root(folder: &Path) -> Result<String, DetectError> {
    if folder.join("manage.py").is_file() {
        return Ok(".".into());
    }
    let mut candidates: Vec<String> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("manage.py").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // Virtualenvs and caches may carry a manage.py of some installed package.
        .filter(|name| !name.starts_with('.') && name != "venv" && name != "node_modules")
        .collect();
    candidates.sort();
    match candidates.len() {
        0 => Err(DetectError::NoManagePy {
            path: folder.to_path_buf(),
        }),
        1 => Ok(candidates.remove(0)),
        _ => Err(DetectError::SeveralManagePy {
            path: folder.to_path_buf(),
            candidates,
        }),
    }
}

/// The settings module manage.py defaults to, else the only `{package}/settings.py`.
fn settings_module(root: &Path) -> (Option<String>, SettingsSource) {
    let manage = std::fs::read_to_string(root.join("manage.py")).unwrap_or_default();
    if let Some(module) = settings_default(&manage) {
        return (Some(module), SettingsSource::ManagePy);
    }
    let mut packages: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.path().join("settings.py").is_file() && e.path().join("__init__.py").is_file()
        })
        .map(|e| format!("{}.settings", e.file_name().to_string_lossy()))
        .filter(|m| workspace::is_dotted_module(m))
        .collect();
    if packages.len() == 1 {
        return (packages.pop(), SettingsSource::SettingsFile);
    }
    (None, SettingsSource::NotFound)
}

/// The string literal after `DJANGO_SETTINGS_MODULE` on a `setdefault` line of manage.py.
fn settings_default(manage_py: &str) -> Option<String> {
    manage_py
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains("setdefault"))
        .find_map(|line| {
            const KEY: &str = "DJANGO_SETTINGS_MODULE";
            let after = &line[line.find(KEY)? + KEY.len()..];
            // Past the key's closing quote, the next quote opens the value.
            let after = after.strip_prefix(['"', '\'']).unwrap_or(after);
            let open = after.find(['"', '\''])?;
            let quote = &after[open..open + 1];
            let rest = &after[open + 1..];
            let value = &rest[..rest.find(quote)?];
            // Kovan's own line (kovan gen adds it for DJANGO_SERVER_INSTANCE) names its settings,
            // not the project's.
            let kovans =
                value == "multi_server_settings" || value.ends_with(".multi_server_settings");
            (workspace::is_dotted_module(value) && !kovans).then(|| value.to_string())
        })
}

/// Run [`ASK_DJANGO`] with the project's Python from the Django root.
fn ask_django(root: &Path, python: &str, settings: &str) -> DjangoAnswer {
    let failed = |stage, message: String| DjangoAnswer::Failed { stage, message };
    // A relative interpreter is the Django root's virtualenv; a bare name is looked up in PATH.
    let program = if python.contains('/') {
        root.join(python)
    } else {
        PathBuf::from(python)
    };
    let child = Command::new(&program)
        .arg("-c")
        .arg(ASK_DJANGO)
        .current_dir(root)
        .env("DJANGO_SETTINGS_MODULE", settings)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            return failed(
                FailedStage::Python,
                format!("{python} could not be started: {e}"),
            )
        }
    };
    // Pipes are drained on their own threads so a chatty settings module cannot fill them and stall.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + ASK_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if status.is_none() {
        return failed(
            FailedStage::Settings,
            format!(
                "importing {settings} did not finish within {} s",
                ASK_TIMEOUT.as_secs()
            ),
        );
    }
    let Some(line) = stdout.lines().rev().find_map(|l| l.strip_prefix(MARK)) else {
        let last = stderr
            .trim()
            .lines()
            .last()
            .unwrap_or("no output")
            .to_string();
        return failed(
            FailedStage::Python,
            format!("{python} gave no answer: {last}"),
        );
    };
    match serde_json::from_str::<DjangoAnswer>(line) {
        Ok(DjangoAnswer::Read(mut s)) => {
            for cache in &mut s.caches {
                cache.location = cache.location.iter().map(|l| redact::url_text(l)).collect();
            }
            DjangoAnswer::Read(s)
        }
        Ok(failed) => failed,
        Err(e) => failed(
            FailedStage::Python,
            format!("Kovan could not read Django's answer: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_settings_default_from_manage_py() {
        let startproject =
            "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n";
        assert_eq!(
            settings_default(startproject).as_deref(),
            Some("mysite.settings")
        );
        let double = "os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"config.settings.local\")";
        assert_eq!(
            settings_default(double).as_deref(),
            Some("config.settings.local")
        );
        let commented = "# os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'old.settings')\n";
        assert_eq!(settings_default(commented), None);
        let computed = "os.environ.setdefault('DJANGO_SETTINGS_MODULE', f'{name}.settings')";
        assert_eq!(settings_default(computed), None);
    }
}
