//! What /proc says about a process: its state, program, parent,
//! environment and start time. Every reader answers `None` when the process
//! is gone (or was never there): a process can exit between any two reads.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn proc_path(pid: i32, what: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{what}"))
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

/// A zombie or dead task has exited: it only waits for its parent (and
/// PID 1 here does not reap), so it must never count as running.
pub fn is_exited_state(state: char) -> bool {
    matches!(state, 'Z' | 'X' | 'x')
}

pub fn parent(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
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

/// Whether the process's initial environment holds exactly `entry`
/// (`KEY=VALUE`): `None` when it has none to show (it is exiting: its
/// memory is gone) or cannot be read. Only the first 1 MiB is read.
pub fn environ_holds(pid: i32, entry: &[u8]) -> Option<bool> {
    let file = fs::File::open(proc_path(pid, "environ")).ok()?;
    let mut bytes = Vec::new();
    file.take(1 << 20).read_to_end(&mut bytes).ok()?;
    if bytes.is_empty() {
        return None;
    }
    Some(bytes.split(|&b| b == 0).any(|e| e == entry))
}

/// `environ_holds`, with "cannot tell" as no.
pub fn environ_contains(pid: i32, entry: &[u8]) -> bool {
    environ_holds(pid, entry) == Some(true)
}

/// The whole environment, as `KEY=VALUE` entries.
pub fn environ(pid: i32) -> Option<Vec<Vec<u8>>> {
    let bytes = fs::read(proc_path(pid, "environ")).ok()?;
    Some(
        bytes
            .split(|&b| b == 0)
            .filter(|e| !e.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
    )
}

/// Every live process whose parent is `parent`. One pass over /proc (the
/// kernel here has no /proc/PID/task/TID/children).
pub fn children_of(parent_pid: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
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

/// How long the process has run.
pub fn uptime(pid: i32) -> Option<Duration> {
    let start_ticks: u64 = stat_fields(pid)?.get(19)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz).ok().filter(|&h| h > 0)?;
    let since_boot = fs::read_to_string("/proc/uptime").ok()?;
    let since_boot: f64 = since_boot.split_ascii_whitespace().next()?.parse().ok()?;
    let started = start_ticks as f64 / hz as f64;
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
        assert!(parent(me).is_some());
        assert!(state(i32::MAX).is_none());
    }
}
