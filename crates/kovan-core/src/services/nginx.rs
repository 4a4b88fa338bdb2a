//! A site's front door: an nginx that Kovan runs on the site's port, on loopback only, routing
//! `/ws/` (with the Upgrade headers) to the websocket role, `/api/` to the api role and the rest to
//! main, several servers of one role by weight.
//!
//! Everything this nginx writes lives in its own folder under Kovan's data dir (config, pid file,
//! temporary files), never in /etc or /var. Its error log goes to stderr and its access log to
//! stdout, which the caller pumps into the site's log. It runs in the foreground (`daemon off`) as
//! the leader of the process group Kovan starts it in; a change of membership is a new config and
//! SIGHUP to that leader, which starts new workers while the old ones finish the connections they
//! hold, open websockets included.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::platform;
use crate::workspace::{Role, Site, Workspace};

/// The path nginx itself answers on, without reaching any member: is the front door open?
pub const PROBE_PATH: &str = "/__kovan/front-door";
/// Names the nginx binary when it is not `nginx` in PATH or an sbin folder.
pub const BINARY_VAR: &str = "KOVAN_NGINX";
/// nginx 1.19.5 added `-e`, which keeps the error log of the very first lines (before the config
/// is read) off the compiled-in /var/log path that a user cannot write.
const ERROR_LOG_FLAG_SINCE: (u32, u32, u32) = (1, 19, 5);
/// Where distributions install nginx; often not in a desktop user's PATH.
const SBIN_DIRS: [&str; 4] = [
    "/usr/sbin",
    "/usr/local/sbin",
    "/usr/local/nginx/sbin",
    "/opt/homebrew/bin",
];

/// What one front door serves: its port and where each path goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FrontDoor {
    /// The site's name; upstream and variable names are made from it.
    pub site: String,
    /// The project's name, so two projects' sites of one name stay apart in a shared nginx.
    pub project: String,
    pub port: u16,
    pub upstreams: Vec<Upstream>,
    /// Longest prefix first is not required: nginx picks the longest matching prefix itself.
    pub routes: Vec<Route>,
}

/// One pool of servers of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Upstream {
    /// The role's name (`main`, `api`, `websocket`); the nginx upstream is named after it.
    pub role: String,
    /// The running members of the role; empty when all of them are stopped (then the role's
    /// paths answer 502 with a page naming them).
    pub servers: Vec<UpstreamServer>,
    /// Members of the role left out because they are not running.
    pub stopped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamServer {
    pub instance: String,
    pub port: u16,
    pub weight: u32,
}

/// A path prefix and the role whose servers answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// `/ws/`, `/api/`, `/`: an nginx prefix location.
    pub prefix: String,
    pub role: String,
    /// Held open for a long time (websockets): nginx must not time it out after a minute of quiet.
    pub long_lived: bool,
}

impl FrontDoor {
    /// The front door of a workspace's site: its members pooled by role with their kovan.toml
    /// weights, and the site's routes (`/ws/` held open for websockets).
    pub fn of(ws: &Workspace, site: &Site) -> Self {
        Self::of_members(ws, site, |_| true)
    }

    /// The front door routing only to the members `running` says run: the others' servers are
    /// left out, and a role without a running member answers 502 with a page naming them.
    pub fn of_members(ws: &Workspace, site: &Site, running: impl Fn(&str) -> bool) -> Self {
        let mut upstreams: Vec<Upstream> = Vec::new();
        for m in site.instances.iter().filter_map(|m| ws.instance(m)) {
            let role = m.role.to_string();
            let upstream = match upstreams.iter().position(|u| u.role == role) {
                Some(n) => &mut upstreams[n],
                None => {
                    upstreams.push(Upstream {
                        role,
                        servers: Vec::new(),
                        stopped: Vec::new(),
                    });
                    upstreams.last_mut().expect("just pushed")
                }
            };
            if running(&m.name) {
                upstream.servers.push(UpstreamServer {
                    instance: m.name.clone(),
                    port: m.port,
                    weight: m.weight,
                });
            } else {
                upstream.stopped.push(m.name.clone());
            }
        }
        let routes = site
            .routes
            .iter()
            .map(|r| Route {
                prefix: r.prefix.clone(),
                role: r.role.to_string(),
                long_lived: r.role == Role::Websocket,
            })
            .collect();
        Self {
            site: site.name.clone(),
            project: ws.project.name.clone(),
            port: site.front_door,
            upstreams,
            routes,
        }
    }

    /// The name of a role's upstream block.
    pub fn upstream_name(&self, role: &str) -> String {
        format!("kovan_{}_{}_{role}", self.project, self.site)
    }

    /// The address a browser opens.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The origins a browser sends in `Origin` through this door, for CSRF_TRUSTED_ORIGINS.
    pub fn origins(&self) -> [String; 2] {
        [
            format!("http://127.0.0.1:{}", self.port),
            format!("http://localhost:{}", self.port),
        ]
    }
}

/// The upstreams, maps and server block: what goes into an `http {}` context. It is both the
/// heart of the config Kovan runs and the file it exports for the user's own nginx, so the two
/// route the same way.
pub fn server_config(door: &FrontDoor) -> String {
    let mut out = String::new();
    let var = |what: &str| format!("$kovan_{}_{}_{what}", door.project, door.site);
    for upstream in door.upstreams.iter().filter(|u| !u.servers.is_empty()) {
        let _ = writeln!(out, "upstream {} {{", door.upstream_name(&upstream.role));
        for s in &upstream.servers {
            let _ = writeln!(
                out,
                "    server 127.0.0.1:{} weight={} max_fails=3 fail_timeout=10s;  # {}",
                s.port, s.weight, s.instance
            );
        }
        // Idle connections kept to the members: without them every request pays a TCP handshake.
        out.push_str("    keepalive 16;\n}\n\n");
    }
    // A websocket asks for an upgrade; any other request keeps the upstream connection alive
    // (an empty Connection header instead of nginx's default `close`).
    let _ = writeln!(
        out,
        "map $http_upgrade {} {{\n    default upgrade;\n    ''      '';\n}}\n",
        var("connection")
    );
    // The Host as the browser sent it, port included: Django's CSRF origin check compares the
    // Origin header with it, and build_absolute_uri() builds links from it. `$host` drops the port.
    // A request without a Host (HTTP/1.0) gets the address it reached.
    let _ = writeln!(
        out,
        "map $http_host {} {{\n    default $http_host;\n    ''      $server_addr:$server_port;\n}}\n",
        var("host")
    );
    let _ = writeln!(
        out,
        "server {{\n    # Loopback only: a development site is not for the network.\n    listen 127.0.0.1:{};\n    server_name _;\n    # Uploads of a development site may be larger than nginx's 1 MB default.\n    client_max_body_size 64m;\n",
        door.port
    );
    let _ = writeln!(
        out,
        "    location = {PROBE_PATH} {{\n        access_log off;\n        default_type application/json;\n        return 200 '{{\"site\": \"{}\", \"frontDoor\": true}}';\n    }}\n",
        door.site
    );
    // A member in the config that does not answer (it crashed, it is restarting): nginx's own
    // 502 page would not say which site or what to do.
    let _ = writeln!(
        out,
        "    location @kovan_down {{\n        default_type text/html;\n        return 502 '{}';\n    }}\n",
        down_page(
            &door.site,
            "a member of this site does not answer: it may have crashed or be restarting. Its card in Kovan, or kovan status, says why."
        )
    );
    for route in &door.routes {
        let upstream = door.upstreams.iter().find(|u| u.role == route.role);
        if upstream.is_none_or(|u| u.servers.is_empty()) {
            let stopped = upstream.map(|u| u.stopped.join(", ")).unwrap_or_default();
            let why = if stopped.is_empty() {
                format!("no member of this site has the role {}.", route.role)
            } else {
                format!(
                    "no {} member of this site is running ({stopped} stopped). Start it in Kovan, or with kovan up {}.",
                    route.role, door.site
                )
            };
            let _ = writeln!(
                out,
                "    location {} {{\n        default_type text/html;\n        return 502 '{}';\n    }}\n",
                route.prefix,
                down_page(&door.site, &why)
            );
            continue;
        }
        let _ = writeln!(
            out,
            "    location {} {{\n        proxy_pass http://{};\n        error_page 502 504 @kovan_down;",
            route.prefix,
            door.upstream_name(&route.role)
        );
        let _ = writeln!(
            out,
            "        proxy_http_version 1.1;\n        proxy_set_header Upgrade $http_upgrade;\n        proxy_set_header Connection {};\n        proxy_set_header Host {host};\n        proxy_set_header X-Forwarded-Host {host};\n        proxy_set_header X-Forwarded-Proto $scheme;\n        proxy_set_header X-Forwarded-Port $server_port;\n        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n        proxy_set_header X-Real-IP $remote_addr;",
            var("connection"),
            host = var("host"),
        );
        if route.long_lived {
            // Daphne pings every 20 s; a quiet hour is a socket nobody uses.
            out.push_str("        proxy_read_timeout 1h;\n        proxy_send_timeout 1h;\n");
        }
        out.push_str("    }\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push_str("\n}\n");
    out
}

/// The HTML of a 502 the door answers itself, as an nginx single-quoted string's content.
fn down_page(site: &str, why: &str) -> String {
    let text = format!(
        "<!doctype html><meta charset=utf-8><title>502 - {site}</title><h1>The front door of {site} has nobody to ask</h1><p>{why}</p>"
    );
    text.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The folder of one front door: config, pid file and temporary files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub dir: PathBuf,
}

impl Paths {
    /// `{data dir}/front-doors/{project}-{site}-{hash of the kovan.toml path}`: two checkouts of
    /// one project, each with a site `chat`, do not share a folder.
    pub fn for_site(data_dir: &Path, workspace_file: &Path, project: &str, site: &str) -> Self {
        let digest = Sha256::digest(workspace_file.as_os_str().as_encoded_bytes());
        let hash: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
        Self {
            dir: data_dir
                .join("front-doors")
                .join(format!("{project}-{site}-{hash}")),
        }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("nginx.conf")
    }

    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("nginx.pid")
    }

    fn temp(&self, what: &str) -> PathBuf {
        self.dir.join("temp").join(what)
    }
}

/// The whole config Kovan runs: one worker, the folders under `paths`, logs on stdout and stderr,
/// and [`server_config`].
pub fn main_config(door: &FrontDoor, paths: &Paths) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The front door of the site `{}`, written and run by Kovan; it is rewritten on every start.\n",
        door.site
    );
    out.push_str("daemon off;\nmaster_process on;\nworker_processes 1;\n");
    // nginx clears its workers' environment; these keep the markers by which Kovan tells the
    // processes of a group it started (supervisor/group.rs), so a stop reaches the workers too.
    for var in [
        crate::supervisor::group::WORKSPACE_MARKER,
        crate::supervisor::group::INSTANCE_MARKER,
    ] {
        let _ = writeln!(out, "env {var};");
    }
    // Run as root (a container, CI), nginx would hand the workers to `nobody`, who cannot reach
    // temporary files under root's home.
    if is_root() {
        out.push_str("user root;\n");
    }
    let _ = writeln!(out, "pid {};", quoted(&paths.pid_file()));
    out.push_str(
        "error_log stderr notice;\n\nevents {\n    worker_connections 1024;\n}\n\nhttp {\n",
    );
    for (directive, what) in [
        ("client_body_temp_path", "client_body"),
        ("proxy_temp_path", "proxy"),
        ("fastcgi_temp_path", "fastcgi"),
        ("uwsgi_temp_path", "uwsgi"),
        ("scgi_temp_path", "scgi"),
    ] {
        let _ = writeln!(out, "    {directive} {};", quoted(&paths.temp(what)));
    }
    out.push_str(
        "    log_format kovan '$remote_addr \"$request\" $status $body_bytes_sent ${request_time}s -> $upstream_addr';\n",
    );
    // /dev/stdout is the pipe Kovan reads; the workers inherit it from the master.
    out.push_str("    access_log /dev/stdout kovan;\n");
    out.push_str("    default_type application/octet-stream;\n");
    out.push_str("    server_tokens off;\n\n");
    for line in server_config(door).lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "    {line}");
        }
    }
    out.push_str("}\n");
    out
}

fn quoted(path: &Path) -> String {
    // nginx strings in double quotes take \" and \\ escapes.
    let text = path.display().to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Why the front door cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NginxError {
    #[error("nginx is not installed, so the front door of `{site}` cannot open (its members still run on their own ports). Install it: sudo apt install nginx (Debian/Ubuntu; the package's own service is not needed and can be disabled with sudo systemctl disable --now nginx), or set {BINARY_VAR} to the nginx binary.")]
    Missing { site: String },
    #[error("{BINARY_VAR} names {path}, which is not an executable file. Point it at the nginx binary, or unset it to use nginx from PATH.")]
    BadOverride { path: String },
    #[error("nginx refused the front door's config for `{site}`: {message}")]
    Config { site: String, message: String },
    #[error("{path}: {message}. Check that Kovan's data folder is writable.")]
    Io { path: String, message: String },
    #[error("the front door of `{site}` did not answer on 127.0.0.1:{port} within {secs} s; its log says why.")]
    NotServing { site: String, port: u16, secs: u64 },
    #[error("the front door of `{site}` is not the nginx Kovan started (PID {pid}), so it was not signalled.")]
    NotOurs { site: String, pid: i32 },
    #[error(
        "nginx did not start new workers within {secs} s of the reload signal; its log says why."
    )]
    ReloadNotSeen { secs: u64 },
}

/// The nginx binary: `KOVAN_NGINX`, else `nginx` in PATH, else in the usual sbin folders.
pub fn binary(site: &str) -> Result<PathBuf, NginxError> {
    binary_from(
        std::env::var_os(BINARY_VAR).filter(|v| !v.is_empty()),
        std::env::var_os("PATH"),
        &SBIN_DIRS,
        site,
    )
}

/// [`binary`] with the environment and the sbin folders given, for tests.
pub fn binary_from(
    override_path: Option<std::ffi::OsString>,
    path_var: Option<std::ffi::OsString>,
    sbin_dirs: &[&str],
    site: &str,
) -> Result<PathBuf, NginxError> {
    if let Some(given) = override_path {
        let path = PathBuf::from(given);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(NginxError::BadOverride {
                path: path.display().to_string(),
            })
        };
    }
    path_var
        .iter()
        .flat_map(std::env::split_paths)
        .chain(sbin_dirs.iter().map(PathBuf::from))
        .map(|dir| dir.join("nginx"))
        .find(|p| is_executable(p))
        .ok_or_else(|| NginxError::Missing { site: site.into() })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The version `nginx -v` reports, e.g. (1, 22, 1).
pub fn version(binary: &Path) -> Option<(u32, u32, u32)> {
    let out = Command::new(binary).arg("-v").output().ok()?;
    // nginx prints its version on stderr: "nginx version: nginx/1.22.1".
    let text = String::from_utf8_lossy(&out.stderr);
    parse_version(&text)
}

fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let after = &text[text.find("nginx/")? + "nginx/".len()..];
    let mut parts = after
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// The command line that runs the front door in the foreground.
pub fn argv(binary: &Path, paths: &Paths, version: Option<(u32, u32, u32)>) -> Vec<String> {
    let mut argv = vec![
        binary.display().to_string(),
        "-p".into(),
        paths.dir.display().to_string(),
        "-c".into(),
        paths.config().display().to_string(),
    ];
    if version.is_some_and(|v| v >= ERROR_LOG_FLAG_SINCE) {
        argv.extend(["-e".into(), "stderr".into()]);
    }
    argv
}

/// Write the config (and create the folders nginx needs), then let nginx check it with `-t`, so a
/// config it would refuse is reported with nginx's own words instead of a silent failed reload.
pub fn prepare(
    binary: &Path,
    door: &FrontDoor,
    paths: &Paths,
    version: Option<(u32, u32, u32)>,
) -> Result<(), NginxError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |e: std::io::Error| NginxError::Io {
            path,
            message: e.to_string(),
        }
    };
    for what in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        let dir = paths.temp(what);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    }
    let config = paths.config();
    let tmp = paths.dir.join("nginx.conf.new");
    std::fs::write(&tmp, main_config(door, paths)).map_err(io(&tmp))?;
    let mut test = argv(binary, paths, version);
    test[4] = tmp.display().to_string();
    test.push("-t".into());
    test.push("-q".into());
    let out = Command::new(&test[0])
        .args(&test[1..])
        .output()
        .map_err(io(binary))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        let text = String::from_utf8_lossy(&out.stderr);
        let message = text
            .lines()
            .find(|l| l.contains("[emerg]"))
            .or_else(|| text.lines().find(|l| !l.trim().is_empty()))
            .unwrap_or("nginx -t failed without saying why")
            .trim()
            .to_string();
        return Err(NginxError::Config {
            site: door.site.clone(),
            message,
        });
    }
    std::fs::rename(&tmp, &config).map_err(io(&config))?;
    Ok(())
}

/// Wait until the door answers [`PROBE_PATH`] itself (nginx is up and listening), whatever the
/// members do.
pub async fn wait_until_open(door: &FrontDoor, timeout: Duration) -> Result<(), NginxError> {
    let deadline = Instant::now() + timeout;
    loop {
        let answer = tokio::time::timeout(
            Duration::from_millis(500),
            crate::http::request(door.port, "GET", PROBE_PATH, &[]),
        )
        .await;
        if matches!(answer, Ok(Ok(r)) if r.status == 200) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(NginxError::NotServing {
                site: door.site.clone(),
                port: door.port,
                secs: timeout.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Make the running master (leader `pid`, started at `start_time` clock ticks) read the new config:
/// SIGHUP, then wait for a worker that was not there before. Old workers keep serving the
/// connections they hold until those close, so nothing open is dropped.
pub async fn reload(
    site: &str,
    pid: i32,
    start_time: u64,
    timeout: Duration,
) -> Result<(), NginxError> {
    if !platform::is_same_process(pid, start_time) {
        return Err(NginxError::NotOurs {
            site: site.into(),
            pid,
        });
    }
    let before = workers(pid);
    // SAFETY: a plain signal to the one process checked above.
    unsafe { libc::kill(pid, libc::SIGHUP) };
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let now = workers(pid);
        // Done when a new worker runs and every old one has stopped accepting: until an old worker
        // has read its shutdown order it still takes new connections with the old config.
        let started = now.iter().any(|w| !before.contains(w));
        let old_closed = before
            .iter()
            .all(|w| !now.contains(w) || is_shutting_down(*w));
        if started && old_closed {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(NginxError::ReloadNotSeen {
        secs: timeout.as_secs(),
    })
}

/// An old worker that finishes its connections and accepts no new ones: nginx retitles it.
fn is_shutting_down(worker: i32) -> bool {
    platform::cmdline(worker).is_some_and(|a| a.join(" ").contains("is shutting down"))
}

/// The master's group without the master: its workers, old and new.
pub fn workers(master: i32) -> Vec<i32> {
    platform::group_members(master)
        .into_iter()
        .filter(|p| *p != master)
        .collect()
}

/// A front door Kovan opened: nginx leading a process group of its own.
pub struct OpenDoor {
    pub door: FrontDoor,
    pub pid: i32,
    child: tokio::process::Child,
}

/// Open the front door of `site` once its members answer: find nginx, write and check its config
/// under `data_dir`, start it, and wait until it answers [`PROBE_PATH`]. Each line nginx writes
/// (access log on stdout, errors on stderr) goes to `on_line` with whether it came from stderr.
pub async fn open(
    ws: &Workspace,
    site: &Site,
    data_dir: &Path,
    on_line: std::sync::Arc<dyn Fn(bool, String) + Send + Sync>,
) -> Result<OpenDoor, NginxError> {
    use tokio::io::AsyncBufReadExt;
    let door = FrontDoor::of(ws, site);
    let binary = binary(&site.name)?;
    let version = version(&binary);
    let paths = Paths::for_site(data_dir, &ws.file, &ws.project.name, &site.name);
    prepare(&binary, &door, &paths, version)?;
    let argv = argv(&binary, &paths, version);
    let mut child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| NginxError::Io {
            path: binary.display().to_string(),
            message: e.to_string(),
        })?;
    let pid = child.id().map_or(0, |p| p as i32);
    for (is_err, pipe) in [
        (
            false,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ),
        (
            true,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ),
    ] {
        let Some(pipe) = pipe else { continue };
        let on_line = on_line.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                on_line(is_err, line);
            }
        });
    }
    let mut open = OpenDoor { door, pid, child };
    if let Err(e) = wait_until_open(&open.door, Duration::from_secs(10)).await {
        open.close().await;
        return Err(e);
    }
    Ok(open)
}

impl OpenDoor {
    /// Close the door: SIGQUIT to nginx's group (finish the requests in flight), SIGKILL after 5 s.
    pub async fn close(&mut self) {
        if self.pid > 0 {
            // SAFETY: signals to the process group this door started and leads.
            unsafe { libc::kill(-self.pid, libc::SIGQUIT) };
        }
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            if self.pid > 0 {
                // SAFETY: as above.
                unsafe { libc::kill(-self.pid, libc::SIGKILL) };
            }
            let _ = self.child.wait().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn door() -> FrontDoor {
        let server = |instance: &str, port, weight| UpstreamServer {
            instance: instance.into(),
            port,
            weight,
        };
        FrontDoor {
            site: "chat".into(),
            project: "context7".into(),
            port: 8080,
            upstreams: vec![
                Upstream {
                    role: "main".into(),
                    servers: vec![server("chat_main", 8000, 3), server("chat_main2", 8003, 1)],
                    stopped: Vec::new(),
                },
                Upstream {
                    role: "websocket".into(),
                    servers: vec![server("chat_websocket", 8002, 1)],
                    stopped: Vec::new(),
                },
            ],
            routes: vec![
                Route {
                    prefix: "/ws/".into(),
                    role: "websocket".into(),
                    long_lived: true,
                },
                Route {
                    prefix: "/".into(),
                    role: "main".into(),
                    long_lived: false,
                },
            ],
        }
    }

    #[test]
    fn the_server_block_routes_by_prefix_with_weights_and_the_port_in_host() {
        let text = server_config(&door());
        assert!(text.contains("upstream kovan_context7_chat_main {\n    server 127.0.0.1:8000 weight=3 max_fails=3 fail_timeout=10s;  # chat_main\n    server 127.0.0.1:8003 weight=1"), "{text}");
        assert!(text.contains("listen 127.0.0.1:8080;"), "{text}");
        assert!(
            !text.contains("Host $host;"),
            "the port must survive: {text}"
        );
        assert!(text.contains("proxy_set_header Host $kovan_context7_chat_host;"));
        assert!(text.contains("proxy_set_header X-Forwarded-Port $server_port;"));
        let ws = &text[text.find("location /ws/").unwrap()..];
        let ws = &ws[..ws.find("}\n").unwrap()];
        assert!(ws.contains("proxy_pass http://kovan_context7_chat_websocket;"));
        assert!(ws.contains("proxy_set_header Connection $kovan_context7_chat_connection;"));
        assert!(ws.contains("proxy_read_timeout 1h;"));
        let root = &text[text.find("location / {").unwrap()..];
        assert!(!root.contains("proxy_read_timeout"), "{root}");
    }

    #[test]
    fn the_run_config_keeps_every_path_in_its_folder() {
        let paths = Paths {
            dir: PathBuf::from("/data/front-doors/context7-chat-0a1b2c3d4e"),
        };
        let text = main_config(&door(), &paths);
        for line in text
            .lines()
            .filter(|l| l.contains('/') && l.contains("path"))
        {
            assert!(
                line.contains("/data/front-doors/context7-chat-0a1b2c3d4e/temp/"),
                "{line}"
            );
        }
        assert!(text.contains("pid \"/data/front-doors/context7-chat-0a1b2c3d4e/nginx.pid\";"));
        assert!(text.contains("daemon off;"));
        assert!(text.contains("error_log stderr"));
        assert!(!text.contains("/etc/") && !text.contains("/var/"), "{text}");
    }

    #[test]
    fn folders_differ_by_workspace_file_and_site() {
        let data = Path::new("/data");
        let a = Paths::for_site(data, Path::new("/a/kovan.toml"), "p", "chat");
        let b = Paths::for_site(data, Path::new("/b/kovan.toml"), "p", "chat");
        let c = Paths::for_site(data, Path::new("/a/kovan.toml"), "p", "shop");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert!(a
            .dir
            .display()
            .to_string()
            .starts_with("/data/front-doors/p-chat-"));
    }

    #[test]
    fn reads_nginx_versions_and_passes_e_only_where_it_exists() {
        assert_eq!(
            parse_version("nginx version: nginx/1.22.1\n"),
            Some((1, 22, 1))
        );
        assert_eq!(
            parse_version("nginx version: nginx/1.18.0 (Ubuntu)"),
            Some((1, 18, 0))
        );
        assert_eq!(parse_version("command not found"), None);
        let paths = Paths {
            dir: PathBuf::from("/d"),
        };
        let bin = Path::new("/usr/sbin/nginx");
        assert!(argv(bin, &paths, Some((1, 22, 1))).contains(&"-e".to_string()));
        assert!(!argv(bin, &paths, Some((1, 18, 0))).contains(&"-e".to_string()));
        assert!(!argv(bin, &paths, None).contains(&"-e".to_string()));
    }

    #[test]
    fn a_missing_binary_names_the_debian_package() {
        let empty = tempfile::tempdir().unwrap();
        let text = binary_from(None, Some(empty.path().into()), &[], "chat")
            .unwrap_err()
            .to_string();
        assert!(text.contains("sudo apt install nginx"), "{text}");
        assert!(text.contains("its members still run"), "{text}");
        // A file named nginx that cannot run is not nginx.
        let fake = empty.path().join("nginx");
        std::fs::write(&fake, "").unwrap();
        assert!(binary_from(None, Some(empty.path().into()), &[], "chat").is_err());
        // The sbin folders are searched after PATH.
        let sbin = empty.path().join("sbin");
        std::fs::create_dir(&sbin).unwrap();
        let real = sbin.join("nginx");
        std::fs::write(&real, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = binary_from(None, None, &[sbin.to_str().unwrap()], "chat").unwrap();
        assert_eq!(found, real);
        let bad = binary_from(Some("/nonexistent/nginx".into()), None, &[], "chat").unwrap_err();
        assert!(matches!(bad, NginxError::BadOverride { .. }), "{bad}");
    }
}
