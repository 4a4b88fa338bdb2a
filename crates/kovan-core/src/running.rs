//! Which process group runs each instance right now, whoever started it.
//!
//! The store names the groups Kovan started (the app or `kovan up`), checked against PID reuse by
//! start time. Without a record (the store damaged, replaced or unreadable) a group Kovan started
//! is still found by the markers every process it starts carries in its environment
//! (`KOVAN_WORKSPACE`, `KOVAN_INSTANCE`). An instance started some other way (a terminal, honcho) is
//! the process listening on its port from the Django root: the same rule the supervisor uses to
//! recognise a lost instance.

use std::path::Path;

use crate::platform;
use crate::store::Store;
use crate::workspace::Workspace;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningInstance {
    pub instance: String,
    pub pgid: i32,
    /// Live processes of the group.
    pub members: Vec<i32>,
    /// Recorded in the store (started by Kovan), rather than found by its markers or on the port.
    pub recorded: bool,
}

/// A process group found by the markers in its processes' environments: Kovan started it for
/// `instance` of the workspace, whatever the store says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkedGroup {
    pub instance: String,
    pub pgid: i32,
    /// The group's live processes that carry both markers.
    pub members: Vec<i32>,
    /// The leader's start time, when the leader is alive and carries the markers itself; None when
    /// only the marked members name the group (its leader exited).
    pub leader_start: Option<u64>,
    /// The port Kovan gave it (`DJANGO_SERVER_PORT` in its environment), when it says.
    pub port: Option<u16>,
}

/// The groups whose processes carry `KOVAN_WORKSPACE = workspace` (the kovan.toml's path, as the
/// supervisor writes it) and a `KOVAN_INSTANCE`, by instance then group number. Processes without
/// both markers are never counted, whatever group or folder they are in.
pub fn marked_groups(workspace: &str) -> Vec<MarkedGroup> {
    use crate::supervisor::group::{INSTANCE_MARKER, WORKSPACE_MARKER};
    let marked = |pid: i32, instance: &str| {
        platform::environ_var(pid, WORKSPACE_MARKER).as_deref() == Some(workspace)
            && platform::environ_var(pid, INSTANCE_MARKER).as_deref() == Some(instance)
    };
    let mut groups: std::collections::BTreeMap<(String, i32), Vec<i32>> = Default::default();
    for (pid, file) in platform::processes_with_env(WORKSPACE_MARKER) {
        if file != workspace {
            continue;
        }
        let (Some(instance), Some(pgid)) = (
            platform::environ_var(pid, INSTANCE_MARKER),
            platform::stat_pgid(pid),
        ) else {
            continue;
        };
        groups.entry((instance, pgid)).or_default().push(pid);
    }
    groups
        .into_iter()
        .map(|((instance, pgid), mut members)| {
            members.sort_unstable();
            let leader_start = (members.contains(&pgid) && marked(pgid, &instance))
                .then(|| platform::start_time(pgid))
                .flatten();
            let port = members.iter().find_map(|&pid| {
                platform::environ_var(pid, "DJANGO_SERVER_PORT")?
                    .parse()
                    .ok()
            });
            MarkedGroup {
                instance,
                pgid,
                members,
                leader_start,
                port,
            }
        })
        .collect()
}

/// The running instances of `ws`, in kovan.toml's order.
pub fn find(ws: &Workspace, store: Option<&Store>) -> Vec<RunningInstance> {
    let records = store
        .and_then(|s| s.processes(&ws.file).ok())
        .unwrap_or_default();
    let boot = platform::boot_id();
    let mut marked: Option<Vec<MarkedGroup>> = None;
    ws.instances
        .iter()
        .filter_map(|i| {
            let recorded = records
                .iter()
                .find(|r| r.instance == i.name)
                .filter(|r| {
                    r.boot_id.is_some()
                        && r.boot_id == boot
                        && platform::is_same_process(r.pid, r.start_time)
                })
                .map(|r| r.pgid);
            let mut by_markers = || {
                marked
                    .get_or_insert_with(|| marked_groups(&ws.file.display().to_string()))
                    .iter()
                    .find(|g| g.instance == i.name)
                    .map(|g| g.pgid)
            };
            let (pgid, recorded) = match recorded {
                Some(pgid) => (pgid, true),
                None => (
                    by_markers().or_else(|| on_port_from(i.port, &ws.project.django_root))?,
                    false,
                ),
            };
            let members = platform::group_members(pgid);
            (!members.is_empty()).then(|| RunningInstance {
                instance: i.name.clone(),
                pgid,
                members,
                recorded,
            })
        })
        .collect()
}

/// The group of the process listening on `port` when it runs from `root`.
fn on_port_from(port: u16, root: &Path) -> Option<i32> {
    let owner = platform::port_owner(port)?;
    (platform::cwd(owner.pid).as_deref() == Some(root))
        .then(|| platform::pgid_of(owner.pid))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    fn sleeper(env: &[(&str, &str)], group: bool) -> std::process::Child {
        let mut c = Command::new("sleep");
        c.arg("300")
            .env_remove("KOVAN_WORKSPACE")
            .env_remove("KOVAN_INSTANCE");
        for (k, v) in env {
            c.env(k, v);
        }
        if group {
            c.process_group(0);
        }
        c.spawn().unwrap()
    }

    #[test]
    fn groups_are_found_by_both_markers_and_nothing_else() {
        let ws = format!("/nowhere/{}/kovan.toml", std::process::id());
        let mut ours = sleeper(
            &[
                ("KOVAN_WORKSPACE", &ws),
                ("KOVAN_INSTANCE", "a"),
                ("DJANGO_SERVER_PORT", "8123"),
            ],
            true,
        );
        // Another workspace's, one with only the workspace marker, one with none.
        let mut other = sleeper(
            &[
                ("KOVAN_WORKSPACE", "/else/kovan.toml"),
                ("KOVAN_INSTANCE", "a"),
            ],
            true,
        );
        let mut half = sleeper(&[("KOVAN_WORKSPACE", &ws)], true);
        let mut plain = sleeper(&[], true);
        let pid = ours.id() as i32;
        let found = marked_groups(&ws);
        assert_eq!(
            found,
            [MarkedGroup {
                instance: "a".into(),
                pgid: pid,
                members: vec![pid],
                leader_start: platform::start_time(pid),
                port: Some(8123),
            }]
        );
        for c in [&mut ours, &mut other, &mut half, &mut plain] {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        assert!(marked_groups(&ws).is_empty(), "gone once they are");
    }

    #[test]
    fn a_marked_process_in_a_group_whose_leader_is_not_marked_names_no_leader() {
        let ws = format!("/nowhere/{}/b/kovan.toml", std::process::id());
        // A shell leads the group without the markers; its child carries them.
        let script = format!(
            "KOVAN_WORKSPACE={ws} KOVAN_INSTANCE=b sleep 300 >/dev/null 2>&1 & echo $!; wait"
        );
        let mut leader = Command::new("sh")
            .args(["-c", &script])
            .env_remove("KOVAN_WORKSPACE")
            .env_remove("KOVAN_INSTANCE")
            .stdout(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(leader.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        let child: i32 = line.trim().parse().unwrap();
        let found = marked_groups(&ws);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (
                found[0].pgid,
                found[0].members.as_slice(),
                found[0].leader_start
            ),
            (leader.id() as i32, [child].as_slice(), None)
        );
        // SAFETY: the test's own processes.
        unsafe { libc::kill(-(leader.id() as i32), libc::SIGKILL) };
        leader.wait().unwrap();
    }
}
