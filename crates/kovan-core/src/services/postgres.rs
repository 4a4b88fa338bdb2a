//! The PostgreSQL server of `[database] engine = "postgresql"`: the one Kovan runs itself
//! (`managed = true`: a cluster of its own under Kovan's data dir, initdb on first use, loopback
//! only, its own port and socket directory, a generated superuser password kept 0600), or one the
//! user runs (`url`). On either, one database per isolation unit (`{project}_{unit}`) owned by one
//! role per unit, whose password is in the unit's env files.
//!
//! Kovan talks to the server with tokio-postgres (the core is async already; the sync `postgres`
//! crate is this client behind a runtime of its own): no psql on PATH is needed, errors arrive as
//! SQLSTATE codes instead of text to parse, and values come typed (sizes as bigint).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use ts_rs::TS;

use crate::workspace::{PostgresConfig, Workspace};

/// The superuser initdb creates in a managed cluster.
pub const SUPERUSER: &str = "kovan";

/// What a database's COMMENT says when Kovan created it: clone, reset and restore refuse any
/// other database. Kept in the server itself, so it outlives Kovan's store.
pub const CREATED_MARK: &str = "created by Kovan";

/// The env file variables the generated settings read the unit's role from.
pub const ENV_HOST: &str = "KOVAN_DATABASE_HOST";
pub const ENV_PORT: &str = "KOVAN_DATABASE_PORT";
pub const ENV_USER: &str = "KOVAN_DATABASE_USER";
pub use crate::generate::env_file::ENV_PASSWORD;

/// Where root's clusters are (see [`Cluster::in_data_dir`]).
pub const ROOT_CLUSTERS: &str = "/var/tmp/kovan-postgresql-root";

/// A managed cluster's files: `{data dir}/postgresql/{port}/`.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub port: u16,
    pub dir: PathBuf,
}

/// The account the server runs as when Kovan runs as root (PostgreSQL refuses root): the
/// system's `postgres` user.
#[derive(Debug, Clone, Copy)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// None when Kovan is not root; else the `postgres` account, or why there is none.
pub fn run_as() -> Result<Option<RunAs>, String> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::ffi::CString::new("postgres").expect("no NUL");
    // SAFETY: getpwnam returns a pointer to static storage or NULL; read at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err("PostgreSQL does not run as root and this machine has no `postgres` user to run it as. Run Kovan as a normal user.".into());
    }
    // SAFETY: non-null, just returned.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(Some(RunAs { uid, gid }))
}

impl Cluster {
    pub fn for_port(port: u16) -> Self {
        Self::in_data_dir(&crate::store::data_dir(), port)
    }

    /// The cluster of the data dir `data` on `port`: `{data}/postgresql/{port}`; for root, whose
    /// data dir the `postgres` user cannot reach, `/var/tmp/kovan-postgresql-root/{hash of the
    /// data dir}/{port}`.
    pub fn in_data_dir(data: &Path, port: u16) -> Self {
        // SAFETY: geteuid cannot fail.
        let dir = if unsafe { libc::geteuid() } == 0 {
            use sha2::Digest;
            let hash: String = sha2::Sha256::digest(data.as_os_str().as_encoded_bytes())
                .iter()
                .take(6)
                .map(|b| format!("{b:02x}"))
                .collect();
            PathBuf::from(ROOT_CLUSTERS)
                .join(hash)
                .join(port.to_string())
        } else {
            data.join("postgresql").join(port.to_string())
        };
        Self { port, dir }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn password_file(&self) -> PathBuf {
        self.dir.join("superuser.password")
    }

    /// Where the server's unix socket is: in the cluster's folder, or (when that path is too long
    /// for a socket's 107 bytes) in the temp dir under the port and user.
    pub fn socket_dir(&self) -> PathBuf {
        let own = self.dir.join("run");
        if own.as_os_str().len() < 80 {
            own
        } else {
            // SAFETY: getuid cannot fail.
            let uid = unsafe { libc::getuid() };
            std::env::temp_dir().join(format!("kovan-pg-{uid}-{}", self.port))
        }
    }

    pub fn initialized(&self) -> bool {
        self.data().join("PG_VERSION").is_file()
    }

    pub fn superuser_password(&self) -> Result<String, String> {
        std::fs::read_to_string(self.password_file())
            .map(|s| s.trim().to_string())
            .map_err(|e| {
                format!(
                    "the managed PostgreSQL's password file {} cannot be read: {e}",
                    self.password_file().display()
                )
            })
    }
}

/// The folder with `postgres` and `initdb`: the newest /usr/lib/postgresql/N/bin, else PATH.
pub fn bin_dir() -> Result<PathBuf, String> {
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("postgres").is_file() && bin.join("initdb").is_file()).then_some((n, bin))
        })
        .collect();
    versioned.sort();
    if let Some((_, bin)) = versioned.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|d| d.join("postgres").is_file() && d.join("initdb").is_file())
        .ok_or_else(|| "PostgreSQL is not installed (no initdb and postgres in /usr/lib/postgresql/*/bin or on PATH). Install it (Debian/Ubuntu: sudo apt install postgresql), or point [database] url at a server you run.".into())
}

/// initdb into the cluster's folder, unless it is there already; true when it was made now.
/// The superuser's password is generated first and written 0600; local and TCP logins both ask
/// for it (scram-sha-256).
pub fn init_cluster(bin: &Path, cluster: &Cluster) -> Result<bool, String> {
    if cluster.initialized() {
        return Ok(false);
    }
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let run_as = run_as()?;
    std::fs::create_dir_all(&cluster.dir).map_err(|e| format!("{}: {e}", cluster.dir.display()))?;
    let _ = std::fs::set_permissions(&cluster.dir, std::fs::Permissions::from_mode(0o700));
    if let Some(who) = run_as {
        // The folders above may be reached, not read, by the server's account.
        let mut up = cluster.dir.parent();
        while let Some(dir) = up.filter(|d| d.starts_with(ROOT_CLUSTERS)) {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711));
            up = dir.parent();
        }
        std::os::unix::fs::chown(&cluster.dir, Some(who.uid), Some(who.gid))
            .map_err(|e| format!("{}: {e}", cluster.dir.display()))?;
    }
    // A half-made data folder from an initdb that was interrupted: initdb wants it empty.
    if cluster.data().exists() {
        std::fs::remove_dir_all(cluster.data())
            .map_err(|e| format!("{}: {e}", cluster.data().display()))?;
    }
    let password = crate::generate::env_file::new_token();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(cluster.password_file())
            .map_err(|e| format!("{}: {e}", cluster.password_file().display()))?;
        f.write_all(password.as_bytes())
            .map_err(|e| format!("{}: {e}", cluster.password_file().display()))?;
    }
    let mut initdb = std::process::Command::new(bin.join("initdb"));
    if let Some(who) = run_as {
        use std::os::unix::process::CommandExt;
        std::os::unix::fs::chown(cluster.password_file(), Some(who.uid), Some(who.gid))
            .map_err(|e| format!("{}: {e}", cluster.password_file().display()))?;
        initdb.uid(who.uid).gid(who.gid);
    }
    let out = initdb
        .current_dir(&cluster.dir)
        .arg("-D")
        .arg(cluster.data())
        .args([
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--auth=scram-sha-256",
        ])
        .arg(format!("--pwfile={}", cluster.password_file().display()))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", bin.join("initdb").display()))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(cluster.data());
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(true)
}

/// The command line that runs `postgres` for Kovan: loopback only, its own port and socket
/// folder; as root, through setpriv as the `postgres` user (setpriv execs: the server itself
/// still leads the group).
pub fn server_argv(bin: &Path, cluster: &Cluster) -> Result<Vec<String>, String> {
    let mut argv = Vec::new();
    if let Some(who) = run_as()? {
        argv.extend([
            "setpriv".to_string(),
            format!("--reuid={}", who.uid),
            format!("--regid={}", who.gid),
            "--clear-groups".into(),
            "--".into(),
        ]);
    }
    argv.push(bin.join("postgres").display().to_string());
    argv.extend(server_args(cluster));
    Ok(argv)
}

fn server_args(cluster: &Cluster) -> Vec<String> {
    vec![
        "-D".into(),
        cluster.data().display().to_string(),
        "-p".into(),
        cluster.port.to_string(),
        "-c".into(),
        "listen_addresses=127.0.0.1".into(),
        "-c".into(),
        format!("unix_socket_directories={}", cluster.socket_dir().display()),
    ]
}

/// The credentials Kovan itself logs in with: the managed superuser, or the URL's user.
pub fn admin(config: &PostgresConfig) -> Result<(String, String), String> {
    match config.url() {
        Some(url) => Ok((
            percent_decode(url.username()),
            url.password().map(percent_decode).unwrap_or_default(),
        )),
        None => Ok((
            SUPERUSER.into(),
            Cluster::for_port(config.port).superuser_password()?,
        )),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.replace(' ', "+"))
        .unwrap_or_default()
}

/// A connection to `dbname` as the admin, its connection task running beside it.
pub async fn connect_admin(
    config: &PostgresConfig,
    dbname: &str,
) -> Result<tokio_postgres::Client, String> {
    let (user, password) = admin(config)?;
    connect(config, &user, &password, dbname).await
}

pub async fn connect(
    config: &PostgresConfig,
    user: &str,
    password: &str,
    dbname: &str,
) -> Result<tokio_postgres::Client, String> {
    let mut c = tokio_postgres::Config::new();
    c.host(&config.host)
        .port(config.port)
        .user(user)
        .password(password)
        .dbname(dbname)
        .application_name("kovan")
        .connect_timeout(Duration::from_secs(3));
    // connect_timeout bounds the TCP connect; this, a listener that never answers the startup.
    let (client, connection) =
        tokio::time::timeout(Duration::from_secs(5), c.connect(tokio_postgres::NoTls))
            .await
            .map_err(|_| {
                format!(
                    "{}: what listens on port {} does not answer as PostgreSQL within 5 s",
                    config.redacted(),
                    config.port
                )
            })?
            .map_err(|e| describe(config, user, &e))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A PostgreSQL error in words, with the server's own message and what to do.
pub fn describe(config: &PostgresConfig, user: &str, e: &tokio_postgres::Error) -> String {
    use tokio_postgres::error::SqlState;
    let server = config.redacted();
    match e.as_db_error() {
        Some(db) if *db.code() == SqlState::INVALID_PASSWORD => format!(
            "{server} refused the password of `{user}` ({}). Check the password{}.",
            db.message(),
            if config.managed {
                " (a server on that port that Kovan did not start has another: stop it, or choose another port)"
            } else {
                " in [database] url"
            }
        ),
        Some(db) => format!("{server}: {} ({})", db.message(), db.code().code()),
        None => {
            let text = e.to_string();
            let source = std::error::Error::source(e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            format!("{server} does not answer ({text}{source})")
        }
    }
}

/// Whether anything accepts TCP connections on the server's host and port.
pub async fn answers(config: &PostgresConfig) -> bool {
    tokio::time::timeout(
        Duration::from_secs(1),
        tokio::net::TcpStream::connect((config.host.as_str(), config.port)),
    )
    .await
    .is_ok_and(|r| r.is_ok())
}

/// Wait until a freshly started server accepts logins (not only TCP: it also says "starting up").
pub async fn wait_until_up(config: &PostgresConfig, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    while Instant::now() < deadline {
        match connect_admin(config, "postgres").await {
            Ok(_) => return Ok(()),
            Err(why) => last = why,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(last)
}

/// One unit's database and role as Kovan creates them.
#[derive(Debug, Clone)]
pub struct UnitDatabase {
    pub database: String,
    pub role: String,
    pub password: String,
}

/// `"name"`: the names are `[a-z0-9_]` (validated), quoted anyway.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Whether `database` carries Kovan's mark (or None when it does not exist).
pub async fn kovan_created(
    client: &tokio_postgres::Client,
    database: &str,
) -> Result<Option<bool>, String> {
    let row = client
        .query_opt(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = $1",
            &[&database],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.map(|r| r.get::<_, String>(0).starts_with(CREATED_MARK)))
}

/// Make each unit's role (login, its password from the env file) and database (owned by it, no
/// one else may connect), and report which databases were created now. A database of that name
/// that Kovan did not create is refused, not taken over.
pub async fn provision(
    config: &PostgresConfig,
    units: &[UnitDatabase],
) -> Result<Vec<String>, String> {
    let client = connect_admin(config, "postgres").await?;
    let sql = |e: tokio_postgres::Error| e.to_string();
    let mut created = Vec::new();
    for u in units {
        let exists = client
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&u.role])
            .await
            .map_err(sql)?
            .is_some();
        let verb = if exists { "ALTER" } else { "CREATE" };
        client
            .batch_execute(&format!(
                "{verb} ROLE {} LOGIN PASSWORD {}",
                ident(&u.role),
                literal(&u.password)
            ))
            .await
            .map_err(|e| format!("{verb} ROLE {}: {e}", u.role))?;
        match kovan_created(&client, &u.database).await? {
            Some(true) => {}
            Some(false) => {
                return Err(format!(
                    "a database {} exists on {} and Kovan did not create it: Kovan does not take it over. Drop or rename it, or set `database` of the instance to another name.",
                    u.database,
                    config.redacted()
                ))
            }
            None => {
                create_database(&client, &u.database, &u.role, None).await?;
                created.push(u.database.clone());
            }
        }
    }
    Ok(created)
}

/// CREATE DATABASE (from `template`, else the default) owned by `role`, marked as Kovan's, and
/// closed to every other role.
pub async fn create_database(
    client: &tokio_postgres::Client,
    database: &str,
    role: &str,
    template: Option<&str>,
) -> Result<(), String> {
    let template = template
        .map(|t| format!(" TEMPLATE {}", ident(t)))
        .unwrap_or_default();
    client
        .batch_execute(&format!(
            "CREATE DATABASE {} OWNER {}{template}",
            ident(database),
            ident(role)
        ))
        .await
        .map_err(|e| format!("CREATE DATABASE {database}: {}", db_message(&e)))?;
    client
        .batch_execute(&format!(
            "COMMENT ON DATABASE {} IS {}; REVOKE ALL ON DATABASE {} FROM PUBLIC",
            ident(database),
            literal(CREATED_MARK),
            ident(database)
        ))
        .await
        .map_err(|e| format!("{database}: {}", db_message(&e)))
}

pub fn db_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string())
}

pub use crate::error::Holder;

/// A unit's database on the card: its name, size and open connections.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStats {
    pub name: String,
    #[ts(type = "number")]
    pub size_bytes: i64,
    pub connections: Vec<Holder>,
}

/// Other sessions on `database` than this client's.
pub async fn holders(
    client: &tokio_postgres::Client,
    database: &str,
) -> Result<Vec<Holder>, String> {
    Ok(client
        .query(
            "SELECT pid, coalesce(application_name, '') FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() ORDER BY pid",
            &[&database],
        )
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .map(|r| Holder {
            pid: r.get(0),
            application_name: r.get(1),
        })
        .collect())
}

/// The size (pg_database_size) and the connections (pg_stat_activity) of each database; a
/// database that does not exist yet is left out.
pub async fn stats(
    config: &PostgresConfig,
    databases: &[String],
) -> Result<Vec<DatabaseStats>, String> {
    let client = connect_admin(config, "postgres").await?;
    let mut out = Vec::new();
    for name in databases {
        let size = client
            .query_opt(
                "SELECT pg_database_size(datname) FROM pg_database WHERE datname = $1",
                &[name],
            )
            .await
            .map_err(|e| e.to_string())?;
        let Some(size) = size else { continue };
        out.push(DatabaseStats {
            name: name.clone(),
            size_bytes: size.get(0),
            connections: holders(&client, name).await?,
        });
    }
    Ok(out)
}

/// Each unit's database, role and password (from its members' env files) for the instances
/// named; a unit whose env files hold no password yet is an error naming the command.
pub fn units_of(ws: &Workspace, instances: &[String]) -> Result<Vec<UnitDatabase>, String> {
    let mut units: Vec<UnitDatabase> = Vec::new();
    for name in instances {
        let Some(i) = ws.instance(name) else { continue };
        if units.iter().any(|u| u.database == i.names.database) {
            continue;
        }
        let vars = std::fs::read_to_string(ws.project.django_root.join(&i.names.env_file))
            .map(|t| crate::generate::env_file::parse(&t))
            .unwrap_or_default();
        let (Some(role), Some(password)) = (vars.get(ENV_USER), vars.get(ENV_PASSWORD)) else {
            return Err(format!(
                "{} has no {ENV_USER} and {ENV_PASSWORD} in {}: write them with `kovan gen --write`.",
                i.name, i.names.env_file
            ));
        };
        units.push(UnitDatabase {
            database: i.names.database.clone(),
            role: role.clone(),
            password: password.clone(),
        });
    }
    Ok(units)
}

/// Instances of other workspaces that run now against the same managed PostgreSQL (its port),
/// found by the markers every process Kovan starts carries: "b (/p/kovan.toml)".
pub fn users_elsewhere(ours: &Path, config: &PostgresConfig) -> Vec<String> {
    use crate::supervisor::group::{INSTANCE_MARKER, WORKSPACE_MARKER};
    let mut users = std::collections::BTreeSet::new();
    let mut loaded: std::collections::HashMap<String, Option<PostgresConfig>> = Default::default();
    for (pid, file) in crate::platform::processes_with_env(WORKSPACE_MARKER) {
        if Path::new(&file) == ours {
            continue;
        }
        let Some(instance) = crate::platform::environ_var(pid, INSTANCE_MARKER) else {
            continue;
        };
        if instance == super::POSTGRES_SERVICE || instance == super::REDIS_SERVICE {
            continue;
        }
        let theirs = loaded
            .entry(file.clone())
            .or_insert_with(|| {
                crate::workspace::load(Path::new(&file))
                    .ok()
                    .and_then(|ws| ws.postgres)
            })
            .clone();
        if theirs.is_some_and(|t| t.managed && t.port == config.port) {
            users.insert(format!("{instance} ({file})"));
        }
    }
    users.into_iter().collect()
}

/// The server's socket folder, made for the account it runs as.
pub fn make_socket_dir(cluster: &Cluster) -> Result<(), String> {
    let dir = cluster.socket_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Some(who) = run_as()? {
        std::os::unix::fs::chown(&dir, Some(who.uid), Some(who.gid))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    Ok(())
}
