//! The advisory lock that makes concurrent enable/disable runs behave as if
//! they ran one after another.
//!
//! The lock is `flock(LOCK_EX)` on the configuration directory
//! (`/etc/uwsgi`) itself, opened read-only:
//! * it needs no lock file, so it works on a read-only tree and leaves
//!   nothing behind;
//! * one lock covers every namespace and the state markers, which change
//!   together with the links;
//! * the kernel drops it when the process dies, even by SIGKILL, so a killed
//!   run never blocks the next one.
//!
//! Readers (`query`, `list`, the front end) take no lock: every change they
//! can observe is a single atomic directory operation.

use std::fs::File;
use std::io;

use crate::error::{Error, Result};
use crate::layout::Layout;

#[derive(Debug)]
pub struct RegistryLock {
    // Held for its side effect: closing the descriptor releases the lock.
    _dir: File,
}

impl RegistryLock {
    /// Wait for the lock. `Ok(None)` when the configuration directory does
    /// not exist: there is then no link to change, and nothing to protect.
    pub fn acquire(layout: &Layout) -> Result<Option<RegistryLock>> {
        let path = layout.config_dir();
        let dir = match File::open(&path) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("open directory", path, e)),
        };
        loop {
            match rustix::fs::flock(&dir, rustix::fs::FlockOperation::LockExclusive) {
                Ok(()) => return Ok(Some(RegistryLock { _dir: dir })),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(Error::io("lock", path, e.into())),
            }
        }
    }
}
