//! What the running instances report on `/health/`, held against the names Kovan derived.

use super::super::*;

pub(in crate::doctor) fn reported_names(
    ws: &Workspace,
    context: &Context,
    findings: &mut Vec<Finding>,
) {
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
