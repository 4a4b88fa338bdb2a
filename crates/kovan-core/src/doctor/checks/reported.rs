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
                    FindingKind::NotMultiServer,
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
                        FindingKind::NameMismatch,
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
    let unit = |name: &str| ws.instance(name).map(|i| i.names.unit.clone());
    for (field, value, who) in all {
        // A site's members share their cookies and database by design: only a name that crosses
        // units is a finding. Cache prefixes are every instance's own, in a site too.
        let one_unit = who.iter().all(|w| unit(w) == unit(&who[0]));
        if one_unit && field != NameField::CachePrefix {
            continue;
        }
        let (kind, why) = match field {
            NameField::SessionCookie | NameField::CsrfCookie => (FindingKind::SharedCookie, "Browsers send cookies by host name and ignore the port (RFC 6265 §8.5): logging in to one instance logs you out of the other."),
            NameField::CachePrefix => (FindingKind::SharedCachePrefix, "Their cache keys mix in one Redis database: one instance reads the other's cached pages and sessions, and a flush of one deletes the other's keys."),
            _ => (FindingKind::SharedDatabase, "Two processes writing one SQLite file get \"database is locked\", and their data (users, sessions) is one."),
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

/// What the running instances say of their channel layer, against their unit: a site's members
/// must share one layer that spans processes, under the site's prefix; an isolated instance must
/// share its layer with nobody.
pub(in crate::doctor) fn channel_layers(
    ws: &Workspace,
    context: &Context,
    findings: &mut Vec<Finding>,
) {
    let layers: Vec<(&str, &health::endpoint::ReportedChannels)> = context
        .reports()
        .filter_map(|(name, r)| Some((name, r.channels.as_ref()?)))
        .collect();
    for (name, layer) in &layers {
        let Some(i) = ws.instance(name) else { continue };
        let site = ws.site_of(name).filter(|s| s.instances.len() > 1);
        if let Some(site) = site {
            if layer.prefix.is_none() || layer.backend.ends_with("InMemoryChannelLayer") {
                findings.push(
                    Finding::new(
                        FindingKind::SiteInMemoryChannelLayer,
                        Severity::Error,
                        vec![name.to_string()],
                        format!("{name}, a member of the site {}, has an in-memory channel layer ({})", site.name, layer.backend),
                    )
                    .why("An in-memory layer cannot span processes: a message sent on one member never reaches the websocket consumers of another.")
                    .fix(format!("Give kovan.toml a [redis] table and install channels_redis ({} -m pip install 'channels-redis>=4'), then kovan gen --write and restart the site's members.", ws.python())),
                );
            } else if layer.prefix.as_deref() != Some(i.names.channel_prefix.as_str()) {
                findings.push(
                    Finding::new(
                        FindingKind::ChannelPrefixMismatch,
                        Severity::Error,
                        vec![name.to_string()],
                        format!(
                            "{name} reports the channel-layer prefix {:?}; the site {} has {}",
                            layer.prefix.as_deref().unwrap_or(""),
                            site.name,
                            i.names.channel_prefix
                        ),
                    )
                    .why("Members on different prefixes do not hear each other's group messages; a prefix another unit uses mixes their messages.")
                    .fix("Remove the project's own CHANNEL_LAYERS override from the settings Kovan's import, or regenerate (kovan gen --write) and restart.".into()),
                );
            }
        }
        // A Redis prefix that crosses units: group messages of one reach the consumers of the other.
        if let Some(prefix) = &layer.prefix {
            for (other, other_layer) in &layers {
                let other_unit = ws.instance(other).map(|o| o.names.unit.as_str());
                if other <= name
                    || other_unit == Some(i.names.unit.as_str())
                    || other_layer.prefix.as_ref() != Some(prefix)
                {
                    continue;
                }
                findings.push(
                    Finding::new(
                        FindingKind::SharedChannelPrefix,
                        Severity::Error,
                        vec![name.to_string(), other.to_string()],
                        format!("{name} and {other} share the channel-layer prefix {prefix:?} on one Redis"),
                    )
                    .why("A group_send on one reaches the websocket consumers of the other: they are not one site.")
                    .fix("Regenerate (kovan gen --write) so each unit gets its own prefix ({project}_{unit}), then restart them; if they are one website, make them a [site.NAME].".into()),
                );
            }
        }
    }
}
