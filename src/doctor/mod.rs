//! `uwsgi-apps doctor`: findings about the layout and what runs.
//!
//! Each check adds `Finding`s (a severity, what it concerns, what is wrong,
//! and what to do); nothing is changed on disk or in any process. The exit
//! status is 1 when any finding is an error, else 0: warnings and notes
//! describe a working system that could be better.
//!
//! The checks, one module each:
//! * `layout`: the links and files of `NSs-enabled`/`NSs-available`;
//! * `permissions`: configs, and the files they pull in, that someone
//!   other than root can change, and includes that cannot be followed;
//! * `configs`: configs that cannot be read, or from which uWSGI reads
//!   nothing, unknown users, groups and plugins;
//! * `after_drop`: files uWSGI would create in the root-owned run dir
//!   after dropping privileges;
//! * `runtime`: pidfiles, runtime dirs, enabled vs running;
//! * `groups`: every uWSGI process on the host against the group database
//!   (the Emperor "Tyrant mode" pitfall).

pub(crate) mod after_drop;
pub(crate) mod configs;
pub(crate) mod engines;
pub(crate) mod groups;
pub(crate) mod layout;
pub(crate) mod permissions;
pub mod procfs;
pub(crate) mod runtime;
pub mod sockets;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::config::tree::{self, ConfigTree};
use crate::config::{ConfigOptions, RunAs};
use crate::discovery::{self, Discovery};

use crate::error::Result;
use crate::exit::ExitStatus;
use crate::layout::Layout;
use crate::name::{Confspec, Namespace};
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Path(PathBuf),
    /// A running process, and the config it was started with when known.
    Process {
        pid: i32,
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// A stable identifier of the check, for scripts (`dangling-link`).
    pub check: &'static str,
    pub subject: Subject,
    /// The app it concerns, when it concerns one (used by `doctor NAME`).
    pub app: Option<Confspec>,
    /// What is wrong, one sentence; names are already sanitised.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl Finding {
    pub fn path(
        severity: Severity,
        check: &'static str,
        path: impl Into<PathBuf>,
        app: Option<Confspec>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Finding {
        Finding {
            severity,
            check,
            subject: Subject::Path(path.into()),
            app,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// Checks about the layout as a whole, shown even when doctor is asked
/// about some apps only: each of them affects every app.
const GLOBAL_CHECKS: [&str; 4] = [
    "directory-is-link",
    "not-a-directory",
    "unreadable-directory",
    "proc-unreadable",
];

/// What `doctor` looks at: everything, or the named apps only.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Empty: every app of every namespace, and every uWSGI process.
    pub apps: Vec<Confspec>,
}

impl Scope {
    pub fn everything(&self) -> bool {
        self.apps.is_empty()
    }

    fn wants(&self, f: &Finding) -> bool {
        if self.everything() {
            return true;
        }
        match &f.app {
            Some(app) => self.apps.contains(app),
            // Findings about the directories themselves concern every app;
            // other entries and processes that are not one of the named
            // apps do not.
            None => GLOBAL_CHECKS.contains(&f.check),
        }
    }
}

/// The per-namespace facts that several checks share, gathered once.
pub struct NamespaceFacts {
    pub ns: Namespace,
    pub discovery: Discovery,
    /// The options of each enabled config that could be read, by confname.
    pub options: BTreeMap<OsString, ConfigOptions>,
    /// Who each enabled instance runs as, when its config says it clearly.
    pub run_as: BTreeMap<OsString, RunAs>,
    /// The instances whose pidfile names their live uWSGI master.
    pub running: BTreeMap<OsString, i32>,
    /// Everything each enabled instance loads: the inherited config (when
    /// it exists), its config, and what they pull in.
    pub trees: BTreeMap<OsString, ConfigTree>,
    /// The inherited config each tree starts with, if any: the app's
    /// config is then top file 1 of the tree, else 0.
    pub inherited: Option<PathBuf>,
}

impl NamespaceFacts {
    /// Which top file of a tree is the app's own config.
    pub fn app_top(&self) -> usize {
        usize::from(self.inherited.is_some())
    }
}

/// Run every check and return the findings, errors first, in a stable
/// order.
pub fn diagnose(layout: &Layout, scope: &Scope) -> Result<Vec<Finding>> {
    let namespaces: Vec<Namespace> = if scope.everything() {
        discovery::namespaces(layout)?
    } else {
        let set: BTreeSet<Namespace> = scope.apps.iter().map(|a| a.namespace.clone()).collect();
        set.into_iter().collect()
    };

    let mut findings = Vec::new();
    let (settings, settings_warnings) = Settings::load(layout);
    let inherited_options =
        configs::check_settings(layout, &settings_warnings, &settings, &mut findings);
    layout::check_config_dir(layout, &mut findings);
    let mut facts = Vec::new();
    for ns in namespaces {
        let discovery = match discovery::enabled(layout, &ns) {
            Ok(d) => d,
            Err(e) => {
                findings.push(Finding::path(
                    Severity::Error,
                    "unreadable-directory",
                    layout.enabled_dir(&ns),
                    None,
                    e.to_string(),
                    "fix the directory's permissions; no app of this namespace can be started",
                ));
                Discovery::default()
            }
        };
        let inherited = settings
            .inherited_config
            .clone()
            .filter(|p| p.symlink_metadata().is_ok());
        let trees = discovery
            .instances
            .iter()
            .map(|c| {
                let t = tree::instance(&c.path, c.format, inherited.as_deref(), &c.spec);
                (c.spec.name.clone(), t)
            })
            .collect();
        let mut facts_ns = NamespaceFacts {
            ns,
            discovery,
            options: BTreeMap::new(),
            run_as: BTreeMap::new(),
            running: BTreeMap::new(),
            trees,
            inherited,
        };
        layout::check(layout, &facts_ns, &mut findings);
        permissions::check(layout, &settings, &facts_ns, &mut findings);
        configs::check(&settings, &mut facts_ns, &mut findings);
        facts.push(facts_ns);
    }

    let processes = match procfs::uwsgi_processes(layout.daemon()) {
        Ok(p) => p,
        Err(e) => {
            findings.push(Finding::path(
                Severity::Warning,
                "proc-unreadable",
                "/proc",
                None,
                format!("cannot list processes: {e}"),
                "mount /proc; without it nothing that runs can be checked",
            ));
            Vec::new()
        }
    };
    let mut plugin_dir = configs::PluginDir::new(layout.daemon());
    for f in &mut facts {
        configs::check_plugins(f, &mut plugin_dir, &mut findings);
        after_drop::check(layout, f, &mut findings);
        runtime::check(layout, f, &mut findings);
        sockets::check(f, inherited_options.as_ref(), &mut findings);
    }
    groups::check(layout, &processes, &facts, &mut findings);
    groups::check_tyrants(&processes, &mut findings);
    engines::check(layout, &settings, &processes, &facts, &mut findings);

    if !scope.everything() {
        for app in &scope.apps {
            if !app_is_known(layout, &facts, app) {
                findings.push(Finding::path(
                    Severity::Error,
                    "unknown-app",
                    layout.available_dir(&app.namespace),
                    Some(app.clone()),
                    format!("no app {app}: it is neither available, enabled nor running"),
                    "check the name (uwsgi-apps list shows every app)",
                ));
            }
        }
    }

    findings.retain(|f| scope.wants(f));
    // Errors first; the order within one severity is the order of the
    // checks, which follows the layout and is stable from run to run.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Ok(findings)
}

fn app_is_known(layout: &Layout, facts: &[NamespaceFacts], app: &Confspec) -> bool {
    let enabled = facts
        .iter()
        .any(|f| f.ns == app.namespace && f.discovery.find(&app.name).is_some());
    let available = discovery::available(layout, &app.namespace)
        .map(|apps| apps.iter().any(|a| a.confname == app.name))
        .unwrap_or(false);
    enabled || available || layout.run_dir(app).symlink_metadata().is_ok()
}

/// The worst severity decides the exit status: an error fails the run.
pub fn exit_status(findings: &[Finding]) -> ExitStatus {
    ExitStatus::merge_all(findings.iter().map(|f| match f.severity {
        Severity::Error => ExitStatus::Failure,
        Severity::Warning | Severity::Info => ExitStatus::Success,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: Severity) -> Finding {
        Finding::path(severity, "t", "/x", None, "m", "h")
    }

    #[test]
    fn only_errors_fail() {
        assert_eq!(exit_status(&[]), ExitStatus::Success);
        assert_eq!(
            exit_status(&[finding(Severity::Info), finding(Severity::Warning)]),
            ExitStatus::Success
        );
        assert_eq!(
            exit_status(&[finding(Severity::Info), finding(Severity::Error)]),
            ExitStatus::Failure
        );
    }
}
