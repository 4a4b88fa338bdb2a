//! `kovan flush`: delete named instances' cache keys (or every instance's), after a preview and a
//! confirmation. Other apps' keys and other instances' are never touched.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use kovan_core::cache::{
    self, FlushOutcome, FlushPart, FlushPreview, FlushProgress, FlushReport, FlushScope, Flusher,
};
use kovan_core::text::grouped;
use kovan_core::workspace::DEFAULT_ALIAS;
use kovan_core::Workspace;

use crate::keys::{clear_progress_line, keys_text, progress_line};
use crate::out::{self, Stream};

/// 128 + SIGINT, as shells report a command stopped by Ctrl-C.
const CANCELLED: u8 = 130;

/// `--scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    Cache,
    Sessions,
    All,
}

impl Scope {
    /// The part to flush: `--match GLOB` when given, else the scope.
    pub fn part(self, glob: Option<String>) -> FlushPart {
        match (glob, self) {
            (Some(glob), _) => FlushPart::Match(glob),
            (None, Self::Cache) => FlushPart::Cache,
            (None, Self::Sessions) => FlushPart::Sessions,
            (None, Self::All) => FlushPart::All,
        }
    }
}

pub struct Options {
    pub instances: Vec<String>,
    pub all: bool,
    /// `--alias`: these cache aliases of each instance; empty: every alias.
    pub aliases: Vec<String>,
    pub part: FlushPart,
    pub dry_run: bool,
    pub yes: bool,
    /// Save the Redis keys deleted, for `kovan undo`.
    pub undo: bool,
    pub json: bool,
}

pub fn flush(ws: Workspace, options: Options) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let scope = if options.all {
        FlushScope::All
    } else {
        // A site's name flushes its members, each under its own prefix.
        FlushScope::named(&ws, &options.instances)
    };
    let preview = runtime.block_on(cache::preview_aliases(
        &ws,
        scope,
        options.part.clone(),
        options.aliases.clone(),
        progress_line("counting"),
    ));
    clear_progress_line();
    let preview = match preview {
        Ok(preview) => preview,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if options.dry_run {
        if options.json {
            print_json(serde_json::to_value(&preview));
        } else {
            print_preview(Stream::Out, &preview, "would be deleted");
        }
        return ExitCode::SUCCESS;
    }
    if !options.json {
        print_preview(Stream::Out, &preview, "will be deleted");
    }
    if !options.yes {
        if !std::io::stdin().is_terminal() {
            errln!("error: not flushing without confirmation: there is no terminal to ask on. Pass --yes to flush without asking.");
            return ExitCode::from(1);
        }
        if options.json {
            // stdout is for the report: what is asked about goes with the question.
            print_preview(Stream::Err, &preview, "will be deleted");
        }
        if !confirmed() {
            errln!("nothing deleted.");
            return ExitCode::from(1);
        }
    }

    let flusher = Arc::new(Flusher::new());
    let on_ctrl_c = flusher.clone();
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    // Recorded in the history the window's timeline shows, like a flush from the window.
    let store = crate::run::store();
    let undo = options.undo.then(|| undo_settings(&ws));
    let report = match runtime.block_on(flusher.run(
        &ws,
        &preview,
        undo.as_ref(),
        store.as_deref(),
        deleting_line(),
    )) {
        Ok(report) => report,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    clear_progress_line();
    if options.json {
        print_json(serde_json::to_value(&report));
    } else {
        print_report(&report);
    }
    for (instance, _, message) in report.failures() {
        if instance.alias == DEFAULT_ALIAS {
            errln!("error: {}: {message}", instance.instance);
        } else {
            errln!(
                "error: {} ({}): {message}",
                instance.instance,
                instance.alias
            );
        }
    }
    if report.failures().next().is_some() {
        ExitCode::from(1)
    } else if report.cancelled {
        ExitCode::from(CANCELLED)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_json(value: serde_json::Result<serde_json::Value>) {
    let value = value.expect("cache reports serialize");
    outln!("{value:#}");
}

/// The part in words, one line per instance in the scope, then what stays in the shared Redis
/// database.
fn print_preview(to: Stream, preview: &FlushPreview, will: &str) {
    let line = |text: String| out::write(to, format_args!("{text}\n"));
    if let FlushScope::Site(site) = &preview.scope {
        line(format!(
            "site {site}: its members {}, each under its own cache prefix.",
            preview.instances.join(", ")
        ));
    }
    line(format!(
        "scope {} ({}), {will}:",
        preview.part.name(),
        part_text(&preview.part)
    ));
    for part in &preview.parts {
        line(format!("  {}.", part.summary));
    }
    for layer in &preview.counts.sites {
        if let Some(keys) = layer.keys {
            line(format!(
                "channel layer of {} ({}): {} stay untouched.",
                layer.site,
                layer.channel_prefix,
                keys_text(keys)
            ));
        }
    }
    if let Some(other) = preview.counts.other_apps() {
        line(format!(
            "other apps: {} in the Redis database stay untouched.",
            keys_text(other)
        ));
    }
}

fn part_text(part: &FlushPart) -> &'static str {
    match part {
        FlushPart::Cache => "everything but the sessions; users stay logged in",
        FlushPart::Sessions => "only the sessions; everyone is logged out, the cache stays",
        FlushPart::All => "the cache and the sessions",
        FlushPart::Match(_) => "the keys whose name after {prefix}:{version}: matches",
    }
}

/// Asks on the terminal; yes only for an explicit y or yes.
fn confirmed() -> bool {
    err!("Continue? [y/N] ");
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_lowercase().as_str(), "y" | "yes")
}

fn deleting_line() -> impl FnMut(FlushProgress) + Send {
    let terminal = std::io::stderr().is_terminal();
    move |p: FlushProgress| {
        if terminal {
            err_raw!(
                "\rdeleting: {} of {} keys… (Ctrl-C stops after the current batch)",
                grouped(p.deleted),
                grouped(p.expected)
            );
        }
    }
}

fn print_report(report: &FlushReport) {
    for i in &report.instances {
        // "chat_main" for the default alias, "chat_main (local)" for another.
        let label = if i.alias == DEFAULT_ALIAS {
            i.instance.clone()
        } else {
            format!("{} ({})", i.instance, i.alias)
        };
        let mut sessions = i
            .sessions_deleted
            .map(|s| format!(", {} sessions among them", grouped(s)))
            .unwrap_or_default();
        if let Some(rows) = i.db_sessions_deleted {
            sessions.push_str(&format!("; db sessions: {} rows deleted", grouped(rows)));
        }
        match &i.outcome {
            FlushOutcome::Done => outln!("{}: {} deleted{sessions}.", label, keys_text(i.deleted)),
            FlushOutcome::Cancelled => outln!(
                "{}: cancelled after {} deleted{sessions}.",
                label,
                keys_text(i.deleted)
            ),
            FlushOutcome::Skipped { reason } => outln!("{label}: not flushed: {reason}"),
            FlushOutcome::Failed { kind, .. } => outln!(
                "{}: failed ({kind}) after {} deleted{sessions}.",
                label,
                keys_text(i.deleted)
            ),
        }
    }
    outln!(
        "{} deleted in {:.1} s.",
        keys_text(report.deleted),
        report.duration_ms as f64 / 1000.0
    );
    if let Some(undo) = &report.undo {
        outln!(
            "undo: `kovan undo {}` puts the {} back ({} kept for undo).",
            undo.id,
            keys_text(undo.keys.unwrap_or(0)),
            mib(undo.bytes)
        );
    }
    let without: Vec<String> = report
        .instances
        .iter()
        .filter(|i| !i.undoable && i.deleted > 0)
        .map(|i| {
            if i.alias == DEFAULT_ALIAS {
                i.instance.clone()
            } else {
                format!("{} ({})", i.instance, i.alias)
            }
        })
        .collect();
    if !without.is_empty() {
        outln!(
            "no undo for {}: only Redis keys can be saved before they are deleted.",
            without.join(", ")
        );
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn undo_settings(ws: &Workspace) -> cache::Undo {
    cache::Undo::of(ws, &kovan_core::store::data_dir())
}

/// `kovan undo --list`.
pub fn list_snapshots(ws: &Workspace, json: bool) -> ExitCode {
    let undo = undo_settings(ws);
    cache::prune(&undo);
    let kept = cache::snapshots(ws, &undo);
    if json {
        print_json(serde_json::to_value(&kept));
        return ExitCode::SUCCESS;
    }
    if kept.is_empty() {
        outln!(
            "no flush of this workspace can be undone (snapshots are kept in {}).",
            undo.dir.display()
        );
        return ExitCode::SUCCESS;
    }
    for s in &kept {
        let keys = s
            .keys
            .map(keys_text)
            .unwrap_or_else(|| "keys of a flush that did not finish".into());
        outln!(
            "{}  {}  {} of {} (scope {}), {}{}",
            s.id,
            s.created_at,
            keys,
            s.instances.join(", "),
            s.part,
            mib(s.bytes),
            if s.restored { ", undone" } else { "" }
        );
    }
    ExitCode::SUCCESS
}

/// `kovan undo [ID]`.
pub fn undo(ws: &Workspace, id: Option<&str>, json: bool) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let report = match runtime.block_on(cache::undo(ws, &undo_settings(ws), id)) {
        Ok(report) => report,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if json {
        print_json(serde_json::to_value(&report));
    } else {
        outln!(
            "{}: {} restored, {} skipped (written again since the flush), {} expired since, in {:.1} s.",
            report.id,
            keys_text(report.restored),
            grouped(report.skipped),
            grouped(report.expired),
            report.duration_ms as f64 / 1000.0
        );
        if report.cut_off {
            outln!("the snapshot ended inside a key: its flush was stopped while saving it; every key before it was restored.");
        }
    }
    if report.failed > 0 {
        errln!(
            "error: Redis refused {} keys: {}",
            grouped(report.failed),
            report.first_failure.as_deref().unwrap_or("no reason given")
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
