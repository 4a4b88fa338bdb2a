//! `kovan keys`: every instance's cache key count, cached sessions, each site's channel-layer keys,
//! other apps' keys and DBSIZE.

use std::io::IsTerminal;
use std::process::ExitCode;

use kovan_core::cache::{self, CacheCounts, CountProgress, KeyCount, KeyGroups, RedisKeys};
use kovan_core::text::grouped;
use kovan_core::workspace::{CacheBackend, DEFAULT_ALIAS};
use kovan_core::Workspace;

/// Every instance's counts, or with `only` one instance's (each of its cache aliases).
pub fn keys(ws: Workspace, only: Option<&str>, json: bool) -> ExitCode {
    if let Some(name) = only {
        if ws.instance(name).is_none() {
            let known: Vec<&str> = ws.instances.iter().map(|i| i.name.as_str()).collect();
            errln!(
                "error: `{name}` is not an instance of this workspace. Its instances: {}.",
                known.join(", ")
            );
            return ExitCode::from(1);
        }
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let mut counts = runtime.block_on(cache::count(&ws, progress_line("counting")));
    clear_progress_line();
    if let Some(name) = only {
        counts.instances.retain(|i| i.instance == name);
    }
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&counts).expect("counts serialize")
        );
    } else {
        print_counts(&counts);
    }
    let mut failed = false;
    for i in &counts.instances {
        let aliases = std::iter::once((DEFAULT_ALIAS, i.backend, &i.count)).chain(
            i.aliases
                .iter()
                .map(|a| (a.alias.as_str(), a.backend, &a.count)),
        );
        for (alias, backend, count) in aliases {
            if let KeyCount::Failed { message, .. } = count {
                // Redis' message is printed once, below, for all its instances.
                if !matches!(counts.redis, Some(RedisKeys::Failed { .. }))
                    || backend != CacheBackend::Redis
                {
                    if alias == DEFAULT_ALIAS {
                        errln!("error: {}: {message}", i.instance);
                    } else {
                        errln!("error: {} ({alias}): {message}", i.instance);
                    }
                }
                failed = true;
            }
        }
    }
    if let Some(RedisKeys::Failed { message, .. }) = &counts.redis {
        errln!("error: {message}");
        failed = true;
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// One row per instance; with cache aliases declared, one per alias, with an ALIAS column.
fn print_counts(counts: &CacheCounts) {
    let mut rows: Vec<[String; 6]> = Vec::new();
    for i in &counts.instances {
        rows.push(count_row(&i.instance, DEFAULT_ALIAS, i.backend, &i.count));
        for a in &i.aliases {
            rows.push(count_row(&i.instance, &a.alias, a.backend, &a.count));
        }
    }
    if counts.instances.iter().any(|i| !i.aliases.is_empty()) {
        print_table(
            ["INSTANCE", "ALIAS", "CACHE", "KEYS", "SESSIONS", ""],
            &rows,
            &[3, 4],
        );
    } else {
        let rows: Vec<[String; 5]> = rows
            .into_iter()
            .map(|[name, _, cache, keys, sessions, note]| [name, cache, keys, sessions, note])
            .collect();
        print_table(
            ["INSTANCE", "CACHE", "KEYS", "SESSIONS", ""],
            &rows,
            &[2, 3],
        );
    }
    print_redis(counts);
}

fn count_row(instance: &str, alias: &str, backend: CacheBackend, count: &KeyCount) -> [String; 6] {
    {
        {
            let (keys, sessions, note) = match count {
                KeyCount::Counted { keys, sessions } => (
                    grouped(*keys),
                    sessions.map_or_else(|| "-".into(), grouped),
                    String::new(),
                ),
                KeyCount::NothingCached { .. } => ("-".into(), "-".into(), "nothing cached".into()),
                KeyCount::NotRunning { .. } => (
                    "-".into(),
                    "-".into(),
                    "not running (a LocMem cache is empty then)".into(),
                ),
                KeyCount::Failed { kind, .. } => {
                    ("?".into(), "?".into(), format!("failed: {kind}"))
                }
            };
            [
                instance.to_string(),
                alias.to_string(),
                backend.to_string(),
                keys,
                sessions,
                note,
            ]
        }
    }
}

fn print_redis(counts: &CacheCounts) {
    if let Some(RedisKeys::Counted {
        url,
        dbsize,
        other_apps,
        ..
    }) = &counts.redis
    {
        outln!();
        outln!("redis  {url}");
        for layer in &counts.sites {
            if let Some(keys) = layer.keys {
                outln!(
                    "  site {}  channel layer {}: {} (no flush touches them)",
                    layer.site,
                    layer.channel_prefix,
                    keys_text(keys)
                );
            }
        }
        outln!(
            "  other apps  {} (no flush touches them)",
            keys_text(*other_apps)
        );
        outln!("  DBSIZE      {}", grouped(*dbsize));
    }
}

/// `kovan keys NAME --groups`: the instance's keys by group.
pub fn groups(ws: Workspace, instance: &str, json: bool) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(cache::groups(&ws, instance)) {
        Ok(found) if json => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&found).expect("groups serialize")
            );
            ExitCode::SUCCESS
        }
        Ok(found) => {
            print_groups(&found);
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn print_groups(found: &KeyGroups) {
    let rows: Vec<[String; 5]> = found
        .groups
        .iter()
        .map(|g| {
            let ttl = match (g.ttl_min_ms, g.ttl_median_ms, g.ttl_max_ms) {
                (Some(min), Some(median), Some(max)) => {
                    let mut text = format!(
                        "{}–{} (median {})",
                        duration(min),
                        duration(max),
                        duration(median)
                    );
                    if g.persistent > 0 {
                        text.push_str(&format!(", {} of {} never", g.persistent, g.sampled));
                    }
                    text
                }
                _ if g.sampled > 0 => "never expire".into(),
                _ => "-".into(),
            };
            [
                g.name.clone(),
                grouped(g.keys),
                g.memory_bytes.map_or_else(|| "-".into(), bytes),
                ttl,
                g.glob
                    .as_ref()
                    .map_or_else(|| "-".into(), |glob| format!("--match '{glob}'")),
            ]
        })
        .collect();
    print_table(
        ["GROUP", "KEYS", "MEMORY", "EXPIRES IN", "FLUSH WITH"],
        &rows,
        &[1, 2],
    );
    outln!();
    outln!(
        "{}: {} under {}: in {} ms; memory and lifetimes from up to {} keys of each group.",
        found.instance,
        keys_text(found.keys),
        found.prefix,
        found.duration_ms,
        cache::GROUP_SAMPLE
    );
}

/// 1536 as "1.5 KiB".
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// 90_000 ms as "1m30s".
fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// "1 key", "1,234 keys".
pub fn keys_text(n: u64) -> String {
    format!("{} {}", grouped(n), if n == 1 { "key" } else { "keys" })
}

/// Progress on stderr when it is a terminal; nothing otherwise.
pub fn progress_line(what: &'static str) -> impl FnMut(CountProgress) + Send {
    let terminal = std::io::stderr().is_terminal();
    move |p: CountProgress| {
        if terminal && p.dbsize > 0 {
            err_raw!(
                "\r{what}: {} of {} keys…",
                grouped(p.scanned),
                grouped(p.dbsize)
            );
        }
    }
}

pub fn clear_progress_line() {
    if std::io::stderr().is_terminal() {
        err_raw!("\r\x1b[2K");
    }
}

/// A table on stdout: each column as wide as its widest cell, the `numeric` columns right-aligned.
fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]], numeric: &[usize]) {
    let widths: Vec<usize> = (0..N)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; N]| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| {
                if numeric.contains(&c) {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        outln!("{}", text.join("  ").trim_end());
    };
    line(header);
    for r in rows {
        line(std::array::from_fn(|c| r[c].as_str()));
    }
}
