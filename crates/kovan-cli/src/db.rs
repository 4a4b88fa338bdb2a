//! `kovan db clone|reset|restore|status`: a unit's database as one thing. The work is the core's
//! (services::database); here are the confirmation and the words.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Subcommand;
use kovan_core::services::database::{self, DatabaseReport};
use kovan_core::Workspace;

#[derive(Subcommand)]
pub enum Action {
    /// Replace TARGET's database with a copy of SOURCE's (a snapshot of TARGET's is taken first).
    /// PostgreSQL: CREATE DATABASE … TEMPLATE, refused while anybody is connected to either;
    /// SQLite: the online backup API.
    Clone {
        /// The instance or site whose database is replaced.
        target: String,
        /// The instance or site whose database is copied.
        #[arg(long = "from", value_name = "SOURCE")]
        source: String,
    },
    /// Empty a unit's database and migrate it again: a snapshot first (`kovan db restore`
    /// undoes the reset), then drop, create, migrate. Asks for the database's name unless --yes.
    Reset {
        /// The instance or site.
        name: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Put back the database as its last snapshot holds it (taken by reset or clone).
    Restore {
        /// The instance or site.
        name: String,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// Each unit's database: where it is, its size, who has it open, and whether a snapshot waits.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn said(r: Result<DatabaseReport, database::DatabaseError>, what: &str) -> ExitCode {
    match r {
        Ok(r) => {
            let snapshot = r
                .snapshot
                .map(|s| format!(" (snapshot first: {s})"))
                .unwrap_or_default();
            outln!("{}: {what} in {} ms{snapshot}", r.database, r.millis);
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The user types the database's name, as GitHub asks before deleting a repository.
fn confirmed(ws: &Workspace, name: &str, verb: &str, yes: bool) -> Result<(), ExitCode> {
    let unit = database::unit(ws, name).map_err(|e| {
        errln!("error: {e}");
        ExitCode::from(1)
    })?;
    if yes {
        return Ok(());
    }
    let shown = unit.describe(ws);
    if !std::io::stdin().is_terminal() {
        errln!("error: {verb} {shown} needs a confirmation: run it on a terminal, or add --yes.");
        return Err(ExitCode::from(1));
    }
    err!(
        "kovan: {verb} {shown}? Its data is kept in a snapshot first. Type {} to confirm: ",
        unit.name()
    );
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if answer.trim() == unit.name() {
        Ok(())
    } else {
        errln!("kovan: not confirmed; nothing was changed.");
        Err(ExitCode::from(1))
    }
}

pub fn run(ws: Workspace, action: Action) -> ExitCode {
    let rt = runtime();
    match action {
        Action::Clone { target, source } => {
            rt.block_on(async { said(database::clone(&ws, &target, &source).await, "cloned") })
        }
        Action::Reset { name, yes } => {
            if let Err(code) = confirmed(&ws, &name, "reset", yes) {
                return code;
            }
            let tag = format!("{name} | migrate |");
            rt.block_on(async {
                said(
                    database::reset(&ws, &name, |line| errln!("{tag} {line}")).await,
                    "reset and migrated",
                )
            })
        }
        Action::Restore { name, yes } => {
            if let Err(code) = confirmed(&ws, &name, "restore", yes) {
                return code;
            }
            rt.block_on(async { said(database::restore(&ws, &name).await, "restored") })
        }
        Action::Status { json } => rt.block_on(status(&ws, json)),
    }
}

async fn status(ws: &Workspace, json: bool) -> ExitCode {
    let rows = match database::status(ws).await {
        Ok(rows) => rows,
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    // Site members share one database: one line per unit.
    let mut seen = std::collections::BTreeSet::new();
    for r in rows.iter().filter(|r| seen.insert(r.unit.clone())) {
        let size = r.size_bytes.map_or("not created yet".to_string(), size);
        let who: Vec<String> = r
            .connections
            .iter()
            .map(|h| format!("{} (PID {})", h.application_name, h.pid))
            .collect();
        let mut line = format!(
            "{}: {}, {size}, {} connection{}",
            r.unit,
            r.shown,
            r.connections.len(),
            if r.connections.len() == 1 { "" } else { "s" }
        );
        if !who.is_empty() {
            line.push_str(&format!(": {}", who.join(", ")));
        }
        if r.snapshot {
            line.push_str("; a snapshot can be restored");
        }
        if let Some(why) = &r.not_kovans {
            line.push_str(&format!("; not Kovan's ({why})"));
        }
        outln!("{line}");
    }
    ExitCode::SUCCESS
}

/// 8.1 MB, 912 kB: as the card shows a database's size.
fn size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} kB", b / 1e3)
    }
}
