//! `kovan flush`: delete named instances' cache keys (or every instance's), after a preview and a
//! confirmation. Other apps' keys and other instances' are never touched.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use kovan_core::cache::{
    self, FlushOutcome, FlushPreview, FlushProgress, FlushReport, FlushScope, Flusher, KeyCount,
};
use kovan_core::text::grouped;
use kovan_core::Workspace;

use crate::keys::{clear_progress_line, keys_text, progress_line};
use crate::out::{self, Stream};

/// 128 + SIGINT, as shells report a command stopped by Ctrl-C.
const CANCELLED: u8 = 130;

pub struct Options {
    pub instances: Vec<String>,
    pub all: bool,
    pub dry_run: bool,
    pub yes: bool,
    pub json: bool,
}

pub fn flush(ws: Workspace, options: Options) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let scope = if options.all {
        FlushScope::All
    } else {
        FlushScope::Instances(options.instances.clone())
    };
    let preview = runtime.block_on(cache::preview(&ws, scope, progress_line("counting")));
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
    let report =
        match runtime.block_on(flusher.run(&ws, &preview, store.as_deref(), deleting_line())) {
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
        errln!("error: {}: {message}", instance.instance);
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

/// One line per instance in the scope, then what stays in the shared Redis database.
fn print_preview(to: Stream, preview: &FlushPreview, will: &str) {
    let line = |text: String| out::write(to, format_args!("{text}\n"));
    for name in &preview.instances {
        let Some(i) = preview.counts.instance(name) else {
            continue;
        };
        line(match &i.count {
            KeyCount::Counted { keys, .. } => {
                format!("{name}: {} {will} (sessions included).", keys_text(*keys))
            }
            KeyCount::NothingCached { reason } | KeyCount::NotRunning { reason } => {
                format!("{name}: nothing to flush: {reason}")
            }
            KeyCount::Failed { message, .. } => format!("{name}: could not be counted: {message}"),
        });
    }
    if let Some(other) = preview.counts.other_apps() {
        line(format!(
            "other apps: {} in the Redis database stay untouched.",
            keys_text(other)
        ));
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
        let sessions = i
            .sessions_deleted
            .map(|s| format!(", {} sessions among them", grouped(s)))
            .unwrap_or_default();
        match &i.outcome {
            FlushOutcome::Done => outln!(
                "{}: {} deleted{sessions}.",
                i.instance,
                keys_text(i.deleted)
            ),
            FlushOutcome::Cancelled => outln!(
                "{}: cancelled after {} deleted{sessions}.",
                i.instance,
                keys_text(i.deleted)
            ),
            FlushOutcome::Skipped { reason } => outln!("{}: not flushed: {reason}", i.instance),
            FlushOutcome::Failed { kind, .. } => outln!(
                "{}: failed ({kind}) after {} deleted{sessions}.",
                i.instance,
                keys_text(i.deleted)
            ),
        }
    }
    outln!(
        "{} deleted in {:.1} s.",
        keys_text(report.deleted),
        report.duration_ms as f64 / 1000.0
    );
}
