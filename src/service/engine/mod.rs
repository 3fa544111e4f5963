//! The engine seam: what runs the instances. The planner (`service`)
//! decides which instances, takes their locks, orders and prints the
//! results; below it an engine starts, stops, reloads and inspects a set
//! of instances, each launched by the one recipe (`service::recipe`).
//!
//! * `daemon` — one detached uWSGI per app, run by this program (SPEC §4).
//!
//! A new engine is a new file here and one arm in `select`.

pub mod daemon;

use std::time::Duration;

use crate::discovery::EnabledConfig;
use crate::layout::Layout;
use crate::name::Confspec;
use crate::process::{procfs, Daemon, Master, Pidfile};
use crate::settings::Settings;

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
    pub fn new(layout: &'a Layout, settings: &'a Settings, options: Options) -> Context<'a> {
        Context {
            layout,
            settings,
            options,
            daemon: Daemon::new(layout.daemon()),
        }
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

    /// How long a master has run.
    pub fn uptime(pid: i32) -> Option<Duration> {
        procfs::uptime(pid)
    }
}

/// The engine the settings choose.
pub fn select<'a>(context: &'a Context<'a>) -> Box<dyn Engine + 'a> {
    Box::new(daemon::DaemonEngine::new(context))
}
