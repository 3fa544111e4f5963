//! Runtime checks: pidfiles, runtime directories, and whether what is
//! enabled runs and what runs is enabled.
//!
//! A pidfile is trusted only under the front end's identity rule (alive,
//! not a zombie, running the uWSGI program). Nothing here follows a
//! pidfile that is a symbolic link: it is reported, never read.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::Path;

use super::{Finding, NamespaceFacts, Severity};
use crate::display::{display_name, display_path};
use crate::layout::Layout;
use crate::name::Confspec;
use crate::process::{pidfile, Daemon, Identity};

/// What a pidfile says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pidfile {
    Missing,
    /// A symbolic link: never followed (it could point at any file).
    Link,
    NotAFile,
    Garbage,
    Pid(i32),
    Unreadable(String),
}

/// Parse the content of a pidfile: a positive decimal number, with
/// surrounding white space allowed. The front end's parser, so that doctor
/// and start/stop agree on what a pidfile says.
pub fn parse_pid(bytes: &[u8]) -> Option<i32> {
    pidfile::parse(bytes).pid()
}

pub fn read_pidfile(path: &Path) -> Pidfile {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Pidfile::Missing,
        Err(e) => Pidfile::Unreadable(e.to_string()),
        Ok(m) if m.file_type().is_symlink() => Pidfile::Link,
        Ok(m) if !m.is_file() => Pidfile::NotAFile,
        // O_NOFOLLOW: the file could have been swapped for a link since the
        // lstat above.
        Ok(_) => match open_nofollow(path).and_then(|f| {
            use std::io::Read;
            let mut buf = Vec::new();
            // One byte more than a pidfile may hold, so that a longer file
            // is seen as garbage, not cut to a PID.
            f.take(pidfile::MAX_PIDFILE + 1)
                .read_to_end(&mut buf)
                .map(|_| buf)
        }) {
            Ok(bytes) => parse_pid(&bytes).map_or(Pidfile::Garbage, Pidfile::Pid),
            Err(e) => Pidfile::Unreadable(e.to_string()),
        },
    }
}

fn open_nofollow(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

pub fn check(layout: &Layout, facts: &mut NamespaceFacts, findings: &mut Vec<Finding>) {
    let ns = &facts.ns;
    let ns_dir = layout.run_namespace_dir(ns);
    let mut running: BTreeSet<OsString> = BTreeSet::new();
    // The front end's identity rule, resolved once for every pidfile.
    let daemon = Daemon::new(layout.daemon());

    let mut names: Vec<OsString> = match fs::read_dir(&ns_dir) {
        Ok(entries) => entries.flatten().map(|e| e.file_name()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    for name in names {
        let Ok(spec) = Confspec::new(ns.clone(), name.clone()) else {
            continue;
        };
        let run_dir = layout.run_dir(&spec);
        let shown = display_name(&spec.name);
        let enabled = facts.discovery.find(&spec.name).is_some();
        let foreign = match fs::symlink_metadata(&run_dir) {
            Ok(m) if m.file_type().is_symlink() => {
                findings.push(Finding::path(
                    Severity::Error,
                    "runtime-dir-is-link",
                    &run_dir,
                    Some(spec.clone()),
                    "the runtime directory is a symbolic link; the front end never follows it",
                    format!(
                        "remove the link (`rm {}`); start creates a real directory",
                        display_path(&run_dir)
                    ),
                ));
                continue;
            }
            Ok(m) if m.is_dir() => {
                use std::os::unix::fs::MetadataExt;
                // SPEC §4 step 2: root's, and writable by root only (a
                // sticky bit does not help: root writes entries here).
                let mode = m.mode() & 0o7777;
                crate::safety::writable_by_others(m.uid(), m.gid(), mode & !0o1000, true).map(
                    |why| crate::safety::UnsafePath {
                        path: run_dir.clone(),
                        uid: m.uid(),
                        gid: m.gid(),
                        mode,
                        is_dir: true,
                        why,
                    },
                )
            }
            _ => continue,
        };
        let pidfile = layout.pidfile(&spec);
        let state = read_pidfile(&pidfile);
        let stale = |why: String| {
            Finding::path(
                Severity::Warning,
                "stale-pidfile",
                &pidfile,
                Some(spec.clone()),
                format!("stale pidfile: {why}"),
                if enabled {
                    format!("`service uwsgi start {shown}` replaces it")
                } else {
                    format!(
                        "remove the runtime directory: `rm -r {}`",
                        display_path(&run_dir)
                    )
                },
            )
        };
        match state {
            Pidfile::Pid(pid) => match daemon.identify(pid) {
                Identity::Uwsgi => {
                    running.insert(spec.name.clone());
                    facts.running.insert(spec.name.clone(), pid);
                    if !enabled {
                        findings.push(Finding {
                            severity: Severity::Warning,
                            check: "running-not-enabled",
                            subject: super::Subject::Process { pid, config: None },
                            app: Some(spec.clone()),
                            message: format!(
                                "app {shown} runs (pid {pid}) but is not enabled: it will not \
                                 be started at boot, and a reload fails if its config is gone"
                            ),
                            hint: format!(
                                "enable it again (`uwsgi-enapp {shown}`) or stop it (`kill -INT {pid}`)"
                            ),
                        });
                    }
                }
                Identity::Dead => findings.push(stale(format!("process {pid} does not exist"))),
                Identity::Zombie => {
                    findings.push(stale(format!("process {pid} is a zombie (it has exited)")))
                }
                Identity::Other(exe) => findings.push(stale(format!(
                    "process {pid} runs {}, not uWSGI (the PID was reused)",
                    display_path(&exe)
                ))),
            },
            Pidfile::Garbage => findings.push(stale("it does not hold a PID".into())),
            Pidfile::NotAFile => findings.push(stale("it is not a regular file".into())),
            Pidfile::Link => findings.push(Finding::path(
                Severity::Error,
                "pidfile-is-link",
                &pidfile,
                Some(spec.clone()),
                "the pidfile is a symbolic link: it is never followed, read or written",
                format!(
                    "remove it (`rm {}`) and find out who made it",
                    display_path(&pidfile)
                ),
            )),
            Pidfile::Unreadable(e) => findings.push(Finding::path(
                Severity::Warning,
                "unreadable-pidfile",
                &pidfile,
                Some(spec.clone()),
                format!("cannot read the pidfile: {e}"),
                "fix its permissions",
            )),
            Pidfile::Missing => findings.push(Finding::path(
                Severity::Info,
                "leftover-runtime-dir",
                &run_dir,
                Some(spec.clone()),
                "runtime directory without a pidfile (left over by an instance that is gone)",
                format!("remove it: `rm -r {}`", display_path(&run_dir)),
            )),
        }
        if let Some(u) = foreign {
            // A running instance keeps it until it stops (stop removes the
            // run dir); one that does not run cannot start.
            let (severity, effect, fix) = if running.contains(&spec.name) {
                (
                    Severity::Warning,
                    "the next start refuses it",
                    format!(
                        "`service uwsgi restart {shown}` (stop removes it, start makes it anew)"
                    ),
                )
            } else {
                (
                    Severity::Error,
                    "start refuses it",
                    format!(
                        "remove it (`rm -r {}`); start makes it anew, root's",
                        display_path(&run_dir)
                    ),
                )
            };
            findings.push(Finding::path(
                severity,
                "runtime-dir-owner",
                &run_dir,
                Some(spec.clone()),
                format!(
                    "the runtime directory must be root's and writable by root only, but {}: \
                     whoever can write it can plant links where uWSGI and the front end work \
                     as root, so {effect}",
                    u.describe()
                ),
                fix,
            ));
        }
    }

    for config in &facts.discovery.instances {
        if running.contains(&config.spec.name) {
            continue;
        }
        let shown = display_name(&config.spec.name);
        findings.push(Finding::path(
            Severity::Warning,
            "enabled-not-running",
            &config.path,
            Some(config.spec.clone()),
            format!("app {shown} is enabled but does not run"),
            format!(
                "start it (`service uwsgi start {shown}`), or disable it (`uwsgi-disapp {shown}`)"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids() {
        assert_eq!(parse_pid(b"4242\n"), Some(4242));
        assert_eq!(parse_pid(b" 7 "), Some(7));
        for bad in [
            &b""[..],
            b"0",
            b"-1",
            b"+5",
            b"12a",
            b"99999999999",
            b"\xff",
        ] {
            assert_eq!(parse_pid(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn pidfile_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::write(&real, "1\n").unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("pid")).unwrap();
        assert_eq!(read_pidfile(&dir.path().join("pid")), Pidfile::Link);
        assert_eq!(read_pidfile(&real), Pidfile::Pid(1));
        assert_eq!(read_pidfile(&dir.path().join("none")), Pidfile::Missing);
        assert_eq!(read_pidfile(dir.path()), Pidfile::NotAFile);
    }
}
