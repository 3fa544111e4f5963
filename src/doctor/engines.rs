//! Which engine runs each instance, against the one the settings choose;
//! and Debian's own per-app unit, whose stop signal hangs some apps.
//!
//! * `engine-mismatch` (warning): an instance runs, but not under the
//!   configured engine — a daemon started before `ENGINE=systemd`, a unit
//!   left from before `ENGINE=daemon`, a vassal of this layout's Emperor
//!   (`Context::runner`: the engines' own tests). It keeps
//!   working, and every engine's `stop` reaches it; restarting it moves it
//!   to the configured engine.
//! * `debian-unit-sigquit` (warning): an instance of Debian's
//!   `uwsgi-app@.service` (package uwsgi-core) is enabled or runs for an
//!   app with `die-on-term`: that unit stops with SIGQUIT, which makes
//!   uWSGI *reload* such an app, so its stop hangs until systemd's timeout
//!   and ends in SIGKILL.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use crate::config::read_options;
use crate::config::tree::is_true;
use crate::display::display_name;
use crate::layout::Layout;
use crate::name::Format;
use crate::process::procfs;
use crate::settings::Settings;

use super::procfs::UwsgiProcess;
use super::{Finding, NamespaceFacts, Severity, Subject};

pub fn check(
    layout: &Layout,
    settings: &Settings,
    processes: &[UwsgiProcess],
    facts: &[NamespaceFacts],
    findings: &mut Vec<Finding>,
) {
    // Who runs each master, by the engines' own tests.
    let context = crate::service::engine::Context::from_settings(layout, settings);
    let configured = context.engine();
    for f in facts {
        for (name, &pid) in &f.running {
            let Some(config) = f.discovery.find(name) else {
                continue;
            };
            let spec = &config.spec;
            let actual = context.runner(spec, pid);
            if actual == configured {
                continue;
            }
            let word = spec.to_arg();
            findings.push(Finding {
                severity: Severity::Warning,
                check: "engine-mismatch",
                subject: Subject::Process {
                    pid,
                    config: Some(config.path.clone()),
                },
                app: Some(spec.clone()),
                message: format!(
                    "{spec} runs under the {} engine, but ENGINE= in {} chooses {}",
                    actual.name(),
                    crate::display::display_path(&layout.settings_file()),
                    configured.name()
                ),
                hint: format!(
                    "every engine's stop reaches it; to move it: uwsgi-apps restart {}",
                    display_name(&word)
                ),
            });
        }
    }
    debian_units(layout, processes, findings);
}

/// Debian's template, where uwsgi-core installs it.
const DEBIAN_TEMPLATE: [&str; 2] = [
    "lib/systemd/system/uwsgi-app@.service",
    "usr/lib/systemd/system/uwsgi-app@.service",
];

/// Instances of Debian's `uwsgi-app@.service` that are enabled (a link in
/// a `.wants` dir of /etc/systemd/system) or run, whose app (it reads
/// `/etc/uwsgi/apps-available/NAME.ini`) sets `die-on-term`, while the
/// template stops with SIGQUIT.
fn debian_units(layout: &Layout, processes: &[UwsgiProcess], findings: &mut Vec<Finding>) {
    let Some(template) = DEBIAN_TEMPLATE
        .iter()
        .map(|p| layout.under_root(p))
        .find(|p| p.is_file())
    else {
        return;
    };
    if !stops_with_sigquit(&template) {
        return;
    }
    let mut instances: Vec<String> = enabled_instances(&layout.under_root("etc/systemd/system"));
    for p in processes {
        if let Some(unit) = procfs::service_unit(p.pid) {
            if let Some(i) = instance_of(&unit) {
                instances.push(i.to_owned());
            }
        }
    }
    instances.sort();
    instances.dedup();
    for instance in instances {
        let config = layout
            .available_dir(&crate::name::Namespace::app())
            .join(format!("{instance}.ini"));
        let dies_on_term = read_options(&config, Format::Ini)
            .map(|o| o.last("die-on-term").is_some_and(is_true))
            .unwrap_or(false);
        if !dies_on_term {
            continue;
        }
        let unit = format!("uwsgi-app@{instance}.service");
        findings.push(Finding::path(
            Severity::Warning,
            "debian-unit-sigquit",
            template.clone(),
            None,
            format!(
                "{unit} (Debian's unit) stops with SIGQUIT, which makes uWSGI reload an app \
                 with die-on-term such as {}: its stop hangs until systemd's timeout",
                crate::display::display_path(&config)
            ),
            format!(
                "run it as this package's uwsgi@{instance}.service instead (uwsgi-enapp \
                 {instance}; uwsgi-apps start {instance}) and: systemctl disable --now {unit}"
            ),
        ));
    }
}

fn stops_with_sigquit(unit: &Path) -> bool {
    fs::read_to_string(unit).is_ok_and(|text| {
        text.lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("KillSignal="))
            .is_some_and(|v| matches!(v.trim(), "SIGQUIT" | "QUIT" | "3"))
    })
}

/// The instances of `uwsgi-app@` linked from `*.wants` dirs under `dir`.
fn enabled_instances(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for wants in entries.flatten() {
        let name = wants.file_name();
        if !name.to_string_lossy().ends_with(".wants") {
            continue;
        }
        let links: Vec<PathBuf> = fs::read_dir(wants.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        for link in links {
            if let Some(i) = link
                .file_name()
                .and_then(OsStr::to_str)
                .and_then(instance_of)
            {
                found.push(i.to_owned());
            }
        }
    }
    found
}

fn instance_of(unit: &str) -> Option<&str> {
    unit.strip_prefix("uwsgi-app@")?
        .strip_suffix(".service")
        .filter(|i| !i.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_debians_units() {
        let tmp = tempfile::tempdir().unwrap();
        let unit = tmp.path().join("uwsgi-app@.service");
        fs::write(&unit, "[Service]\nKillSignal=SIGQUIT\nType=notify\n").unwrap();
        assert!(stops_with_sigquit(&unit));
        fs::write(&unit, "[Service]\nKillSignal=SIGQUIT\nKillSignal=SIGINT\n").unwrap();
        assert!(!stops_with_sigquit(&unit));
        let wants = tmp.path().join("multi-user.target.wants");
        fs::create_dir(&wants).unwrap();
        std::os::unix::fs::symlink(&unit, wants.join("uwsgi-app@radicale.service")).unwrap();
        std::os::unix::fs::symlink(&unit, wants.join("other.service")).unwrap();
        assert_eq!(enabled_instances(tmp.path()), ["radicale"]);
        assert_eq!(instance_of("uwsgi-app@.service"), None);
        assert!(is_true("true") && is_true("") && !is_true("false"));
    }
}
