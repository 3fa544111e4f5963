//! The daemon engine (SPEC §4): one uWSGI master per app, started
//! detached by this program, stopped and reloaded by signals to the
//! master alone, through its pidfd.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::discovery::EnabledConfig;
use crate::display::display_path;
use crate::process::identity::open_pidfd;
use crate::process::launch::{self, LaunchSpec, SETTLE_MAX};
use crate::process::notify::NotifySocket;
use crate::process::{pidfile, procfs, wait, Master};

use super::{Context, Engine, Finished, Instance, Sink};
use crate::service::plan::KILL_GRACE;
use crate::service::recipe::Refusal;
use crate::service::report::{InstanceStatus, Outcome};
use crate::service::rundir;

/// How long a stopping master may take before it gets its SIGINT again;
/// uWSGI normally stops in about a second.
const STOP_NUDGE: Duration = Duration::from_secs(3);

/// Lines of the log shown when a start fails.
pub const LOG_TAIL_LINES: usize = 15;

/// How often a wait that nothing signals looks again (a master starting
/// to handle a signal, a reload's new workers).
const TICK: Duration = Duration::from_millis(10);

pub struct DaemonEngine<'a> {
    cx: &'a Context<'a>,
}

impl<'a> DaemonEngine<'a> {
    pub fn new(cx: &'a Context<'a>) -> Self {
        DaemonEngine { cx }
    }

    // ---- start -------------------------------------------------------

    fn start_one(&self, config: &EnabledConfig) -> Finished {
        let recipe = self.cx.recipe();
        let spec = &config.spec;
        let instance = Instance {
            spec,
            config: Some(config),
        };
        let run_as = match recipe.check(config) {
            Ok(r) => r,
            Err(refusal) => return Finished::failed(refusal.to_string()),
        };
        let mut warnings: Vec<String> = run_as.warnings.clone();
        let created = match recipe.make_dirs(spec) {
            Ok(c) => c,
            Err(e) => return Finished::failed(e.to_string()),
        };
        let outcome = match self.cx.probe(instance) {
            Ok((Some(m), _)) => Ok(Outcome::Already { pid: Some(m.pid()) }),
            Ok((None, _)) => self.launch(config, run_as.uid, run_as.gid, &mut warnings),
            Err(e) => Err(Refusal::Failed(e)),
        };
        let outcome = outcome.unwrap_or_else(|r| Outcome::failed(r.to_string()));
        // A start that failed leaves nothing behind: the runtime dir it
        // made goes again, unless a master (of whatever start) lives in it.
        let started = matches!(outcome, Outcome::Done { .. } | Outcome::Already { .. });
        if created && !started && !matches!(self.cx.probe(instance), Ok((Some(_), _))) {
            let _ = rundir::remove_run_dir(self.cx.layout, spec);
        }
        Finished { outcome, warnings }
    }

    /// Run the instance, whose runtime dir exists and which does not run.
    fn launch(
        &self,
        config: &EnabledConfig,
        uid: u32,
        gid: u32,
        warnings: &mut Vec<String>,
    ) -> Result<Outcome, Refusal> {
        let recipe = self.cx.recipe();
        let spec = &config.spec;
        recipe.remove_stale_pidfile(spec)?;
        let notify_path = self.cx.layout.notify_socket(spec);
        let notify = NotifySocket::bind(&notify_path, uid, gid)?;
        let log = recipe.log(spec);
        let pidfile_path = self.cx.layout.pidfile(spec);
        let log_offset = launch::log_end(&log);
        let launch_spec = LaunchSpec {
            program: recipe.program(),
            args: recipe.command_line(config),
            env: recipe.environment(
                spec,
                &[("NOTIFY_SOCKET".into(), notify_path.into_os_string())],
            ),
            log: &log,
            pidfile: &pidfile_path,
            notify: &notify,
            timeout: self.cx.options.start_timeout,
        };
        match launch::launch(&launch_spec) {
            Ok(pid) => {
                pidfile::seal(&pidfile_path)?;
                warnings.extend(no_app_warning(&log, log_offset));
                Ok(Outcome::Done { pid: Some(pid) })
            }
            Err(failure) => Ok(Outcome::Failed {
                reason: format!("{failure}; see {}", display_path(&log)),
                log_tail: launch::log_tail(&log, LOG_TAIL_LINES),
            }),
        }
    }

    // ---- stop --------------------------------------------------------

    /// Wait for every signalled master to exit; SIGKILL those still there
    /// after the stop timeout and wait `KILL_GRACE` more. Per master,
    /// whether it is gone.
    ///
    /// uWSGI 2.0.21 can lose a SIGINT that comes within some milliseconds
    /// of its READY=1: the stop lets fresh workers settle before
    /// signalling (`launch::stop_settle_delay`), and every `STOP_NUDGE` a master still
    /// there gets SIGINT again, in case the master itself lost it. Only
    /// the master: workers are never signalled.
    fn wait_exit_or_kill(&self, masters: &[&Master]) -> Vec<bool> {
        let deadline = Instant::now() + self.cx.options.stop_timeout;
        let mut gone = vec![false; masters.len()];
        loop {
            let pending: Vec<usize> = (0..gone.len()).filter(|&k| !gone[k]).collect();
            if pending.is_empty() {
                return gone;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let fds: Vec<_> = pending.iter().map(|&k| masters[k].pidfd()).collect();
            let until = deadline.min(now + STOP_NUDGE);
            let exited = wait::wait_for_exits(&fds, until);
            for (&k, g) in pending.iter().zip(exited) {
                gone[k] = g;
                if !g && until < deadline {
                    let _ = masters[k].signal(Signal::INT);
                }
            }
        }
        let stubborn: Vec<usize> = (0..gone.len()).filter(|&k| !gone[k]).collect();
        for &k in &stubborn {
            let _ = masters[k].signal(Signal::KILL);
        }
        let fds: Vec<_> = stubborn.iter().map(|&k| masters[k].pidfd()).collect();
        let after = wait::wait_for_exits(&fds, Instant::now() + KILL_GRACE);
        for (k, g) in stubborn.into_iter().zip(after) {
            gone[k] = g;
        }
        gone
    }

    /// After its master is gone, the instance's runtime dir goes too. A
    /// failure to clean it is a warning: the instance is stopped, and
    /// `restart` must start it again (an app's leftovers once kept every
    /// app of a restart down).
    fn clean_up(&self, instance: Instance<'_>, pid: Option<i32>) -> Finished {
        let mut finished = Finished::new(match pid {
            Some(pid) => Outcome::Done { pid: Some(pid) },
            None => Outcome::Already { pid: None },
        });
        if let Err(e) = rundir::remove_run_dir(self.cx.layout, instance.spec) {
            finished
                .warnings
                .push(format!("stopped, but its runtime directory stays: {e}"));
        }
        finished
    }

    // ---- reload ------------------------------------------------------

    fn reload_one(&self, instance: Instance<'_>, force: bool) -> Finished {
        let master = match self.cx.probe(instance) {
            Ok((Some(m), _)) => m,
            Ok((None, _)) => return Finished::failed("not running, so it cannot be reloaded"),
            Err(e) => return Finished::failed(e.to_string()),
        };
        let (signal, number, name) = if force {
            (Signal::TERM, libc::SIGTERM, "SIGTERM")
        } else {
            (Signal::HUP, libc::SIGHUP, "SIGHUP")
        };
        let timeout = self.cx.options.start_timeout;
        let deadline = Instant::now() + timeout;
        // A reload this program signalled before, and did not wait for,
        // may not have begun yet: a second signal then merges into it and
        // is lost. Wait until the children it had to replace are gone.
        let pending = self.pending_reload(instance.spec);
        pending.wait_done(&master, deadline);
        // A master that re-executes itself (a reload in progress) does not
        // handle the signal yet, and dies of it: ten reloads in a row once
        // killed the app. Signal it only once it catches the signal again,
        // and its workers are settled enough not to lose it.
        if !wait_until(deadline, master.pidfd(), || {
            procfs::handles_signal(master.pid(), number)
        }) {
            return Finished::failed(format!(
                "its master (pid {}) did not become ready for {name} within {} s \
                 (a reload still in progress?)",
                master.pid(),
                launch::rounded_secs(timeout)
            ));
        }
        let settled_by = Instant::now() + SETTLE_MAX;
        wait_until(deadline.min(settled_by), master.pidfd(), || {
            launch::workers_settled(master.pid())
        });

        let waiting = match self.before_reload(instance, &master) {
            Ok(w) => w,
            Err(e) => return Finished::failed(e),
        };
        if let Err(e) = master.signal(signal) {
            return Finished::failed(format!("cannot send {name} to pid {}: {e}", master.pid()));
        }
        let mut finished = Finished::new(Outcome::Done {
            pid: Some(master.pid()),
        });
        if !self.cx.options.wait_reload {
            pending.record(&master, &waiting.old);
            return finished;
        }
        let log = self.cx.layout.log_file(instance.spec);
        if let Err(why) = await_reload(&master, &waiting, deadline, timeout) {
            pending.record(&master, &waiting.old);
            return Finished::new(Outcome::Failed {
                reason: format!("{why}; see {}", display_path(&log)),
                log_tail: launch::log_tail(&log, LOG_TAIL_LINES),
            });
        }
        pending.clear();
        finished
            .warnings
            .extend(no_app_warning(&log, waiting.log_offset));
        finished
    }

    fn pending_reload(&self, spec: &crate::name::Confspec) -> PendingReload {
        PendingReload {
            path: crate::lock::instance_state_file(self.cx.layout, "reloads", spec).ok(),
        }
    }

    /// What a waited-for reload must see go away: the master's children
    /// now (held by pidfds), and the log's end.
    fn before_reload(&self, instance: Instance<'_>, master: &Master) -> Result<Reloading, String> {
        let old: Vec<(i32, OwnedFd)> = procfs::children(master.pid())
            .into_iter()
            .filter_map(|c| open_pidfd(c).ok().map(|fd| (c, fd)))
            .collect();
        // The re-executed master may tell us through its readiness socket
        // (STATUS=initializing); listen before signalling.
        let notify = match instance.config.filter(|_| self.cx.options.wait_reload) {
            Some(config) => {
                let run_as = self.cx.recipe().run_as(config).map_err(|e| e.to_string())?;
                NotifySocket::bind(
                    &self.cx.layout.notify_socket(instance.spec),
                    run_as.uid,
                    run_as.gid,
                )
                .ok()
            }
            None => None,
        };
        Ok(Reloading {
            old,
            notify,
            log_offset: launch::log_end(&self.cx.layout.log_file(instance.spec)),
        })
    }
}

/// A reload signalled and not waited for, as a record in this program's
/// private state dir (`/run/uwsgi-apps/reloads/NS/NAME`, written under the
/// instance's lock): the master, and the children it had to replace, each
/// as pid and start time (a pid alone may be reused).
struct PendingReload {
    path: Option<std::path::PathBuf>,
}

impl PendingReload {
    fn record(&self, master: &Master, old: &[(i32, OwnedFd)]) {
        let Some(path) = &self.path else { return };
        let mut text = String::new();
        for pid in std::iter::once(master.pid()).chain(old.iter().map(|(p, _)| *p)) {
            if let Some(start) = procfs::start_ticks(pid) {
                text.push_str(&format!("{pid} {start}\n"));
            }
        }
        let _ = std::fs::write(path, text);
    }

    fn clear(&self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }

    /// If the record is about this master, wait (until `deadline`) for
    /// each child it names that still runs (same pid, same start time).
    fn wait_done(&self, master: &Master, deadline: Instant) {
        let Some(path) = &self.path else { return };
        let Ok(text) = std::fs::read_to_string(path) else {
            return;
        };
        let same = |pid: i32, start: u64| procfs::start_ticks(pid) == Some(start);
        let mut lines = text.lines().filter_map(|l| {
            let (pid, start) = l.split_once(' ')?;
            Some((pid.parse::<i32>().ok()?, start.parse::<u64>().ok()?))
        });
        if lines
            .next()
            .is_some_and(|(pid, start)| pid == master.pid() && same(pid, start))
        {
            let fds: Vec<OwnedFd> = lines
                .filter(|&(pid, start)| same(pid, start))
                .filter_map(|(pid, _)| open_pidfd(pid).ok())
                .collect();
            let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
            wait::wait_for_exits(&borrowed, deadline);
        }
        self.clear();
    }
}

/// What a waited-for reload watches.
struct Reloading {
    /// The master's children before the signal.
    old: Vec<(i32, OwnedFd)>,
    notify: Option<NotifySocket>,
    log_offset: u64,
}

/// After a reload signal, wait until the reload has really completed:
/// the master re-executed itself — every child it had before the signal is
/// gone, or it said `STATUS=initializing` again (uWSGI 2.0.21 loses the
/// `READY=1` of a re-exec, so no single message is waited for) — and its
/// new children have settled (see `launch::workers_settled`: threaded
/// workers count once one of their threads waits for requests). A child
/// that never settles (an `attach-daemon` program) is believed after
/// `SETTLE_MAX`. The master dying on the way is a failure.
fn await_reload(
    master: &Master,
    reloading: &Reloading,
    deadline: Instant,
    timeout: Duration,
) -> Result<(), String> {
    let old_pids: Vec<i32> = reloading.old.iter().map(|(p, _)| *p).collect();
    let mut old_gone = vec![false; reloading.old.len()];
    let mut reexec_said = false;
    let mut new_since: Option<Instant> = None;
    loop {
        if Instant::now() >= deadline {
            return Err(format!(
                "the reload did not complete within {} s",
                launch::rounded_secs(timeout)
            ));
        }
        let reexec = reexec_said || old_gone.iter().all(|&g| g);
        let wait_for = if reexec {
            TICK
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        let mut fds = vec![master.pidfd()];
        if let Some(n) = &reloading.notify {
            fds.push(n.fd());
        }
        let watching: Vec<usize> = (0..old_gone.len()).filter(|&k| !old_gone[k]).collect();
        for &k in &watching {
            fds.push(reloading.old[k].1.as_fd());
        }
        let fired = wait::wait_for_any(&fds, Instant::now() + wait_for);
        if fired[0] {
            return Err(format!(
                "its master (pid {}) exited during the reload",
                master.pid()
            ));
        }
        let mut at = 1;
        if let Some(n) = &reloading.notify {
            if fired[at] {
                for msg in n.drain() {
                    if msg.pid == Some(master.pid())
                        && (msg.is_ready()
                            || msg.status().is_some_and(|s| s.starts_with("initializing")))
                    {
                        reexec_said = true;
                    }
                }
            }
            at += 1;
        }
        for (&k, &f) in watching.iter().zip(&fired[at..]) {
            old_gone[k] |= f;
        }
        if !(reexec_said || old_gone.iter().all(|&g| g)) {
            continue;
        }
        let new: Vec<i32> = procfs::children(master.pid())
            .into_iter()
            .filter(|c| !old_pids.contains(c))
            .collect();
        if new.is_empty() {
            continue;
        }
        let since = *new_since.get_or_insert_with(Instant::now);
        if launch::workers_settled(master.pid()) || since.elapsed() >= SETTLE_MAX {
            return Ok(());
        }
    }
}

/// Poll `ready` every `TICK` until it holds (`true`), the deadline passes
/// or the process of `pidfd` exits (`false`).
fn wait_until(
    deadline: Instant,
    pidfd: std::os::fd::BorrowedFd<'_>,
    mut ready: impl FnMut() -> bool,
) -> bool {
    loop {
        if ready() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        let until = deadline.min(now + TICK);
        if wait::wait_for_exits(&[pidfd], until)[0] {
            return false;
        }
    }
}

/// Warnings when the log, from `offset` on, says uWSGI loaded no app (it
/// runs, but answers nothing) or could not load a plugin.
fn no_app_warning(log: &std::path::Path, offset: u64) -> Vec<String> {
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
                display_path(log)
            )
        })
        .collect()
}

impl Engine for DaemonEngine<'_> {
    /// At most `jobs` at once, each on its own thread: a start mostly
    /// waits (for Python to load the app).
    fn start(&self, batch: &[Instance<'_>], done: Sink<'_>) {
        let jobs = self.cx.options.jobs.clamp(1, batch.len().max(1));
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                let next = &next;
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(instance) = batch.get(i) else { break };
                    let finished = match instance.config {
                        Some(config) => self.start_one(config),
                        None => Finished::new(Outcome::NotFound),
                    };
                    done(i, finished);
                });
            }
        });
    }

    /// Signal every master first, then wait for all of them together:
    /// stopping 50 takes about as long as stopping one.
    fn stop(&self, batch: &[Instance<'_>], done: Sink<'_>) {
        let mut running: Vec<(usize, Master)> = Vec::new();
        for (i, instance) in batch.iter().enumerate() {
            match self.cx.probe(*instance) {
                Ok((Some(master), _)) => running.push((i, master)),
                // No config and nothing running: no such instance.
                Ok((None, _)) if instance.config.is_none() => {
                    done(i, Finished::new(Outcome::NotFound))
                }
                Ok((None, _)) => done(i, self.clean_up(*instance, None)),
                Err(e) => done(i, Finished::failed(e.to_string())),
            }
        }
        let masters: Vec<&Master> = running.iter().map(|(_, m)| m).collect();
        let pids: Vec<i32> = masters.iter().map(|m| m.pid()).collect();
        let settle = launch::stop_settle_delay(&pids);
        if !settle.is_zero() {
            std::thread::sleep(settle);
        }
        let mut signalled: Vec<(usize, &Master)> = Vec::new();
        for (i, master) in &running {
            match master.signal(Signal::INT) {
                Ok(()) => signalled.push((*i, master)),
                Err(e) => done(
                    *i,
                    Finished::failed(format!("cannot send SIGINT to pid {}: {e}", master.pid())),
                ),
            }
        }
        let masters: Vec<&Master> = signalled.iter().map(|(_, m)| *m).collect();
        let gone = self.wait_exit_or_kill(&masters);
        for ((i, master), gone) in signalled.into_iter().zip(gone) {
            done(
                i,
                if gone {
                    self.clean_up(batch[i], Some(master.pid()))
                } else {
                    Finished::failed(format!(
                        "pid {} did not exit, not even after SIGKILL",
                        master.pid()
                    ))
                },
            );
        }
    }

    fn reload(&self, batch: &[Instance<'_>], force: bool, done: Sink<'_>) {
        std::thread::scope(|scope| {
            for (i, instance) in batch.iter().enumerate() {
                scope.spawn(move || done(i, self.reload_one(*instance, force)));
            }
        });
    }

    fn status(&self, instance: Instance<'_>) -> InstanceStatus {
        self.cx.pidfile_status(instance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_a_condition_or_the_process_ends() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let fd = open_pidfd(child.id() as i32).unwrap();
        let mut n = 0;
        assert!(wait_until(
            Instant::now() + Duration::from_secs(5),
            fd.as_fd(),
            || {
                n += 1;
                n == 3
            }
        ));
        let started = Instant::now();
        assert!(!wait_until(
            Instant::now() + Duration::from_millis(50),
            fd.as_fd(),
            || false
        ));
        assert!(started.elapsed() >= Duration::from_millis(50));
        child.kill().unwrap();
        assert!(!wait_until(
            Instant::now() + Duration::from_secs(5),
            fd.as_fd(),
            || false
        ));
        child.wait().unwrap();
    }
}
