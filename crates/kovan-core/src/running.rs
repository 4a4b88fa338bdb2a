//! Which process group runs each instance right now, whoever started it.
//!
//! The store names the groups Kovan started (the app or `kovan up`), checked against PID reuse by
//! start time. An instance started some other way (a terminal, honcho) is the process listening on
//! its port from the Django root: the same rule the supervisor uses to recognise a lost instance.

use std::path::Path;

use crate::process_table;
use crate::store::Store;
use crate::workspace::Workspace;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningInstance {
    pub instance: String,
    pub pgid: i32,
    /// Live processes of the group.
    pub members: Vec<i32>,
    /// Recorded in the store (started by Kovan), rather than found on the port.
    pub recorded: bool,
}

/// The running instances of `ws`, in kovan.toml's order.
pub fn find(ws: &Workspace, store: Option<&Store>) -> Vec<RunningInstance> {
    let records = store
        .and_then(|s| s.processes(&ws.file).ok())
        .unwrap_or_default();
    let boot = process_table::boot_id();
    ws.instances
        .iter()
        .filter_map(|i| {
            let recorded = records
                .iter()
                .find(|r| r.instance == i.name)
                .filter(|r| {
                    r.boot_id.is_some()
                        && r.boot_id == boot
                        && process_table::is_same_process(r.pid, r.start_time)
                })
                .map(|r| r.pgid);
            let (pgid, recorded) = match recorded {
                Some(pgid) => (pgid, true),
                None => (on_port_from(i.port, &ws.project.django_root)?, false),
            };
            let members = process_table::group_members(pgid);
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
    let owner = process_table::port_owner(port)?;
    (process_table::cwd(owner.pid).as_deref() == Some(root))
        .then(|| process_table::pgid_of(owner.pid))
        .flatten()
}
