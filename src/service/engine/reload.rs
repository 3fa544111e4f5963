//! Reloading one instance's master, the same for every engine that knows
//! the master's pid (the daemon engine, systemd units); only how the
//! signal is sent differs, so the engine passes that in.
//!
//! Three things make a reload reliable with uWSGI 2.0.21:
//! * a reload this program signalled before and did not wait for may not
//!   have begun: a second signal then merges into it and is lost — so each
//!   reload is recorded (`PendingReload`) and the next one waits for it;
//! * a master that re-executes itself does not handle the signal yet and
//!   dies of it — so the master is signalled only once it catches the
//!   signal again (`SigCgt`), and once its workers have settled (a fresh
//!   worker loses the signal the master forwards to it);
//! * a reload tells nobody when it is done (`READY=1` of a re-exec is
//!   lost) — so `--wait` proves it: every child the master had before is
//!   gone (or the master said `STATUS=initializing` again), and its new
//!   children have settled.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::display::display_path;
use crate::name::Confspec;
use crate::process::identity::open_pidfd;
use crate::process::launch::{self, Settling};
use crate::process::notify::NotifySocket;
use crate::process::{procfs, wait, Master};

use super::{Context, Finished, Instance, LOG_TAIL_LINES};
use crate::service::report::Outcome;

/// How often a wait that nothing signals looks again (a master starting
/// to handle a signal, a reload's new workers).
const TICK: Duration = Duration::from_millis(10);

/// How one engine delivers the reload signal to an instance's master.
pub type Send<'s> = &'s dyn Fn(&Master, Signal) -> Result<(), String>;

/// Reload `instance` (gracefully with SIGHUP, brutally with SIGTERM when
/// `force`), whose master is `master`. With `listen`, the readiness socket
/// of the run dir is the master's `NOTIFY_SOCKET` (the daemon engine) and
/// is listened on while waiting.
pub fn reload(
    cx: &Context<'_>,
    instance: Instance<'_>,
    master: &Master,
    force: bool,
    listen: bool,
    send: Send<'_>,
) -> Finished {
    let (signal, number, name) = if force {
        (Signal::TERM, libc::SIGTERM, "SIGTERM")
    } else {
        (Signal::HUP, libc::SIGHUP, "SIGHUP")
    };
    let timeout = cx.options.start_timeout;
    let deadline = Instant::now() + timeout;
    let pending = PendingReload::of(cx, instance.spec);
    pending.wait_done(master, deadline);
    if !wait_until(deadline, master, || {
        procfs::handles_signal(master.pid(), number)
    }) {
        return Finished::failed(format!(
            "its master (pid {}) did not become ready for {name} within {} s \
             (a reload still in progress?)",
            master.pid(),
            launch::rounded_secs(timeout)
        ));
    }
    let mut settling = Settling::default();
    wait_until(deadline, master, || settling.done(master.pid(), true));
    let young = launch::settle_delay(&[master.pid()]);
    if !young.is_zero() {
        std::thread::sleep(young);
    }

    let waiting = match Reloading::before(cx, instance, master, listen) {
        Ok(w) => w,
        Err(e) => return Finished::failed(e),
    };
    if let Err(e) = send(master, signal) {
        return Finished::failed(format!("cannot send {name} to pid {}: {e}", master.pid()));
    }
    let mut finished = Finished::new(Outcome::Done {
        pid: Some(master.pid()),
    });
    if !cx.options.wait_reload {
        pending.record(master, &waiting.old);
        return finished;
    }
    let log = cx.layout.log_file(instance.spec);
    if let Err(why) = await_reload(master, &waiting, deadline, timeout) {
        pending.record(master, &waiting.old);
        return Finished::new(Outcome::Failed {
            reason: format!("{why}; see {}", display_path(&log)),
            log_tail: launch::log_tail(&log, LOG_TAIL_LINES),
        });
    }
    pending.clear();
    finished
        .warnings
        .extend(super::log_warnings(&log, waiting.log_offset));
    finished
}

/// A reload signalled and not waited for, as a record in this program's
/// private state dir (`/run/uwsgi-apps/reloads/NS/NAME`, written under the
/// instance's lock): the master, and the children it had to replace, each
/// as pid and start time (a pid alone may be reused).
struct PendingReload {
    path: Option<PathBuf>,
}

impl PendingReload {
    fn of(cx: &Context<'_>, spec: &Confspec) -> PendingReload {
        PendingReload {
            path: crate::lock::instance_state_file(cx.layout, "reloads", spec).ok(),
        }
    }

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

/// What a reload watches.
struct Reloading {
    /// The master's children before the signal, held by pidfds.
    old: Vec<(i32, OwnedFd)>,
    notify: Option<NotifySocket>,
    log_offset: u64,
}

impl Reloading {
    fn before(
        cx: &Context<'_>,
        instance: Instance<'_>,
        master: &Master,
        listen: bool,
    ) -> Result<Reloading, String> {
        let old: Vec<(i32, OwnedFd)> = procfs::children(master.pid())
            .into_iter()
            .filter_map(|c| open_pidfd(c).ok().map(|fd| (c, fd)))
            .collect();
        // The re-executed master may tell us through its readiness socket
        // (STATUS=initializing); listen before signalling.
        let notify = match instance.config.filter(|_| listen && cx.options.wait_reload) {
            Some(config) => {
                let run_as = cx.recipe().run_as(config).map_err(|e| e.to_string())?;
                NotifySocket::bind(
                    &cx.layout.notify_socket(instance.spec),
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
            log_offset: launch::log_end(&cx.layout.log_file(instance.spec)),
        })
    }
}

/// After a reload signal, wait until the reload has really completed:
/// the master re-executed itself — every child it had before the signal is
/// gone, or it said `STATUS=initializing` again — and its new children
/// have settled (see `launch::workers_settled`: threaded workers count
/// once one of their threads waits for requests). A child that never
/// settles (an `attach-daemon` program) is believed after a while
/// (`launch::Settling`).
/// The master dying on the way is a failure.
fn await_reload(
    master: &Master,
    reloading: &Reloading,
    deadline: Instant,
    timeout: Duration,
) -> Result<(), String> {
    let old_pids: Vec<i32> = reloading.old.iter().map(|(p, _)| *p).collect();
    let mut old_gone = vec![false; reloading.old.len()];
    let mut reexec_said = false;
    let mut settling = Settling::default();
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
        if settling.done(master.pid(), !new.is_empty()) {
            return Ok(());
        }
    }
}

/// Poll `ready` every `TICK` until it holds (`true`), the deadline passes
/// or the master exits (`false`).
pub fn wait_until(deadline: Instant, master: &Master, mut ready: impl FnMut() -> bool) -> bool {
    loop {
        if ready() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        let until = deadline.min(now + TICK);
        if wait::wait_for_exits(&[master.pidfd()], until)[0] {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Daemon;
    use std::path::Path;

    #[test]
    fn waits_until_a_condition_or_the_process_ends() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let sleep = Daemon::new(Path::new("/bin/sleep"));
        let master = Master::open(child.id() as i32, &sleep).expect("a sleep is what runs");
        let mut n = 0;
        assert!(wait_until(
            Instant::now() + Duration::from_secs(5),
            &master,
            || {
                n += 1;
                n == 3
            }
        ));
        let started = Instant::now();
        assert!(!wait_until(
            Instant::now() + Duration::from_millis(50),
            &master,
            || false
        ));
        assert!(started.elapsed() >= Duration::from_millis(50));
        child.kill().unwrap();
        assert!(!wait_until(
            Instant::now() + Duration::from_secs(5),
            &master,
            || false
        ));
        child.wait().unwrap();
    }
}
