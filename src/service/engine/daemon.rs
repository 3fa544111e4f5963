//! The daemon engine (SPEC §4): one uWSGI master per app, started
//! detached by this program, stopped and reloaded by signals to the
//! master alone, through its pidfd.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::discovery::EnabledConfig;
use crate::display::display_path;
use crate::process::launch::{self, LaunchSpec};
use crate::process::notify::NotifySocket;
use crate::process::{pidfile, wait, Master};

use super::{reload, Context, Engine, Finished, Instance, Sink, LOG_TAIL_LINES};
use crate::service::plan::KILL_GRACE;
use crate::service::recipe::Refusal;
use crate::service::report::{InstanceStatus, Outcome};

/// How long a stopping master may take before it gets its SIGINT again;
/// uWSGI normally stops in about a second.
const STOP_NUDGE: Duration = Duration::from_secs(3);

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
        let started = matches!(outcome, Outcome::Done { .. } | Outcome::Already { .. });
        if created && !started {
            let _ = self.cx.remove_idle_run_dir(instance);
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
                warnings.extend(super::log_warnings(&log, log_offset));
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
    /// signalling (`launch::settle_delay`), and every `STOP_NUDGE` a master still
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
                Ok((None, _)) => done(
                    i,
                    self.cx.stopped(*instance, Outcome::Already { pid: None }),
                ),
                Err(e) => done(i, Finished::failed(e.to_string())),
            }
        }
        let masters: Vec<&Master> = running.iter().map(|(_, m)| m).collect();
        let pids: Vec<i32> = masters.iter().map(|m| m.pid()).collect();
        let settle = launch::settle_delay(&pids);
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
                    self.cx.stopped(
                        batch[i],
                        Outcome::Done {
                            pid: Some(master.pid()),
                        },
                    )
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
                scope.spawn(move || {
                    let finished = match self.cx.probe(*instance) {
                        Ok((Some(master), _)) => reload::reload(
                            self.cx,
                            *instance,
                            &master,
                            force,
                            true,
                            &|m, signal| m.signal(signal).map_err(|e| e.to_string()),
                        ),
                        Ok((None, _)) => Finished::failed("not running, so it cannot be reloaded"),
                        Err(e) => Finished::failed(e.to_string()),
                    };
                    done(i, finished)
                });
            }
        });
    }

    fn status(&self, instance: Instance<'_>) -> InstanceStatus {
        self.cx.pidfile_status(instance)
    }
}
