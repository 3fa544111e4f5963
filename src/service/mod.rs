//! The service engine behind `/etc/init.d/uwsgi` and `uwsgi-apps
//! start|stop|reload|force-reload|restart|status`: plan the instances,
//! then start them in parallel (bounded by `jobs`), stop them by
//! signalling all and then waiting for all, reload them, and say how they
//! are. Printing is not done here: every operation returns one `Report`
//! per instance, in the order the instances were named, and hands each to
//! a callback as soon as it and all before it are known.

pub mod deps;
pub mod lock;
pub mod run;

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{lchown, DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::discovery::{self, Discovery, EnabledConfig};
use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::name::{display_name, display_path, Confspec, Namespace};
use crate::process::launch::{self, LaunchFailure, LaunchSpec};
use crate::process::notify::NotifySocket;
use crate::process::{pidfile, procfs, Daemon, Master, Pidfile};

use deps::{RunAs, Settings};
use lock::InstanceLock;

/// The default start timeout (SPEC §4 step 5).
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);
/// After SIGKILL, how long to wait before giving up on a process.
pub const KILL_GRACE: Duration = Duration::from_secs(5);
/// How long a stopping master may take before it gets its SIGINT again
/// (see `Engine::wait_exit_or_kill`); uWSGI normally stops in about a
/// second.
pub const STOP_NUDGE: Duration = Duration::from_secs(3);

/// How old an instance's youngest worker must be before SIGINT reaches it.
/// A uWSGI 2.0.21 worker a few milliseconds old still runs the master's
/// inherited signal handlers, so the SIGINT the master forwards to it is
/// lost and the master then waits its 60 s worker mercy (our stop would end
/// in SIGKILL after --timeout). READY=1 arrives inside that window, so a
/// `start` followed at once by `stop` met it half the time; measured: 1.0 s
/// when signalled 0.3 s later, 30 s (our SIGKILL) when signalled at once.
pub const WORKER_SETTLE: Duration = Duration::from_millis(500);

/// How long to wait so that every master's youngest worker is at least
/// `WORKER_SETTLE` old: one wait for all instances, at most `WORKER_SETTLE`.
fn settle_delay(youngest: &std::collections::HashMap<i32, Duration>) -> Duration {
    youngest
        .values()
        .map(|age| WORKER_SETTLE.saturating_sub(*age))
        .max()
        .unwrap_or(Duration::ZERO)
}
/// Lines of the log shown when a start fails.
pub const LOG_TAIL_LINES: usize = 15;

/// One instance to act on, as named (or as found, for "all").
#[derive(Debug, Clone)]
pub struct Target {
    /// What was given on the command line (or `NS/NAME` for "all").
    pub given: OsString,
    /// The parsed confspec; `None` when the text can never be one.
    pub spec: Option<Confspec>,
    /// Its config file in `NSs-enabled`, when there is one.
    pub config: Option<EnabledConfig>,
}

impl Target {
    /// `NS/NAME` as Debian's init output shows it (a bare NAME is shown in
    /// namespace `app`), sanitised and quoted when it holds white space.
    pub fn initd_label(&self) -> String {
        match &self.spec {
            Some(spec) => spec.to_string(),
            None => display_name(&self.given),
        }
    }

    /// `NAME` for the default namespace, `NS/NAME` otherwise.
    pub fn label(&self) -> String {
        match &self.spec {
            Some(spec) if spec.namespace.is_default() => display_name(&spec.name),
            Some(spec) => spec.to_string(),
            None => display_name(&self.given),
        }
    }
}

/// What happened to one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No config file for this confspec: reported, not a failure.
    NotFound,
    /// Done now: started, stopped, reloaded (the master's pid).
    Done { pid: Option<i32> },
    /// Already in the wanted state: running for start (its pid), not
    /// running for stop.
    Already { pid: Option<i32> },
    Failed {
        reason: String,
        /// The last lines of the instance's log, when they explain it.
        log_tail: Option<String>,
    },
    /// The answer of `status`.
    Status(InstanceStatus),
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }

    fn failed(reason: impl Into<String>) -> Outcome {
        Outcome::Failed {
            reason: reason.into(),
            log_tail: None,
        }
    }
}

/// LSB status of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceStatus {
    Running {
        pid: i32,
    },
    /// A pidfile exists but names no master of this instance.
    Dead,
    NotRunning,
    /// No such configuration.
    Unknown,
}

impl InstanceStatus {
    pub fn lsb(self) -> crate::exit::LsbStatus {
        use crate::exit::LsbStatus;
        match self {
            InstanceStatus::Running { .. } => LsbStatus::Running,
            InstanceStatus::Dead => LsbStatus::DeadPidfileExists,
            InstanceStatus::NotRunning => LsbStatus::NotRunning,
            InstanceStatus::Unknown => LsbStatus::Unknown,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub target: Target,
    pub outcome: Outcome,
}

#[cfg(test)]
impl Report {
    /// A report for the output tests: NAME as given, no config found.
    pub(crate) fn for_test(name: &str, outcome: Outcome) -> Report {
        Report {
            target: Target {
                given: name.into(),
                spec: Confspec::parse(name.as_ref()).ok(),
                config: None,
            },
            outcome,
        }
    }
}

/// The choices of one run.
#[derive(Debug, Clone)]
pub struct Options {
    pub jobs: usize,
    pub start_timeout: Duration,
    pub stop_timeout: Duration,
    /// `reload --wait`.
    pub wait_reload: bool,
    pub check_permissions: bool,
}

impl Options {
    pub fn from_settings(settings: &Settings) -> Options {
        Options {
            jobs: default_jobs(),
            start_timeout: settings.start_timeout.unwrap_or(DEFAULT_START_TIMEOUT),
            stop_timeout: Duration::from_secs(30),
            wait_reload: false,
            check_permissions: settings.check_config_permissions,
        }
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
/// namespaces are reached by `NS/NAME`).
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

/// Everything the operations share.
pub struct Engine<'a> {
    pub layout: &'a Layout,
    pub settings: &'a Settings,
    pub daemon: Daemon,
    pub options: Options,
}

/// Hands reports to `emit` in target order, each as soon as it and all
/// before it are known.
struct InOrder<'f> {
    next: usize,
    pending: HashMap<usize, Report>,
    emit: &'f mut dyn FnMut(&Report),
    done: Vec<Option<Report>>,
}

impl<'f> InOrder<'f> {
    fn new(n: usize, emit: &'f mut dyn FnMut(&Report)) -> Self {
        InOrder {
            next: 0,
            pending: HashMap::new(),
            emit,
            done: vec![None; n],
        }
    }

    fn put(&mut self, i: usize, report: Report) {
        self.pending.insert(i, report);
        while let Some(r) = self.pending.remove(&self.next) {
            (self.emit)(&r);
            self.done[self.next] = Some(r);
            self.next += 1;
        }
    }

    fn finish(self) -> Vec<Report> {
        self.done.into_iter().flatten().collect()
    }
}

/// The master of an instance, if its pidfile names one, and what the
/// pidfile held.
fn probe(engine: &Engine<'_>, spec: &Confspec) -> Result<(Option<Master>, Pidfile)> {
    let file = pidfile::read(&engine.layout.pidfile(spec))?;
    let master = file
        .pid()
        .and_then(|pid| Master::open(pid, &engine.daemon))
        .filter(|m| belongs_to(m.pid(), spec));
    Ok((master, file))
}

/// Whether a uWSGI master is this instance's: its environment names the
/// instance (UWSGI_DEB_CONFNAMESPACE/UWSGI_DEB_CONFNAME, which Debian's
/// script sets too). When those entries cannot be seen at all (uWSGI's
/// `procname` options can overwrite the environment's memory) the
/// pidfile's word is taken; when they name another instance it is not.
fn belongs_to(pid: i32, spec: &Confspec) -> bool {
    let Some(env) = procfs::environ(pid) else {
        return false;
    };
    let value = |key: &[u8]| {
        env.iter()
            .find_map(|e| e.strip_prefix(key).map(<[u8]>::to_vec))
    };
    use std::os::unix::ffi::OsStrExt;
    let ns_ok = value(b"UWSGI_DEB_CONFNAMESPACE=")
        .map_or(true, |v| v == spec.namespace.as_os_str().as_bytes());
    let name_ok = value(b"UWSGI_DEB_CONFNAME=").map_or(true, |v| v == spec.name.as_bytes());
    ns_ok && name_ok
}

/// Create a directory with an exact mode and owner; `Ok(true)` when it
/// was created now.
fn make_dir(path: &Path, mode: u32, owner: Option<(u32, u32)>) -> Result<bool> {
    match DirBuilder::new().mode(mode).create(path) {
        Ok(()) => {
            // The umask may have taken bits away.
            fs::set_permissions(path, fs::Permissions::from_mode(mode))
                .at("change the mode of directory", path)?;
            if let Some((uid, gid)) = owner {
                lchown(path, Some(uid), Some(gid)).at("change the owner of directory", path)?;
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if fs::metadata(path).at("inspect directory", path)?.is_dir() {
                Ok(false)
            } else {
                Err(Error::io(
                    "create directory",
                    path,
                    io::Error::from_raw_os_error(libc::ENOTDIR),
                ))
            }
        }
        Err(e) => Err(Error::io("create directory", path, e)),
    }
}

/// Refuse a runtime directory that someone other than root (and, for the
/// instance's own dir, `instance`'s uid/gid) can change. The front end and
/// uWSGI's root part write the pidfile and sockets there, so such a user
/// could plant links to files anywhere. SPEC §4 step 2 chowns only a dir
/// created now: an existing dir of someone else is refused, not taken over.
fn check_run_dir(path: &Path, instance: Option<(u32, u32)>) -> Result<()> {
    let meta = fs::symlink_metadata(path).at("inspect directory", path)?;
    if !meta.is_dir() {
        return Err(Error::Failed(format!(
            "refusing to use runtime directory {}: it is not a directory (a symbolic link?); \
             remove it, start recreates it",
            display_path(path)
        )));
    }
    let (uid, gid, mode) = (meta.uid(), meta.gid(), meta.mode() & 0o7777);
    let owner_ok = uid == 0 || instance.is_some_and(|(u, _)| u == uid);
    let group_ok = mode & 0o020 == 0 || gid == 0 || instance.is_some_and(|(_, g)| g == gid);
    let other_ok = mode & 0o002 == 0;
    let why = if !owner_ok {
        crate::safety::Writable::ByOwner
    } else if !other_ok {
        crate::safety::Writable::ByEveryone
    } else if !group_ok {
        crate::safety::Writable::ByGroup
    } else {
        return Ok(());
    };
    let unsafe_dir = crate::safety::UnsafePath {
        path: path.to_path_buf(),
        uid,
        gid,
        mode,
        is_dir: true,
        why,
    };
    Err(Error::Failed(format!(
        "refusing to use the runtime directory: {}{}; remove it, start recreates it",
        unsafe_dir.describe(),
        if instance.is_some() {
            " and the instance's user"
        } else {
            ""
        }
    )))
}

fn make_dirs_root(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        make_dirs_root(parent)?;
    }
    make_dir(path, 0o755, Some((0, 0))).map(|_| ())
}

/// The environment of a uWSGI instance: what `service` gives an init
/// script (a fixed PATH and the locale), and nothing else of ours, since
/// uWSGI reads every `UWSGI_*` variable as an option. Then the instance's
/// names and the readiness socket.
fn instance_env(spec: &Confspec, notify: &Path) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> =
        vec![("PATH".into(), "/sbin:/usr/sbin:/bin:/usr/bin".into())];
    for (k, v) in std::env::vars_os() {
        let keep = k
            .to_str()
            .is_some_and(|k| k == "LANG" || k == "LANGUAGE" || k == "TZ" || k.starts_with("LC_"));
        if keep {
            env.push((k, v));
        }
    }
    env.push((
        "UWSGI_DEB_CONFNAMESPACE".into(),
        spec.namespace.as_os_str().to_owned(),
    ));
    env.push(("UWSGI_DEB_CONFNAME".into(), spec.name.clone()));
    env.push(("NOTIFY_SOCKET".into(), notify.as_os_str().to_owned()));
    env
}

/// `DAEMON --<opt> INHERITED --<opt> CONFFILE --daemonize LOG --pidfile PID`.
pub fn command_line(
    layout: &Layout,
    inherited: Option<&Path>,
    config: &EnabledConfig,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    if let Some(inherited) = inherited {
        let format = crate::name::Format::of_path(inherited).unwrap_or(crate::name::Format::Ini);
        args.push(format.uwsgi_option().into());
        args.push(inherited.as_os_str().to_owned());
    }
    args.push(config.format.uwsgi_option().into());
    args.push(config.path.as_os_str().to_owned());
    args.push("--daemonize".into());
    args.push(layout.log_file(&config.spec).into_os_string());
    args.push("--pidfile".into());
    args.push(layout.pidfile(&config.spec).into_os_string());
    args
}

impl<'a> Engine<'a> {
    pub fn new(layout: &'a Layout, settings: &'a Settings, options: Options) -> Engine<'a> {
        Engine {
            layout,
            settings,
            daemon: Daemon::new(layout.daemon()),
            options,
        }
    }

    /// The uid/gid the instance will run as, with `%(deb-confname)` and
    /// `%(deb-confnamespace)` resolved as uWSGI will resolve them.
    fn run_as(&self, config: &EnabledConfig) -> Result<RunAs> {
        let inherited = self
            .settings
            .inherited_config
            .as_deref()
            .filter(|p| p.exists());
        let ns = config.spec.namespace.as_os_str().to_string_lossy();
        let name = config.spec.name.to_string_lossy();
        deps::run_as_with_env(
            &config.path,
            config.format,
            inherited,
            &[("deb-confnamespace", &ns), ("deb-confname", &name)],
        )
    }

    // ---- start -------------------------------------------------------

    /// Start every target, at most `jobs` at once.
    pub fn start(&self, targets: &[Target], emit: &mut dyn FnMut(&Report)) -> Vec<Report> {
        let jobs = self.options.jobs.clamp(1, targets.len().max(1));
        let next = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel::<(usize, Report)>();
        let mut order = InOrder::new(targets.len(), emit);
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                let tx = tx.clone();
                let next = &next;
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = targets.get(i) else { break };
                    let outcome = self.start_one(target);
                    let report = Report {
                        target: target.clone(),
                        outcome,
                    };
                    if tx.send((i, report)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            for (i, report) in rx {
                order.put(i, report);
            }
        });
        order.finish()
    }

    fn start_one(&self, target: &Target) -> Outcome {
        let Some(config) = &target.config else {
            return Outcome::NotFound;
        };
        match self.try_start(config) {
            Ok(outcome) => outcome,
            Err(e) => Outcome::failed(e.to_string()),
        }
    }

    fn try_start(&self, config: &EnabledConfig) -> Result<Outcome> {
        let spec = &config.spec;
        let _lock = InstanceLock::acquire(&config.path)?;
        if self.options.check_permissions {
            if let Err(why) = crate::safety::refuse_unsafe(
                self.layout,
                config,
                self.settings.inherited_config.as_deref(),
            ) {
                return Ok(Outcome::failed(why.to_string()));
            }
        }
        if let Some(inherited) = self.settings.inherited_config.as_deref() {
            // uWSGI would fail on it with "realpath() … failed"; say why
            // here, before anything is made. Starting without it would drop
            // its uid/gid and run the app as root.
            if let Err(e) = fs::metadata(inherited) {
                return Ok(Outcome::failed(format!(
                    "cannot use the inherited config {}: {e}; install it, or set \
                     INHERITED_CONFIG= (empty) in {} to run apps without one",
                    display_path(inherited),
                    display_path(&self.layout.settings_file())
                )));
            }
        }
        let run_as = self.run_as(config)?;
        for w in &run_as.warnings {
            crate::output::warning(format!("{spec}: {w}"));
        }

        let ns_run = self.layout.run_namespace_dir(&spec.namespace);
        make_dirs_root(&ns_run)?;
        if let Some(base) = ns_run.parent() {
            check_run_dir(base, None)?;
        }
        check_run_dir(&ns_run, None)?;
        let run_dir = self.layout.run_dir(spec);
        let created = make_dir(&run_dir, 0o755, Some((run_as.uid, run_as.gid)))?;
        check_run_dir(&run_dir, Some((run_as.uid, run_as.gid)))?;
        let outcome = self.launch_in_run_dir(config, &run_as);
        // A start that failed leaves nothing behind: the runtime dir it
        // made goes again, unless a master (of whatever start) lives in it.
        let started = matches!(outcome, Ok(Outcome::Done { .. } | Outcome::Already { .. }));
        if created && !started && !matches!(probe(self, spec), Ok((Some(_), _))) {
            let _ = self.remove_run_dir(spec);
        }
        outcome
    }

    /// The part of a start that runs once the runtime dir exists.
    fn launch_in_run_dir(&self, config: &EnabledConfig, run_as: &RunAs) -> Result<Outcome> {
        let spec = &config.spec;
        make_dirs_root(&self.layout.log_dir(&spec.namespace))?;

        let (master, file) = probe(self, spec)?;
        if let Some(m) = master {
            return Ok(Outcome::Already { pid: Some(m.pid()) });
        }
        let pidfile_path = self.layout.pidfile(spec);
        if file.exists() {
            // Stale: names a dead or foreign process. uWSGI would rewrite
            // it, but removing it first means a pidfile seen later is new.
            fs::remove_file(&pidfile_path).at("remove stale pidfile", &pidfile_path)?;
        }

        let notify_path = self.layout.notify_socket(spec);
        let notify = NotifySocket::bind(&notify_path, run_as.uid, run_as.gid)?;
        let log = self.layout.log_file(spec);
        let inherited = self.settings.inherited_config.as_deref();
        let launch_spec = LaunchSpec {
            program: self.layout.daemon(),
            args: command_line(self.layout, inherited, config),
            env: instance_env(spec, &notify_path),
            log: &log,
            pidfile: &pidfile_path,
            notify: &notify,
            timeout: self.options.start_timeout,
        };
        match launch::launch(&launch_spec) {
            Ok(pid) => {
                pidfile::seal(&pidfile_path)?;
                Ok(Outcome::Done { pid: Some(pid) })
            }
            Err(failure) => {
                let log_tail = launch::log_tail(&log, LOG_TAIL_LINES);
                let mut reason = failure.to_string();
                if let LaunchFailure::Timeout { .. } = failure {
                    reason.push_str(&format!(
                        " (waited {} s)",
                        self.options.start_timeout.as_secs()
                    ));
                }
                Ok(Outcome::Failed {
                    reason: format!("{reason}; see {}", display_path(&log)),
                    log_tail,
                })
            }
        }
    }

    // ---- stop --------------------------------------------------------

    /// Stop every target: signal all, then wait for all together.
    pub fn stop(&self, targets: &[Target], emit: &mut dyn FnMut(&Report)) -> Vec<Report> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; targets.len()];
        // Locks are taken in path order, so that two runs naming the same
        // instances in different orders cannot wait for each other.
        let mut by_path: Vec<usize> = (0..targets.len())
            .filter(|&i| targets[i].config.is_some())
            .collect();
        by_path.sort_by(|&a, &b| {
            let pa = targets[a].config.as_ref().map(|c| &c.path);
            let pb = targets[b].config.as_ref().map(|c| &c.path);
            pa.cmp(&pb)
        });
        let mut locks = Vec::new();
        let mut to_signal: Vec<(usize, Master)> = Vec::new();
        // An instance whose config is gone (disabled while it ran) can
        // still be stopped: its runtime dir says where its master is.
        for (i, target) in targets.iter().enumerate() {
            let (None, Some(spec)) = (&target.config, &target.spec) else {
                continue;
            };
            if let Ok((Some(master), _)) = probe(self, spec) {
                to_signal.push((i, master));
            }
        }
        // A second flock on a file this run already locked waits for this
        // run itself, forever: an instance named twice (`stop hello
        // app/hello`) is stopped once and then is already stopped, and two
        // confnames linked to one file share its lock.
        let mut first_of: Vec<(&Confspec, usize)> = Vec::new();
        let mut repeats: Vec<(usize, usize)> = Vec::new();
        let mut locked: Vec<(u64, u64)> = Vec::new();
        for &i in &by_path {
            let Some(config) = &targets[i].config else {
                continue;
            };
            if let Some(&(_, first)) = first_of.iter().find(|(s, _)| **s == config.spec) {
                repeats.push((i, first));
                continue;
            }
            first_of.push((&config.spec, i));
            let file_id = fs::metadata(&config.path).ok().map(|m| (m.dev(), m.ino()));
            if !file_id.is_some_and(|id| locked.contains(&id)) {
                match InstanceLock::acquire(&config.path) {
                    Ok(lock) => locks.push(lock),
                    Err(e) => {
                        outcomes[i] = Some(Outcome::failed(e.to_string()));
                        continue;
                    }
                }
                locked.extend(file_id);
            }
            match probe(self, &config.spec) {
                Ok((Some(master), _)) => to_signal.push((i, master)),
                Ok((None, _)) => {
                    outcomes[i] = Some(match self.remove_run_dir(&config.spec) {
                        Ok(()) => Outcome::Already { pid: None },
                        Err(e) => Outcome::failed(e.to_string()),
                    })
                }
                Err(e) => outcomes[i] = Some(Outcome::failed(e.to_string())),
            }
        }

        let masters: Vec<i32> = to_signal.iter().map(|(_, m)| m.pid()).collect();
        let settle = settle_delay(&crate::process::procfs::youngest_child_ages(&masters));
        if !settle.is_zero() {
            std::thread::sleep(settle);
        }
        let mut signalled: Vec<(usize, Master)> = Vec::new();
        for (i, master) in to_signal {
            match master.signal(Signal::INT) {
                Ok(()) => signalled.push((i, master)),
                Err(e) => {
                    outcomes[i] = Some(Outcome::failed(format!(
                        "cannot send SIGINT to pid {}: {e}",
                        master.pid()
                    )))
                }
            }
        }

        let exited = self.wait_exit_or_kill(&signalled);
        for ((i, master), gone) in signalled.iter().zip(exited) {
            let spec = &targets[*i].spec;
            outcomes[*i] = Some(match (gone, spec) {
                (true, Some(spec)) => match self.remove_run_dir(spec) {
                    Ok(()) => Outcome::Done {
                        pid: Some(master.pid()),
                    },
                    Err(e) => Outcome::failed(e.to_string()),
                },
                _ => Outcome::failed(format!(
                    "pid {} did not exit, not even after SIGKILL",
                    master.pid()
                )),
            });
        }
        drop(locks);
        for (i, first) in repeats {
            outcomes[i] = Some(match &outcomes[first] {
                Some(failed @ Outcome::Failed { .. }) => failed.clone(),
                _ => Outcome::Already { pid: None },
            });
        }

        let mut order = InOrder::new(targets.len(), emit);
        for (i, (target, outcome)) in targets.iter().zip(outcomes).enumerate() {
            order.put(
                i,
                Report {
                    target: target.clone(),
                    outcome: outcome.unwrap_or(Outcome::NotFound),
                },
            );
        }
        order.finish()
    }

    /// Wait for every signalled master to exit; SIGKILL those still there
    /// after the stop timeout and wait `KILL_GRACE` more. Per master,
    /// whether it is gone.
    ///
    /// uWSGI 2.0.21 can lose a SIGINT that comes within some milliseconds
    /// of its READY=1 (nothing in /proc tells that moment apart): either
    /// the master ignores it, or a worker does and the master waits its
    /// 60 s "mercy" for it. The stop waits for fresh workers to settle
    /// before signalling (`WORKER_SETTLE`), and every `STOP_NUDGE` a master
    /// still there gets SIGINT again, in case the master itself lost it.
    fn wait_exit_or_kill(&self, signalled: &[(usize, Master)]) -> Vec<bool> {
        let deadline = Instant::now() + self.options.stop_timeout;
        let mut gone = vec![false; signalled.len()];
        loop {
            let pending: Vec<usize> = (0..gone.len()).filter(|&k| !gone[k]).collect();
            if pending.is_empty() {
                return gone;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let fds: Vec<_> = pending.iter().map(|&k| signalled[k].1.pidfd()).collect();
            let until = deadline.min(now + STOP_NUDGE);
            let exited = crate::process::wait::wait_for_exits(&fds, until);
            for (&k, g) in pending.iter().zip(exited) {
                gone[k] = g;
                if !g && until < deadline {
                    self.nudge(&signalled[k].1);
                }
            }
        }
        let stubborn: Vec<usize> = (0..gone.len()).filter(|&k| !gone[k]).collect();
        for &k in &stubborn {
            let _ = signalled[k].1.signal(Signal::KILL);
        }
        let fds: Vec<_> = stubborn.iter().map(|&k| signalled[k].1.pidfd()).collect();
        let after = crate::process::wait::wait_for_exits(&fds, Instant::now() + KILL_GRACE);
        for (k, g) in stubborn.into_iter().zip(after) {
            gone[k] = g;
        }
        gone
    }

    /// Repeat SIGINT to a master that is still there. Only the master:
    /// the SPEC allows no signal to any other process, workers included;
    /// the race a repeat used to paper over is closed before the first
    /// SIGINT instead (`WORKER_SETTLE`, and `start` returning only once the
    /// workers have their own handlers).
    fn nudge(&self, master: &Master) {
        let _ = master.signal(Signal::INT);
    }

    fn remove_run_dir(&self, spec: &Confspec) -> Result<()> {
        let dir = self.layout.run_dir(spec);
        // A long name's readiness socket lives beside the run dir.
        let notify = self.layout.notify_socket(spec);
        if !notify.starts_with(&dir) {
            match fs::remove_file(&notify) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove notify socket", notify, e)),
            }
        }
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove runtime directory", dir, e)),
        }
    }

    // ---- reload ------------------------------------------------------

    /// SIGHUP (graceful) or SIGTERM (`force`) to every target; with
    /// `wait_reload`, wait until each reports ready again.
    pub fn reload(
        &self,
        targets: &[Target],
        force: bool,
        emit: &mut dyn FnMut(&Report),
    ) -> Vec<Report> {
        let (tx, rx) = mpsc::channel::<(usize, Report)>();
        let mut order = InOrder::new(targets.len(), emit);
        std::thread::scope(|scope| {
            for (i, target) in targets.iter().enumerate() {
                let tx = tx.clone();
                scope.spawn(move || {
                    let outcome = match &target.config {
                        None => Outcome::NotFound,
                        Some(config) => self
                            .reload_one(config, force)
                            .unwrap_or_else(|e| Outcome::failed(e.to_string())),
                    };
                    let _ = tx.send((
                        i,
                        Report {
                            target: target.clone(),
                            outcome,
                        },
                    ));
                });
            }
            drop(tx);
            for (i, report) in rx {
                order.put(i, report);
            }
        });
        order.finish()
    }

    fn reload_one(&self, config: &EnabledConfig, force: bool) -> Result<Outcome> {
        let spec = &config.spec;
        let _lock = InstanceLock::acquire(&config.path)?;
        let (master, _) = probe(self, spec)?;
        let Some(master) = master else {
            return Ok(Outcome::failed("not running, so it cannot be reloaded"));
        };
        let signal = if force { Signal::TERM } else { Signal::HUP };
        // Listen before signalling, so that no message can be missed.
        let notify = if self.options.wait_reload {
            let run_as = self.run_as(config)?;
            Some(NotifySocket::bind(
                &self.layout.notify_socket(spec),
                run_as.uid,
                run_as.gid,
            )?)
        } else {
            None
        };
        master
            .signal(signal)
            .map_err(|e| Error::os(format!("send a signal to pid {}", master.pid()), e))?;
        if let Some(notify) = notify {
            let deadline = Instant::now() + self.options.start_timeout;
            // Nothing is re-sent while waiting: a second SIGHUP would be a
            // second reload, and workers are never signalled.
            let nudge = || {};
            if let Err(why) = launch::await_reload(&master, &notify, deadline, &nudge) {
                let log = self.layout.log_file(spec);
                return Ok(Outcome::Failed {
                    reason: format!("{why}; see {}", display_path(&log)),
                    log_tail: launch::log_tail(&log, LOG_TAIL_LINES),
                });
            }
        }
        Ok(Outcome::Done {
            pid: Some(master.pid()),
        })
    }

    // ---- status ------------------------------------------------------

    pub fn status(&self, targets: &[Target], emit: &mut dyn FnMut(&Report)) -> Vec<Report> {
        targets
            .iter()
            .map(|target| {
                let status = match &target.config {
                    None => InstanceStatus::Unknown,
                    Some(config) => match probe(self, &config.spec) {
                        Ok((Some(m), _)) => InstanceStatus::Running { pid: m.pid() },
                        Ok((None, Pidfile::Missing)) => InstanceStatus::NotRunning,
                        Ok((None, _)) => InstanceStatus::Dead,
                        // An unreadable pidfile: exists, proves nothing.
                        Err(_) => InstanceStatus::Dead,
                    },
                };
                let report = Report {
                    target: target.clone(),
                    outcome: Outcome::Status(status),
                };
                emit(&report);
                report
            })
            .collect()
    }
}

/// The running state of one instance, for `list`: its master's pid and
/// uptime, if it runs.
pub fn running(
    layout: &Layout,
    daemon: &Daemon,
    spec: &Confspec,
) -> Option<(i32, Option<Duration>)> {
    let pid = pidfile::read(&layout.pidfile(spec)).ok()?.pid()?;
    let master = Master::open(pid, daemon)?;
    if !belongs_to(pid, spec) {
        return None;
    }
    Some((master.pid(), procfs::uptime(pid)))
}

/// The path of a namespace's enabled dir, for Debian's "omitted" line.
pub fn enabled_dir_for_message(layout: &Layout) -> PathBuf {
    layout.enabled_dir(&Namespace::app())
}

/// Used by tests and the JSON output: the name part of a confspec.
pub fn name_of(target: &Target) -> &OsStr {
    match &target.spec {
        Some(spec) => &spec.name,
        None => &target.given,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn settle_waits_for_the_youngest_worker_of_all_masters() {
        assert_eq!(settle_delay(&HashMap::new()), Duration::ZERO);
        let ages = HashMap::from([
            (10, Duration::from_secs(5)),
            (11, Duration::from_millis(100)),
            (12, Duration::from_millis(450)),
        ]);
        assert_eq!(
            settle_delay(&ages),
            WORKER_SETTLE - Duration::from_millis(100)
        );
        let old = HashMap::from([(10, Duration::from_secs(2))]);
        assert_eq!(settle_delay(&old), Duration::ZERO);
    }
}
