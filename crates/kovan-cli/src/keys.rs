//! `kovan keys`: every instance's cache key count, cached sessions, other apps' keys and DBSIZE.

use std::io::IsTerminal;
use std::process::ExitCode;

use kovan_core::cache::{self, CacheCounts, CountProgress, KeyCount, RedisKeys};
use kovan_core::text::grouped;
use kovan_core::workspace::CacheBackend;
use kovan_core::Workspace;

pub fn keys(ws: Workspace, json: bool) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let counts = runtime.block_on(cache::count(&ws, progress_line("counting")));
    clear_progress_line();
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
        if let KeyCount::Failed { message, .. } = &i.count {
            // Redis' message is printed once, below, for all its instances.
            if !matches!(counts.redis, Some(RedisKeys::Failed { .. }))
                || i.backend != CacheBackend::Redis
            {
                errln!("error: {}: {message}", i.instance);
            }
            failed = true;
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

fn print_counts(counts: &CacheCounts) {
    let rows: Vec<[String; 5]> = counts
        .instances
        .iter()
        .map(|i| {
            let (keys, sessions, note) = match &i.count {
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
                i.instance.clone(),
                i.backend.to_string(),
                keys,
                sessions,
                note,
            ]
        })
        .collect();
    let header = ["INSTANCE", "CACHE", "KEYS", "SESSIONS", ""];
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| match c {
                // Numbers right-aligned.
                2 | 3 => format!("{cell:>w$}"),
                _ => format!("{cell:<w$}"),
            })
            .collect();
        outln!("{}", text.join("  ").trim_end());
    };
    line(header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    if let Some(RedisKeys::Counted {
        url,
        dbsize,
        other_apps,
        ..
    }) = &counts.redis
    {
        outln!();
        outln!("redis  {url}");
        outln!(
            "  other apps  {} (no flush touches them)",
            keys_text(*other_apps)
        );
        outln!("  DBSIZE      {}", grouped(*dbsize));
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
