//! Processes: pidfiles, which process is an instance's master, signals,
//! waiting for exits, and the readiness protocol.

pub(crate) mod identity;
pub(crate) mod launch;
pub(crate) mod notify;
pub mod pidfile;
pub(crate) mod procfs;
pub(crate) mod wait;

pub use identity::{Daemon, Identity, Master};
pub use pidfile::Pidfile;
