//! The Emperor engine (SPEC §7): one uWSGI Emperor, run as root and not in
//! Tyrant mode, over a directory of links that only root can reach
//! (`/run/uwsgi-apps/emperor/vassals/`): a link there starts an app, its
//! removal stops it, `touch -h` on it reloads it (`--emperor-nofollow`
//! makes the Emperor watch the links, not the configs they point to).
//!
//! Each vassal is run through the launch recipe: the Emperor's
//! `--emperor-wrapper` is this program under the name
//! `uwsgi-apps-vassal`, which makes the instance's runtime dir, checks the
//! config as `start` does, and execs uWSGI with the inherited config, the
//! app's config, `--logto` and `--pidfile`, as every engine does. uWSGI
//! then drops privileges to the app's `uid`/`gid` itself and keeps the
//! user's supplementary groups — what Tyrant mode loses; Tyrant mode's
//! protection (no root-run config that another user can change) comes
//! from the permission rule of `start` instead.
//!
//! A link is named for its instance (`NAME.ini`, `NS:NAME.ini`, escaped
//! like a systemd unit instance: see `systemd::instance_string`); its
//! `.ini` only makes the Emperor take it for a config, the wrapper reads
//! the instance from the name and runs its real config, whatever format.
//!
//! The Emperor runs while any app does: started with the first, stopped
//! with the last, and never left behind by a start whose vassals failed.
//! It is woken with SIGWINCH after every change to the links, so it acts
//! at once rather than at its next scan.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::display::display_path;
use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::name::Confspec;
use crate::process::identity::open_pidfd;
use crate::process::launch;
use crate::process::notify::NotifySocket;
use crate::process::{pidfile, procfs, wait, Master};
use crate::service::report::{InstanceStatus, Outcome};
use crate::service::rundir;

use super::super::plan::KILL_GRACE;
use super::systemd::{instance_string, parse_instance};
use super::{reload, Context, Engine, Finished, Instance, Sink, LOG_TAIL_LINES};

/// The name this program answers to as the Emperor's wrapper.
pub const WRAPPER_NAME: &str = "uwsgi-apps-vassal";

/// Where the package installs the wrapper (a link to uwsgi-apps).
pub const DEFAULT_WRAPPER: &str = "/usr/lib/uwsgi-apps/uwsgi-apps-vassal";

/// How often a vassal's wait looks again for its settled workers (nothing
/// signals that). Every vassal being started has its own wait, from its
/// wrapper's `MAINPID=` on, so while N load this costs N looks per tick:
/// 25 ms rather than 10 took the start of 50 from about 1.95 s to about
/// 1.6 s here (tests/bench_engines.rs), for at most 25 ms more per vassal.
const TICK: Duration = Duration::from_millis(25);

/// How long a vassal whose start failed may take to stop once its link is
/// gone, before it is killed. uWSGI stops in about a second, unless the
/// stop comes as it forks its workers (as for a vassal that was not ready
/// in time because it was still loading its app): uWSGI 2.0.21 loses it in
/// a fresh worker and waits its 60 s mercy (`launch::workers_settled`),
/// until the Emperor kills it 30 s on. A start that failed has nothing to
/// finish.
const FAILED_STOP: Duration = Duration::from_secs(3);

/// How often the Emperor scans its links by itself (it is woken at once
/// by SIGWINCH after our own changes).
const EMPEROR_FREQ: &str = "1";

/// How long the Emperor may take to die after SIGINT (it stops its
/// vassals first).
const EMPEROR_STOP: Duration = Duration::from_secs(35);

/// The wrapper's program: a `uwsgi-apps-vassal` beside the program that
/// runs now, as it was called (links are not resolved: the tests' links
/// sit beside each other), else the package's. The Emperor runs it as
/// root for every vassal, so one found beside is taken only when nobody
/// but root can change it (`trusted_program`): a root run of a
/// `uwsgi-apps` link in another user's directory must not make that
/// user's `uwsgi-apps-vassal` the wrapper.
pub fn wrapper_path() -> PathBuf {
    let beside = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .filter(|argv0| argv0.components().count() > 1)
        .and_then(|argv0| {
            let dir = argv0.parent()?;
            let dir = if dir.is_absolute() {
                dir.to_path_buf()
            } else {
                std::env::current_dir().ok()?.join(dir)
            };
            Some(dir.join(WRAPPER_NAME))
        })
        .filter(|p| p.exists() && trusted_program(p));
    beside.unwrap_or_else(|| PathBuf::from(DEFAULT_WRAPPER))
}

/// Whether only root can change what `path` runs: the path (a link, or
/// the program), the program it resolves to, and the directory of each
/// (SPEC §4's rule for configs, `safety::writable_by_others`).
fn trusted_program(path: &Path) -> bool {
    let safe = |p: &Path, follow: bool| {
        let meta = if follow {
            fs::metadata(p)
        } else {
            fs::symlink_metadata(p)
        };
        meta.is_ok_and(|m| {
            m.file_type().is_symlink()
                || crate::safety::writable_by_others(
                    m.uid(),
                    m.gid(),
                    m.mode() & 0o7777,
                    m.is_dir(),
                )
                .is_none()
        })
    };
    let Ok(target) = fs::canonicalize(path) else {
        return false;
    };
    [path, target.as_path()]
        .iter()
        .all(|p| safe(p, false) && p.parent().is_some_and(|dir| safe(dir, true)))
        && safe(&target, true)
}

/// The vassal link's file name of an instance.
pub fn link_name(spec: &Confspec) -> OsString {
    OsString::from(format!("{}.ini", instance_string(spec)))
}

/// The vassal link of an instance in the vassal dir of `layout`.
pub fn vassal_link(layout: &Layout, spec: &Confspec) -> Result<PathBuf> {
    Ok(vassal_dir(layout)?.join(link_name(spec)))
}

/// Where the Emperor keeps its state, inside the private dir: its own
/// dir, then the vassal dir and the Emperor's record below it.
const EMPEROR_DIR: &str = "emperor";
const VASSALS: &str = "vassals";
const RECORD: &str = "pid";

/// `/run/uwsgi-apps/emperor/vassals/`, made on the way (root's, 0700).
fn vassal_dir(layout: &Layout) -> Result<PathBuf> {
    crate::lock::private_subdir(layout, &[EMPEROR_DIR, VASSALS])
}

/// The instance a vassal file name (as the Emperor passes it) stands for.
pub fn spec_of_link(name: &OsStr) -> Result<Confspec> {
    let name = Path::new(name)
        .file_name()
        .and_then(OsStr::to_str)
        .ok_or_else(|| Error::Failed("the vassal's file name is not UTF-8".into()))?;
    let instance = name
        .strip_suffix(".ini")
        .ok_or_else(|| Error::Failed(format!("{name} is not a vassal link of this program")))?;
    parse_instance(instance)
}

pub struct EmperorEngine<'a> {
    cx: &'a Context<'a>,
}

impl<'a> EmperorEngine<'a> {
    pub fn new(cx: &'a Context<'a>) -> Self {
        EmperorEngine { cx }
    }

    fn vassal_dir(&self) -> Result<PathBuf> {
        vassal_dir(self.cx.layout)
    }

    /// The Emperor's record, `/run/uwsgi-apps/emperor/pid` (its dir made
    /// on the way; `emperor` reads the same path without making it).
    fn emperor_pidfile(&self) -> Result<PathBuf> {
        Ok(crate::lock::private_subdir(self.cx.layout, &[EMPEROR_DIR])?.join(RECORD))
    }

    /// The running Emperor of this layout: the pid of our record, alive,
    /// the uWSGI program, governing our vassal dir. A lookup only: it
    /// makes no directory (doctor asks it too).
    pub(super) fn emperor(&self) -> Option<Master> {
        let base = self.cx.layout.lock_dir().join(EMPEROR_DIR);
        let dir = base.join(VASSALS);
        let pid = pidfile::read(&base.join(RECORD)).ok()?.pid()?;
        let master = Master::open(pid, &self.cx.daemon)?;
        let args = procfs::cmdline(pid).ok()?;
        let governs = args
            .windows(2)
            .any(|w| w[0] == "--emperor" && Path::new(&w[1]) == dir);
        governs.then_some(master)
    }

    /// Start the Emperor, unless it runs.
    fn ensure_emperor(&self) -> Result<Master> {
        if let Some(m) = self.emperor() {
            return Ok(m);
        }
        let dir = self.vassal_dir()?;
        let pidfile_path = self.emperor_pidfile()?;
        let log = self.cx.layout.emperor_log();
        let wrapper = wrapper_path();
        // The Emperor would only log its execvp() failure, once per vassal
        // and again at each respawn: say it here.
        if let Err(e) = fs::metadata(&wrapper) {
            return Err(Error::Failed(format!(
                "cannot run the Emperor's vassals: its wrapper {} is missing ({e}); \
                 reinstall uwsgi-apps",
                display_path(&wrapper)
            )));
        }
        rundir::make_dirs_root(log.parent().unwrap_or(Path::new("/")))?;
        let recipe = self.cx.recipe();
        let args: Vec<OsString> = vec![
            "--emperor".into(),
            dir.into_os_string(),
            "--emperor-nofollow".into(),
            "--emperor-wrapper".into(),
            wrapper.into_os_string(),
            "--emperor-freq".into(),
            EMPEROR_FREQ.into(),
            "--logto".into(),
            log.clone().into_os_string(),
        ];
        // The recipe's environment minus an instance's names: a fixed
        // PATH and the locale; and where the layout and the program are,
        // when not the defaults, for the wrapper of each vassal (which the
        // Emperor runs with its own environment).
        let mut env = recipe.environment_base();
        if !self.cx.layout.is_host_root() {
            env.push(("UWSGI_APPS_ROOT".into(), self.cx.layout.root().into()));
        }
        if self.cx.layout.daemon() != Path::new(crate::layout::DEFAULT_DAEMON) {
            env.push(("UWSGI_APPS_DAEMON".into(), self.cx.layout.daemon().into()));
        }
        let spawned = launch::spawn_detached(recipe.program(), &args, &env, &log)
            .map_err(|e| Error::Failed(format!("cannot start the uWSGI Emperor: {e}")))?;
        // Running is all it needs to be: it scans the links once it runs
        // (and at once when woken). An Emperor that dies at start is seen
        // by each vassal's wait (`await_vassal` watches it too), so nobody
        // sleeps here to find out.
        if wait::wait_for_exits(&[spawned.pidfd.as_fd()], Instant::now())[0] {
            let why = launch::reap(spawned.pid).unwrap_or_else(|| "it exited".into());
            return Err(Error::Failed(format!(
                "the uWSGI Emperor did not start: {why}; see {}",
                display_path(&log)
            )));
        }
        fs::write(&pidfile_path, format!("{}\n", spawned.pid))
            .at("write the Emperor's pidfile", &pidfile_path)?;
        Master::open(spawned.pid, &self.cx.daemon)
            .ok_or_else(|| Error::Failed("the uWSGI Emperor exited at once".into()))
    }

    /// The Emperor's own lock: starting it and making links, or finding it
    /// idle and stopping it, never interleave (two starts would make two
    /// Emperors; a stop could kill the Emperor — and with it, since uWSGI
    /// gives vassals PDEATHSIG, every vassal — under a start).
    fn emperor_lock(&self) -> Result<crate::lock::Lock> {
        let path = crate::lock::LockPath::new(self.cx.layout.lock_dir(), ["emperor", "lock"]);
        crate::lock::acquire(&path, self.cx.options.lock_wait, &mut |holder| {
            crate::stdio::notice(format!(
                "waiting for {holder}, which is starting or stopping the Emperor"
            ))
        })
    }

    /// Stop the Emperor when it governs no vassal any more.
    fn stop_emperor_if_idle(&self) {
        let Ok(_lock) = self.emperor_lock() else {
            return;
        };
        let Ok(dir) = self.vassal_dir() else { return };
        let idle = fs::read_dir(&dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !idle {
            return;
        }
        if let Some(m) = self.emperor() {
            let _ = m.signal(Signal::INT);
            if !wait::wait_for_exits(&[m.pidfd()], Instant::now() + EMPEROR_STOP)[0] {
                let _ = m.signal(Signal::KILL);
            }
            if let Ok(p) = self.emperor_pidfile() {
                let _ = fs::remove_file(p);
            }
        }
    }

    /// Wake the Emperor so that it looks at its links now.
    fn wake(&self, emperor: &Master) {
        let _ = emperor.signal(Signal::WINCH);
    }

    fn link(&self, spec: &Confspec) -> Result<PathBuf> {
        vassal_link(self.cx.layout, spec)
    }

    /// Make the vassal link of `config` (replacing a stale one).
    fn make_link(&self, link: &Path, target: &Path) -> Result<()> {
        match fs::remove_file(link) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove vassal link", link, e)),
        }
        std::os::unix::fs::symlink(target, link).at("make vassal link", link)
    }

    fn remove_link(&self, link: &Path) -> Result<bool> {
        match fs::remove_file(link) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("remove vassal link", link, e)),
        }
    }
}

/// One vassal being started.
struct Starting {
    index: usize,
    link: PathBuf,
    pidfile: PathBuf,
    notify: NotifySocket,
    log_offset: u64,
    warnings: Vec<String>,
    /// Its runtime dir was made by this start (and goes if it fails).
    created: bool,
}

/// Why a vassal did not become ready, and the process seen as its master
/// (its wrapper, until the exec), which may still be running.
struct NotReady {
    why: String,
    /// Its wrapper ran nothing and said why: the instance's log has
    /// nothing of it.
    exiled: bool,
    master: Option<(i32, OwnedFd)>,
}

impl EmperorEngine<'_> {
    /// A vassal that did not become ready is not left running: its link
    /// goes (or the Emperor would respawn it again and again), the
    /// Emperor is woken to stop what still runs of it, and that is
    /// awaited, so that its runtime dir can go after. One still there
    /// after `FAILED_STOP` is killed, once proven to be the instance's
    /// master: with its link gone the Emperor cannot bring it back (a
    /// respawn it already had in hand runs nothing: see `output::exec::vassal`).
    fn unlink_failed(
        &self,
        instance: Instance<'_>,
        s: &Starting,
        emperor: &Master,
        master: Option<(i32, OwnedFd)>,
    ) {
        let _ = self.remove_link(&s.link);
        self.wake(emperor);
        let Some((pid, fd)) = master else { return };
        if wait::wait_for_exits(&[fd.as_fd()], Instant::now() + FAILED_STOP)[0] {
            return;
        }
        if let Ok((Some(m), _)) = self.cx.probe(instance) {
            if m.pid() == pid && m.signal(Signal::KILL).is_ok() {
                wait::wait_for_exits(&[m.pidfd()], Instant::now() + KILL_GRACE);
            }
        }
    }

    /// What a failed start leaves goes, as under the daemon engine: the
    /// Emperor, when no vassal is left to it (under its lock, as `stop`
    /// does), then the runtime dir each failed vassal's start made — after
    /// the Emperor, whose vassals die with it.
    fn forget_failed(&self, batch: &[Instance<'_>], failed: Vec<Starting>) {
        if failed.is_empty() {
            return;
        }
        self.stop_emperor_if_idle();
        for s in failed {
            self.forget_run_dir(batch, s);
        }
    }

    /// The runtime dir of a vassal that failed, if its start made it.
    fn forget_run_dir(&self, batch: &[Instance<'_>], s: Starting) {
        // Its readiness socket is closed first: it may be in the dir.
        drop(s.notify);
        if s.created {
            let _ = self.cx.remove_idle_run_dir(batch[s.index]);
        }
    }

    /// Wait until the vassal is ready. Under an Emperor, uWSGI tells the
    /// Emperor (through its pipe), not the readiness socket, that it is
    /// ready: only its `STATUS=` messages come here. So once its wrapper
    /// has said its pid (`MAINPID=`, before it became uWSGI) ready means
    /// what a reload's completion means: the pidfile names that master,
    /// and it has children that have settled (`launch::Settling`). Its
    /// death on the way is seen at once, and a wrapper that runs nothing
    /// says why first (`exiled_message`). The Emperor dying meanwhile
    /// fails the wait at once, with its log.
    fn await_vassal(
        &self,
        s: &Starting,
        emperor: &Master,
        deadline: Instant,
    ) -> std::result::Result<i32, NotReady> {
        // The pid the wrapper said (`MAINPID=`), and that process watched.
        let mut announced: Option<i32> = None;
        let mut master: Option<(i32, OwnedFd)> = None;
        let mut last_status: Option<String> = None;
        let mut settling = launch::Settling::default();
        loop {
            if Instant::now() >= deadline {
                let mut why = format!(
                    "did not become ready within {} s",
                    launch::rounded_secs(self.cx.options.start_timeout)
                );
                if let Some(st) = last_status {
                    why.push_str(&format!(" (last status: {st})"));
                }
                return Err(NotReady {
                    why,
                    exiled: false,
                    master,
                });
            }
            let mut fds = vec![s.notify.fd(), emperor.pidfd()];
            if let Some((_, fd)) = &master {
                fds.push(fd.as_fd());
            }
            // Nothing signals the workers' settling: look every tick once
            // the master is known.
            let until = match master {
                Some(_) => deadline.min(Instant::now() + TICK),
                None => deadline,
            };
            let fired = wait::wait_for_any(&fds, until);
            // The messages first: a wrapper says why it runs nothing
            // before it ends.
            let mut exile: Option<String> = None;
            let mut ended = fired.get(2).copied().unwrap_or(false);
            for msg in s.notify.drain() {
                let Some(from) = msg.pid else { continue };
                if announced.is_none() && msg.main_pid() == Some(from) {
                    announced = Some(from);
                    match open_pidfd(from) {
                        Ok(fd) => master = Some((from, fd)),
                        // Ended, and reaped by the Emperor, before it
                        // could be watched.
                        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => ended = true,
                        Err(_) => {}
                    }
                }
                if announced != Some(from) {
                    continue;
                }
                if let Some(why) = msg.field(EXILED) {
                    exile = Some(crate::display::sanitize(why.as_ref()).into_owned());
                }
                if let Some(st) = msg.status() {
                    last_status = Some(crate::display::sanitize(st.as_ref()).into_owned());
                }
            }
            if let Some(why) = exile {
                return Err(NotReady {
                    why: format!("not run by the Emperor's wrapper: {why}"),
                    exiled: true,
                    master,
                });
            }
            if let (true, Some(pid)) = (ended, announced) {
                return Err(NotReady {
                    why: format!("its master (pid {pid}) exited before it was ready"),
                    exiled: false,
                    master: None,
                });
            }
            if fired[1] {
                return Err(NotReady {
                    why: format!(
                        "the uWSGI Emperor (pid {}) exited (its log: {})",
                        emperor.pid(),
                        display_path(&self.cx.layout.emperor_log())
                    ),
                    exiled: false,
                    master,
                });
            }
            let Some((pid, _)) = &master else { continue };
            let pid = *pid;
            if pidfile::read(&s.pidfile).ok().and_then(|p| p.pid()) != Some(pid) {
                continue;
            }
            if settling.done(pid, !procfs::children(pid).is_empty()) {
                return Ok(pid);
            }
        }
    }
}

/// What the wrapper says on the instance's readiness socket, where
/// `start` listens, before it becomes uWSGI: its pid first (`MAINPID=`,
/// as in systemd's protocol), so that `start` watches that process from
/// then on and sees it end at once, whatever it becomes.
pub fn main_pid_message(pid: u32) -> String {
    format!("MAINPID={pid}\n")
}

/// What the wrapper says when it runs nothing: why, on a line of this
/// program's own (uWSGI's `STATUS=` lines come from the same pid), so
/// that `start` gives the reason, which is in no instance's log.
pub fn exiled_message(why: &str) -> String {
    format!("{EXILED}{}\n", why.replace('\n', " "))
}

const EXILED: &str = "EXILED=";

impl Engine for EmperorEngine<'_> {
    /// Refusals and "already runs" first; then one link per instance, the
    /// Emperor woken once, and each vassal awaited (READY=1) together.
    /// A vassal that fails leaves nothing behind: no link, no process, no
    /// runtime dir (unless a master lives in it, as under the daemon
    /// engine), and no Emperor with no vassal left; the others of the
    /// batch go on.
    fn start(&self, batch: &[Instance<'_>], done: Sink<'_>) {
        let recipe = self.cx.recipe();
        let mut starting: Vec<Starting> = Vec::new();
        for (i, instance) in batch.iter().enumerate() {
            let Some(config) = instance.config else {
                done(i, Finished::new(Outcome::NotFound));
                continue;
            };
            let link = match self.link(instance.spec) {
                Ok(l) => l,
                Err(e) => {
                    done(i, Finished::failed(e.to_string()));
                    continue;
                }
            };
            let run_as = match recipe.check(config) {
                Ok(r) => r,
                Err(refusal) => {
                    done(i, Finished::failed(refusal.to_string()));
                    continue;
                }
            };
            match self.cx.probe(*instance) {
                Ok((Some(m), _)) if link.symlink_metadata().is_ok() => {
                    done(i, Finished::new(Outcome::Already { pid: Some(m.pid()) }));
                    continue;
                }
                Ok((Some(m), _)) => {
                    done(
                        i,
                        Finished::failed(format!(
                            "it already runs outside the Emperor (master pid {}), started by \
                             another engine; stop it first (uwsgi-apps stop {}), then start it",
                            m.pid(),
                            crate::display::display_name(instance.spec.to_arg().as_os_str())
                        )),
                    );
                    continue;
                }
                _ => {}
            }
            let created = match recipe.make_dirs(instance.spec) {
                Ok(c) => c,
                Err(e) => {
                    done(i, Finished::failed(e.to_string()));
                    continue;
                }
            };
            let notify = recipe.remove_stale_pidfile(instance.spec).and_then(|()| {
                NotifySocket::bind(
                    &self.cx.layout.notify_socket(instance.spec),
                    run_as.uid,
                    run_as.gid,
                )
            });
            let notify = match notify {
                Ok(n) => n,
                Err(e) => {
                    if created {
                        let _ = self.cx.remove_idle_run_dir(*instance);
                    }
                    done(i, Finished::failed(e.to_string()));
                    continue;
                }
            };
            starting.push(Starting {
                index: i,
                link,
                pidfile: self.cx.layout.pidfile(instance.spec),
                notify,
                log_offset: launch::log_end(&self.cx.layout.log_file(instance.spec)),
                warnings: run_as.warnings,
                created,
            });
        }
        if starting.is_empty() {
            return;
        }
        // Every vassal that fails from here on is cleaned once all have
        // been awaited (`forget_failed`).
        let mut failed: Vec<Starting> = Vec::new();
        // Under the Emperor's lock: find or start it, and make the links
        // before anyone may find it idle and stop it.
        let running = self
            .emperor_lock()
            .and_then(|lock| Ok((lock, self.ensure_emperor()?)));
        let (lock, emperor) = match running {
            Ok(r) => r,
            Err(e) => {
                for s in starting {
                    done(s.index, Finished::failed(e.to_string()));
                    self.forget_run_dir(batch, s);
                }
                return;
            }
        };
        let mut linked: Vec<Starting> = Vec::new();
        for s in starting {
            let config = batch[s.index]
                .config
                .map(|c| c.path.clone())
                .unwrap_or_default();
            match self.make_link(&s.link, &config) {
                Ok(()) => linked.push(s),
                Err(e) => {
                    done(s.index, Finished::failed(e.to_string()));
                    failed.push(s);
                }
            }
        }
        drop(lock);
        self.wake(&emperor);
        let deadline = Instant::now() + self.cx.options.start_timeout;
        let emperor_ref = &emperor;
        let ready: Vec<bool> = std::thread::scope(|scope| {
            let waits: Vec<_> = linked
                .iter()
                .map(|s| {
                    scope.spawn(move || {
                        let instance = batch[s.index];
                        let log = self.cx.layout.log_file(instance.spec);
                        let finished = match self.await_vassal(s, emperor_ref, deadline) {
                            Ok(pid) => {
                                let _ = pidfile::seal(&self.cx.layout.pidfile(instance.spec));
                                let mut warnings = s.warnings.clone();
                                warnings.extend(super::log_warnings(&log, s.log_offset));
                                Finished {
                                    outcome: Outcome::Done { pid: Some(pid) },
                                    warnings,
                                }
                            }
                            Err(not_ready) if not_ready.exiled => {
                                self.unlink_failed(instance, s, emperor_ref, not_ready.master);
                                Finished::failed(not_ready.why)
                            }
                            Err(not_ready) => {
                                self.unlink_failed(instance, s, emperor_ref, not_ready.master);
                                Finished::new(Outcome::Failed {
                                    reason: format!(
                                        "{}; see {}",
                                        not_ready.why,
                                        display_path(&log)
                                    ),
                                    log_tail: launch::log_tail(&log, LOG_TAIL_LINES),
                                })
                            }
                        };
                        let ok = !finished.outcome.is_failure();
                        done(s.index, finished);
                        ok
                    })
                })
                .collect();
            waits
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        failed.extend(
            linked
                .into_iter()
                .zip(ready)
                .filter_map(|(s, ok)| (!ok).then_some(s)),
        );
        self.forget_failed(batch, failed);
    }

    /// Every link removed, the Emperor woken once, each master awaited
    /// (the Emperor stops it; a vassal is never signalled, or the Emperor
    /// would bring it back). A master that runs without a link (another
    /// engine's) is stopped as the daemon engine does.
    fn stop(&self, batch: &[Instance<'_>], done: Sink<'_>) {
        let mut waiting: Vec<(usize, Option<Master>)> = Vec::new();
        let mut outside: Vec<usize> = Vec::new();
        for (i, instance) in batch.iter().enumerate() {
            let link = match self.link(instance.spec) {
                Ok(l) => l,
                Err(e) => {
                    done(i, Finished::failed(e.to_string()));
                    continue;
                }
            };
            // Its master is looked up while the link still stands: once
            // it is gone, the Emperor may stop the vassal at any moment.
            let master = self.cx.probe(*instance).ok().and_then(|(m, _)| m);
            match self.remove_link(&link) {
                Ok(true) => waiting.push((i, master)),
                Ok(false) => outside.push(i),
                Err(e) => done(i, Finished::failed(e.to_string())),
            }
        }
        if !outside.is_empty() {
            let rest: Vec<Instance<'_>> = outside.iter().map(|&i| batch[i]).collect();
            super::daemon::DaemonEngine::new(self.cx).stop(&rest, &|k, f| done(outside[k], f));
        }
        if !waiting.is_empty() {
            if let Some(emperor) = self.emperor() {
                self.wake(&emperor);
            }
            let fds: Vec<_> = waiting
                .iter()
                .filter_map(|(_, m)| m.as_ref().map(Master::pidfd))
                .collect();
            let deadline = Instant::now() + self.cx.options.stop_timeout + KILL_GRACE;
            let exited = wait::wait_for_exits(&fds, deadline);
            let mut exited = exited.into_iter();
            for (i, master) in waiting {
                let gone = master.is_none() || exited.next().unwrap_or(false);
                let finished = if gone {
                    self.cx.stopped(
                        batch[i],
                        match &master {
                            Some(m) => Outcome::Done { pid: Some(m.pid()) },
                            None => Outcome::Already { pid: None },
                        },
                    )
                } else {
                    Finished::failed(format!(
                        "its master (pid {}) did not exit after its vassal link was removed",
                        master.as_ref().map_or(0, Master::pid)
                    ))
                };
                done(i, finished);
            }
        }
        self.stop_emperor_if_idle();
    }

    /// A graceful reload is `touch -h` on the vassal link (the Emperor
    /// then reloads its vassal); a brutal one is SIGTERM to the master,
    /// which reloads it in place (it does not exit, so the Emperor has
    /// nothing to respawn). Both with the shared readiness and `--wait`
    /// proof of `reload`.
    fn reload(&self, batch: &[Instance<'_>], force: bool, done: Sink<'_>) {
        std::thread::scope(|scope| {
            for (i, instance) in batch.iter().enumerate() {
                scope.spawn(move || {
                    let link = match self.link(instance.spec) {
                        Ok(l) if l.symlink_metadata().is_ok() => l,
                        Ok(_) => {
                            return done(
                                i,
                                Finished::failed(
                                    "not running under the Emperor, so it cannot be reloaded",
                                ),
                            )
                        }
                        Err(e) => return done(i, Finished::failed(e.to_string())),
                    };
                    let finished = match self.cx.probe(*instance) {
                        Ok((Some(master), _)) => {
                            let send =
                                |m: &Master, signal: Signal| -> std::result::Result<(), String> {
                                    if signal == Signal::TERM {
                                        return m.signal(signal).map_err(|e| e.to_string());
                                    }
                                    touch_link(&link).map_err(|e| e.to_string())?;
                                    if let Some(emperor) = self.emperor() {
                                        self.wake(&emperor);
                                    }
                                    Ok(())
                                };
                            reload::reload(self.cx, *instance, &master, force, true, &send)
                        }
                        Ok((None, _)) => Finished::failed("not running, so it cannot be reloaded"),
                        Err(e) => Finished::failed(e.to_string()),
                    };
                    done(i, finished);
                });
            }
        });
    }

    fn status(&self, instance: Instance<'_>) -> InstanceStatus {
        self.cx.pidfile_status(instance)
    }
}

/// `touch -h`: make the link's own modification time newer than it was,
/// never its target's. The Emperor compares whole seconds: a link made
/// (or touched) in this same second would not look newer, so the time is
/// now or one second past the old one, whichever is later.
fn touch_link(link: &Path) -> io::Result<()> {
    use rustix::fs::{utimensat, AtFlags, Timespec, Timestamps, CWD};
    let old = fs::symlink_metadata(link)?.mtime();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let when = Timespec {
        tv_sec: now.max(old + 1),
        tv_nsec: 0,
    };
    utimensat(
        CWD,
        link,
        &Timestamps {
            last_access: when,
            last_modification: when,
        },
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(io::Error::from)
}

/// The vassal file name the Emperor gives its wrapper, as bytes.
pub fn vassal_arg(args: &[OsString]) -> Option<&OsStr> {
    // `WRAPPER [--inherit X | --include X | --set X]… --ini NAME [...]`:
    // the config option the Emperor picks from the name's extension,
    // then the name.
    args.windows(2)
        .find(|w| {
            matches!(
                w[0].as_bytes(),
                b"--ini" | b"--xml" | b"--yaml" | b"--json" | b"--config" | b"--inherit"
            ) && w[1].as_bytes().ends_with(b".ini")
        })
        .map(|w| w[1].as_os_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Namespace;

    #[test]
    fn link_names_round_trip() {
        let spec = Confspec::new(Namespace::new("vassal").unwrap(), "my app").unwrap();
        let name = link_name(&spec);
        assert_eq!(name, "vassal:my\\x20app.ini");
        assert_eq!(spec_of_link(&name).unwrap(), spec);
        assert_eq!(
            spec_of_link(OsStr::new("/run/uwsgi-apps/emperor/vassals/hello.ini")).unwrap(),
            Confspec::new(Namespace::app(), "hello").unwrap()
        );
        assert!(spec_of_link(OsStr::new("hello.xml")).is_err());
        let args: Vec<OsString> = ["--ini", "hello.ini"].iter().map(OsString::from).collect();
        assert_eq!(vassal_arg(&args), Some(OsStr::new("hello.ini")));
        let said = |text: String| crate::process::notify::Message { pid: None, text };
        assert_eq!(said(main_pid_message(42)).main_pid(), Some(42));
        assert_eq!(said("READY=1\n".into()).main_pid(), None);
        assert_eq!(
            said(exiled_message("no such\nuser")).field(EXILED),
            Some("no such user")
        );
        assert_eq!(
            said("STATUS=initializing uWSGI\n".into()).field(EXILED),
            None
        );
    }
}
