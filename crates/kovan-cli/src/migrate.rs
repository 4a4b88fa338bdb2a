//! `kovan migrate NAME|--all`: apply an instance's migrations under its environment, showing
//! `migrate`'s own output, and `--check` to only say what is not applied.

use std::process::ExitCode;

use kovan_core::django::migrations;
use kovan_core::Workspace;

pub struct Options {
    pub instances: Vec<String>,
    pub all: bool,
    pub check: bool,
    pub json: bool,
}

pub fn migrate(ws: Workspace, options: Options) -> ExitCode {
    let names: Vec<String> = if options.all {
        ws.instances.iter().map(|i| i.name.clone()).collect()
    } else {
        options.instances.clone()
    };
    let mut targets = Vec::new();
    for n in &names {
        match crate::under::instance(&ws, n) {
            Ok(i) => targets.push(i.clone()),
            Err(code) => return code,
        }
    }
    let mut failed = false;
    let mut statuses = Vec::new();
    for i in &targets {
        let status = match migrations::status(&ws, i) {
            Ok(s) => s,
            Err(e) => {
                errln!("error: {e}");
                failed = true;
                continue;
            }
        };
        if options.check || options.json {
            if !options.json {
                outln!("{}: {}", i.name, status.summary());
                for (app, leaves) in &status.conflicts {
                    outln!(
                        "{}: conflicting migrations in {app} ({}): run kovan manage {} -- makemigrations --merge",
                        i.name,
                        leaves.join(", "),
                        i.name
                    );
                }
            }
            failed |= options.check && !status.up_to_date();
            statuses.push(status);
            continue;
        }
        if status.unapplied.is_empty() {
            outln!("{}: all migrations applied", i.name);
            continue;
        }
        outln!("{}: applying {}", i.name, status.summary());
        let prefix = format!("{} |", i.name);
        match migrations::migrate_unit(&ws, i, |line| outln!("{prefix} {line}")) {
            Ok(_) => outln!("{}: migrated", i.name),
            Err(e) => {
                errln!("error: {e}");
                failed = true;
            }
        }
    }
    if options.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&statuses).expect("statuses serialize")
        );
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
