//! Which instances a command acts on, with which options, and the order
//! their results are handed on in.

use std::collections::HashMap;
use std::ffi::OsString;
use std::time::Duration;

use crate::discovery::{self, Discovery};
use crate::display::display_path;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::name::{Confspec, Namespace};
use crate::settings::Settings;

use super::report::{Report, Target};

/// The default start timeout (SPEC §4 step 5).
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);
/// The default stop timeout: SIGKILL after this.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// After SIGKILL, how long to wait before giving up on a process.
pub const KILL_GRACE: Duration = Duration::from_secs(5);
/// What a lock wait allows beyond the holder's own timeouts.
const LOCK_SLACK: Duration = Duration::from_secs(5);

/// The choices of one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// How many instances start at once.
    pub jobs: usize,
    pub start_timeout: Duration,
    pub stop_timeout: Duration,
    /// `reload --wait`.
    pub wait_reload: bool,
    pub check_permissions: bool,
    /// How long to wait for an instance's lock that another run holds.
    pub lock_wait: Duration,
}

/// Choices from a command line; `None` means "the default".
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub jobs: Option<usize>,
    pub start_timeout: Option<u64>,
    pub stop_timeout: Option<u64>,
    pub wait: bool,
}

impl Options {
    /// The settings file's choices, then the command line's.
    pub fn new(settings: &Settings, choices: &Choices) -> Options {
        let start_timeout = choices
            .start_timeout
            .map(Duration::from_secs)
            .or(settings.start_timeout)
            .unwrap_or(DEFAULT_START_TIMEOUT);
        let stop_timeout = choices
            .stop_timeout
            .map_or(DEFAULT_STOP_TIMEOUT, Duration::from_secs);
        Options {
            jobs: choices.jobs.unwrap_or_else(default_jobs).max(1),
            start_timeout,
            stop_timeout,
            wait_reload: choices.wait,
            check_permissions: settings.check_config_permissions,
            // Another run holds an instance's lock for at most its own
            // start or stop, both bounded: wait that long, and a little more.
            lock_wait: start_timeout.max(stop_timeout) + KILL_GRACE + LOCK_SLACK,
        }
    }

    /// The settings file's choices alone.
    pub fn from_settings(settings: &Settings) -> Options {
        Options::new(settings, &Choices::default())
    }
}

/// Twice the CPUs, at least 4: a start mostly waits (for Python to load),
/// so more starts than CPUs keep the CPUs busy.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .max(4)
}

/// Find the instances: the named confspecs, or every config in
/// `apps-enabled` (Debian's "all" covers only namespace `app`; other
/// namespaces are reached by `NS/NAME`). Also the warnings about clashes.
pub fn plan(layout: &Layout, confspecs: &[OsString]) -> Result<(Vec<Target>, Vec<String>)> {
    let mut warnings = Vec::new();
    let mut walks: HashMap<Namespace, Discovery> = HashMap::new();
    if confspecs.is_empty() {
        let ns = Namespace::app();
        let found = walk(layout, &ns, &mut walks, &mut warnings)?;
        let targets = found
            .instances
            .iter()
            .map(|c| Target {
                given: c.spec.name.clone(),
                spec: Some(c.spec.clone()),
                config: Some(c.clone()),
            })
            .collect();
        return Ok((targets, warnings));
    }
    let mut targets = Vec::with_capacity(confspecs.len());
    for given in confspecs {
        let spec = Confspec::parse(given).ok();
        let config = match &spec {
            Some(spec) => walk(layout, &spec.namespace, &mut walks, &mut warnings)?
                .find(&spec.name)
                .cloned(),
            None => None,
        };
        targets.push(Target {
            given: given.clone(),
            spec,
            config,
        });
    }
    Ok((targets, warnings))
}

/// The targets of confspecs this program already holds (`--now`): these
/// and no others (none are none, never "all" as for `plan`).
pub fn plan_specs(layout: &Layout, specs: &[Confspec]) -> Result<Vec<Target>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let given: Vec<OsString> = specs.iter().map(Confspec::to_arg).collect();
    Ok(plan(layout, &given)?.0)
}

/// One walk per namespace, however many confspecs name it.
fn walk<'w>(
    layout: &Layout,
    ns: &Namespace,
    walks: &'w mut HashMap<Namespace, Discovery>,
    warnings: &mut Vec<String>,
) -> Result<&'w Discovery> {
    if !walks.contains_key(ns) {
        let found = discovery::enabled(layout, ns)?;
        for clash in &found.clashes {
            warnings.push(format!(
                "{} has several config files; using {}",
                clash.spec,
                display_path(&clash.winner)
            ));
        }
        walks.insert(ns.clone(), found);
    }
    walks
        .get(ns)
        .ok_or_else(|| Error::Failed("discovery lost a namespace".into()))
}

/// Hands reports to `emit` in target order, each as soon as it and all
/// before it are known.
pub(crate) struct InOrder<'f> {
    next: usize,
    pending: HashMap<usize, Report>,
    emit: &'f mut dyn FnMut(&Report),
    done: Vec<Option<Report>>,
}

impl<'f> InOrder<'f> {
    pub(crate) fn new(n: usize, emit: &'f mut dyn FnMut(&Report)) -> Self {
        InOrder {
            next: 0,
            pending: HashMap::new(),
            emit,
            done: vec![None; n],
        }
    }

    pub(crate) fn put(&mut self, i: usize, report: Report) {
        self.pending.insert(i, report);
        while let Some(r) = self.pending.remove(&self.next) {
            (self.emit)(&r);
            self.done[self.next] = Some(r);
            self.next += 1;
        }
    }

    pub(crate) fn finish(self) -> Vec<Report> {
        self.done.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::report::Outcome;
    use std::fs;

    #[test]
    fn reports_come_out_in_target_order_as_soon_as_they_can() {
        let mut seen = Vec::new();
        let mut emit = |r: &Report| seen.push(r.target.given.to_string_lossy().into_owned());
        let mut order = InOrder::new(3, &mut emit);
        order.put(2, Report::for_test("c", Outcome::NotFound));
        order.put(0, Report::for_test("a", Outcome::NotFound));
        order.put(1, Report::for_test("b", Outcome::NotFound));
        let all = order.finish();
        assert_eq!(all.len(), 3);
        assert_eq!(seen, ["a", "b", "c"]);
    }

    #[test]
    fn plans_named_and_all_instances_with_one_walk_per_namespace() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path(), "/usr/bin/uwsgi");
        let avail = tmp.path().join("etc/uwsgi/apps-available");
        let enabled = tmp.path().join("etc/uwsgi/apps-enabled");
        fs::create_dir_all(&avail).unwrap();
        fs::create_dir_all(&enabled).unwrap();
        for name in ["b.ini", "a.ini", "a.yaml"] {
            fs::write(avail.join(name), "[uwsgi]\n").unwrap();
            std::os::unix::fs::symlink(format!("../apps-available/{name}"), enabled.join(name))
                .unwrap();
        }
        let (all, warnings) = plan(&layout, &[]).unwrap();
        let names: Vec<_> = all.iter().map(|t| t.label()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("a.ini"), "{warnings:?}");

        let given: Vec<OsString> = ["b", "app/a", "nope", "x/y/z", "other/q"]
            .iter()
            .map(OsString::from)
            .collect();
        let (named, _) = plan(&layout, &given).unwrap();
        assert!(named[0].config.is_some() && named[1].config.is_some());
        assert!(named[2].config.is_none() && named[2].spec.is_some());
        assert!(named[3].spec.is_none(), "not a confspec");
        assert!(named[4].config.is_none(), "a namespace without a dir");

        // What --now hands over comes back as the same targets.
        let specs: Vec<Confspec> = named.iter().filter_map(|t| t.spec.clone()).collect();
        let again = plan_specs(&layout, &specs).unwrap();
        assert_eq!(again.len(), specs.len());
        for (t, spec) in again.iter().zip(&specs) {
            assert_eq!(t.spec.as_ref(), Some(spec));
        }
        assert_eq!(again[1].config, named[1].config);
        // None held is none, not "all" as for `plan`.
        assert!(plan_specs(&layout, &[]).unwrap().is_empty());
    }

    #[test]
    fn options_take_the_command_line_over_the_settings() {
        let layout = Layout::new("/nonexistent", "/usr/bin/uwsgi");
        let mut settings = Settings::defaults(&layout);
        settings.start_timeout = Some(Duration::from_secs(7));
        let o = Options::from_settings(&settings);
        assert_eq!(o.start_timeout, Duration::from_secs(7));
        assert_eq!(o.stop_timeout, DEFAULT_STOP_TIMEOUT);
        assert!(o.lock_wait > o.stop_timeout + KILL_GRACE);
        let o = Options::new(
            &settings,
            &Choices {
                jobs: Some(0),
                start_timeout: Some(3),
                stop_timeout: Some(2),
                wait: true,
            },
        );
        assert_eq!(o.jobs, 1, "at least one job");
        assert_eq!(o.start_timeout, Duration::from_secs(3));
        assert_eq!(o.stop_timeout, Duration::from_secs(2));
        assert!(o.wait_reload);
    }
}
