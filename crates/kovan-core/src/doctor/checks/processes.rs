//! What the kernel says: foreign listeners on the instances' ports, one SQLite file open in two
//! groups, instances listening on every interface.

use super::super::*;

pub(in crate::doctor) fn ports(ws: &Workspace, context: &Context, findings: &mut Vec<Finding>) {
    for i in &ws.instances {
        let Some(owner) = platform::port_owner(i.port) else {
            continue;
        };
        let holder = context
            .running
            .iter()
            .find(|r| r.members.contains(&owner.pid));
        match holder {
            Some(r) if r.instance == i.name => {}
            Some(r) => findings.push(
                Finding::new(
                    FindingKind::PortHeldByInstance,
                    Severity::Error,
                    vec![i.name.clone(), r.instance.clone()],
                    format!("{}'s port {} is served by {}", i.name, i.port, r.instance),
                )
                .why("Requests meant for one instance reach the other, and the first cannot start.")
                .fix(format!("Stop {} and start it on its own port {}.", r.instance, ws.instance(&r.instance).map_or(0, |o| o.port))),
            ),
            None => findings.push(
                Finding::new(
                    FindingKind::PortTaken,
                    Severity::Error,
                    vec![i.name.clone()],
                    format!(
                        "port {} of {} is held by PID {} ({}), not one of this workspace's instances",
                        i.port, i.name, owner.pid, owner.command
                    ),
                )
                .why("The instance cannot start on its port, and whatever answers there is not it.")
                .fix(format!("Stop PID {} if it is yours, or give {} another port in kovan.toml.", owner.pid, i.name)),
            ),
        }
    }
}

/// The database file an open file belongs to: `x.sqlite3-wal` and `-shm` and `-journal` count as `x.sqlite3`.
fn database_of(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    for suffix in ["-wal", "-shm", "-journal"] {
        if let Some(db) = text.strip_suffix(suffix) {
            return PathBuf::from(db);
        }
    }
    path.to_path_buf()
}

pub(in crate::doctor) fn shared_sqlite_files(
    ws: &Workspace,
    context: &Context,
    findings: &mut Vec<Finding>,
) {
    let mut holders: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for r in &context.running {
        for pid in &r.members {
            for file in platform::open_files(*pid) {
                holders
                    .entry(database_of(&file))
                    .or_default()
                    .insert(r.instance.clone());
            }
        }
    }
    let unit = |name: &str| ws.instance(name).map(|i| i.names.unit.clone());
    for (file, who) in holders {
        if who.len() < 2 || health::sqlite::journal_mode(&file).is_none() {
            continue;
        }
        // A site's members share their database by design; the finding is a file two units hold.
        let units: BTreeSet<Option<String>> = who.iter().map(|w| unit(w)).collect();
        if units.len() < 2 {
            continue;
        }
        let who: Vec<String> = who.into_iter().collect();
        findings.push(
            Finding::new(
                FindingKind::SharedSqliteFile,
                Severity::Error,
                who.clone(),
                format!("{} all have {} open", who.join(", "), file.display()),
            )
            .why("One SQLite file allows one writer at a time: the others wait and fail with \"database is locked\", and the instances share every row.")
            .fix("Give each isolated instance its own database (the derived db_{name}.sqlite3), or make the instances one site ([site.NAME] in kovan.toml) if they are one website: remove the DATABASES override, then restart them.".into()),
        );
    }
}

pub(in crate::doctor) fn all_interfaces(
    ws: &Workspace,
    context: &Context,
    findings: &mut Vec<Finding>,
) {
    for r in &context.running {
        let Some(port) = ws.instance(&r.instance).map(|i| i.port) else {
            continue;
        };
        let sockets: BTreeSet<u64> = r
            .members
            .iter()
            .flat_map(|p| platform::socket_inodes(*p))
            .collect();
        let open_to_all = r
            .members
            .iter()
            .take(1)
            .flat_map(|p| platform::listeners_seen_by(*p))
            .any(|l| l.port == port && l.address.is_unspecified() && sockets.contains(&l.inode));
        if open_to_all {
            findings.push(
                Finding::new(
                    FindingKind::ListensOnAllInterfaces,
                    Severity::Warning,
                    vec![r.instance.clone()],
                    format!("{} listens on every network interface (0.0.0.0:{port}), not only 127.0.0.1", r.instance),
                )
                .why("A development server with DEBUG on is reachable from the network: anyone on it sees tracebacks and settings.")
                .fix(format!("Run it on 127.0.0.1:{port} (Kovan's default command does); in a custom command in kovan.toml, replace 0.0.0.0 with 127.0.0.1, then restart.")),
            );
        }
    }
}
