//! One quick look into the project's interpreter ([`probe.py`](probe.py)): Django's version, the
//! packages a configuration may need, and the environment variables the settings read. Cached per
//! interpreter, Django root and settings module, and asked again only when the interpreter, its
//! site-packages folders or a settings file has changed (by modification time).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::known_packages::PACKAGES;
use super::python::{self, ScriptError};
use crate::workspace::Workspace;

const SCRIPT: &str = include_str!("probe.py");
const MARK: &str = "KOVAN-PROBE ";
/// A cold interpreter on a slow disk takes a second or two; nothing in the script blocks.
const TIMEOUT: Duration = Duration::from_secs(20);

/// What the interpreter has and what the settings read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Probe {
    /// `3.11.7`.
    pub python: String,
    pub executable: String,
    /// By import name; None when the interpreter cannot import it.
    pub packages: BTreeMap<String, Option<FoundPackage>>,
    pub site_dirs: Vec<PathBuf>,
    /// None when no settings module was given.
    pub settings: Option<SettingsScan>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FoundPackage {
    /// From the package's metadata; None for a module without any (a folder of the project).
    pub version: Option<String>,
    pub origin: Option<String>,
}

/// The settings' source, read without running it.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingsScan {
    /// Relative to the Django root: the settings module, the packages above it and the project's
    /// modules they import.
    pub files: Vec<String>,
    pub reads: Vec<EnvRead>,
    /// Where the settings load a `.env` file themselves (django-environ's `read_env`).
    pub dotenv: Vec<SourceLine>,
    /// Files that do not parse.
    pub errors: Vec<ScanProblem>,
    /// Modules outside the project and the standard library that the settings import.
    pub imports: Vec<SettingsImport>,
    /// Strings that tell what the project runs with: `channels`, `daphne` in INSTALLED_APPS,
    /// `channels_redis.core.RedisChannelLayer`, `django_redis.cache.RedisCache`.
    pub mentions: Vec<String>,
    /// Whether the settings module itself was found under the Django root.
    pub found: bool,
}

/// One place the settings read an environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EnvRead {
    pub name: String,
    pub file: String,
    pub line: u32,
    /// No default: the settings fail to import while it is unset.
    pub required: bool,
    /// How it is read: `env.db()`, `env()`, `os.environ[]`, `os.environ.get()`, `os.getenv()`.
    pub how: String,
}

/// One `import X` (or `from X import …`) of the settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingsImport {
    /// The top-level module.
    pub module: String,
    pub file: String,
    pub line: u32,
    pub importable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SourceLine {
    pub file: String,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScanProblem {
    pub file: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("the Python interpreter {shown} does not exist ({}). Create the virtualenv (python3 -m venv .venv, then install the project's requirements) or set [project] python in kovan.toml.", path.display())]
    NoInterpreter { shown: String, path: PathBuf },
    #[error("{0}")]
    Script(ScriptError),
    #[error("{python} answered something Kovan cannot read ({why}); this is a bug in Kovan.")]
    Unreadable { python: String, why: String },
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    python: PathBuf,
    root: PathBuf,
    settings: Option<String>,
}

struct Cached {
    stamps: Vec<(PathBuf, Option<SystemTime>)>,
    probe: Arc<Probe>,
}

static CACHE: LazyLock<Mutex<HashMap<Key, Cached>>> = LazyLock::new(Default::default);

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// What decides whether a cached answer still holds: the interpreter (and, for a virtualenv's
/// symlink, itself), every site-packages folder (installing, upgrading or removing a package
/// changes its listing) and every settings file with its folder (a new settings module appears).
fn stamps(python: &Path, root: &Path, probe: &Probe) -> Vec<(PathBuf, Option<SystemTime>)> {
    let mut paths = vec![python.to_path_buf()];
    paths.extend(probe.site_dirs.iter().cloned());
    if probe.settings.as_ref().is_none_or(|s| !s.found) {
        // Watched for the settings module to appear.
        paths.push(root.to_path_buf());
    }
    if let Some(scan) = &probe.settings {
        for file in &scan.files {
            let path = root.join(file);
            if let Some(dir) = path.parent() {
                paths.push(dir.to_path_buf());
            }
            paths.push(path);
        }
    }
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .map(|p| {
            let t = modified(&p);
            (p, t)
        })
        .collect()
}

/// Probe the workspace's interpreter with its settings module.
pub fn probe(ws: &Workspace) -> Result<Arc<Probe>, ProbeError> {
    probe_with(
        &python::interpreter(ws),
        &python::shown(ws),
        &ws.project.django_root,
        Some(&ws.project.settings),
    )
}

/// Probe `python` from `root`, scanning `settings` when given.
pub fn probe_with(
    python: &Path,
    shown: &str,
    root: &Path,
    settings: Option<&str>,
) -> Result<Arc<Probe>, ProbeError> {
    // A bare name is found in PATH by the OS; a path must exist.
    if python.components().count() > 1 && !python.is_file() {
        return Err(ProbeError::NoInterpreter {
            shown: shown.to_string(),
            path: python.to_path_buf(),
        });
    }
    let key = Key {
        python: python.to_path_buf(),
        root: root.to_path_buf(),
        settings: settings.map(str::to_string),
    };
    {
        let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = cache.get(&key) {
            if hit
                .stamps
                .iter()
                .all(|(path, then)| modified(path) == *then)
            {
                return Ok(hit.probe.clone());
            }
        }
    }
    let request = serde_json::json!({
        "settings": settings,
        "packages": PACKAGES.iter().map(|p| (p.import, p.dists)).collect::<Vec<_>>(),
    });
    let answer = python::run_script(
        python,
        root,
        SCRIPT,
        &[request.to_string()],
        &[],
        MARK,
        TIMEOUT,
    )
    .map_err(ProbeError::Script)?;
    let probe: Probe = serde_json::from_value(answer).map_err(|e| ProbeError::Unreadable {
        python: shown.to_string(),
        why: e.to_string(),
    })?;
    let probe = Arc::new(probe);
    let cached = Cached {
        stamps: stamps(python, root, &probe),
        probe: probe.clone(),
    };
    CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, cached);
    Ok(probe)
}

impl Probe {
    /// The version of an importable package (by import name), when its metadata gives one.
    pub fn version_of(&self, import: &str) -> Option<&str> {
        self.packages.get(import)?.as_ref()?.version.as_deref()
    }

    pub fn has(&self, import: &str) -> bool {
        self.packages.get(import).is_some_and(Option::is_some)
    }
}
