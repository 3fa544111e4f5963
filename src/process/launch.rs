//! Running a uWSGI master detached from us, and knowing when it is ready.
//!
//! The master is started as our direct child, in a session of its own
//! (setsid: no controlling terminal, its own process group), with umask 0,
//! stdin on /dev/null and its log given by `--logto`: what uWSGI's own
//! `--daemonize` does with its double fork, minus the fork chain. So its
//! pid and pidfd are known at spawn: no process of ours has to be found
//! in /proc, and a master that dies at any moment is seen at once through
//! its pidfd. When this program exits, the master is left to PID 1 like
//! any daemon.
//!
//! Ready means: the master sent `READY=1` (systemd's notify protocol) on
//! the socket we gave it, the pidfile names it, and its workers have
//! settled (see `workers_settled`).
//!
//! Settling is one rule with two kinds of wait, both here: a start, a
//! reload and a vassal's start watch the workers until they have settled
//! (`Settling`); a stop of many instances waits once until every youngest
//! worker is old enough to have settled (`settle_delay`).

use std::ffi::OsString;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{waitpid, Pid, WaitOptions, WaitStatus};

use super::identity::open_pidfd;
use super::notify::NotifySocket;
use super::{pidfile, procfs, wait::timespec};
use crate::display::{display_path, sanitize};

/// Everything one start needs.
#[derive(Debug)]
pub struct LaunchSpec<'a> {
    pub program: &'a Path,
    pub args: Vec<OsString>,
    /// The complete environment (nothing else is inherited).
    pub env: Vec<(OsString, OsString)>,
    /// The instance's log: the master's stdout and stderr until uWSGI's
    /// `--logto` takes them over (messages about a bad command line).
    pub log: &'a Path,
    pub pidfile: &'a Path,
    pub notify: &'a NotifySocket,
    pub timeout: Duration,
}

/// Why a start failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchFailure {
    /// The program could not be run at all.
    Spawn(String),
    /// The master exited before reporting ready.
    Died(String),
    /// No `READY=1` within the timeout; the master may still run.
    Timeout {
        master: i32,
        /// The last `STATUS=` text, sanitised: it comes from the app.
        status: Option<String>,
        waited: Duration,
    },
}

impl std::fmt::Display for LaunchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LaunchFailure::Spawn(why) | LaunchFailure::Died(why) => f.write_str(why),
            LaunchFailure::Timeout {
                master,
                status,
                waited,
            } => {
                write!(
                    f,
                    "did not report READY=1 within {} s",
                    rounded_secs(*waited)
                )?;
                if let Some(s) = status {
                    write!(f, " (last status: {s})")?;
                }
                write!(f, "; its master (pid {master}) still runs")
            }
        }
    }
}

/// Whole seconds, rounded to the nearest: a 30 s timeout measured as
/// 29.999 s is "30 s", not "29 s".
pub fn rounded_secs(d: Duration) -> u64 {
    (d.as_millis() + 500) as u64 / 1000
}

/// The master, right after it was spawned.
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
}

/// Run `program` detached (see the module comment). Its stdout and stderr
/// go to `log` (appended), created 0640 like uWSGI's own logto does.
pub fn spawn_detached(
    program: &Path,
    args: &[OsString],
    env: &[(OsString, OsString)],
    log: &Path,
) -> Result<Spawned, LaunchFailure> {
    let (stdout, stderr) = log_stdio(log);
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    // SAFETY: setsid and umask are async-signal-safe and touch nothing of
    // the parent's; this runs in the child between fork and exec.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()?;
            rustix::process::umask(rustix::fs::Mode::empty());
            Ok(())
        });
    }
    let child = command
        .spawn()
        .map_err(|e| LaunchFailure::Spawn(format!("cannot run {}: {e}", display_path(program))))?;
    let pid = child.id() as i32;
    // std's Child is not waited for: `reap` does it, by pid, when the
    // pidfd says the master is gone.
    drop(child);
    let pidfd = open_pidfd(pid)
        .map_err(|e| LaunchFailure::Spawn(format!("cannot watch uWSGI (pid {pid}): {e}")))?;
    Ok(Spawned { pid, pidfd })
}

/// stdout and stderr for the master: the instance's log, opened for
/// appending; /dev/null when it cannot be opened (uWSGI then reports the
/// same problem itself when `--logto` opens it).
fn log_stdio(path: &Path) -> (Stdio, Stdio) {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path);
    match file {
        Ok(file) => match file.try_clone() {
            Ok(copy) => (Stdio::from(copy), Stdio::from(file)),
            Err(_) => (Stdio::null(), Stdio::from(file)),
        },
        Err(_) => (Stdio::null(), Stdio::null()),
    }
}

/// Reap a child of ours that has exited; why it exited, if that says
/// something (a status other than 0, or a signal).
pub fn reap(pid: i32) -> Option<String> {
    let status = Pid::from_raw(pid).and_then(|p| match waitpid(Some(p), WaitOptions::NOHANG) {
        Ok(Some((_, status))) => Some(status),
        _ => None,
    })?;
    describe_exit(status)
}

fn describe_exit(status: WaitStatus) -> Option<String> {
    if let Some(code) = status.exit_status() {
        (code != 0).then(|| format!("uWSGI exited with status {code}"))
    } else {
        status
            .terminating_signal()
            .map(|sig| format!("uWSGI was killed by signal {sig}"))
    }
}

/// Run uWSGI and wait until its master is ready; its pid.
pub fn launch(spec: &LaunchSpec<'_>) -> Result<i32, LaunchFailure> {
    let deadline = Instant::now() + spec.timeout;
    let master = spawn_detached(spec.program, &spec.args, &spec.env, spec.log)?;
    await_ready(&master, spec.notify, spec.pidfile, deadline, spec.timeout)
}

/// Wait for `READY=1` from the master, then for its workers to settle.
pub fn await_ready(
    master: &Spawned,
    notify: &NotifySocket,
    pidfile_path: &Path,
    deadline: Instant,
    timeout: Duration,
) -> Result<i32, LaunchFailure> {
    let pid = master.pid;
    let mut last_status: Option<String> = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(LaunchFailure::Timeout {
                master: pid,
                status: last_status,
                waited: timeout,
            });
        }
        let mut fds = [
            PollFd::from_borrowed_fd(notify.fd(), PollFlags::IN),
            PollFd::from_borrowed_fd(master.pidfd.as_fd(), PollFlags::IN),
        ];
        match poll(&mut fds, Some(&timespec(remaining))) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(LaunchFailure::Spawn(format!("cannot wait for uWSGI: {e}"))),
        }
        let died = !fds[1].revents().is_empty();
        let mut ready = false;
        for msg in notify.drain() {
            // Only the master's own messages count: the kernel tells who
            // sent each one (SO_PASSCRED), and anyone may write to the
            // socket.
            if msg.pid != Some(pid) {
                continue;
            }
            if let Some(s) = msg.status() {
                last_status = Some(sanitize(s.as_ref()).into_owned());
            }
            ready |= msg.is_ready();
        }
        if died {
            let why = reap(pid).unwrap_or_else(|| "uWSGI exited".to_owned());
            return Err(LaunchFailure::Died(format!(
                "{why} before it was ready (master pid {pid})"
            )));
        }
        if ready {
            return match pidfile::read(pidfile_path) {
                Ok(pidfile::Pidfile::Pid(p)) if p == pid => {
                    settle(pid, master.pidfd.as_fd(), deadline).map(|()| pid)
                }
                Ok(other) => Err(LaunchFailure::Died(format!(
                    "its master (pid {pid}) is ready but the pidfile {} says {}",
                    display_path(pidfile_path),
                    match other {
                        pidfile::Pidfile::Pid(p) => p.to_string(),
                        pidfile::Pidfile::Missing => "nothing (missing)".into(),
                        pidfile::Pidfile::Garbage
                        | pidfile::Pidfile::Link
                        | pidfile::Pidfile::NotAFile => "something else".into(),
                    }
                ))),
                Err(e) => Err(LaunchFailure::Died(e.to_string())),
            };
        }
    }
}

/// Whether a child of a master has settled: it has its own signal
/// handlers (a process a few milliseconds old still runs the master's,
/// and loses a SIGINT or SIGHUP that the master forwards) and one of its
/// threads sleeps waiting for requests (epoll, poll, select or accept).
/// "One of its threads": the main thread of a threaded worker sleeps in
/// a futex while its other threads accept.
fn child_settled(child: i32, master_handlers: u64) -> bool {
    procfs::handles_signal(child, libc::SIGINT)
        && procfs::caught_signals(child).is_some_and(|set| set != master_handlers)
        && procfs::any_thread_waits_for_events(child)
}

/// Whether `master` and its children have settled: it has children (a
/// master that re-executes itself has none for a moment, then forks them
/// one by one), every one of them has settled (see `child_settled`), and
/// the master itself sleeps in its event loop, so it is done forking.
///
/// uWSGI 2.0.21 sends READY=1 while its freshly forked workers are still
/// initialising; a stop or reload in that window, some 10-20 ms here, is
/// lost in a worker, and the master then waits its 60 s "mercy" for it,
/// ignoring every reload meanwhile.
pub fn workers_settled(master: i32) -> bool {
    let Some(master_handlers) = procfs::caught_signals(master) else {
        return false;
    };
    let children = procfs::children(master);
    !children.is_empty()
        && procfs::any_thread_waits_for_events(master)
        && children
            .into_iter()
            .all(|w| child_settled(w, master_handlers))
}

/// How long after READY=1 (or a reload's new workers) to wait for the
/// workers to settle before believing the master alone: a child that
/// never waits for requests (an `attach-daemon` program, say) must not
/// make a start or reload fail.
const SETTLE_MAX: Duration = Duration::from_secs(2);

/// The one rule of every wait for settled workers (a start's after
/// READY=1, a reload's, a vassal's): once the master has the children
/// waited for, they count as settled when `workers_settled` says so, or
/// when `SETTLE_MAX` has passed since they appeared. Each wait looks as
/// often as it can afford (nothing signals the settling).
#[derive(Debug, Default)]
pub struct Settling {
    since: Option<Instant>,
}

impl Settling {
    /// Whether the workers of `master` have settled; `children`: whether
    /// it has the children to wait for (the new ones, for a reload).
    pub fn done(&mut self, master: i32, children: bool) -> bool {
        if !children {
            return false;
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        workers_settled(master) || since.elapsed() >= SETTLE_MAX
    }
}

/// How old an instance's youngest worker must be before a stop's SIGINT
/// or a reload's signal reaches it: the same settling as
/// `workers_settled`, judged by age, so that a stop of many instances
/// makes one short wait for all of them instead of watching each (and a
/// reload, which also checks `workers_settled`, has a margin: a threaded
/// worker that lost the brutal reload's signal under heavy load hung for
/// the master's whole 60 s mercy). A uWSGI 2.0.21 worker a few milliseconds old
/// still runs the master's inherited signal handlers, so the SIGINT the
/// master forwards to it is lost and the master then waits its 60 s worker
/// mercy (our stop would end in SIGKILL after --timeout). Measured: 1.0 s
/// when signalled 0.3 s after the start, 30 s (our SIGKILL) when signalled
/// at once.
const WORKER_SETTLE: Duration = Duration::from_millis(500);

/// How long to wait before signalling `masters`, so that every master's
/// youngest worker is at least `WORKER_SETTLE` old: one wait for all
/// instances, at most `WORKER_SETTLE`.
pub fn settle_delay(masters: &[i32]) -> Duration {
    masters
        .iter()
        .flat_map(|&m| procfs::children(m))
        .filter_map(procfs::uptime)
        .map(|age| WORKER_SETTLE.saturating_sub(age))
        .max()
        .unwrap_or(Duration::ZERO)
}

/// How often the settle is looked at: nothing signals it.
const SETTLE_TICK: Duration = Duration::from_millis(5);

/// After READY=1: wait until the workers have settled (`Settling`), or
/// the master dies.
pub fn settle(master: i32, pidfd: BorrowedFd<'_>, deadline: Instant) -> Result<(), LaunchFailure> {
    let mut settling = Settling::default();
    loop {
        // READY=1 comes once the master has forked its workers.
        if settling.done(master, true) {
            return Ok(());
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(());
        }
        if exited_within(pidfd, remaining.min(SETTLE_TICK)) {
            return Err(LaunchFailure::Died(format!(
                "its master (pid {master}) exited right after it was ready"
            )));
        }
    }
}

/// Whether the process of `pidfd` exits within `wait`.
fn exited_within(pidfd: BorrowedFd<'_>, wait: Duration) -> bool {
    let mut fds = [PollFd::from_borrowed_fd(pidfd, PollFlags::IN)];
    loop {
        match poll(&mut fds, Some(&timespec(wait))) {
            Ok(n) => return n > 0,
            Err(rustix::io::Errno::INTR) => continue,
            // Cannot wait: say "not exited" and let the caller's deadline
            // end the loop.
            Err(_) => {
                std::thread::sleep(wait);
                return false;
            }
        }
    }
}

/// The end of a log file now, so that what an instance writes from here
/// on can be read back (`log_since`).
pub fn log_end(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// What the log holds from `offset` on (at most its last 64 KiB).
pub fn log_since(path: &Path, offset: u64) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let from = offset.max(len.saturating_sub(64 * 1024));
    if from > len || file.seek(SeekFrom::Start(from)).is_err() {
        // Rotated (or truncated) since: all of it is new.
        let _ = file.seek(SeekFrom::Start(0));
    }
    let mut bytes = Vec::new();
    let _ = file.take(64 * 1024).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The last `lines` lines of a log, for the failure report.
pub fn log_tail(path: &Path, lines: usize) -> Option<String> {
    let text = log_since(path, 0);
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    let tail = all[from..].join("\n");
    (!tail.trim().is_empty()).then_some(tail)
}

/// The lines of uWSGI's log that say it runs without what its config
/// asked for: no app at all (a config it read no option from, a plugin it
/// could not load, an app that failed to import), so it answers nothing;
/// or a plugin it could not load. `start` and `reload` warn with them.
pub fn trouble_lines(log_text: &str) -> Vec<&str> {
    log_text
        .lines()
        .filter(|l| l.contains("*** no app loaded") || l.contains("UNABLE to load uWSGI plugin"))
        .map(str::trim)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_rounded_not_truncated() {
        assert_eq!(rounded_secs(Duration::from_millis(29_999)), 30);
        assert_eq!(rounded_secs(Duration::from_secs(8)), 8);
        let t = LaunchFailure::Timeout {
            master: 7,
            status: Some("initializing".into()),
            waited: Duration::from_secs(8),
        };
        assert_eq!(
            t.to_string(),
            "did not report READY=1 within 8 s (last status: initializing); \
             its master (pid 7) still runs"
        );
    }

    #[test]
    fn finds_the_lines_of_trouble() {
        let log = "Mon Jan  1 *** Operational MODE: preforking ***\n\
                   !!! UNABLE to load uWSGI plugin: x.so: cannot open !!!\n\
                   Mon Jan  1 *** no app loaded. going in full dynamic mode ***\n";
        assert_eq!(
            trouble_lines(log),
            [
                "!!! UNABLE to load uWSGI plugin: x.so: cannot open !!!",
                "Mon Jan  1 *** no app loaded. going in full dynamic mode ***"
            ]
        );
        assert!(trouble_lines("WSGI app 0 ready\n").is_empty());
    }

    #[test]
    fn log_since_reads_only_what_came_after() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("x.log");
        std::fs::write(&log, "old\n").unwrap();
        let end = log_end(&log);
        std::fs::write(&log, "old\nnew\n").unwrap();
        assert_eq!(log_since(&log, end), "new\n");
        // Truncated (logrotate's copytruncate): all of it is new.
        std::fs::write(&log, "x\n").unwrap();
        assert_eq!(log_since(&log, end), "x\n");
        assert_eq!(log_tail(&log, 5).as_deref(), Some("x"));
        assert_eq!(log_end(&tmp.path().join("none")), 0);
    }

    #[test]
    fn a_detached_child_has_its_own_session_and_umask_0() {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("log");
        let spawned = spawn_detached(
            Path::new("/bin/sh"),
            &["-c".into(), "umask; sleep 5".into()],
            &[("PATH".into(), "/usr/bin:/bin".into())],
            &log,
        )
        .unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(&log).unwrap_or_default().is_empty() {
            assert!(Instant::now() < until, "the child never wrote its umask");
            std::thread::sleep(Duration::from_millis(5));
        }
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", spawned.pid)).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after.split(' ').collect();
        // Fields after the name: state ppid pgrp session.
        assert_eq!(fields[1], std::process::id().to_string());
        assert_eq!(fields[3], spawned.pid.to_string(), "a session of its own");
        rustix::process::pidfd_send_signal(&spawned.pidfd, rustix::process::Signal::KILL).unwrap();
        assert!(exited_within(spawned.pidfd.as_fd(), Duration::from_secs(5)));
        assert_eq!(
            reap(spawned.pid).as_deref(),
            Some("uWSGI was killed by signal 9")
        );
        assert_eq!(std::fs::read_to_string(&log).unwrap().trim(), "0000");
    }
}
