//! `kovan`: Kovan's core from a terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[macro_use]
mod out;
mod db;
mod doctor;
mod flush;
mod init;
mod keys;
mod migrate;
mod run;
mod style;
mod under;

use clap::{Args, CommandFactory, Parser, Subcommand};
use kovan_core::diagnostics;
use kovan_core::generate::{self, FileStatus};
use kovan_core::view::WorkspaceOverview;
use kovan_core::{workspace, WorkspaceError, WorkspaceView};

#[derive(Parser)]
#[command(
    name = "kovan",
    version,
    about = "Run several instances of one Django project side by side, isolated.",
    long_about = "Run several instances of one Django project side by side, isolated: each with its own \
database file, cache key prefix and cookie names, all derived from kovan.toml in the project's root.\n\n\
Start with `kovan init` in a Django project, then `kovan check`, `kovan gen --write` and `kovan up dev`.",
    after_help = "Errors go to stderr. Exit status 2 is always a usage error. Colour only when stdout is \
a terminal and NO_COLOR is unset. Every command is documented in docs/CLI.md."
)]
struct Cli {
    /// Write debug lines to Kovan's log too (its folder: $KOVAN_DATA_DIR/logs, else
    /// ~/.local/share/kovan/logs). KOVAN_LOG=debug does the same; the default is info.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

/// `--workspace`, the same on every command that reads kovan.toml.
#[derive(Args)]
struct WorkspaceArg {
    /// kovan.toml, or the folder that holds it. Default: $KOVAN_WORKSPACE, else the nearest
    /// kovan.toml in the current folder or above.
    #[arg(long, value_name = "PATH")]
    workspace: Option<PathBuf>,
}

impl WorkspaceArg {
    fn path(&self) -> Option<&Path> {
        self.workspace.as_deref()
    }
}

#[derive(Subcommand)]
enum Command {
    /// Propose a kovan.toml for a Django project and write it (never over an existing one).
    ///
    /// Finds manage.py (in DIR or one folder below), the settings module manage.py names, the
    /// Python (.venv, venv, then python3) and asks Django itself for its caches, database and
    /// cookie names. What could not be detected is explained. The detection and the explanations
    /// go to stderr; stdout gets the path written, or with --dry-run the proposed file.
    ///
    /// Exit status: 0 proposed (and written unless --dry-run); 1 no Django project found, a
    /// kovan.toml is already there, or it could not be written; 2 on a usage error.
    Init {
        /// The Django project's folder (kovan.toml is proposed there).
        #[arg(value_name = "DIR", default_value = ".")]
        dir: PathBuf,
        /// Print the proposed kovan.toml instead of writing it.
        #[arg(long)]
        dry_run: bool,
        /// Print the detection and the proposal as JSON (the shape the window's first-run screen
        /// receives), with "written" set to the path written or null.
        #[arg(long)]
        json: bool,
    },
    /// Validate kovan.toml and print every instance's derived names.
    ///
    /// Exit status: 0 when the workspace is valid, 1 when it is not (or none is found), 2 on a usage error.
    Check {
        #[command(flatten)]
        workspace: WorkspaceArg,
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
        #[command(flatten)]
        workspace: WorkspaceArg,
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
    /// Run instances in the foreground with prefixed logs; Ctrl-C or SIGTERM stops every process
    /// group started.
    ///
    /// Exit status: 0 after a clean stop, 1 when an instance failed to start or to stop (or
    /// migrations are missing under migrate = "ask" with no terminal and no --yes), 2 on a
    /// usage error (an unknown preset or instance).
    ///
    /// Before starting, the interpreter is checked for what each instance needs (the pip command
    /// is printed when something is missing) and each database's migrations, as `migrate` in
    /// kovan.toml says: "ask" (the default) asks on a terminal, applies with --yes and refuses
    /// without either; "auto" applies them; "never" starts without (up but not ready).
    Up {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// Presets and instances to start; none means every instance.
        #[arg(value_name = "PRESET|INSTANCE")]
        names: Vec<String>,
        /// Every instance (the same as naming none).
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// Apply missing migrations without asking (migrate = "ask"; "never" still applies none).
        #[arg(long, short = 'y')]
        yes: bool,
        /// When another `kovan up` or the window supervises the workspace, ask it to hand over:
        /// it lets go without stopping anything, and this one adopts what runs and supervises it.
        #[arg(long)]
        take_over: bool,
    },
    /// Show every instance of the workspace (state, PID, port, health), including ones the app or
    /// another `kovan up` started.
    ///
    /// Exit status: 0, 1 when the workspace is invalid, 2 on a usage error.
    Status {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// Print the instances as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Stop instances Kovan started (recorded in its store), whoever started them.
    ///
    /// Exit status: 0 when all stopped, 1 when a group survived SIGKILL, 2 on a usage error.
    Stop {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// Instances (their companion processes first), sites and presets standing for their
        /// instances, or companion processes alone.
        #[arg(
            value_name = "INSTANCE|SITE|PRESET|PROCESS",
            required_unless_present = "all"
        )]
        names: Vec<String>,
        /// Every instance and companion process, and the Redis server Kovan started.
        #[arg(long, conflicts_with = "names")]
        all: bool,
    },
    /// Count every instance's cache keys: Redis in one SCAN pass (keys, cached sessions, each
    /// site's channel-layer keys, other apps' keys, DBSIZE), LocMem through the running instance,
    /// file and db caches directly.
    ///
    /// Exit status: 0 when every cache was counted (a dummy cache or a stopped LocMem instance has
    /// nothing to count), 1 when a count failed or the workspace is invalid, 2 on a usage error.
    Keys {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// One instance's counts, each of its cache aliases; with --groups: the Redis instance
        /// whose keys to group.
        #[arg(value_name = "INSTANCE")]
        instance: Option<String>,
        /// The instance's keys by group, in one SCAN pass: Django's own families (cached pages,
        /// template fragments, sessions) and the project's names up to the first `:` or `.`, each
        /// with its count, memory and lifetimes (measured on a sample of its keys) and the
        /// `kovan flush INSTANCE --match GLOB` that takes just that group.
        #[arg(long, requires = "instance")]
        groups: bool,
        /// Print the counts as JSON (the shape the window receives).
        #[arg(long)]
        json: bool,
    },
    /// Delete the cache keys of the named instances (or of a site's members: `kovan flush chat`),
    /// or of all with --all. Only keys under their prefixes go: other instances' and other apps'
    /// keys, and every site's channel layer, are never touched. Shows what will be deleted and
    /// asks on a terminal first.
    ///
    /// Exit status: 0 flushed (or previewed with --dry-run); 1 a flush failed, or was not confirmed
    /// (answered no, or no terminal to ask on and no --yes), or the workspace or an instance name
    /// is wrong; 2 on a usage error; 130 stopped by Ctrl-C (keys deleted until then stay deleted).
    Flush {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// The instances whose cache to delete. A site's name (e.g. chat) flushes its members,
        /// each under its own cache prefix; the site's channel layer and every other unit's keys
        /// stay.
        #[arg(value_name = "INSTANCE|SITE", required_unless_present = "all")]
        instances: Vec<String>,
        /// Every instance of the workspace.
        #[arg(long, conflicts_with = "instances")]
        all: bool,
        /// What goes of each instance's cache: cache (everything but the sessions: users stay
        /// logged in), sessions (cached sessions and the session rows of the instance's database:
        /// everyone is logged out, the cache stays), all (both).
        #[arg(long, value_enum, default_value_t = flush::Scope::Cache, conflicts_with = "glob")]
        scope: flush::Scope,
        /// Only the keys whose part after `{prefix}:{version}:` matches this Redis glob, e.g.
        /// 'views.decorators.cache.*'. The prefix is never part of the glob: no glob reaches
        /// another instance's keys or another app's.
        #[arg(long = "match", value_name = "GLOB")]
        glob: Option<String>,
        /// Only this cache alias of each instance (repeat for several, e.g. --alias default
        /// --alias local); without it, every alias each instance declares.
        #[arg(long = "alias", value_name = "ALIAS")]
        aliases: Vec<String>,
        /// Count what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation (needed when there is no terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Delete without saving an undo snapshot first (by default the Redis keys deleted are
        /// saved, so `kovan undo` can put them back).
        #[arg(long)]
        no_undo: bool,
        /// Print the report (or with --dry-run, the preview) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put back the Redis keys a flush deleted, from its snapshot: each with the lifetime it had
    /// left, never over a key written since (those are skipped), and without what would have
    /// expired since. Without an ID, the newest flush not undone yet.
    ///
    /// Exit status: 0 restored (keys skipped or expired are not failures); 1 nothing to undo, a
    /// snapshot of another workspace or Redis, or keys Redis refused.
    Undo {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// The snapshot, as `kovan flush` and `kovan undo --list` name it.
        #[arg(value_name = "ID")]
        id: Option<String>,
        /// List the snapshots kept for this workspace, newest first; restore nothing.
        #[arg(long, conflicts_with = "id")]
        list: bool,
        /// Print the report (or the list) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Look for what keeps the instances from being isolated: shared names reported by running
    /// instances, foreign processes on their ports, one SQLite file open in two, 0.0.0.0
    /// listeners, readable or shared secrets, stale generated files, instances needing a restart.
    ///
    /// Exit status: 0 when no finding is an error (warnings and information may be printed), 1 when
    /// one is or the workspace is invalid, 2 on a usage error.
    Doctor {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// Print the findings as JSON (the shape the window receives).
        #[arg(long)]
        json: bool,
    },
    /// Run a manage.py command under an instance's environment: its env file, its settings, its
    /// interpreter, from the Django root (e.g. `kovan manage chat_main -- createsuperuser`).
    ///
    /// Exit status: the command's own; 1 when the env file is missing; 2 on a usage error.
    Manage {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// The instance.
        instance: String,
        /// manage.py's arguments, after `--`.
        #[arg(last = true, required = true, value_name = "ARGS")]
        args: Vec<String>,
    },
    /// Run any program under an instance's environment, from the Django root, with the project's
    /// virtualenv first in PATH (e.g. `kovan exec chat_main -- pytest`, `-- celery -A config worker`).
    ///
    /// Exit status: the program's own; 127 when it cannot be started; 1 when the env file is
    /// missing; 2 on a usage error.
    Exec {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// The instance.
        instance: String,
        /// The program and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        argv: Vec<String>,
    },
    /// Print an instance's environment: `eval "$(kovan env chat_main)"` loads it into a shell.
    ///
    /// Exit status: 0; 1 when the env file is missing; 2 on a usage error.
    Env {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// The instance.
        instance: String,
        /// shell: `export KEY='value'`; dotenv: `KEY='value'`; json: one object.
        #[arg(long, value_enum, default_value = "shell")]
        format: under::EnvFormat,
    },
    /// Apply the instances' migrations (`manage.py migrate` under each one's environment), or
    /// with --check only say which are not applied.
    ///
    /// Exit status: 0 applied (or, with --check, none missing); 1 when a migration failed or,
    /// with --check, some are not applied; 2 on a usage error.
    Migrate {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// The instances whose databases to migrate.
        #[arg(value_name = "INSTANCE", required_unless_present = "all")]
        instances: Vec<String>,
        /// Every instance of the workspace.
        #[arg(long, conflicts_with = "instances")]
        all: bool,
        /// Apply nothing: list what is not applied, exit 1 when anything is.
        #[arg(long)]
        check: bool,
        /// Print each instance's migration status as JSON (applies nothing).
        #[arg(long)]
        json: bool,
    },
    /// A unit's database: clone, reset and restore (PostgreSQL that Kovan provisions, or
    /// SQLite files at the names Kovan derives), and each one's size and connections.
    ///
    /// Exit status: 0 done; 1 refused (in use, not Kovan's, no snapshot, not confirmed) or failed;
    /// 2 on a usage error.
    Db {
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[command(subcommand)]
        action: db::Action,
    },
    /// Print a shell completion script for kovan.
    ///
    /// Load it for the current shell with e.g. `source <(kovan completions bash)`, or save it where
    /// your shell looks: ~/.local/share/bash-completion/completions/kovan,
    /// a folder on zsh's $fpath as _kovan, ~/.config/fish/completions/kovan.fish.
    ///
    /// Exit status: 0, 2 on a usage error (an unknown shell).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    diagnostics::start_log(diagnostics::Program::Cli, cli.verbose);
    tracing::debug!(
        "kovan {} started: {}",
        env!("CARGO_PKG_VERSION"),
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    match cli.command {
        Command::Init { dir, dry_run, json } => init::init(&dir, dry_run, json),
        Command::Check { workspace, json } => check(workspace.path(), json),
        Command::Up {
            workspace,
            names,
            all: _,
            yes,
            take_over,
        } => with_workspace(workspace.path(), |ws| run::up(ws, &names, yes, take_over)),
        Command::Status { workspace, json } => {
            with_workspace(workspace.path(), |ws| run::status(ws, json))
        }
        Command::Stop {
            workspace,
            names,
            all,
        } => with_workspace(workspace.path(), |ws| run::stop(ws, &names, all)),
        Command::Doctor { workspace, json } => {
            with_workspace(workspace.path(), |ws| doctor::doctor(ws, json))
        }
        Command::Keys {
            workspace,
            instance,
            groups,
            json,
        } => with_workspace(workspace.path(), |ws| match instance {
            Some(name) if groups => keys::groups(ws, &name, json),
            only => keys::keys(ws, only.as_deref(), json),
        }),
        Command::Flush {
            workspace,
            instances,
            all,
            scope,
            glob,
            aliases,
            dry_run,
            yes,
            no_undo,
            json,
        } => with_workspace(workspace.path(), |ws| {
            let options = flush::Options {
                instances,
                all,
                aliases,
                part: scope.part(glob),
                dry_run,
                yes,
                undo: !no_undo,
                json,
            };
            flush::flush(ws, options)
        }),
        Command::Undo {
            workspace,
            id,
            list,
            json,
        } => with_workspace(workspace.path(), |ws| {
            if list {
                flush::list_snapshots(&ws, json)
            } else {
                flush::undo(&ws, id.as_deref(), json)
            }
        }),
        Command::Gen {
            workspace,
            write,
            check,
            diff,
            json,
        } => match gen(workspace.path(), write, check, diff, json) {
            Ok(code) => code,
            Err(message) => {
                errln!("error: {message}");
                ExitCode::from(1)
            }
        },
        Command::Manage {
            workspace,
            instance,
            args,
        } => with_workspace(workspace.path(), |ws| under::manage(ws, &instance, &args)),
        Command::Exec {
            workspace,
            instance,
            argv,
        } => with_workspace(workspace.path(), |ws| under::exec(ws, &instance, &argv)),
        Command::Env {
            workspace,
            instance,
            format,
        } => with_workspace(workspace.path(), |ws| under::env(ws, &instance, format)),
        Command::Migrate {
            workspace,
            instances,
            all,
            check,
            json,
        } => with_workspace(workspace.path(), |ws| {
            migrate::migrate(
                ws,
                migrate::Options {
                    instances,
                    all,
                    check,
                    json,
                },
            )
        }),
        Command::Db { workspace, action } => {
            with_workspace(workspace.path(), |ws| db::run(ws, action))
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "kovan", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            ExitCode::SUCCESS
        }
    }
}

/// Help, the version, or a usage error, printed as clap would but through [`out`], so that a
/// closed pipe ends `kovan --help | head -1` quietly too.
fn usage(e: &clap::Error) -> ExitCode {
    let text = e.render();
    if e.use_stderr() {
        let styled = std::io::stderr().is_terminal() && style::colour_allowed();
        err_raw!(
            "{}",
            if styled {
                text.ansi().to_string()
            } else {
                text.to_string()
            }
        );
    } else {
        out_raw!(
            "{}",
            if style::colour() {
                text.ansi().to_string()
            } else {
                text.to_string()
            }
        );
    }
    ExitCode::from(e.exit_code().clamp(0, 255) as u8)
}

/// Load the workspace, or print why not and exit 1.
fn with_workspace(
    flag: Option<&Path>,
    f: impl FnOnce(kovan_core::Workspace) -> ExitCode,
) -> ExitCode {
    match locate(flag).and_then(|file| workspace::load(&file)) {
        Ok(ws) => f(ws),
        Err(e) => {
            workspace_error(&e);
            ExitCode::from(1)
        }
    }
}

/// A workspace that did not load, on stderr; a missing one with the command that proposes one.
fn workspace_error(e: &WorkspaceError) {
    errln!("error: {e}");
    if matches!(e, WorkspaceError::NotFound { .. }) {
        errln!("hint: in a Django project, `kovan init` proposes a kovan.toml from its settings.");
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
        outln!(
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
            workspace_error(&e);
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
    let ws = match locate(flag).and_then(|file| workspace::load(&file)) {
        Ok(ws) => ws,
        Err(e) => {
            workspace_error(&e);
            return Ok(ExitCode::from(1));
        }
    };
    let mut plan = generate::plan(&ws).map_err(|e| e.to_string())?;
    if write {
        let report = generate::write(&plan, None).map_err(|e| e.to_string())?;
        if json && !check {
            outln!(
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
                outln!(
                    "wrote {:<10} {:o}  {}{backup}",
                    status_word(w.status),
                    w.mode,
                    w.path
                );
            }
            outln!(
                "{} written, {} already up to date",
                report.written.len(),
                report.unchanged.len()
            );
        }
        plan = generate::plan(&ws).map_err(|e| e.to_string())?;
    } else if json && !check {
        outln!(
            "{}",
            serde_json::to_string_pretty(&plan).expect("plans serialize")
        );
    } else if !json {
        for f in &plan.files {
            let mode = f
                .disk_mode
                .map(|m| format!(" (now {m:o})"))
                .unwrap_or_default();
            outln!(
                "{:<10} {:o}  {}{mode}",
                status_word(f.status),
                f.file.mode,
                f.file.path
            );
            if diff {
                if let Some(d) = &f.diff {
                    outln!("{d}");
                }
            }
        }
    }
    if !json {
        match (&plan.django, &plan.django_unknown) {
            (Some(v), _) => errln!("Django {v}: settings generated for it"),
            (None, Some(why)) => errln!(
                "warning: the Django version is not known ({why}); settings generated for Django 4.0, which every supported version runs"
            ),
            (None, None) => {}
        }
        for f in &plan.settings_findings {
            errln!("warning: {}: {}", f.instance, f.message);
        }
    }
    let pending: Vec<_> = plan.pending().collect();
    if check {
        if json {
            let paths: Vec<&str> = pending.iter().map(|f| f.file.path.as_str()).collect();
            outln!(
                "{}",
                serde_json::json!({ "upToDate": pending.is_empty(), "pending": paths })
            );
        }
        if !pending.is_empty() {
            for f in &pending {
                errln!("stale: {} is {}", f.file.path, status_word(f.status));
            }
            errln!(
                "{} generated file(s) missing or stale: run `kovan gen --write`.",
                pending.len()
            );
            return Ok(ExitCode::from(1));
        }
        if !json {
            outln!("all {} generated files are up to date", plan.files.len());
        }
    } else if !write && !json && !pending.is_empty() {
        outln!(
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
    outln!("{}  {}", o.name, o.file);
    outln!("  django root  {}", o.django_root);
    outln!("  settings     {}", o.settings);
    if let Some(url) = &o.redis_url {
        let managed = if o.redis_managed {
            " (managed by Kovan)"
        } else {
            ""
        };
        outln!("  redis        {url}{managed}");
    }
    outln!();
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
    outln!();
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
    for s in &o.sites {
        outln!();
        let routes: Vec<String> = s
            .routes
            .iter()
            .map(|r| format!("{} -> {}", r.prefix, r.role))
            .collect();
        outln!(
            "site {}: {} behind the front door {} ({}); they share the database, SECRET_KEY, cookies, sessions, media and channel layer",
            s.name,
            s.instances.join(", "),
            s.url,
            routes.join(", ")
        );
    }
    if !o.presets.is_empty() {
        outln!();
        for p in &o.presets {
            outln!("preset {}: {}", p.name, p.instances.join(", "));
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
        outln!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}
