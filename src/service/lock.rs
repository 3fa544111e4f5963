//! One instance at a time: an exclusive advisory lock per instance, so
//! that two `start hello` running at once never start two masters.
//!
//! The lock is taken on the config file itself (opened read-only, links
//! followed): it is root's, it exists exactly as long as the instance can
//! be started, and nothing has to be created or cleaned up for it. The
//! runtime dir would not do: `stop` removes it, and it belongs to the
//! instance's user.

use std::fs::File;
use std::path::Path;

use rustix::fs::{flock, FlockOperation};

use crate::error::{IoContext, Result};

#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Wait for the instance's lock. Released on drop.
    pub fn acquire(config: &Path) -> Result<InstanceLock> {
        let file = File::open(config).at("open config", config)?;
        loop {
            match flock(&file, FlockOperation::LockExclusive) {
                Ok(()) => return Ok(InstanceLock { _file: file }),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e).at("lock config", config),
            }
        }
    }
}
