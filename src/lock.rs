//! The advisory locks that serialise runs of this program: one for the
//! registry (links and markers change together under it) and one per
//! instance (two `start hello` at once never make two masters).
//!
//! Every lock is `flock(LOCK_EX)` on a file in `/run/uwsgi-apps/`, a
//! directory that only root can open (root:root 0700). Anyone who can open
//! a file can flock it, and so hang whoever waits for that lock: the
//! configs (world-readable) and `/etc/uwsgi` that earlier versions locked
//! let any local user stop every start, stop and enable on the host.
//!
//! A lock is never waited for without a limit: a run that cannot have it
//! in time fails with a message naming the holder (`/proc/locks` tells its
//! pid). While waiting, the caller is told once who holds it, so that a
//! `stop` queued behind a slow `start` says what it waits for.
//!
//! Lock files are never removed: removing one while another run has it
//! open would let a third lock a new file of the same name. They are empty,
//! one per instance ever started, on a tmpfs cleared at boot.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::{flock, FlockOperation};

use crate::display::{display_path, sanitize};
use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::name::Confspec;

/// How long a registry change may wait for another: they take
/// milliseconds, so this is only ever reached when something is wrong.
pub const REGISTRY_WAIT: Duration = Duration::from_secs(30);

/// How often a waiting run tries again. flock has no timeout of its own,
/// and a run holds a lock for at most its own bounded timeouts.
const RETRY: Duration = Duration::from_millis(20);

/// A held lock; released when dropped (or when the process dies, even by
/// SIGKILL: the kernel drops it with the descriptor).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Who holds a lock, as far as /proc/locks tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<i32>,
    /// Its command line, sanitised for a terminal.
    pub command: Option<String>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.pid, &self.command) {
            (Some(pid), Some(cmd)) => write!(f, "pid {pid} ({cmd})"),
            (Some(pid), None) => write!(f, "pid {pid}"),
            _ => f.write_str("another process"),
        }
    }
}

/// The registry's lock. `None` when the lock dir cannot be made because
/// the tree is read-only or the caller lacks the rights (a user other than
/// root): such a caller cannot change links or markers either, and each
/// change it tries then fails with its own error, which says more than
/// one about the lock would.
pub fn registry(layout: &Layout) -> Result<Option<Lock>> {
    let path = LockPath::new(layout.lock_dir(), ["registry"]);
    let taken = acquire(&path, REGISTRY_WAIT, &mut |holder| {
        crate::stdio::notice(format!(
            "waiting for {holder}, which is changing the enabled apps"
        ))
    });
    match taken {
        Ok(lock) => Ok(Some(lock)),
        Err(Error::Io { source, .. })
            if matches!(
                source.raw_os_error(),
                Some(libc::EACCES | libc::EPERM | libc::EROFS)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// An instance's lock; `on_wait` is called once, with the holder, when
/// the lock is busy.
pub fn instance(
    layout: &Layout,
    spec: &Confspec,
    limit: Duration,
    on_wait: &mut dyn FnMut(&Holder),
) -> Result<Lock> {
    let path = LockPath::new(
        layout.lock_dir(),
        [
            "instances".as_ref(),
            spec.namespace.as_os_str(),
            spec.name.as_os_str(),
        ],
    );
    acquire(&path, limit, on_wait)
}

/// A small file of state about an instance that only runs of this program
/// read and write, under the instance's lock (a reload still in progress,
/// say): `/run/uwsgi-apps/KIND/NS/NAME`, in the private dir, its
/// directories made on the way.
pub fn instance_state_file(layout: &Layout, kind: &str, spec: &Confspec) -> Result<PathBuf> {
    LockPath::new(
        layout.lock_dir(),
        [
            kind.as_ref(),
            spec.namespace.as_os_str(),
            spec.name.as_os_str(),
        ],
    )
    .prepare()
}

/// A directory of this program's own inside the private dir
/// (`/run/uwsgi-apps/PART/…`), made root's and 0700 on the way: for state
/// only root may see or change (the Emperor's vassal links).
pub fn private_subdir(layout: &Layout, parts: &[&str]) -> Result<PathBuf> {
    LockPath::new(layout.lock_dir(), parts).make_dirs(parts.len())
}

/// Where a lock file is: the private lock dir, then directories and the
/// file below it (each made root's and 0700 on the way).
#[derive(Debug, Clone)]
pub struct LockPath {
    base: PathBuf,
    parts: Vec<std::ffi::OsString>,
}

impl LockPath {
    pub fn new<I, S>(base: PathBuf, parts: I) -> LockPath
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        LockPath {
            base,
            parts: parts.into_iter().map(|p| p.as_ref().to_owned()).collect(),
        }
    }

    pub fn file(&self) -> PathBuf {
        self.parts.iter().fold(self.base.clone(), |p, c| p.join(c))
    }

    /// Make the lock dir and every directory below it on the way (root's,
    /// 0700; an existing one is checked) and give the file's path.
    fn prepare(&self) -> Result<PathBuf> {
        let (file_name, _) = self
            .parts
            .split_last()
            .ok_or_else(|| Error::Failed("a lock needs a file name".into()))?;
        Ok(self.make_dirs(self.parts.len() - 1)?.join(file_name))
    }

    /// Make the lock dir and its first `depth` parts as directories (each
    /// root's, 0700; an existing one is checked); the deepest one made.
    fn make_dirs(&self, depth: usize) -> Result<PathBuf> {
        if let Some(parent) = self.base.parent() {
            if !parent.as_os_str().is_empty() && !parent.exists() {
                fs::create_dir_all(parent).at("create directory", parent)?;
            }
        }
        let mut dir = self.base.clone();
        private_dir(&dir)?;
        for part in self.parts.iter().take(depth) {
            dir.push(part);
            private_dir(&dir)?;
        }
        Ok(dir)
    }
}

/// Take the lock at `path`, waiting at most `limit`.
pub fn acquire(path: &LockPath, limit: Duration, on_wait: &mut dyn FnMut(&Holder)) -> Result<Lock> {
    let file = open_lock_file(path)?;
    let shown = path.file();
    let deadline = Instant::now() + limit;
    let mut told = false;
    loop {
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::WOULDBLOCK) => {}
            Err(e) => return Err(e).at("lock", &shown),
        }
        if !told {
            on_wait(&holder_of(&file));
            told = true;
        }
        if Instant::now() >= deadline {
            return Err(Error::Failed(format!(
                "cannot lock {}: held by {} for more than {} s",
                display_path(&shown),
                holder_of(&file),
                limit.as_secs()
            )));
        }
        std::thread::sleep(RETRY.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// Open (creating) a lock file, after making sure that the lock dir and
/// every directory below it on the way are root's and closed to everyone
/// else. Links are never followed.
fn open_lock_file(path: &LockPath) -> Result<File> {
    let file = path.prepare()?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&file)
        .at("open lock file", &file)
}

/// Make `dir` a directory of root's, mode 0700, if it is missing; refuse
/// one that exists and is anything else (a link included).
fn private_dir(dir: &Path) -> Result<()> {
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        // Made before (or by another run just now): check it like any other.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("create directory", dir, e)),
    }
    let meta = fs::symlink_metadata(dir).at("inspect directory", dir)?;
    check_private(dir, &meta)
}

fn check_private(dir: &Path, meta: &fs::Metadata) -> Result<()> {
    let me = rustix::process::geteuid().as_raw();
    if !meta.is_dir() {
        return Err(Error::Failed(format!(
            "refusing to keep locks in {}: it is not a directory",
            display_path(dir)
        )));
    }
    // Root's dir is fine for any caller: one who is not root cannot open
    // it, and the open then fails with its own clear error.
    if (meta.uid() != me && meta.uid() != 0) || meta.mode() & 0o077 != 0 {
        return Err(Error::Failed(format!(
            "refusing to keep locks in {}: it belongs to uid {} with mode {:04o}, \
             but must be uid {me}'s alone (mode 0700), or other users could hold them; \
             remove it and it is made anew",
            display_path(dir),
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

/// Who holds the lock on `file`: the first `/proc/locks` line about its
/// inode (`1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF`).
fn holder_of(file: &File) -> Holder {
    let unknown = Holder {
        pid: None,
        command: None,
    };
    let Ok(meta) = file.metadata() else {
        return unknown;
    };
    let Ok(locks) = fs::read_to_string("/proc/locks") else {
        return unknown;
    };
    let Some(pid) = holder_pid(&locks, meta.ino()) else {
        return unknown;
    };
    let command = crate::process::procfs::cmdline(pid).ok().map(|args| {
        let words: Vec<String> = args.iter().map(|a| sanitize(a).into_owned()).collect();
        words.join(" ")
    });
    Holder {
        pid: Some(pid),
        command: command.filter(|c| !c.is_empty()),
    }
}

/// The pid of the first lock on inode `ino` in the text of /proc/locks
/// (lines of waiters, marked `->`, are skipped).
fn holder_pid(locks: &str, ino: u64) -> Option<i32> {
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.get(1) == Some(&"->") {
            return None;
        }
        let pid: i32 = fields.get(4)?.parse().ok()?;
        let inode: u64 = fields.get(5)?.rsplit(':').next()?.parse().ok()?;
        (inode == ino).then_some(pid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn reads_the_holder_from_proc_locks() {
        let text = "1: FLOCK  ADVISORY  WRITE 4242 fd:01:77 0 EOF\n\
                    1: -> FLOCK  ADVISORY  WRITE 4343 fd:01:77 0 EOF\n\
                    2: POSIX  ADVISORY  READ 11 00:1a:99 0 EOF\n";
        assert_eq!(holder_pid(text, 77), Some(4242));
        assert_eq!(holder_pid(text, 99), Some(11));
        assert_eq!(holder_pid(text, 5), None);
        assert_eq!(holder_pid("garbage\n", 5), None);
    }

    #[test]
    fn a_busy_lock_names_its_holder_and_times_out() {
        let tmp = tempfile::tempdir().unwrap();
        let path = LockPath::new(tmp.path().join("locks"), ["app", "hello"]);
        let first = acquire(&path, Duration::from_secs(1), &mut |_| {
            panic!("the first take must not wait")
        })
        .unwrap();
        let mut seen = Vec::new();
        let started = Instant::now();
        let err = acquire(&path, Duration::from_millis(200), &mut |h| {
            seen.push(h.clone())
        })
        .unwrap_err()
        .to_string();
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(seen.len(), 1, "told once");
        // flock locks of one process on two descriptors conflict, so the
        // holder is this very process.
        assert_eq!(seen[0].pid, Some(std::process::id() as i32));
        assert!(err.contains("held by pid"), "{err}");
        drop(first);
        acquire(&path, Duration::from_millis(200), &mut |_| {}).unwrap();
    }

    #[test]
    fn the_lock_dir_is_private_and_a_foreign_one_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run/uwsgi-apps");
        let path = LockPath::new(dir.clone(), ["instances", "app", "x"]);
        acquire(&path, Duration::from_secs(1), &mut |_| {}).unwrap();
        for d in [&dir, &dir.join("instances"), &dir.join("instances/app")] {
            let meta = fs::metadata(d).unwrap();
            assert_eq!(meta.mode() & 0o7777, 0o700, "{d:?}");
        }

        fs::set_permissions(dir.join("instances"), fs::Permissions::from_mode(0o755)).unwrap();
        let err = acquire(&path, Duration::from_secs(1), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("refusing to keep locks"), "{err}");

        let other = tmp.path().join("elsewhere");
        fs::create_dir(&other).unwrap();
        let link = tmp.path().join("linked");
        std::os::unix::fs::symlink(&other, &link).unwrap();
        let err = acquire(
            &LockPath::new(link, ["x"]),
            Duration::from_secs(1),
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("refusing"), "{err}");
    }
}
