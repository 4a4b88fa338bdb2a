//! Derived names: the one function that makes them (from the isolation unit or the instance), and
//! the rules a name is held to.

use super::model::{CacheBackend, DatabaseEngine, DerivedNames};

/// What separates an alias from its instance in the alias's derived names: not a name character,
/// so `main` + alias `local` can never meet an instance named `main_local`.
pub const ALIAS_SEPARATOR: char = '.';

pub const MAX_NAME_LEN: usize = 32;

/// Names a project already uses, taking the place of derived ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameOverrides {
    pub database: Option<String>,
    pub cache_prefix: Option<String>,
    pub cache_location: Option<String>,
    pub session_cookie: Option<String>,
    pub csrf_cookie: Option<String>,
    pub static_root: Option<String>,
    pub media_root: Option<String>,
    pub env_file: Option<String>,
    pub log_file: Option<String>,
}

/// The one function that makes every derived name, from the isolation unit (`site` for its
/// members, the instance itself otherwise) for what a site shares, and from the instance for what
/// each keeps (DESIGN.md's table). Site and instance names share one namespace, so two units never
/// derive one name.
pub fn derive_names(
    project: &str,
    instance: &str,
    site: Option<&str>,
    engine: DatabaseEngine,
    cache: CacheBackend,
    overrides: &NameOverrides,
) -> DerivedNames {
    let pick = |given: &Option<String>, derived: String| given.clone().unwrap_or(derived);
    let unit = site.unwrap_or(instance);
    let database = pick(
        &overrides.database,
        match engine {
            DatabaseEngine::Sqlite => format!("db_{unit}.sqlite3"),
            DatabaseEngine::Postgresql => format!("{project}_{unit}"),
        },
    );
    DerivedNames {
        unit: unit.to_string(),
        session_store: format!("db:{database}"),
        channel_prefix: format!("{project}_{unit}"),
        database,
        cache_prefix: pick(&overrides.cache_prefix, format!("{project}_{instance}")),
        cache_location: match cache {
            CacheBackend::Redis | CacheBackend::Dummy => None,
            CacheBackend::Locmem => Some(pick(
                &overrides.cache_location,
                format!("{project}_{instance}"),
            )),
            CacheBackend::File => {
                Some(pick(&overrides.cache_location, format!("cache_{instance}")))
            }
            CacheBackend::Db => Some(pick(
                &overrides.cache_location,
                format!("kovan_cache_{instance}"),
            )),
        },
        session_cookie: pick(&overrides.session_cookie, format!("sessionid_{unit}")),
        csrf_cookie: pick(&overrides.csrf_cookie, format!("csrftoken_{unit}")),
        static_root: pick(&overrides.static_root, format!("staticfiles_{instance}")),
        media_root: pick(&overrides.media_root, format!("media_{unit}")),
        env_file: pick(&overrides.env_file, format!(".env.{instance}")),
        log_file: pick(&overrides.log_file, format!("logs/{instance}.log")),
    }
}

/// The key prefix and location of an instance's extra cache alias: its `default` cache's prefix
/// with `.{alias}` after it (`context7_chat_main.local`: keys `context7_chat_main.local:1:…`), and
/// the location the backend would derive for the instance with `.{alias}` after it (a LocMem name,
/// a folder `cache_chat_main.local`, a table `kovan_cache_chat_main.local`). The `.` is no name
/// character, so no other instance's or alias's prefix can equal it, and it is not `:`, so the
/// instance's own `{prefix}:*` never matches it.
pub fn alias_names(
    project: &str,
    instance: &str,
    default_prefix: &str,
    alias: &str,
    backend: CacheBackend,
) -> (String, Option<String>) {
    let sep = ALIAS_SEPARATOR;
    let prefix = format!("{default_prefix}{sep}{alias}");
    let location = match backend {
        CacheBackend::Redis | CacheBackend::Dummy => None,
        CacheBackend::Locmem => Some(format!("{project}_{instance}{sep}{alias}")),
        CacheBackend::File => Some(format!("cache_{instance}{sep}{alias}")),
        CacheBackend::Db => Some(format!("kovan_cache_{instance}{sep}{alias}")),
    };
    (prefix, location)
}

/// Instance, project and preset names end up in file names, cookie names, cache key prefixes and
/// SCAN patterns, so they are held to `[a-z][a-z0-9_]{0,31}`. Returns (message, fix).
pub fn check_name(name: &str, what: &str) -> Result<(), (String, String)> {
    let suggestion = suggest_name(name);
    let fix = if suggestion.is_empty() || suggestion == name {
        format!("Use 1 to {MAX_NAME_LEN} characters: a lower-case letter, then a-z, 0-9 or _ (e.g. chat_main).")
    } else {
        format!("Use a lower-case letter, then a-z, 0-9 or _, e.g. \"{suggestion}\".")
    };
    let problem = if name.is_empty() {
        format!("the {what} name is empty.")
    } else if name.chars().count() > MAX_NAME_LEN {
        format!(
            "the {what} name `{name}` is {} characters long; the limit is {MAX_NAME_LEN}.",
            name.chars().count()
        )
    } else if name.contains('/') || name.contains('\\') || name.contains("..") {
        format!("the {what} name `{name}` holds a path separator or `..`; it becomes part of file names.")
    } else if let Some(c) = name.chars().find(|c| matches!(c, '*' | '?' | '[' | ']')) {
        format!("the {what} name `{name}` holds the glob character `{c}`, which would widen cache-key patterns.")
    } else if name.chars().any(char::is_whitespace) {
        format!("the {what} name `{name}` holds a space.")
    } else if name.chars().any(|c| c.is_uppercase()) {
        format!("the {what} name `{name}` has upper-case letters.")
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        format!("the {what} name `{name}` must start with a letter a-z.")
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        format!("the {what} name `{name}` holds `{c}`; only a-z, 0-9 and _ are allowed.")
    } else {
        return Ok(());
    };
    Err((problem, fix))
}

/// `name` lower-cased with every run of other characters turned into one `_`, leading digits and
/// underscores dropped, cut to the length limit; empty when nothing usable is left.
pub fn suggest_name(name: &str) -> String {
    let mut s: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect();
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    let s = s.trim_matches('_');
    let s = s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '_');
    s.chars().take(MAX_NAME_LEN).collect()
}

/// RFC 6265 cookie-name token: no controls, spaces or separators.
pub(super) fn check_cookie_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    match name.chars().find(|&c| {
        !c.is_ascii() || c.is_ascii_control() || c == ' ' || "()<>@,;:\\\"/[]?={}".contains(c)
    }) {
        Some(c) => Err(format!(
            "`{}` is not allowed in a cookie name",
            c.escape_default()
        )),
        None => Ok(()),
    }
}
