//! Starting a uWSGI daemon and waiting until it is really up.
//!
//! uWSGI with `--daemonize` forks twice: the process we spawn exits at
//! once, an intermediate calls setsid() and exits, and the grandchild is
//! the master, which writes the pidfile, loads the app, spawns the workers
//! and only then sends `READY=1`. To see every one of them die, this
//! process is a child subreaper (PR_SET_CHILD_SUBREAPER): the orphaned
//! intermediate and master become our children instead of PID 1's. We
//! follow the chain with pidfds: when the followed process exits, its
//! successor is the child of ours whose environment holds this instance's
//! unique `NOTIFY_SOCKET` (only a process of this start can hold it). Once
//! the pidfile names a process of that chain, that is the master, and its
//! death before `READY=1` is a failure. So a master that dies before or
//! after writing its pidfile is noticed at once, without any sleep.

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{waitpid, Pid, WaitOptions};

use super::identity::open_pidfd;
use super::notify::NotifySocket;
use super::{pidfile, procfs, wait::timespec};

/// Everything one start needs.
#[derive(Debug)]
pub struct LaunchSpec<'a> {
    pub program: &'a Path,
    pub args: Vec<OsString>,
    /// The complete environment (nothing else is inherited).
    pub env: Vec<(OsString, OsString)>,
    /// Where the spawned process's stdout and stderr go before uWSGI
    /// switches to its log (messages about a bad command line land here).
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
    /// uWSGI (or its master) exited before reporting ready.
    Died(String),
    /// No `READY=1` within the timeout; the master may still run.
    Timeout {
        master: Option<i32>,
        status: Option<String>,
    },
}

impl std::fmt::Display for LaunchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LaunchFailure::Spawn(why) | LaunchFailure::Died(why) => f.write_str(why),
            LaunchFailure::Timeout { master, status } => {
                write!(f, "did not report READY=1 in time")?;
                if let Some(s) = status {
                    write!(f, " (last status: {s})")?;
                }
                if let Some(pid) = master {
                    write!(f, "; its master (pid {pid}) still runs")?;
                }
                Ok(())
            }
        }
    }
}

static SUBREAPER: Once = Once::new();

/// Become a child subreaper (once per process). Failing that, deaths of
/// the master before it writes its pidfile are only seen at the timeout.
pub fn become_subreaper() {
    SUBREAPER.call_once(|| {
        let _ = rustix::process::set_child_subreaper(Pid::from_raw(std::process::id() as i32));
    });
}

struct Followed {
    pid: i32,
    pidfd: OwnedFd,
}

/// Reap a child of ours that has exited; its wait status, if it was ours.
fn reap(pid: i32) -> Option<rustix::process::WaitStatus> {
    if pid <= 0 {
        return None;
    }
    let pid = Pid::from_raw(pid)?;
    match waitpid(Some(pid), WaitOptions::NOHANG) {
        Ok(Some((_, status))) => Some(status),
        _ => None,
    }
}

fn describe_exit(status: Option<rustix::process::WaitStatus>) -> Option<String> {
    let status = status?;
    if let Some(code) = status.exit_status() {
        (code != 0).then(|| format!("uWSGI exited with status {code}"))
    } else {
        status
            .terminating_signal()
            .map(|sig| format!("uWSGI was killed by signal {sig}"))
    }
}

/// stdout and stderr for the spawned process: the instance's log, opened
/// for appending; /dev/null when it cannot be opened (uWSGI then reports
/// the same problem itself when it opens the log).
fn log_stdio(path: &Path) -> (Stdio, Stdio) {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path);
    match file {
        Ok(file) => match file.try_clone() {
            Ok(copy) => (Stdio::from(copy), Stdio::from(file)),
            Err(_) => (Stdio::null(), Stdio::from(file)),
        },
        Err(_) => (Stdio::null(), Stdio::null()),
    }
}

/// How often to look for the next process of the chain while none is
/// followed, and for how long. The kernel wakes a pidfd before the exiting
/// process has handed its children to us (observed on this machine: the
/// spawned process's pidfd fires while its child is not yet ours), so
/// "nothing left to follow" is only believed after this window.
const RESCAN: Duration = Duration::from_millis(5);
const ORPHAN_GRACE: Duration = Duration::from_millis(500);

/// The processes of one start that we follow.
struct Chain {
    me: i32,
    needle: Vec<u8>,
    followed: Vec<Followed>,
    seen: HashSet<i32>,
}

impl Chain {
    /// Follow every new child of ours that belongs to this start.
    fn adopt(&mut self) {
        for next in procfs::children_of(self.me) {
            if self.seen.contains(&next) {
                continue;
            }
            // Pin it first, then look at it.
            let Ok(pidfd) = open_pidfd(next) else {
                continue;
            };
            // Some(true): ours. None: it is exiting (its memory, and so its
            // environment, is gone already) and may still hand us its
            // children: follow it, and look again when it is gone.
            if procfs::environ_holds(next, &self.needle) == Some(false) {
                continue;
            }
            self.seen.insert(next);
            self.followed.push(Followed { pid: next, pidfd });
        }
    }
}

/// Run uWSGI and wait for `READY=1` from its master. Returns the master's
/// PID.
pub fn launch(spec: &LaunchSpec<'_>) -> Result<i32, LaunchFailure> {
    become_subreaper();
    let deadline = Instant::now() + spec.timeout;
    let (stdout, stderr) = log_stdio(spec.log);
    let child = Command::new(spec.program)
        .args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| {
            LaunchFailure::Spawn(format!(
                "cannot run {}: {e}",
                crate::name::display_path(spec.program)
            ))
        })?;
    let spawned = child.id() as i32;
    // std's Child is not waited for: reaping goes through `reap`, by PID,
    // like every other process of the chain.
    drop(child);

    let mut needle = b"NOTIFY_SOCKET=".to_vec();
    needle.extend_from_slice(spec.notify.path().as_os_str().as_bytes());
    let pidfd = open_pidfd(spawned)
        .map_err(|e| LaunchFailure::Spawn(format!("cannot watch uWSGI: {e}")))?;
    let mut chain = Chain {
        me: std::process::id() as i32,
        needle,
        followed: vec![Followed {
            pid: spawned,
            pidfd,
        }],
        seen: HashSet::from([spawned]),
    };
    let mut master: Option<i32> = None;
    let mut last_status: Option<String> = None;
    let mut orphaned_since: Option<Instant> = None;

    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(LaunchFailure::Timeout {
                master,
                status: last_status,
            });
        }
        let wait = if chain.followed.is_empty() {
            remaining.min(RESCAN)
        } else {
            remaining
        };
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(chain.followed.len() + 1);
        fds.push(PollFd::from_borrowed_fd(spec.notify.fd(), PollFlags::IN));
        for f in &chain.followed {
            fds.push(PollFd::from_borrowed_fd(f.pidfd.as_fd(), PollFlags::IN));
        }
        match poll(&mut fds, Some(&timespec(wait))) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(LaunchFailure::Spawn(format!("cannot wait for uWSGI: {e}"))),
        }
        let notify_ready = !fds[0].revents().is_empty();
        let exited: Vec<i32> = fds[1..]
            .iter()
            .zip(&chain.followed)
            .filter(|(fd, _)| !fd.revents().is_empty())
            .map(|(_, f)| f.pid)
            .collect();
        drop(fds);

        // Deaths first: a READY=1 read in the same wake-up may come from
        // the successor that the death reveals.
        for &pid in &exited {
            chain.followed.retain(|f| f.pid != pid);
            let status = reap(pid);
            if pid == spawned {
                if let Some(why) = describe_exit(status) {
                    return Err(LaunchFailure::Died(why));
                }
            }
        }
        if master.is_none() && (!exited.is_empty() || chain.followed.is_empty()) {
            if let Ok(pidfile::Pidfile::Pid(p)) = pidfile::read(spec.pidfile) {
                if chain.seen.contains(&p) {
                    master = Some(p);
                }
            }
        }
        if let Some(m) = master {
            if exited.contains(&m) || !chain.followed.iter().any(|f| f.pid == m) {
                return Err(LaunchFailure::Died(format!(
                    "its master (pid {m}) exited before it was ready"
                )));
            }
        } else if !exited.is_empty() || chain.followed.is_empty() {
            chain.adopt();
            if chain.followed.is_empty() {
                let since = *orphaned_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= ORPHAN_GRACE {
                    return Err(LaunchFailure::Died(
                        "uWSGI exited before it was ready".to_owned(),
                    ));
                }
            } else {
                orphaned_since = None;
            }
        }

        if notify_ready {
            for msg in spec.notify.drain() {
                if let Some(s) = msg.status() {
                    last_status = Some(s.to_owned());
                }
                let Some(from) = msg.pid else { continue };
                if !msg.is_ready() {
                    continue;
                }
                let ours =
                    chain.seen.contains(&from) || procfs::environ_contains(from, &chain.needle);
                if !ours {
                    continue;
                }
                return match pidfile::read(spec.pidfile) {
                    Ok(pidfile::Pidfile::Pid(p)) if p == from => {
                        settle(from, &chain, deadline).map(|()| from)
                    }
                    Ok(other) => Err(LaunchFailure::Died(format!(
                        "its master (pid {from}) is ready but the pidfile {} says {}",
                        crate::name::display_path(spec.pidfile),
                        match other {
                            pidfile::Pidfile::Pid(p) => p.to_string(),
                            pidfile::Pidfile::Missing => "nothing (missing)".into(),
                            pidfile::Pidfile::Garbage => "something else".into(),
                        }
                    ))),
                    Err(e) => Err(LaunchFailure::Died(e.to_string())),
                };
            }
        }
    }
}

/// Whether every worker of the master has reached its request loop.
///
/// uWSGI 2.0.21 sends READY=1 while its freshly forked workers are still
/// initialising (the Python plugin's post-fork setup among it). A SIGINT
/// (stop) that reaches a worker in that window, some 10-20 ms here, is
/// lost, and the master then waits for that worker for its whole 60 s
/// "mercy" (seen: `stop` right after `start` hung, a worker never
/// "buried"). A worker is past that window when it has its own signal
/// handlers (its SigCgt differs from the master's) and sleeps waiting for
/// requests.
pub fn workers_settled(master: i32) -> bool {
    let Some(master_set) = procfs::caught_signals(master) else {
        return false;
    };
    procfs::children_of(master).into_iter().all(|w| {
        procfs::handles_signal(w, libc::SIGINT)
            && procfs::caught_signals(w).is_some_and(|set| set != master_set)
            && procfs::waits_for_events(w)
    })
}

/// How long after READY=1 to wait for the workers to settle before
/// believing READY=1 alone (a uWSGI whose workers catch exactly the
/// master's signals would otherwise never count as settled).
const SETTLE_MAX: Duration = Duration::from_secs(2);

/// After READY=1: wait until the workers are settled (see
/// `workers_settled`), looking every few milliseconds (nothing signals it),
/// or until the master dies; never longer than `SETTLE_MAX`.
fn settle(master: i32, chain: &Chain, deadline: Instant) -> Result<(), LaunchFailure> {
    let pidfd = chain
        .followed
        .iter()
        .find(|f| f.pid == master)
        .map(|f| f.pidfd.as_fd());
    let deadline = deadline.min(Instant::now() + SETTLE_MAX);
    loop {
        if workers_settled(master) {
            return Ok(());
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(());
        }
        let tick = timespec(remaining.min(RESCAN));
        match pidfd {
            Some(fd) => {
                let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
                if poll(&mut fds, Some(&tick)).is_ok_and(|n| n > 0) {
                    return Err(LaunchFailure::Died(format!(
                        "its master (pid {master}) exited right after it was ready"
                    )));
                }
            }
            None => {
                let _ = poll(&mut [], Some(&tick));
            }
        }
    }
}

/// The last `lines` lines of a log, for the failure report.
pub fn log_tail(path: &Path, lines: usize) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let start = len.saturating_sub(16 * 1024);
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    let tail = all[from..].join("\n");
    (!tail.trim().is_empty()).then_some(tail)
}

/// After a reload signal, wait until the master is ready again.
///
/// The protocol answer is the master's next `READY=1`. But uWSGI 2.0.21
/// loses it: after its re-exec the notification socket's descriptor is
/// reused, and its log shows `sendmsg(): Transport endpoint is already
/// connected`; only `STATUS=initializing uWSGI` (sent right after the
/// re-exec) arrives. So once that message has come from the master, the
/// reload also counts as complete when the new master has spawned a
/// worker (it loads the app before forking workers, and a master that
/// fails to load it with `need-app` exits, which the pidfd shows). Only
/// in that phase is /proc looked at again, every 50 ms, because nothing
/// signals a fork.
///
/// uWSGI 2.0.21 can also lose the reload signal that its master forwards
/// to a worker shortly after a start; the master then waits its 60 s
/// "mercy". So while the re-exec has not happened, `nudge` is called every
/// `RELOAD_NUDGE` (the caller repeats the signal to the workers).
pub fn await_reload(
    master: &super::Master,
    notify: &NotifySocket,
    deadline: Instant,
    nudge: &dyn Fn(),
) -> Result<(), String> {
    const RECHECK: Duration = Duration::from_millis(50);
    const RELOAD_NUDGE: Duration = Duration::from_secs(3);
    let mut reexec_seen = false;
    let started = Instant::now();
    let mut next_nudge = started + RELOAD_NUDGE;
    loop {
        if !reexec_seen && Instant::now() >= next_nudge {
            nudge();
            next_nudge = Instant::now() + RELOAD_NUDGE;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(format!(
                "the reload did not complete within {} s",
                deadline.saturating_duration_since(started).as_secs().max(1)
            ));
        }
        let wait = if reexec_seen {
            remaining.min(RECHECK)
        } else {
            remaining.min(next_nudge.saturating_duration_since(Instant::now()))
        };
        let mut fds = [
            PollFd::from_borrowed_fd(notify.fd(), PollFlags::IN),
            PollFd::from_borrowed_fd(master.pidfd(), PollFlags::IN),
        ];
        match poll(&mut fds, Some(&timespec(wait))) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(format!("cannot wait for the reload: {e}")),
        }
        if !fds[1].revents().is_empty() {
            return Err(format!(
                "its master (pid {}) exited during the reload",
                master.pid()
            ));
        }
        for msg in notify.drain() {
            if msg.pid != Some(master.pid()) {
                continue;
            }
            if msg.is_ready() {
                // As after a start: ready once the workers would act on
                // a signal (see `workers_settled`).
                reexec_seen = true;
            }
            if msg.status().is_some_and(|s| s.starts_with("initializing")) {
                reexec_seen = true;
            }
        }
        if reexec_seen
            && !procfs::children_of(master.pid()).is_empty()
            && workers_settled(master.pid())
        {
            return Ok(());
        }
    }
}
