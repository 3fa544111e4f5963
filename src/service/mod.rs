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
//! * `engine`: what runs the instances;
//! * `group`: what `uwsgi.service` asks of every enabled app.

pub mod engine;
pub mod group;
pub mod operation;
pub mod plan;
pub mod recipe;
pub mod report;
pub mod rundir;

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use crate::discovery::EnabledConfig;
use crate::lock::Lock;
use crate::name::Confspec;

use engine::{Context, Engine, Finished, Instance};
use plan::InOrder;
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

    /// The planner over a given engine (a test double of the seam).
    #[cfg(test)]
    fn with_engine(context: &'a Context<'a>, engine: Box<dyn Engine + 'a>) -> Service<'a> {
        Service { context, engine }
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
                    // Disabled while it ran: it has no config any more,
                    // but it runs, and a stop reaches it — say so, as
                    // `list` does. Otherwise there is no such instance.
                    (Some(spec), None) => match self.engine.status(Instance { spec, config: None })
                    {
                        running @ InstanceStatus::Running { .. } => running,
                        _ => InstanceStatus::Unknown,
                    },
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

#[cfg(test)]
mod tests {
    //! The planner over a fake engine of our own (the seam is ours, so a
    //! double of it tests the planner alone): which instances reach the
    //! engine, once each, in which batches, under their locks, and what
    //! the planner makes of the engine's answers. Temporary roots; no
    //! uWSGI, no root needed.

    use std::collections::HashMap;
    use std::ffi::OsString;
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::discovery::EnabledConfig;
    use crate::layout::Layout;
    use crate::name::Format;
    use crate::settings::Settings;
    use plan::Options;

    /// The engine's calls: the operation and the batch's names.
    type Calls = Vec<(&'static str, Vec<String>)>;

    /// What the fake engine answers, by instance name and operation.
    type Script = HashMap<(&'static str, &'static str), Outcome>;

    struct FakeEngine<'l> {
        layout: &'l Layout,
        script: Script,
        /// Every call: the operation and the batch's names.
        calls: Mutex<Calls>,
    }

    impl FakeEngine<'_> {
        fn answer(&self, op: &'static str, batch: &[Instance<'_>], done: engine::Sink<'_>) {
            let names: Vec<String> = batch
                .iter()
                .map(|i| i.spec.name.to_string_lossy().into_owned())
                .collect();
            for (k, instance) in batch.iter().enumerate() {
                // The planner holds the instance's lock while the engine
                // works: another run cannot take it.
                let other =
                    crate::lock::instance(self.layout, instance.spec, Duration::ZERO, &mut |_| {});
                assert!(other.is_err(), "{op} of {} without its lock", names[k]);
                let name = names[k].as_str();
                let outcome = self
                    .script
                    .iter()
                    .find(|((n, o), _)| *n == name && *o == op)
                    .map(|(_, outcome)| outcome.clone())
                    .unwrap_or(Outcome::Done { pid: Some(42) });
                let mut finished = Finished::new(outcome);
                finished.warnings.push(format!("{op} said so"));
                done(k, finished);
            }
            self.calls.lock().unwrap().push((op, names));
        }
    }

    impl Engine for FakeEngine<'_> {
        fn start(&self, batch: &[Instance<'_>], done: engine::Sink<'_>) {
            self.answer("start", batch, done)
        }
        fn stop(&self, batch: &[Instance<'_>], done: engine::Sink<'_>) {
            self.answer("stop", batch, done)
        }
        fn reload(&self, batch: &[Instance<'_>], force: bool, done: engine::Sink<'_>) {
            self.answer(if force { "force-reload" } else { "reload" }, batch, done)
        }
        fn status(&self, instance: Instance<'_>) -> InstanceStatus {
            self.calls
                .lock()
                .unwrap()
                .push(("status", vec![instance.spec.name.to_string_lossy().into()]));
            let name = instance.spec.name.to_string_lossy();
            let scripted = self
                .script
                .iter()
                .find_map(|((n, o), outcome)| match outcome {
                    Outcome::Status(s) if *n == name && *o == "status" => Some(*s),
                    _ => None,
                });
            // Unless scripted, as the real engines: an instance with a
            // config runs here; one without (disabled, or never enabled)
            // does not.
            scripted.unwrap_or(match instance.config {
                Some(_) => InstanceStatus::Running { pid: 7 },
                None => InstanceStatus::NotRunning,
            })
        }
    }

    struct Setup {
        _tmp: tempfile::TempDir,
        layout: Layout,
        settings: Settings,
    }

    fn setup() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path(), "/usr/bin/uwsgi");
        let settings = Settings::defaults(&layout);
        Setup {
            _tmp: tmp,
            layout,
            settings,
        }
    }

    /// Targets as `plan` makes them: NAME with a config, `-NAME` for a
    /// confspec whose config is gone, `!TEXT` for text that is no
    /// confspec.
    fn targets(layout: &Layout, given: &[&str]) -> Vec<Target> {
        given
            .iter()
            .map(|g| {
                let (text, has_config) = match g.strip_prefix('-') {
                    Some(rest) => (rest, false),
                    None => (*g, true),
                };
                let (text, spec) = match text.strip_prefix('!') {
                    Some(rest) => (rest, None),
                    None => (text, Some(Confspec::parse(text.as_ref()).unwrap())),
                };
                let config = spec
                    .as_ref()
                    .filter(|_| has_config)
                    .map(|spec| EnabledConfig {
                        spec: spec.clone(),
                        path: layout.enabled_dir(&spec.namespace).join("x.ini"),
                        format: Format::Ini,
                        depth: 1,
                    });
                Target {
                    given: OsString::from(text),
                    spec,
                    config,
                }
            })
            .collect()
    }

    /// Run `op` through the planner over a fake engine that answers
    /// `script`: the reports, what was emitted, and the engine's calls.
    fn run(
        s: &Setup,
        op: Operation,
        given: &[&str],
        script: Script,
        lock_wait: Duration,
    ) -> (Vec<Report>, Vec<String>, Calls) {
        let mut options = Options::from_settings(&s.settings);
        options.lock_wait = lock_wait;
        let context = Context::new(&s.layout, &s.settings, options);
        let fake = FakeEngine {
            layout: &s.layout,
            script,
            calls: Mutex::new(Vec::new()),
        };
        let service = Service::with_engine(&context, Box::new(&fake));
        let mut emitted = Vec::new();
        let reports = service.run(op, &targets(&s.layout, given), &mut |r| {
            emitted.push(r.target.given.to_string_lossy().into_owned())
        });
        drop(service);
        let calls = fake.calls.into_inner().unwrap();
        (reports, emitted, calls)
    }

    impl Engine for &FakeEngine<'_> {
        fn start(&self, batch: &[Instance<'_>], done: engine::Sink<'_>) {
            (**self).start(batch, done)
        }
        fn stop(&self, batch: &[Instance<'_>], done: engine::Sink<'_>) {
            (**self).stop(batch, done)
        }
        fn reload(&self, batch: &[Instance<'_>], force: bool, done: engine::Sink<'_>) {
            (**self).reload(batch, force, done)
        }
        fn status(&self, instance: Instance<'_>) -> InstanceStatus {
            (**self).status(instance)
        }
    }

    fn outcomes(reports: &[Report]) -> Vec<(String, Outcome)> {
        reports
            .iter()
            .map(|r| (r.target.label(), r.outcome.clone()))
            .collect()
    }

    const LONG: Duration = Duration::from_secs(5);

    #[test]
    fn each_instance_reaches_the_engine_once_under_its_lock_and_reports_keep_their_order() {
        let s = setup();
        let (reports, emitted, calls) = run(
            &s,
            Operation::Start,
            &["b", "app/b", "a", "-nope/x", "!../x"],
            Script::new(),
            LONG,
        );
        assert_eq!(calls, [("start", vec!["b".to_owned(), "a".to_owned()])]);
        let done = Outcome::Done { pid: Some(42) };
        assert_eq!(
            outcomes(&reports),
            [
                ("b".to_owned(), done.clone()),
                ("b".to_owned(), Outcome::Already { pid: Some(42) }),
                ("a".to_owned(), done),
                ("nope/x".to_owned(), Outcome::NotFound),
                ("../x".to_owned(), Outcome::NotFound),
            ]
        );
        assert_eq!(emitted, ["b", "app/b", "a", "nope/x", "../x"]);
        // Only what the engine did changed something.
        let changed: Vec<bool> = reports.iter().map(|r| r.changed).collect();
        assert_eq!(changed, [true, false, true, false, false]);
        // Every lock is released at the end.
        for name in ["a", "b"] {
            let spec = Confspec::parse(name.as_ref()).unwrap();
            assert!(crate::lock::instance(&s.layout, &spec, Duration::ZERO, &mut |_| {}).is_ok());
        }
    }

    #[test]
    fn a_lock_held_elsewhere_fails_that_instance_alone() {
        let s = setup();
        let spec = Confspec::parse("a".as_ref()).unwrap();
        let _held = crate::lock::instance(&s.layout, &spec, LONG, &mut |_| {}).unwrap();
        let (reports, _, calls) = run(
            &s,
            Operation::Stop,
            &["b", "a", "a"],
            Script::new(),
            Duration::from_millis(50),
        );
        assert_eq!(calls, [("stop", vec!["b".to_owned()])]);
        assert_eq!(reports[0].outcome, Outcome::Done { pid: Some(42) });
        for r in &reports[1..] {
            let Outcome::Failed { reason, .. } = &r.outcome else {
                panic!("{:?}", r.outcome);
            };
            assert!(reason.contains("cannot lock"), "{reason}");
            assert!(!r.changed);
        }
    }

    #[test]
    fn a_stop_reaches_an_instance_whose_config_is_gone_and_nothing_else_does() {
        let s = setup();
        let (reports, _, calls) = run(&s, Operation::Stop, &["-gone", "a"], Script::new(), LONG);
        assert_eq!(calls, [("stop", vec!["gone".to_owned(), "a".to_owned()])]);
        assert!(reports
            .iter()
            .all(|r| r.outcome == Outcome::Done { pid: Some(42) }));
        for op in [Operation::Start, Operation::Reload, Operation::Restart] {
            let (reports, _, calls) = run(&s, op, &["-gone"], Script::new(), LONG);
            assert!(calls.is_empty(), "{op:?}: {calls:?}");
            assert_eq!(reports[0].outcome, Outcome::NotFound, "{op:?}");
        }
        // A repeated stop is "not running", whatever the first said.
        let (reports, _, _) = run(&s, Operation::Stop, &["a", "app/a"], Script::new(), LONG);
        assert_eq!(reports[1].outcome, Outcome::Already { pid: None });
    }

    #[test]
    fn restart_stops_each_then_starts_those_whose_stop_worked() {
        let s = setup();
        let script: Script = [
            (("x", "stop"), Outcome::failed("stop failed")),
            (("z", "start"), Outcome::failed("start failed")),
            (("w", "stop"), Outcome::Already { pid: None }),
            (("w", "start"), Outcome::failed("start failed")),
        ]
        .into();
        let (reports, emitted, calls) = run(
            &s,
            Operation::Restart,
            &["x", "y", "z", "w", "-gone"],
            script,
            LONG,
        );
        assert_eq!(
            calls,
            [
                ("stop", ["x", "y", "z", "w"].map(String::from).to_vec()),
                ("start", ["y", "z", "w"].map(String::from).to_vec()),
            ]
        );
        assert_eq!(emitted, ["x", "y", "z", "w", "gone"]);
        let got: Vec<(String, bool, bool)> = reports
            .iter()
            .map(|r| (r.target.label(), r.outcome.is_failure(), r.changed))
            .collect();
        assert_eq!(
            got,
            [
                // Its stop failed: not started, nothing changed.
                ("x".to_owned(), true, false),
                ("y".to_owned(), false, true),
                // Stopped, then its start failed: it changed.
                ("z".to_owned(), true, true),
                // Was not running, and could not start: nothing changed.
                ("w".to_owned(), true, false),
                ("gone".to_owned(), false, false),
            ]
        );
        // The stop's warnings come before the start's.
        assert_eq!(reports[1].warnings, ["stop said so", "start said so"]);
    }

    #[test]
    fn reload_and_force_reload_go_to_the_engine_and_status_takes_no_lock() {
        let s = setup();
        let (_, _, calls) = run(&s, Operation::Reload, &["a"], Script::new(), LONG);
        assert_eq!(calls, [("reload", vec!["a".to_owned()])]);
        let (_, _, calls) = run(&s, Operation::ForceReload, &["a"], Script::new(), LONG);
        assert_eq!(calls, [("force-reload", vec!["a".to_owned()])]);

        let spec = Confspec::parse("a".as_ref()).unwrap();
        let _held = crate::lock::instance(&s.layout, &spec, LONG, &mut |_| {}).unwrap();
        let (reports, _, calls) = run(&s, Operation::Status, &["a", "-nope"], Script::new(), LONG);
        // The engine is asked about an app with no config too (it may
        // have been disabled while it ran); not running, it is unknown.
        assert_eq!(
            calls,
            [
                ("status", vec!["a".to_owned()]),
                ("status", vec!["nope".to_owned()])
            ]
        );
        assert_eq!(
            outcomes(&reports),
            [
                (
                    "a".to_owned(),
                    Outcome::Status(InstanceStatus::Running { pid: 7 })
                ),
                ("nope".to_owned(), Outcome::Status(InstanceStatus::Unknown)),
            ]
        );
    }

    /// `uwsgi.service`'s reload under an engine other than systemd
    /// reloads what runs and starts the rest, each under its own
    /// operation's words.
    #[test]
    fn a_group_reload_reloads_what_runs_and_starts_the_rest() {
        let s = setup();
        let context = Context::from_settings(&s.layout, &s.settings);
        assert_ne!(context.engine(), crate::settings::EngineKind::Systemd);
        let fake = FakeEngine {
            layout: &s.layout,
            script: Script::from([(("b", "status"), Outcome::Status(InstanceStatus::NotRunning))]),
            calls: Mutex::new(Vec::new()),
        };
        let service = Service::with_engine(&context, Box::new(&fake));
        let mut emitted = Vec::new();
        let done = service.group(
            group::GroupAction::Reload,
            &targets(&s.layout, &["a", "b"]),
            &mut |op, r| emitted.push((op, r.target.label())),
        );
        drop(service);
        assert_eq!(
            emitted,
            [
                (Operation::Reload, "a".to_owned()),
                (Operation::Start, "b".to_owned())
            ]
        );
        assert_eq!(done.reports.len(), 2);
        let calls = fake.calls.into_inner().unwrap();
        let acted: Vec<_> = calls.iter().filter(|(op, _)| *op != "status").collect();
        assert_eq!(
            acted,
            [
                &("reload", vec!["a".to_owned()]),
                &("start", vec!["b".to_owned()])
            ]
        );
    }
}
