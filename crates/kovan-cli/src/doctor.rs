//! `kovan doctor`: the isolation findings from a terminal.

use std::process::ExitCode;

use kovan_core::doctor::{self, Context, Severity};
use kovan_core::store::Store;
use kovan_core::Workspace;

fn word(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

/// Print every finding; exit 1 when any is an error.
pub fn doctor(ws: Workspace, json: bool) -> ExitCode {
    // Without the store only instances found on their ports count as running; say why.
    let store = match Store::open_default() {
        Ok(s) => Some(s),
        Err(e) => {
            errln!("warning: {e}; instances started by Kovan are found by their ports only");
            None
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let context = runtime.block_on(Context::observe(&ws, store.as_ref()));
    let findings = doctor::examine(&ws, &context);
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&findings).expect("findings serialize")
        );
    } else if findings.is_empty() {
        outln!("No findings: the instances are kept apart.");
    } else {
        for f in &findings {
            let who = if f.instances.is_empty() {
                String::new()
            } else {
                format!(" [{}]", f.instances.join(", "))
            };
            outln!("{}{who} {}: {}", word(f.severity), f.kind, f.message);
            outln!("  why: {}", f.why);
            outln!("  fix: {}", f.fix);
            outln!();
        }
    }
    if findings.iter().any(|f| f.severity == Severity::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
