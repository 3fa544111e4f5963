//! Runtime checks: pidfiles, runtime directories, and whether what is
//! enabled runs and what runs is enabled.
//!
//! A pidfile is trusted only by the front end's own probe
//! (`Master::of_pidfile`: alive, not a zombie, the uWSGI program, this
//! instance's environment and user), so that doctor never calls running
//! what `status` calls dead. Nothing here follows a pidfile that is a
//! symbolic link: it is reported, never read.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;

use super::{Finding, NamespaceFacts, Severity};
use crate::display::{display_name, display_path};
use crate::layout::Layout;
use crate::name::Confspec;
use crate::process::{Daemon, Identity, Master, Pidfile};

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
        let user = || facts.run_as.get(&spec.name).map(|r| r.uid);
        let probed = Master::of_pidfile(&pidfile, &daemon, &spec, user);
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
        match probed {
            Ok((Some(master), _)) => {
                let pid = master.pid();
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
            // Why the pid is not this instance's master, in the words of
            // the identity rule.
            Ok((None, Pidfile::Pid(pid))) => match daemon.identify(pid) {
                Identity::Uwsgi => findings.push(stale(format!(
                    "process {pid} is uWSGI but not this instance's master (its environment \
                     names another instance, or it runs as another user)"
                ))),
                Identity::Dead => findings.push(stale(format!("process {pid} does not exist"))),
                Identity::Zombie => {
                    findings.push(stale(format!("process {pid} is a zombie (it has exited)")))
                }
                Identity::Other(exe) => findings.push(stale(format!(
                    "process {pid} runs {}, not uWSGI (the PID was reused)",
                    display_path(&exe)
                ))),
            },
            Ok((None, Pidfile::Garbage)) => findings.push(stale("it does not hold a PID".into())),
            Ok((None, Pidfile::NotAFile)) => {
                findings.push(stale("it is not a regular file".into()))
            }
            Ok((None, Pidfile::Link)) => findings.push(Finding::path(
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
            Err(e) => findings.push(Finding::path(
                Severity::Warning,
                "unreadable-pidfile",
                &pidfile,
                Some(spec.clone()),
                e.to_string(),
                "fix its permissions",
            )),
            Ok((None, Pidfile::Missing)) => findings.push(Finding::path(
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
