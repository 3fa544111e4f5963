//! Processes: pidfiles, which process is an instance's master, signals,
//! waiting for exits, and the readiness protocol.

pub mod identity;
pub mod launch;
pub mod notify;
pub mod pidfile;
pub mod procfs;
pub mod wait;

pub use identity::{Daemon, Identity, Master};
pub use pidfile::Pidfile;
