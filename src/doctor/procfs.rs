//! What `/proc` says about processes, as doctor needs it: the `Status`
//! fields (uids and supplementary groups), which processes on the host are
//! uWSGI, and the config a process was started with. Reading /proc itself,
//! and the identity rule for pidfiles, are `crate::process`'s, shared with
//! the front end, so that doctor judges a pidfile exactly as start and stop
//! do.
//!
//! Processes come and go while we look: a process that vanished between
//! listing `/proc` and reading its files is simply skipped. Every read is
//! bounded, so a hostile command line cannot make doctor allocate without
//! limit.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::name::Format;
use crate::process::procfs::{self as proc, proc_path, read_proc};

/// Kept here for the fuzz target and the property tests, which exercise
/// doctor's parsers.
pub use crate::process::procfs::split_cmdline;

/// `/proc/PID/status` is a few kB.
const STATUS_CAP: u64 = 64 * 1024;

/// The fields of `/proc/PID/status` that doctor uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: char,
    pub ppid: i32,
    /// Effective uid and gid (the second column of `Uid:`/`Gid:`).
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (`Groups:`), as the kernel has them.
    pub groups: Vec<u32>,
}

/// Parse the text of `/proc/PID/status`. `None` when a needed field is
/// missing or malformed.
pub fn parse_status(text: &str) -> Option<Status> {
    let mut state = None;
    let mut ppid = None;
    let mut uid = None;
    let mut gid = None;
    let mut groups = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "State" => state = value.chars().next(),
            "PPid" => ppid = value.parse().ok(),
            "Uid" => uid = value.split_whitespace().nth(1).and_then(|v| v.parse().ok()),
            "Gid" => gid = value.split_whitespace().nth(1).and_then(|v| v.parse().ok()),
            "Groups" => {
                let parsed: Option<Vec<u32>> =
                    value.split_whitespace().map(|g| g.parse().ok()).collect();
                groups = parsed;
            }
            _ => {}
        }
    }
    Some(Status {
        state: state?,
        ppid: ppid?,
        uid: uid?,
        gid: gid?,
        groups: groups?,
    })
}

pub fn status(pid: i32) -> io::Result<Status> {
    let bytes = read_proc(&proc_path(pid, "status"), STATUS_CAP)?;
    parse_status(&String::from_utf8_lossy(&bytes)).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("/proc/{pid}/status lacks a needed field"),
        )
    })
}

/// Does this program look like uWSGI? The resolved daemon of the layout
/// (`/usr/bin/uwsgi` is an alternatives link to `/usr/bin/uwsgi-core`), or
/// a program named like a uWSGI build (`uwsgi`, `uwsgi-core`,
/// `uwsgi_python3`…), since doctor looks at every uWSGI on the host. Our
/// own applets (`uwsgi-apps`, `uwsgi-enapp`…) are not uWSGI.
pub fn is_uwsgi_program(exe: &Path, daemon: Option<&Path>) -> bool {
    if daemon.is_some_and(|d| proc::same_program(exe, d)) {
        return true;
    }
    exe.file_name().is_some_and(|n| {
        let n = n.as_bytes();
        n == b"uwsgi" || n.starts_with(b"uwsgi-core") || n.starts_with(b"uwsgi_")
    })
}

/// A uWSGI process found in `/proc`.
#[derive(Debug, Clone)]
pub struct UwsgiProcess {
    pub pid: i32,
    pub status: Status,
    pub exe: PathBuf,
    pub cmdline: Vec<OsString>,
    pub cwd: Option<PathBuf>,
}

impl UwsgiProcess {
    /// The config file this process was started with: the last config
    /// option on its command line (the front end passes the inherited
    /// config first and the app's last), made absolute against the
    /// process's working directory (an Emperor starts vassals in their
    /// directory with `--ini NAME.ini`).
    pub fn config(&self) -> Option<PathBuf> {
        let raw = config_argument(&self.cmdline)?;
        let path = PathBuf::from(raw);
        if path.is_absolute() {
            Some(path)
        } else {
            Some(match &self.cwd {
                Some(cwd) => cwd.join(path),
                None => path,
            })
        }
    }

    pub fn is_emperor(&self) -> bool {
        self.cmdline
            .iter()
            .any(|a| a == "--emperor" || a.as_bytes().starts_with(b"--emperor="))
    }

    pub fn is_tyrant(&self) -> bool {
        self.cmdline
            .iter()
            .any(|a| a == "--emperor-tyrant" || a.as_bytes().starts_with(b"--emperor-tyrant="))
    }
}

/// The value of the last config option (`--ini X`, `--ini=X`), or else the
/// last bare argument that has a config extension (`uwsgi site.ini`).
pub fn config_argument(args: &[OsString]) -> Option<&OsStr> {
    let mut found = None;
    let mut bare = None;
    let mut i = 1;
    while i < args.len() {
        let a = args[i].as_bytes();
        let mut matched = false;
        for (name, _) in Format::LOADERS {
            let opt = [b"--", name.as_bytes()].concat();
            let opt = opt.as_slice();
            if a == opt {
                if let Some(v) = args.get(i + 1) {
                    found = Some(v.as_os_str());
                    i += 1;
                }
                matched = true;
                break;
            }
            if a.len() > opt.len() && a.starts_with(opt) && a[opt.len()] == b'=' {
                found = Some(OsStr::from_bytes(&a[opt.len() + 1..]));
                matched = true;
                break;
            }
        }
        if !matched && !a.starts_with(b"-") && Format::of_path(Path::new(&args[i])).is_some() {
            bare = Some(args[i].as_os_str());
        }
        i += 1;
    }
    found.or(bare)
}

/// Every uWSGI process on the host, sorted by PID. Zombies are left out:
/// they run nothing.
pub fn uwsgi_processes(daemon: &Path) -> io::Result<Vec<UwsgiProcess>> {
    let daemon = fs::canonicalize(daemon).ok();
    let mut found = Vec::new();
    for pid in proc::pids()? {
        // Kernel threads and processes of others without permission have no
        // readable exe: not ours to judge.
        let Some(exe) = proc::exe(pid) else { continue };
        if !is_uwsgi_program(&exe, daemon.as_deref()) {
            continue;
        }
        let Ok(status) = status(pid) else { continue };
        if proc::is_exited_state(status.state) {
            continue;
        }
        let cmdline = proc::cmdline(pid).unwrap_or_default();
        found.push(UwsgiProcess {
            pid,
            status,
            exe,
            cmdline,
            cwd: proc::cwd(pid).ok(),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tuwsgi\nState:\tS (sleeping)\nPPid:\t42\n\
        Uid:\t33\t33\t33\t33\nGid:\t33\t34\t33\t33\nGroups:\t 33 1001 \n";

    #[test]
    fn parses_status() {
        let s = parse_status(STATUS).unwrap();
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 42);
        assert_eq!(s.uid, 33);
        assert_eq!(s.gid, 34);
        assert_eq!(s.groups, vec![33, 1001]);
        let empty_groups = STATUS.replace("Groups:\t 33 1001 ", "Groups:\t");
        assert_eq!(
            parse_status(&empty_groups).unwrap().groups,
            Vec::<u32>::new()
        );
        assert_eq!(parse_status("State: R\n"), None);
        assert_eq!(parse_status(""), None);
    }

    #[test]
    fn finds_the_config_argument() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let a = args(&[
            "uwsgi",
            "--ini",
            "/d.ini",
            "--ini",
            "/e/x.ini",
            "--daemonize",
            "/l",
        ]);
        assert_eq!(config_argument(&a), Some(OsStr::new("/e/x.ini")));
        let a = args(&["/usr/bin/uwsgi-core", "--ini", "v1.ini"]);
        assert_eq!(config_argument(&a), Some(OsStr::new("v1.ini")));
        let a = args(&["uwsgi", "--yaml=s.yml"]);
        assert_eq!(config_argument(&a), Some(OsStr::new("s.yml")));
        let a = args(&["uwsgi", "site.ini"]);
        assert_eq!(config_argument(&a), Some(OsStr::new("site.ini")));
        let a = args(&["uwsgi", "--emperor", "/etc/uwsgi/vassals"]);
        assert_eq!(config_argument(&a), None);
        let a = args(&["uwsgi", "--ini"]);
        assert_eq!(config_argument(&a), None);
    }

    #[test]
    fn uwsgi_programs() {
        let daemon = Some(Path::new("/opt/u/bin/server"));
        for yes in [
            "/usr/bin/uwsgi",
            "/usr/bin/uwsgi-core",
            "/usr/bin/uwsgi_python311",
            "/opt/u/bin/server",
        ] {
            assert!(is_uwsgi_program(Path::new(yes), daemon), "{yes}");
        }
        for no in [
            "/usr/sbin/uwsgi-apps",
            "/usr/sbin/uwsgi-enapp",
            "/usr/bin/python3",
            "/uwsgix",
        ] {
            assert!(!is_uwsgi_program(Path::new(no), daemon), "{no}");
        }
    }
}
