//! kovan.toml: load it, validate it, and derive every name from the isolation unit (a site for
//! its members, the instance itself otherwise).
//!
//! [`derive_names`] is the only place a database file, cache prefix, cookie name, channel-layer
//! prefix or per-instance path is made; everything else (the window, the CLI, generated config) shows what it returns.
//!
//! The rooms: [`model`] holds the types, [`locate`] finds the file, `raw` is the file as written,
//! `source` reads the file's text within bounds, `shape` knows which keys may be where,
//! `validate` holds every rule, [`names`] derives the per-instance names, `toml_error` places a
//! TOML error on its line, [`error`] says what is wrong.

pub mod error;
pub mod locate;
pub mod model;
pub mod names;
mod raw;
mod shape;
mod source;
mod toml_error;
mod validate;

use std::path::Path;

pub use error::{Problem, WorkspaceError};
pub use locate::{file_in, find_upwards, named, ENV_VAR, FILE_NAME};
pub use model::{
    virtualenv_python, CacheAlias, CacheBackend, DatabaseEngine, DerivedNames, Instance,
    MigratePolicy, PostgresConfig, Preset, Process, ProcessUnit, Project, RedisConfig, RedisTls,
    RestartPolicy, Role, Scope, Site, SiteRoute, SupervisorSettings, TlsVerify, UndoSettings,
    Workspace, DEFAULT_ALIAS, DEFAULT_POSTGRES_PORT, FALLBACK_PYTHON,
};
pub use names::{alias_names, check_name, derive_names, suggest_name, NameOverrides, MAX_NAME_LEN};
pub(crate) use validate::is_dotted_module;

use raw::RawFile;
use toml_error::toml_problem;
use validate::Validator;

/// Read and validate a kovan.toml (or the one inside a folder).
pub fn load(path: &Path) -> Result<Workspace, WorkspaceError> {
    let file = file_in(path);
    let source = source::read(&file)?;
    parse(&file, &source)
}

/// Validate kovan.toml text as if it were read from `file` (whose folder anchors relative paths).
pub fn parse(file: &Path, source: &str) -> Result<Workspace, WorkspaceError> {
    let invalid = |problems| WorkspaceError::Invalid {
        path: file.to_path_buf(),
        problems,
    };
    let raw: RawFile = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(e) => {
            // Valid TOML of the wrong shape: every unknown key, missing key and wrong type at
            // once. A syntax error (nothing to walk) is serde's one problem.
            let mut problems = shape::check(source).problems;
            if problems.is_empty() {
                problems.push(toml_problem(source, &e));
            }
            problems.sort_by_key(|p| p.line.unwrap_or(u32::MAX));
            return Err(invalid(problems));
        }
    };
    let root = file.parent().unwrap_or(Path::new("."));
    let mut v = Validator {
        source,
        problems: Vec::new(),
    };
    let shape = shape::check(source);
    let workspace = v.workspace(file, root, raw);
    // Unknown and missing keys first, then what is wrong with the values that are there.
    let mut problems = shape.problems.clone();
    problems.extend(v.problems.into_iter().filter(|p| !shape.covers(&p.field)));
    // In the order of the file; problems without a line (about what it lacks) last.
    problems.sort_by_key(|p| p.line.unwrap_or(u32::MAX));
    if problems.is_empty() {
        Ok(workspace)
    } else {
        Err(invalid(problems))
    }
}
