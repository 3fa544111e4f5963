//! One error type for the whole program.
//!
//! Every failure says what went wrong, on which path, and why (the OS error),
//! and knows the exit status it stands for. Errors are printed once, at the
//! top (`lib::run`), prefixed with the name the program was called by.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;

use crate::display::display_path;
use crate::exit::ExitStatus;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call on a path failed: `what` is the action in the
    /// infinitive ("create directory", "read link", …).
    #[error("cannot {what} {}: {source}", display_path(.path))]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A system call that is not about a path (signals, sockets, locks).
    #[error("cannot {what}: {source}")]
    Os {
        what: String,
        #[source]
        source: io::Error,
    },

    /// The command line is wrong: exit 2 (or 3 in init mode, decided there).
    #[error("{0}")]
    Usage(String),

    /// A name, namespace or confspec that can never be valid.
    #[error("invalid {what} {}: {why}", crate::display::display_name(.value))]
    InvalidName {
        what: &'static str,
        value: OsString,
        why: &'static str,
    },

    /// A file's content cannot be understood.
    #[error("{}: {message}", display_path(.path))]
    Parse { path: PathBuf, message: String },

    /// Anything else that stops one item (one app, one instance) but has a
    /// complete, human sentence already.
    #[error("{0}")]
    Failed(String),
}

impl Error {
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }

    pub fn os(what: impl Into<String>, source: io::Error) -> Self {
        Error::Os {
            what: what.into(),
            source,
        }
    }

    /// The exit status this error stands for when it ends the program.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Usage(_) => ExitStatus::Usage,
            _ => ExitStatus::Failure,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach the path and the action to an `io::Result`, so call sites read as
/// `fs::read(&p).at("read", &p)?`.
pub trait IoContext<T> {
    fn at(self, what: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, what: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(what, path, e))
    }
}

impl<T> IoContext<T> for rustix::io::Result<T> {
    fn at(self, what: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(what, path, e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_names_action_path_and_cause() {
        let e = Error::io(
            "create link",
            "/etc/uwsgi/apps-enabled/x.ini",
            io::Error::from_raw_os_error(libc::EACCES),
        );
        let s = e.to_string();
        assert!(
            s.starts_with("cannot create link /etc/uwsgi/apps-enabled/x.ini: "),
            "{s}"
        );
        assert!(s.contains("Permission denied"), "{s}");
        assert_eq!(e.exit_status(), ExitStatus::Failure);
    }

    #[test]
    fn usage_errors_exit_2() {
        assert_eq!(Error::Usage("x".into()).exit_status(), ExitStatus::Usage);
    }
}
