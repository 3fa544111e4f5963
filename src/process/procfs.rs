//! What /proc says about a process: its state, program, parent,
//! environment, command line and start time. Every reader answers `None`
//! (or an error) when the process is gone (or was never there): a process
//! can exit between any two reads. Reads of what a process controls (its
//! command line, its environment) are bounded, so a hostile process cannot
//! make us allocate without limit.
//!
//! Both the front end and doctor read /proc through here, so that they
//! apply the same identity rule (see `identity`).

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A uWSGI command line worth reading is not 1 MB.
const CMDLINE_CAP: u64 = 1 << 20;
/// The environment this program gives an instance's master is a few
/// hundred bytes; reading more of a process's environment than this only
/// lets a hostile process cost us memory and time (a stand-in with a
/// 2.7 MB environment made `status` grow from 4 to 28 MB).
const ENVIRON_CAP: u64 = 64 << 10;

/// `/proc/PID/WHAT`.
pub fn proc_path(pid: i32, what: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{what}"))
}

/// Read at most `cap` bytes of a file in /proc (`config::read_at_most`;
/// what lies beyond the cap is not needed, so it is cut, not refused).
pub fn read_proc(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    crate::config::read_at_most(fs::File::open(path)?, cap)
}

/// Every PID in /proc, ascending.
pub fn pids() -> io::Result<Vec<i32>> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc")? {
        let entry = entry?;
        if let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    Ok(pids)
}

/// The fields of /proc/PID/stat after the command name, which is in
/// parentheses and may itself hold spaces and parentheses: split after the
/// last `)`.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let bytes = fs::read(proc_path(pid, "stat")).ok()?;
    parse_stat_fields(&bytes)
}

fn parse_stat_fields(bytes: &[u8]) -> Option<Vec<String>> {
    let close = bytes.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(bytes.get(close + 1..)?).ok()?;
    Some(rest.split_ascii_whitespace().map(str::to_owned).collect())
}

/// The one-letter state (`R`, `S`, `Z`, …).
pub fn state(pid: i32) -> Option<char> {
    stat_fields(pid)?.first()?.chars().next()
}

/// The parent's pid.
pub fn ppid(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// A zombie or dead task has exited: it only waits for its parent (and
/// PID 1 here does not reap), so it must never count as running.
pub fn is_exited_state(state: char) -> bool {
    matches!(state, 'Z' | 'X' | 'x')
}

/// The program the process runs, with the " (deleted)" mark that Linux
/// adds when the file was replaced (a package upgrade) taken off: the
/// process still runs that program's path.
pub fn exe(pid: i32) -> Option<PathBuf> {
    let link = fs::read_link(proc_path(pid, "exe")).ok()?;
    let bytes = link.as_os_str().as_bytes();
    Some(match bytes.strip_suffix(b" (deleted)") {
        Some(stripped) => PathBuf::from(OsStr::from_bytes(stripped)),
        None => link,
    })
}

/// The process's command line (bounded to 1 MiB).
pub fn cmdline(pid: i32) -> io::Result<Vec<OsString>> {
    let bytes = read_proc(&proc_path(pid, "cmdline"), CMDLINE_CAP)?;
    Ok(split_cmdline(&bytes))
}

/// The arguments of a NUL-separated command line (each one ends in a NUL).
pub fn split_cmdline(bytes: &[u8]) -> Vec<OsString> {
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(|a| OsString::from_vec(a.to_vec()))
        .collect()
}

/// The process's working directory.
pub fn cwd(pid: i32) -> io::Result<PathBuf> {
    fs::read_link(proc_path(pid, "cwd"))
}

/// The values of the environment variables `keys` in the process's
/// initial environment (its first 64 KiB), in the order of `keys`; `None`
/// for a key that is not there (or when nothing can be read).
pub fn environ_values(pid: i32, keys: &[&[u8]]) -> Vec<Option<Vec<u8>>> {
    let Ok(bytes) = read_proc(&proc_path(pid, "environ"), ENVIRON_CAP) else {
        return vec![None; keys.len()];
    };
    let mut found = vec![None; keys.len()];
    for entry in bytes.split(|&b| b == 0) {
        let Some(eq) = entry.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (key, value) = (&entry[..eq], &entry[eq + 1..]);
        if let Some(k) = keys.iter().position(|k| *k == key) {
            // The first entry wins, as getenv() finds it.
            found[k].get_or_insert_with(|| value.to_vec());
        }
    }
    found
}

/// The real uid of a process (the first field of `Uid:`).
pub fn real_uid(pid: i32) -> Option<u32> {
    let text = fs::read_to_string(proc_path(pid, "status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Every live child of `parent`. The kernel lists each thread's children
/// in /proc/PID/task/TID/children: reading those costs a few small reads
/// per process, where a pass over /proc costs one read per process on the
/// host (and a start of N instances would make N such passes). Kernels
/// without that file get the pass over /proc.
pub fn children(parent_pid: i32) -> Vec<i32> {
    match children_from_tasks(parent_pid) {
        Some(found) => found
            .into_iter()
            .filter(|&c| state(c).is_some_and(|s| !is_exited_state(s)))
            .collect(),
        None => children_by_scan(parent_pid),
    }
}

fn children_from_tasks(parent_pid: i32) -> Option<Vec<i32>> {
    let tasks = fs::read_dir(proc_path(parent_pid, "task")).ok()?;
    let mut found = Vec::new();
    for task in tasks.flatten() {
        let text = fs::read_to_string(task.path().join("children")).ok()?;
        found.extend(
            text.split_ascii_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    found.sort_unstable();
    found.dedup();
    Some(found)
}

/// Every live process whose parent is `parent`: one pass over /proc.
fn children_by_scan(parent_pid: i32) -> Vec<i32> {
    let Ok(pids) = pids() else {
        return Vec::new();
    };
    pids.into_iter()
        .filter(|&pid| {
            stat_fields(pid).is_some_and(|f| {
                f.get(1).and_then(|p| p.parse::<i32>().ok()) == Some(parent_pid)
                    && f.first()
                        .and_then(|s| s.chars().next())
                        .is_some_and(|s| !is_exited_state(s))
            })
        })
        .collect()
}

/// When the process started, in clock ticks since boot: with the pid, it
/// names one process for good (a pid alone is handed out again).
pub fn start_ticks(pid: i32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

fn seconds_since_boot() -> Option<f64> {
    let text = fs::read_to_string("/proc/uptime").ok()?;
    text.split_ascii_whitespace().next()?.parse().ok()
}

/// A start time in clock ticks since boot (field 22 of /proc/PID/stat) in
/// seconds.
fn ticks_to_seconds(ticks: &str) -> Option<f64> {
    let ticks: u64 = ticks.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz).ok().filter(|&h| h > 0)?;
    Some(ticks as f64 / hz as f64)
}

/// How long the process has run.
pub fn uptime(pid: i32) -> Option<Duration> {
    let started = ticks_to_seconds(stat_fields(pid)?.get(19)?)?;
    let since_boot = seconds_since_boot()?;
    Some(Duration::from_secs_f64((since_boot - started).max(0.0)))
}

/// Whether `path` names the same file as `daemon` once links are resolved
/// (`/usr/bin/uwsgi` is an alternatives link to `/usr/bin/uwsgi-core`).
pub fn same_program(exe: &Path, daemon: &Path) -> bool {
    exe == daemon || fs::canonicalize(exe).is_ok_and(|e| e == daemon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_read_from_stat() {
        let me = std::process::id() as i32;
        assert_eq!(
            ppid(me),
            Some(rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get()))
        );
        assert_eq!(ppid(-1), None);
    }

    #[test]
    fn stat_fields_survive_odd_command_names() {
        let f = parse_stat_fields(b"42 (a) b (c)) S 1 42 42 0").unwrap();
        assert_eq!(f[0], "S");
        assert_eq!(f[1], "1");
        assert!(parse_stat_fields(b"garbage").is_none());
    }

    #[test]
    fn this_process_is_visible() {
        let me = std::process::id() as i32;
        assert!(state(me).is_some_and(|s| !is_exited_state(s)));
        assert_eq!(exe(me), std::env::current_exe().ok());
        assert!(uptime(me).is_some());
        assert!(stat_fields(me)
            .and_then(|f| f.get(1)?.parse::<i32>().ok())
            .is_some());
        assert!(state(i32::MAX).is_none());
        assert!(pids().unwrap().contains(&me));
        assert_eq!(cwd(me).ok(), std::env::current_dir().ok());
        assert!(!cmdline(me).unwrap().is_empty());
    }

    #[test]
    fn splits_cmdline() {
        assert_eq!(
            split_cmdline(b"a\0b c\0"),
            vec![OsString::from("a"), "b c".into()]
        );
        assert!(split_cmdline(b"").is_empty());
    }
}

/// Whether one of the process's threads sleeps waiting for events
/// (epoll, poll, select, accept): a server process that has reached its
/// event loop. A threaded uWSGI worker's main thread sleeps in a futex
/// while its other threads wait for requests.
pub fn any_thread_waits_for_events(pid: i32) -> bool {
    let Ok(tasks) = fs::read_dir(proc_path(pid, "task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        let dir = task.path();
        let sleeping = fs::read(dir.join("stat"))
            .ok()
            .and_then(|b| parse_stat_fields(&b))
            .is_some_and(|f| f.first().is_some_and(|s| s == "S"));
        sleeping
            && fs::read_to_string(dir.join("wchan")).is_ok_and(|wchan| {
                ["epoll", "poll", "select", "accept"]
                    .iter()
                    .any(|w| wchan.contains(w))
            })
    })
}

/// The set of signals the process has handlers for (SigCgt).
pub fn caught_signals(pid: i32) -> Option<u64> {
    let text = fs::read_to_string(proc_path(pid, "status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// Whether the process will run a handler for `signal` now: it has one
/// (SigCgt), and neither blocks nor ignores it. Read from /proc/PID/status.
pub fn handles_signal(pid: i32, signal: i32) -> bool {
    let Ok(text) = fs::read_to_string(proc_path(pid, "status")) else {
        return false;
    };
    signal_masks_handle(&text, signal)
}

fn signal_masks_handle(status: &str, signal: i32) -> bool {
    if !(1..=64).contains(&signal) {
        return false;
    }
    let bit = 1u64 << (signal - 1);
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    };
    match (mask("SigCgt:"), mask("SigBlk:"), mask("SigIgn:")) {
        (Some(cgt), Some(blk), Some(ign)) => cgt & bit != 0 && blk & bit == 0 && ign & bit == 0,
        _ => false,
    }
}

#[cfg(test)]
mod signal_tests {
    use super::*;

    #[test]
    fn signal_masks() {
        let s = "Name:\tx\nSigBlk:\t0000000000000000\nSigIgn:\t0000000181000000\nSigCgt:\t0000000008085e83\n";
        assert!(signal_masks_handle(s, 2));
        assert!(!signal_masks_handle(s, 3));
        let blocked = s.replace("SigBlk:\t0000000000000000", "SigBlk:\t0000000000000002");
        assert!(!signal_masks_handle(&blocked, 2));
        assert!(!signal_masks_handle("", 2));
        assert!(!signal_masks_handle(s, 0));
    }
}

/// The systemd unit whose cgroup holds the process: the last `*.service`
/// component of its cgroup path (`0::/system.slice/uwsgi@x.service` on a
/// unified host, the `name=systemd` line on a hybrid one). `None` for a
/// process outside any service (a daemon started from a shell).
pub fn service_unit(pid: i32) -> Option<String> {
    let text = fs::read_to_string(proc_path(pid, "cgroup")).ok()?;
    unit_of_cgroups(&text)
}

fn unit_of_cgroups(text: &str) -> Option<String> {
    text.lines()
        .filter(|l| l.starts_with("0::") || l.contains(":name=systemd:"))
        .find_map(|l| {
            let path = l.splitn(3, ':').nth(2)?;
            path.split('/')
                .rev()
                .find(|c| c.ends_with(".service"))
                .map(str::to_owned)
        })
}

#[cfg(test)]
mod cgroup_tests {
    use super::*;

    #[test]
    fn finds_the_service_of_a_cgroup() {
        assert_eq!(
            unit_of_cgroups("0::/system.slice/system-uwsgi.slice/uwsgi@hello.service\n").as_deref(),
            Some("uwsgi@hello.service")
        );
        assert_eq!(
            unit_of_cgroups("4:memory:/x\n1:name=systemd:/system.slice/uwsgi.service\n0::/\n")
                .as_deref(),
            Some("uwsgi.service")
        );
        assert_eq!(
            unit_of_cgroups("0::/user.slice/user-0.slice/session-3.scope\n"),
            None
        );
        assert_eq!(unit_of_cgroups(""), None);
    }
}
