//! The engine seam: what runs the instances. The planner (`service`)
//! decides which instances, takes their locks, orders and prints the
//! results; below it an engine starts, stops, reloads and inspects a set
//! of instances, each launched by the one recipe (`service::recipe`).
//!
//! * `daemon` — one detached uWSGI per app, run by this program (SPEC §4);
//! * `systemd` — one `uwsgi@NAME.service` unit per app;
//! * `emperor` — one uWSGI Emperor over this program's vassal links;
//! * `reload` — the reload that every engine knowing the master's pid
//!   shares.
//!
//! A new engine is a new file here and one arm in `select`
//! (docs/design.md).

pub mod daemon;
pub mod emperor;
pub mod reload;
pub mod systemd;

use std::time::Duration;

use crate::discovery::EnabledConfig;
use crate::layout::Layout;
use crate::name::Confspec;
use crate::process::{procfs, Daemon, Master, Pidfile};
use crate::settings::{EngineKind, Settings};

use super::plan::Options;
use super::recipe::Recipe;
use super::report::{InstanceStatus, Outcome};

/// One instance as an engine sees it: its confspec, and its config when
/// it is enabled (a stop also reaches an instance whose config is gone).
#[derive(Debug, Clone, Copy)]
pub struct Instance<'t> {
    pub spec: &'t Confspec,
    pub config: Option<&'t EnabledConfig>,
}

/// What an engine reports for one instance.
#[derive(Debug, Clone)]
pub struct Finished {
    pub outcome: Outcome,
    pub warnings: Vec<String>,
}

impl Finished {
    pub fn new(outcome: Outcome) -> Finished {
        Finished {
            outcome,
            warnings: Vec::new(),
        }
    }

    pub fn failed(reason: impl Into<String>) -> Finished {
        Finished::new(Outcome::failed(reason))
    }
}

/// Where an engine hands each instance's result, by its index in the
/// batch, as soon as it is known (from any thread).
pub type Sink<'s> = &'s (dyn Fn(usize, Finished) + Sync);

/// Start, stop, reload and inspect instances. The planner calls these
/// with the instances' locks held, each instance once.
pub trait Engine: Sync {
    /// Start every instance (each has its config) and wait until each is
    /// ready or has failed.
    fn start(&self, batch: &[Instance<'_>], done: Sink<'_>);
    /// Stop every instance and wait until each has exited.
    fn stop(&self, batch: &[Instance<'_>], done: Sink<'_>);
    /// Reload gracefully (SIGHUP), or brutally with `force` (SIGTERM).
    fn reload(&self, batch: &[Instance<'_>], force: bool, done: Sink<'_>);
    /// Whether the instance runs (LSB).
    fn status(&self, instance: Instance<'_>) -> InstanceStatus;
}

/// What every engine works with.
pub struct Context<'a> {
    pub layout: &'a Layout,
    pub settings: &'a Settings,
    pub options: Options,
    pub daemon: Daemon,
}

impl<'a> Context<'a> {
    /// A context with the options the settings file chooses (no command
    /// line to override them).
    pub fn from_settings(layout: &'a Layout, settings: &'a Settings) -> Context<'a> {
        Context::new(layout, settings, Options::from_settings(settings))
    }

    pub fn new(layout: &'a Layout, settings: &'a Settings, options: Options) -> Context<'a> {
        Context {
            layout,
            settings,
            options,
            daemon: Daemon::new(layout.daemon()),
        }
    }

    /// The engine the settings choose on this layout.
    pub fn engine(&self) -> EngineKind {
        self.settings.engine.resolve(self.layout)
    }

    pub fn recipe(&self) -> Recipe<'a> {
        Recipe::new(self.layout, self.settings, self.options.check_permissions)
    }

    /// The master of an instance, if its pidfile names one, and what the
    /// pidfile held. Every engine has uWSGI write the pidfile at the same
    /// place (the recipe's `--pidfile`), so this is the one probe of them
    /// all. With its config, the master must also run as root or as the
    /// uid the config says (read only when the pidfile names a process, so
    /// that 1,000 stopped instances cost no config reads).
    pub fn probe(&self, instance: Instance<'_>) -> crate::error::Result<(Option<Master>, Pidfile)> {
        Master::of_pidfile(
            &self.layout.pidfile(instance.spec),
            &self.daemon,
            instance.spec,
            || {
                instance
                    .config
                    .and_then(|c| self.recipe().run_as(c).ok())
                    .map(|r| r.uid)
            },
        )
    }

    /// LSB status from the pidfile and the identity rule.
    pub fn pidfile_status(&self, instance: Instance<'_>) -> InstanceStatus {
        match self.probe(instance) {
            Ok((Some(m), _)) => InstanceStatus::Running { pid: m.pid() },
            Ok((None, Pidfile::Missing)) => InstanceStatus::NotRunning,
            Ok((None, _)) => InstanceStatus::Dead,
            // An unreadable pidfile exists and proves nothing.
            Err(_) => InstanceStatus::Dead,
        }
    }

    /// An instance stopped, with `outcome`: its master is gone, so its
    /// runtime dir goes too. A failure to clean it is a warning: the
    /// instance is stopped, and `restart` must start it again (an app's
    /// leftovers once kept every app of a restart down).
    pub fn stopped(&self, instance: Instance<'_>, outcome: Outcome) -> Finished {
        let mut finished = Finished::new(outcome);
        if let Err(e) = super::rundir::remove_own_run_dir(self.layout, instance.spec) {
            finished
                .warnings
                .push(format!("stopped, but its runtime directory stays: {e}"));
        }
        finished
    }

    /// Which engine runs `master`, a master of `spec` that `probe` found:
    /// systemd when it runs in the instance's own unit (the systemd
    /// engine's own test, `systemd::runs_in_unit`), the Emperor when this
    /// layout's Emperor is its parent, else the daemon engine (it runs on
    /// its own). A lookup: it changes nothing on disk.
    pub fn runner(&self, spec: &Confspec, master: i32) -> EngineKind {
        if systemd::unit_name(spec).is_ok_and(|unit| systemd::runs_in_unit(master, &unit)) {
            return EngineKind::Systemd;
        }
        let emperor = emperor::EmperorEngine::new(self).emperor();
        if emperor.is_some_and(|e| procfs::ppid(master) == Some(e.pid())) {
            EngineKind::Emperor
        } else {
            EngineKind::Daemon
        }
    }

    /// The runtime dir of an instance whose master should be gone goes,
    /// unless a master (of whatever start) lives in it: after a start that
    /// failed (for the instance whose dir that start made,
    /// `recipe.make_dirs`), and after a unit stopped (`unit-stopped`).
    /// A dir that the run-dir rule refuses stays (`remove_own_run_dir`),
    /// and that is the error.
    pub fn remove_idle_run_dir(&self, instance: Instance<'_>) -> crate::error::Result<()> {
        match self.probe(instance) {
            Ok((Some(_), _)) => Ok(()),
            _ => super::rundir::remove_own_run_dir(self.layout, instance.spec),
        }
    }

    /// How long a master has run.
    pub fn uptime(pid: i32) -> Option<Duration> {
        procfs::uptime(pid)
    }
}

/// Lines of the log shown when a start or reload fails.
pub const LOG_TAIL_LINES: usize = 15;

/// Warnings when an instance's log, from `offset` on, says uWSGI loaded
/// no app (it runs, but answers nothing) or could not load a plugin.
pub fn log_warnings(log: &std::path::Path, offset: u64) -> Vec<String> {
    use crate::process::launch;
    let text = launch::log_since(log, offset);
    let lines = launch::trouble_lines(&text);
    let no_app = lines.iter().any(|l| l.contains("no app loaded"));
    lines
        .iter()
        .map(|line| {
            let what = if no_app {
                "it runs but loaded no app, so it serves nothing"
            } else {
                "it runs without a plugin its config asks for"
            };
            format!(
                "{what}; its log says: {}; see {}",
                crate::display::sanitize(line.as_ref()),
                crate::display::display_path(log)
            )
        })
        .collect()
}

/// The engine the settings choose.
pub fn select<'a>(context: &'a Context<'a>) -> Box<dyn Engine + 'a> {
    match context.engine() {
        EngineKind::Daemon => Box::new(daemon::DaemonEngine::new(context)),
        EngineKind::Systemd => Box::new(systemd::SystemdEngine::new(context)),
        EngineKind::Emperor => Box::new(emperor::EmperorEngine::new(context)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// doctor asks `runner` of every master: it must make nothing, not
    /// even the private dir where an Emperor would keep its record.
    #[test]
    fn who_runs_a_master_is_looked_up_without_making_anything() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path(), "/usr/bin/uwsgi");
        let settings = Settings::defaults(&layout);
        let cx = Context::from_settings(&layout, &settings);
        let spec = Confspec::new(crate::name::Namespace::app(), "hello").unwrap();
        let me = std::process::id() as i32;
        assert_eq!(cx.runner(&spec, me), EngineKind::Daemon);
        assert!(
            !layout.lock_dir().exists(),
            "{}",
            layout.lock_dir().display()
        );
    }

    /// A run dir whose master is gone goes, unless the run-dir rule
    /// refuses it: one that the app's user owns stays as it is.
    #[test]
    fn an_idle_run_dir_goes_unless_someone_else_controls_it() {
        use std::os::unix::fs::{lchown, MetadataExt};
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path(), "/usr/bin/uwsgi");
        let settings = Settings::defaults(&layout);
        let cx = Context::from_settings(&layout, &settings);
        let spec = Confspec::new(crate::name::Namespace::app(), "hello").unwrap();
        let instance = Instance {
            spec: &spec,
            config: None,
        };
        let dir = layout.run_dir(&spec);
        super::super::rundir::make_run_dirs(&layout, &spec).unwrap();
        std::fs::write(dir.join("pid"), "999999999\n").unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().uid(), 0, "run as root");
        lchown(&dir, Some(65534), None).unwrap();
        let refused = cx.remove_idle_run_dir(instance).unwrap_err().to_string();
        assert!(refused.contains("refusing"), "{refused}");
        assert!(dir.join("pid").exists(), "a dir nobody owns was emptied");
        // A stop says so, and is a stop all the same.
        let stopped = cx.stopped(instance, Outcome::Done { pid: Some(1) });
        assert_eq!(stopped.outcome, Outcome::Done { pid: Some(1) });
        assert!(
            stopped.warnings[0].contains("runtime directory stays"),
            "{stopped:?}"
        );
        assert!(dir.join("pid").exists(), "a stop emptied a dir nobody owns");
        lchown(&dir, Some(0), None).unwrap();
        cx.remove_idle_run_dir(instance).unwrap();
        assert!(!dir.exists(), "{}", dir.display());
    }
}
