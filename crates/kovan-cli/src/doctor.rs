//! `kovan doctor`: the isolation findings from a terminal.

use std::process::ExitCode;

use kovan_core::doctor::{self, Context, Severity};
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
    // Without the store the instances Kovan started are found by their markers; said here and
    // as a finding.
    let (store, trouble) = crate::run::store_and_trouble();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut context = runtime.block_on(Context::observe(&ws, store.as_deref()));
    context.store_trouble = trouble;
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
