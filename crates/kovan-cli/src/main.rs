//! `kovan`: Kovan's core from a terminal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check { workspace, json } => check(workspace.as_deref(), json),
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
