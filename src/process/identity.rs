//! Which process is an instance's uWSGI master, and signalling it safely.
//!
//! A PID is only a number that the kernel hands out again once its process
//! is gone. So the pidfd is opened FIRST: from then on it names that one
//! process, whatever happens to the number. Only then is the process
//! checked (alive, not a zombie, running the uWSGI program), and after the
//! checks the pidfd is asked whether the process is still there, so that
//! the checks were about the process the pidfd holds. Every signal goes
//! through the pidfd: a recycled PID can never receive one.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal};

use super::pidfile::{self, Pidfile};
use super::procfs;
use crate::name::Confspec;

/// The uWSGI program, resolved once (`/usr/bin/uwsgi` → `/usr/bin/uwsgi-core`).
#[derive(Debug, Clone)]
pub struct Daemon {
    /// As configured: what is executed.
    pub path: PathBuf,
    /// Resolved: what /proc/PID/exe of its processes shows.
    pub resolved: PathBuf,
}

impl Daemon {
    pub fn new(path: &Path) -> Daemon {
        let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        Daemon {
            path: path.to_path_buf(),
            resolved,
        }
    }

    /// Whether the process runs this program.
    pub fn runs(&self, pid: i32) -> bool {
        procfs::exe(pid).is_some_and(|exe| procfs::same_program(&exe, &self.resolved))
    }

    /// What `pid` is under the identity rule (SPEC §4): only a live,
    /// non-zombie process whose /proc/PID/exe is this program counts.
    /// The one rule for start, stop, status and doctor alike.
    pub fn identify(&self, pid: i32) -> Identity {
        // Zero and negative numbers name process groups or "all", never one
        // process.
        if pid <= 0 {
            return Identity::Dead;
        }
        let Some(state) = procfs::state(pid) else {
            return Identity::Dead;
        };
        if procfs::is_exited_state(state) {
            return Identity::Zombie;
        }
        let Some(exe) = procfs::exe(pid) else {
            return Identity::Dead;
        };
        if procfs::same_program(&exe, &self.resolved) {
            Identity::Uwsgi
        } else {
            Identity::Other(exe)
        }
    }
}

/// What a PID (from a pidfile) is, by the identity rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Alive, not a zombie, running the uWSGI program.
    Uwsgi,
    Dead,
    /// Exited, waiting to be reaped: it runs nothing.
    Zombie,
    /// Alive, but another program (the PID was reused).
    Other(PathBuf),
}

/// A verified, live uWSGI master, held by its pidfd.
#[derive(Debug)]
pub struct Master {
    pid: i32,
    pidfd: OwnedFd,
}

/// Whether the process's environment names instance `spec`.
fn names_instance(pid: i32, spec: &Confspec) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let values = procfs::environ_values(pid, &[b"UWSGI_DEB_CONFNAMESPACE", b"UWSGI_DEB_CONFNAME"]);
    values[0].as_deref() == Some(spec.namespace.as_os_str().as_bytes())
        && values[1].as_deref() == Some(spec.name.as_bytes())
}

/// Open a pidfd for `pid` (which must be positive).
pub fn open_pidfd(pid: i32) -> io::Result<OwnedFd> {
    // Zero and negative numbers name process groups or "all", never one
    // process.
    if pid <= 0 {
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    let pid = Pid::from_raw(pid).ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?;
    Ok(pidfd_open(pid, PidfdFlags::empty())?)
}

/// Whether the process behind a pidfd has exited (without blocking).
pub fn has_exited(pidfd: BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::from_borrowed_fd(pidfd, PollFlags::IN)];
    match poll(&mut fds, Some(&rustix::event::Timespec::default())) {
        Ok(n) => n > 0,
        // Cannot ask: treat as gone, so that nothing is signalled on a guess.
        Err(_) => true,
    }
}

impl Master {
    /// The master behind `pid`, or `None` when that PID is not a live,
    /// non-zombie process running `daemon`.
    pub fn open(pid: i32, daemon: &Daemon) -> Option<Master> {
        let pidfd = open_pidfd(pid).ok()?;
        if daemon.identify(pid) != Identity::Uwsgi {
            return None;
        }
        // The checks above read /proc by number; they were about the
        // pidfd's process only if it has not exited since.
        if has_exited(pidfd.as_fd()) {
            return None;
        }
        Some(Master { pid, pidfd })
    }

    /// The master of instance `spec` behind `pid`, or `None` (SPEC §4
    /// identity, and a second wall behind the root-owned run dir): a live
    /// uWSGI master (`open`) whose environment names this very instance
    /// (`UWSGI_DEB_CONFNAMESPACE` and `UWSGI_DEB_CONFNAME`, which this
    /// program and Debian's script give every instance) and whose real uid
    /// is root's or `user`'s (the uid the instance runs as, when known).
    ///
    /// It fails closed: a process whose environment lacks the entries is
    /// not ours, even with the uWSGI program and a pidfile naming it (a
    /// pidfile naming another user's own `uwsgi` once made `stop` kill it).
    pub fn of_instance(
        pid: i32,
        daemon: &Daemon,
        spec: &Confspec,
        user: Option<u32>,
    ) -> Option<Master> {
        let master = Master::open(pid, daemon)?;
        if !names_instance(pid, spec) {
            return None;
        }
        let uid = procfs::real_uid(pid)?;
        if uid != 0 && user.is_some_and(|u| u != uid) {
            return None;
        }
        // The reads above were about the pidfd's process only if it has
        // not exited since.
        (!master.has_exited()).then_some(master)
    }

    /// The master of instance `spec` that its pidfile names, judged by
    /// `of_instance`, and what the pidfile held. The one probe of an
    /// instance: start, stop, status, list and doctor all ask it, so that
    /// none can call a process running that another calls dead. `user`
    /// gives the uid the instance's config runs it as, when known; it is
    /// asked only when the pidfile names a process, so that 1,000 stopped
    /// instances cost no config reads.
    pub fn of_pidfile(
        path: &Path,
        daemon: &Daemon,
        spec: &Confspec,
        user: impl FnOnce() -> Option<u32>,
    ) -> crate::error::Result<(Option<Master>, Pidfile)> {
        let file = pidfile::read(path)?;
        let master = file
            .pid()
            .and_then(|pid| Master::of_instance(pid, daemon, spec, user()));
        Ok((master, file))
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        match pidfd_send_signal(&self.pidfd, signal) {
            Ok(()) => Ok(()),
            // It exited in the meantime: the signal's purpose is served
            // for a stop, and the caller sees the exit through the pidfd.
            Err(rustix::io::Errno::SRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub fn has_exited(&self) -> bool {
        has_exited(self.pidfd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_running_another_program_is_not_a_master() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let uwsgi = Daemon::new(Path::new("/usr/bin/uwsgi"));
        assert!(Master::open(pid, &uwsgi).is_none());
        let sleep = Daemon::new(Path::new("/bin/sleep"));
        let m = Master::open(pid, &sleep).expect("sleep is what it runs");
        m.signal(Signal::KILL).unwrap();
        child.wait().unwrap();
        // A zombie or a reaped process is never a master.
        assert!(m.has_exited());
        assert!(Master::open(pid, &sleep).is_none());
    }

    #[test]
    fn knows_itself_is_not_uwsgi() {
        let uwsgi = Daemon::new(Path::new("/usr/bin/uwsgi"));
        let me = std::process::id() as i32;
        assert!(matches!(uwsgi.identify(me), Identity::Other(_)));
        assert_eq!(uwsgi.identify(0), Identity::Dead);
        assert_eq!(uwsgi.identify(-1), Identity::Dead);
        let myself = Daemon::new(&std::env::current_exe().unwrap());
        assert_eq!(myself.identify(me), Identity::Uwsgi);
    }

    #[test]
    fn nonsense_pids_are_not_masters() {
        let d = Daemon::new(Path::new("/usr/bin/uwsgi"));
        for pid in [0, -1, i32::MAX] {
            assert!(Master::open(pid, &d).is_none());
        }
    }
}
