//! The service commands behind `/etc/init.d/uwsgi` and `uwsgi-apps
//! start|stop|reload|force-reload|restart|status`: the planner. It finds
//! the instances (`plan`), takes their locks, hands them to the engine in
//! batches (`engine`), and returns one `Report` per instance, in the order
//! the instances were named, handing each to a callback as soon as it and
//! all before it are known. It prints nothing: `output` does.
//!
//! * `operation`: the one list of operations;
//! * `report`: what is said about each instance;
//! * `plan`: which instances, with which options;
//! * `recipe`: how one instance is launched, for every engine;
//! * `rundir`: the runtime directory's rules;
//! * `engine`: what runs the instances.

pub mod engine;
pub mod operation;
pub mod plan;
pub mod recipe;
pub mod report;
pub mod rundir;

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use crate::discovery::EnabledConfig;
use crate::layout::Layout;
use crate::lock::Lock;
use crate::name::Confspec;
use crate::settings::Settings;

use engine::{Context, Engine, Finished, Instance};
use plan::{InOrder, Options};
use report::{InstanceStatus, Outcome, Report, Target};

pub use operation::Operation;

/// The planner, over one engine.
pub struct Service<'a> {
    context: &'a Context<'a>,
    engine: Box<dyn Engine + 'a>,
}

impl<'a> Service<'a> {
    pub fn new(context: &'a Context<'a>) -> Service<'a> {
        Service {
            context,
            engine: engine::select(context),
        }
    }

    /// Run `op` on `targets`.
    pub fn run(
        &self,
        op: Operation,
        targets: &[Target],
        emit: &mut dyn FnMut(&Report),
    ) -> Vec<Report> {
        match op {
            Operation::Status => self.status(targets, emit),
            Operation::Start
            | Operation::Stop
            | Operation::Restart
            | Operation::Reload
            | Operation::ForceReload => self.locked(op, targets, emit),
        }
    }

    /// The LSB status of each target (no locks: a status never waits).
    fn status(&self, targets: &[Target], emit: &mut dyn FnMut(&Report)) -> Vec<Report> {
        targets
            .iter()
            .map(|target| {
                let status = match (&target.spec, &target.config) {
                    (Some(spec), Some(config)) => self.engine.status(Instance {
                        spec,
                        config: Some(config),
                    }),
                    _ => InstanceStatus::Unknown,
                };
                let report = Report::new(target.clone(), Outcome::Status(status));
                emit(&report);
                report
            })
            .collect()
    }

    /// Whether one instance runs, for `list`: its master's pid and uptime
    /// (by the same rule as `status`).
    pub fn running(
        &self,
        spec: &Confspec,
        config: Option<&EnabledConfig>,
    ) -> Option<(i32, Option<Duration>)> {
        match self.engine.status(Instance { spec, config }) {
            InstanceStatus::Running { pid } => Some((pid, Context::uptime(pid))),
            _ => None,
        }
    }

    /// Start, stop, restart, reload or force-reload: every instance once,
    /// under its lock.
    fn locked(
        &self,
        op: Operation,
        targets: &[Target],
        emit: &mut dyn FnMut(&Report),
    ) -> Vec<Report> {
        let mut order = InOrder::new(targets.len(), emit);
        // Which targets are acted on: one per instance (`stop hello
        // app/hello` names one instance twice), and only what exists —
        // except that a stop also reaches an instance whose config is gone
        // (disabled while it ran).
        let mut first_of: HashMap<&Confspec, usize> = HashMap::new();
        let mut repeats: Vec<(usize, usize)> = Vec::new();
        let mut acted: Vec<usize> = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            let Some(spec) = &target.spec else {
                order.put(i, Report::new(target.clone(), Outcome::NotFound));
                continue;
            };
            if target.config.is_none() && op != Operation::Stop {
                order.put(i, Report::new(target.clone(), Outcome::NotFound));
                continue;
            }
            match first_of.get(spec) {
                Some(&first) => repeats.push((i, first)),
                None => {
                    first_of.insert(spec, i);
                    acted.push(i);
                }
            }
        }

        // Locks in one order (by confspec), so that two runs naming the
        // same instances in other orders never wait for each other.
        acted.sort_by(|&a, &b| {
            let key = |i: usize| targets[i].spec.as_ref().map(Confspec::to_arg);
            key(a).cmp(&key(b))
        });
        let mut locks: Vec<Lock> = Vec::new();
        let mut held: Vec<usize> = Vec::new();
        let mut results: HashMap<usize, Report> = HashMap::new();
        for &i in &acted {
            let target = &targets[i];
            let Some(spec) = &target.spec else { continue };
            match self.lock(spec) {
                Ok(lock) => {
                    locks.push(lock);
                    held.push(i);
                }
                Err(e) => {
                    let report = Report::new(target.clone(), Outcome::failed(e.to_string()));
                    results.insert(i, report.clone());
                    order.put(i, report);
                }
            }
        }
        held.sort_unstable();

        let mut put = |i: usize, report: Report, order: &mut InOrder<'_>| {
            results.insert(i, report.clone());
            order.put(i, report);
        };
        match op {
            Operation::Restart => {
                // Each instance on its own: stopped, then started again if
                // its stop succeeded. One instance's failed stop never keeps
                // the others from starting.
                let stopped = self.batch(Operation::Stop, targets, &held, &mut |_, _| {});
                let mut again = Vec::new();
                for (&i, finished) in held.iter().zip(stopped) {
                    if finished.outcome.is_failure() || targets[i].config.is_none() {
                        put(i, report_of(&targets[i], finished), &mut order);
                    } else {
                        let was_running = matches!(finished.outcome, Outcome::Done { .. });
                        again.push((i, (finished.warnings, was_running)));
                    }
                }
                let indices: Vec<usize> = again.iter().map(|(i, _)| *i).collect();
                let mut earlier: HashMap<usize, (Vec<String>, bool)> = again.into_iter().collect();
                self.batch(Operation::Start, targets, &indices, &mut |i, finished| {
                    let mut report = report_of(&targets[i], finished);
                    let (mut warnings, stopped) = earlier.remove(&i).unwrap_or_default();
                    warnings.append(&mut report.warnings);
                    report.warnings = warnings;
                    // A restart that stopped the instance and could not
                    // start it again has changed what runs.
                    report.changed |= stopped;
                    put(i, report, &mut order);
                });
            }
            _ => {
                self.batch(op, targets, &held, &mut |i, finished| {
                    put(i, report_of(&targets[i], finished), &mut order)
                });
            }
        }
        drop(locks);

        for (i, first) in repeats {
            let outcome = match results.get(&first).map(|r| &r.outcome) {
                Some(failed @ Outcome::Failed { .. }) => failed.clone(),
                Some(Outcome::Done { pid } | Outcome::Already { pid }) => match op {
                    Operation::Stop => Outcome::Already { pid: None },
                    _ => Outcome::Already { pid: *pid },
                },
                Some(other) => other.clone(),
                None => Outcome::NotFound,
            };
            order.put(i, Report::new(targets[i].clone(), outcome));
        }
        order.finish()
    }

    /// Hand the targets at `indices` to the engine for `op` (start, stop,
    /// reload or force-reload) and give each result to `each` as it comes
    /// (on this thread), with the target's index; also return them in
    /// the order of `indices`.
    fn batch(
        &self,
        op: Operation,
        targets: &[Target],
        indices: &[usize],
        each: &mut dyn FnMut(usize, Finished),
    ) -> Vec<Finished> {
        let batch: Vec<Instance<'_>> = indices
            .iter()
            .filter_map(|&i| {
                let t = &targets[i];
                Some(Instance {
                    spec: t.spec.as_ref()?,
                    config: t.config.as_ref(),
                })
            })
            .collect();
        let mut got: Vec<Option<Finished>> = vec![None; indices.len()];
        if batch.is_empty() {
            return Vec::new();
        }
        let (tx, rx) = mpsc::channel::<(usize, Finished)>();
        std::thread::scope(|scope| {
            let engine = &self.engine;
            let batch = &batch;
            scope.spawn(move || {
                let sink = move |k: usize, f: Finished| {
                    let _ = tx.send((k, f));
                };
                match op {
                    Operation::Start | Operation::Restart => engine.start(batch, &sink),
                    Operation::Stop => engine.stop(batch, &sink),
                    Operation::Reload => engine.reload(batch, false, &sink),
                    Operation::ForceReload => engine.reload(batch, true, &sink),
                    Operation::Status => {}
                }
            });
            for (k, finished) in rx {
                each(indices[k], finished.clone());
                got[k] = Some(finished);
            }
        });
        got.into_iter()
            .map(|f| f.unwrap_or_else(|| Finished::failed("the engine said nothing about it")))
            .collect()
    }

    /// The instance's lock. A run queued behind another says on stderr
    /// what it waits for, at once; it gives up after `lock_wait`.
    fn lock(&self, spec: &Confspec) -> crate::error::Result<Lock> {
        crate::lock::instance(
            self.context.layout,
            spec,
            self.context.options.lock_wait,
            &mut |holder| {
                crate::stdio::notice(format!(
                    "{spec}: waiting for {holder}, which is working on this instance"
                ))
            },
        )
    }
}

fn report_of(target: &Target, finished: Finished) -> Report {
    Report {
        warnings: finished.warnings,
        ..Report::new(target.clone(), finished.outcome)
    }
}

/// A context for `list` and the registry's warnings, from the settings
/// file's choices.
pub fn context_from_settings<'a>(layout: &'a Layout, settings: &'a Settings) -> Context<'a> {
    Context::new(layout, settings, Options::from_settings(settings))
}
