//! Supplementary groups of every uWSGI process on the host.
//!
//! A process started the usual way gets every group its user belongs to
//! (uWSGI calls `initgroups` when it drops privileges). An Emperor in
//! Tyrant mode does not: it starts each vassal with the owner of the
//! vassal's config file and *no* supplementary groups, and uWSGI 2.0 has no
//! option to change that (`emperor-tyrant-initgroups` was merged upstream
//! but never released in 2.0.x). The vassal then gets `Permission denied`
//! on, say, a Redis socket that its user may use by group. doctor compares
//! `Groups:` in `/proc/PID/status` with the group database.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;

use nix::unistd::{getgrouplist, Gid, Group, Uid, User};

use super::procfs::UwsgiProcess;
use super::{Finding, NamespaceFacts, Severity, Subject};
use crate::display::{display_name, display_path};
use crate::layout::Layout;

/// The groups the database gives `uid` when it starts with primary `gid`,
/// or `None` when the user is unknown (a raw uid: it has no groups to miss).
pub fn database_groups(uid: u32, gid: u32) -> Option<BTreeSet<u32>> {
    let user = User::from_uid(Uid::from_raw(uid)).ok()??;
    let name = CString::new(user.name.as_bytes()).ok()?;
    let groups = getgrouplist(&name, Gid::from_raw(gid)).ok()?;
    Some(groups.into_iter().map(|g| g.as_raw()).collect())
}

/// The groups of the database that the process lacks: neither its primary
/// group nor among its supplementary groups.
pub fn missing_groups(expected: &BTreeSet<u32>, gid: u32, have: &[u32]) -> Vec<u32> {
    expected
        .iter()
        .copied()
        .filter(|g| *g != gid && !have.contains(g))
        .collect()
}

fn group_label(gid: u32) -> String {
    match Group::from_gid(Gid::from_raw(gid)) {
        Ok(Some(g)) => format!("{} ({gid})", display_name(std::ffi::OsStr::new(&g.name))),
        _ => gid.to_string(),
    }
}

fn primary_label(gid: u32) -> String {
    match Group::from_gid(Gid::from_raw(gid)) {
        Ok(Some(g)) => display_name(std::ffi::OsStr::new(&g.name)),
        _ => gid.to_string(),
    }
}

fn user_label(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(u)) => display_name(std::ffi::OsStr::new(&u.name)),
        _ => uid.to_string(),
    }
}

pub fn check(
    _layout: &Layout,
    processes: &[UwsgiProcess],
    facts: &[NamespaceFacts],
    findings: &mut Vec<Finding>,
) {
    let by_pid: BTreeMap<i32, &UwsgiProcess> = processes.iter().map(|p| (p.pid, p)).collect();
    let mut cache: BTreeMap<(u32, u32), Option<BTreeSet<u32>>> = BTreeMap::new();
    let mut lacking: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
    for p in processes {
        let expected = cache
            .entry((p.status.uid, p.status.gid))
            .or_insert_with(|| database_groups(p.status.uid, p.status.gid));
        let Some(expected) = expected else { continue };
        let missing = missing_groups(expected, p.status.gid, &p.status.groups);
        if !missing.is_empty() {
            lacking.insert(p.pid, missing);
        }
    }

    // Workers inherit their master's groups: one finding for the master,
    // which names how many of its processes share the problem.
    let mut heads: BTreeMap<i32, usize> = BTreeMap::new();
    for (&pid, missing) in &lacking {
        let mut head = pid;
        while let Some(parent) = by_pid.get(&head).and_then(|p| by_pid.get(&p.status.ppid)) {
            let same = lacking.get(&parent.pid) == Some(missing)
                && by_pid[&head].status.uid == parent.status.uid
                && !parent.is_emperor();
            if !same {
                break;
            }
            head = parent.pid;
        }
        *heads.entry(head).or_default() += 1;
    }

    for (head, count) in heads {
        let p = by_pid[&head];
        let missing = &lacking[&head];
        let config = p.config();
        let app = config.as_ref().and_then(|c| {
            facts
                .iter()
                .flat_map(|f| f.discovery.instances.iter())
                .find(|i| &i.path == c)
                .map(|i| i.spec.clone())
        });
        let names: Vec<String> = missing.iter().map(|&g| group_label(g)).collect();
        let emperor = by_pid
            .get(&p.status.ppid)
            .filter(|parent| parent.is_emperor());
        let others = if count > 1 {
            format!(" (and {} more of its processes)", count - 1)
        } else {
            String::new()
        };
        let config_shown = config
            .as_ref()
            .map(|c| display_path(c))
            .unwrap_or_else(|| "its config".into());
        let add_gid: Vec<String> = missing.iter().map(|g| format!("add-gid = {g}")).collect();
        let mut message = format!(
            "uWSGI process {head}{others} runs as {} without the supplementary group(s) {} \
             that the group database gives its user; it gets `Permission denied` on files \
             and sockets of those groups",
            user_label(p.status.uid),
            names.join(", ")
        );
        let hint = match emperor {
            Some(e) => {
                let tyrant = if e.is_tyrant() {
                    "in Tyrant mode"
                } else {
                    "(in Tyrant mode, when set in its config)"
                };
                message.push_str(&format!(
                    ". It is a vassal of the Emperor (pid {}) {tyrant}, which starts vassals \
                     as the owner of their config file without supplementary groups",
                    e.pid
                ));
                format!(
                    "run the Emperor without --emperor-tyrant and set `uid = {user}` and \
                     `gid = {group}` in {config_shown} (uWSGI then gives the vassal every group \
                     of its user, and `{add}` adds more), or use uWSGI's \
                     emperor-tyrant-initgroups where available (not in uWSGI 2.0.x); `add-gid` \
                     alone does not help in Tyrant mode: the vassal starts unprivileged and \
                     cannot add groups. Then restart the vassal. {MOVE_TO_ENGINE}",
                    user = user_label(p.status.uid),
                    group = primary_label(p.status.gid),
                    add = add_gid.join("`, `"),
                )
            }
            None => format!(
                "if the user was added to the group(s) after the process started, restart it; \
                 otherwise let uWSGI set the groups: drop `no-initgroups` from {config_shown}, \
                 or add `{}`",
                add_gid.join("`, `")
            ),
        };
        findings.push(Finding {
            severity: Severity::Warning,
            check: "missing-groups",
            subject: Subject::Process { pid: head, config },
            app,
            message,
            hint,
        });
    }
}

/// How to leave a Tyrant-mode Emperor (Fedora's `/etc/uwsgi.d`) for this
/// package's Emperor engine, whose vassals keep their groups.
pub const MOVE_TO_ENGINE: &str = "To move such an app to this package's own Emperor: put its \
     config in /etc/uwsgi/apps-available/NAME.ini owned by root and writable only by root, with \
     `uid` and `gid` of the app's user in it; `uwsgi-enapp NAME`; set ENGINE=emperor in \
     /etc/default/uwsgi; `uwsgi-apps start NAME`; then remove its config from the Tyrant's \
     directory (its Emperor runs as root without Tyrant mode, so vassals keep their groups, \
     and start refuses a config others can change)";

/// Every Emperor in Tyrant mode on the host, as information: its vassals
/// run without supplementary groups, and how to move them.
pub fn check_tyrants(processes: &[UwsgiProcess], findings: &mut Vec<Finding>) {
    for e in processes.iter().filter(|p| p.is_emperor() && p.is_tyrant()) {
        findings.push(Finding {
            severity: Severity::Info,
            check: "tyrant-emperor",
            subject: Subject::Process {
                pid: e.pid,
                config: None,
            },
            app: None,
            message: "a uWSGI Emperor runs in Tyrant mode: it starts each vassal as the owner \
                      of its config file, without supplementary groups (uWSGI 2.0.x)"
                .into(),
            hint: MOVE_TO_ENGINE.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ignores_the_primary_group() {
        let expected: BTreeSet<u32> = [33, 1001, 1002].into();
        assert_eq!(missing_groups(&expected, 33, &[]), vec![1001, 1002]);
        assert_eq!(missing_groups(&expected, 33, &[1002, 7]), vec![1001]);
        assert!(missing_groups(&expected, 33, &[33, 1001, 1002]).is_empty());
    }

    #[test]
    fn root_has_its_groups() {
        let g = database_groups(0, 0).unwrap();
        assert!(g.contains(&0));
        assert_eq!(database_groups(4_000_000_000, 0), None);
    }
}
