//! `kovan`: Kovan's core from a terminal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kovan_core::generate::{self, FileStatus};
use kovan_core::view::WorkspaceOverview;
use kovan_core::{workspace, WorkspaceError, WorkspaceView};

#[derive(Parser)]
#[command(
    name = "kovan",
    version,
    about = "Run several instances of one Django project side by side, isolated."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate kovan.toml and print every instance's derived names.
    ///
    /// Exit status: 0 when the workspace is valid, 1 when it is not (or none is found), 2 on a usage error.
    Check {
        /// kovan.toml, or the folder that holds it. Default: $KOVAN_WORKSPACE, else the nearest
        /// kovan.toml in the current folder or above.
        #[arg(long, value_name = "PATH")]
        workspace: Option<PathBuf>,
        /// Print the result as JSON (the same shape the window receives).
        #[arg(long)]
        json: bool,
    },
    /// Preview, write or check the generated development config: env files, the multi-server
    /// settings module, Kovan's Django app, nginx/kovan.conf and Procfile.kovan.
    ///
    /// Without --write nothing is written. Exit status: 0 done (or up to date with --check), 1 when
    /// --check finds a missing or stale file or generation fails, 2 on a usage error.
    Gen {
        #[arg(long, value_name = "PATH")]
        workspace: Option<PathBuf>,
        /// Write every new or changed file (a file you edited is backed up first).
        #[arg(long)]
        write: bool,
        /// Exit 1 when any generated file is missing or stale (after --write, when both are given).
        #[arg(long)]
        check: bool,
        /// Print differences from the files on disk (secrets masked).
        #[arg(long)]
        diff: bool,
        /// Print the plan (or with --write, the report) as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check { workspace, json } => check(workspace.as_deref(), json),
        Command::Gen {
            workspace,
            write,
            check,
            diff,
            json,
        } => match gen(workspace.as_deref(), write, check, diff, json) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::from(1)
            }
        },
    }
}

/// The workspace named by the flag or the environment, else found from the current folder upwards.
fn locate(flag: Option<&Path>) -> Result<PathBuf, WorkspaceError> {
    if let Some(file) = workspace::named(flag, std::env::var_os(workspace::ENV_VAR)) {
        return Ok(file);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    workspace::find_upwards(&cwd).ok_or(WorkspaceError::NotFound {
        path: cwd.join(workspace::FILE_NAME),
    })
}

fn check(flag: Option<&Path>, json: bool) -> ExitCode {
    let loaded = locate(flag).and_then(|file| workspace::load(&file));
    let view = WorkspaceView::of(&loaded);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&view).expect("views serialize")
        );
    }
    match (&view, loaded) {
        (WorkspaceView::Loaded(overview), _) => {
            if !json {
                print_overview(overview);
            }
            ExitCode::SUCCESS
        }
        (_, Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        (WorkspaceView::Invalid(_), Ok(_)) => unreachable!("a loaded workspace has a loaded view"),
    }
}

fn gen(
    flag: Option<&Path>,
    write: bool,
    check: bool,
    diff: bool,
    json: bool,
) -> Result<ExitCode, String> {
    let ws = locate(flag)
        .and_then(|file| workspace::load(&file))
        .map_err(|e| e.to_string())?;
    let mut plan = generate::plan(&ws).map_err(|e| e.to_string())?;
    if write {
        let report = generate::write(&plan, None).map_err(|e| e.to_string())?;
        if json && !check {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("reports serialize")
            );
        } else if !json {
            for w in &report.written {
                let backup = w
                    .backup
                    .as_ref()
                    .map(|b| format!(" (your version saved as {b})"))
                    .unwrap_or_default();
                println!(
                    "wrote {:<10} {:o}  {}{backup}",
                    status_word(w.status),
                    w.mode,
                    w.path
                );
            }
            println!(
                "{} written, {} already up to date",
                report.written.len(),
                report.unchanged.len()
            );
        }
        plan = generate::plan(&ws).map_err(|e| e.to_string())?;
    } else if json && !check {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan).expect("plans serialize")
        );
    } else if !json {
        for f in &plan.files {
            let mode = f
                .disk_mode
                .map(|m| format!(" (now {m:o})"))
                .unwrap_or_default();
            println!(
                "{:<10} {:o}  {}{mode}",
                status_word(f.status),
                f.file.mode,
                f.file.path
            );
            if diff {
                if let Some(d) = &f.diff {
                    println!("{d}");
                }
            }
        }
    }
    let pending: Vec<_> = plan.pending().collect();
    if check {
        if json {
            let paths: Vec<&str> = pending.iter().map(|f| f.file.path.as_str()).collect();
            println!(
                "{}",
                serde_json::json!({ "upToDate": pending.is_empty(), "pending": paths })
            );
        }
        if !pending.is_empty() {
            for f in &pending {
                eprintln!("stale: {} is {}", f.file.path, status_word(f.status));
            }
            eprintln!(
                "{} generated file(s) missing or stale: run `kovan gen --write`.",
                pending.len()
            );
            return Ok(ExitCode::from(1));
        }
        if !json {
            println!("all {} generated files are up to date", plan.files.len());
        }
    } else if !write && !json && !pending.is_empty() {
        println!(
            "\n{} to write: run `kovan gen --write` (add --diff to see the changes).",
            pending.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn status_word(status: FileStatus) -> &'static str {
    match status {
        FileStatus::New => "new",
        FileStatus::Unchanged => "unchanged",
        FileStatus::Changed => "changed",
        FileStatus::Edited => "edited",
    }
}

fn print_overview(o: &WorkspaceOverview) {
    println!("{}  {}", o.name, o.file);
    println!("  django root  {}", o.django_root);
    println!("  settings     {}", o.settings);
    if let Some(url) = &o.redis_url {
        let managed = if o.redis_managed {
            " (managed by Kovan)"
        } else {
            ""
        };
        println!("  redis        {url}{managed}");
    }
    println!();
    let rows: Vec<Vec<String>> = o
        .instances
        .iter()
        .map(|i| {
            vec![
                i.name.clone(),
                i.port.to_string(),
                i.role.to_string(),
                i.cache.to_string(),
                i.names.database.clone(),
                i.names.cache_prefix.clone(),
                i.names.session_cookie.clone(),
                i.names.csrf_cookie.clone(),
            ]
        })
        .collect();
    print_table(
        &[
            "INSTANCE",
            "PORT",
            "ROLE",
            "CACHE",
            "DATABASE",
            "CACHE PREFIX",
            "SESSION COOKIE",
            "CSRF COOKIE",
        ],
        &rows,
    );
    println!();
    let files: Vec<Vec<String>> = o
        .instances
        .iter()
        .map(|i| {
            vec![
                i.name.clone(),
                i.names.env_file.clone(),
                i.names.log_file.clone(),
                i.names.static_root.clone(),
                i.names.media_root.clone(),
            ]
        })
        .collect();
    print_table(
        &[
            "INSTANCE",
            "ENV FILE",
            "LOG FILE",
            "STATIC ROOT",
            "MEDIA ROOT",
        ],
        &files,
    );
    if !o.presets.is_empty() {
        println!();
        for p in &o.presets {
            println!("preset {}: {}", p.name, p.instances.join(", "));
        }
    }
}

fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}
