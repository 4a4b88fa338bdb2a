//! The shared Redis: one database for every instance, and a cache setting that breaks the built-in
//! backend.

use super::super::*;

pub(in crate::doctor) fn shared_redis(ws: &Workspace, findings: &mut Vec<Finding>) {
    let on_redis: Vec<String> = ws
        .instances
        .iter()
        .filter(|i| i.cache == CacheBackend::Redis)
        .map(|i| i.name.clone())
        .collect();
    if on_redis.len() < 2 {
        return;
    }
    let url = ws.redis.as_ref().map(|r| r.redacted()).unwrap_or_default();
    findings.push(
        Finding::new(
            FindingKind::RedisSharedDatabase,
            Severity::Info,
            on_redis.clone(),
            format!("{} share one Redis database ({url}), kept apart by their key prefixes", on_redis.join(", ")),
        )
        .why("Django's cache.clear() is FLUSHDB, in the built-in RedisCache and in django-redis alike: called from any of them (or a third-party command), it deletes every instance's keys and sessions.")
        .fix("Clear caches with Kovan (Cache Temizle, kovan flush) or manage.py clear_cache, which delete by prefix; never call cache.clear() on them.".into()),
    );
}

/// The project's settings module file(s): `a/b.py` or `a/b/__init__.py`.
pub(super) fn project_settings_files(ws: &Workspace) -> Vec<PathBuf> {
    let base = ws
        .project
        .django_root
        .join(ws.project.settings.replace('.', "/"));
    [base.with_extension("py"), base.join("__init__.py")]
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
}

/// A text check, not Django's view of the settings: importing them means running the project's
/// code (and its side effects) in the doctor; the two strings side by side are what the error
/// needs, and a false hit costs a glance.
pub(in crate::doctor) fn redis_cache_with_client_class(
    ws: &Workspace,
    findings: &mut Vec<Finding>,
) {
    for file in project_settings_files(ws) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if text.contains("django.core.cache.backends.redis.RedisCache")
            && text.contains("CLIENT_CLASS")
        {
            findings.push(
                Finding::new(
                    FindingKind::RedisCacheWithDjangoRedisOptions,
                    Severity::Error,
                    Vec::new(),
                    format!("{} uses Django's built-in RedisCache with django-redis's CLIENT_CLASS option", file.display()),
                )
                .why("The built-in RedisCache does not know CLIENT_CLASS and raises TypeError on the first cache access: every page that caches fails.")
                .fix("Either use BACKEND \"django_redis.cache.RedisCache\" (pip install django-redis), or remove CLIENT_CLASS from OPTIONS.".into()),
            );
        }
    }
}
