//! What the service commands say about each instance: the types that the
//! planner and every engine produce and that `output` prints. They sit
//! below both, so that output never reaches into the planner and the
//! planner never prints.

use std::ffi::OsString;

use crate::discovery::EnabledConfig;
use crate::display::display_name;
use crate::name::Confspec;

/// One instance to act on, as named (or as found, for "all").
#[derive(Debug, Clone)]
pub struct Target {
    /// What was given on the command line (or `NAME` for "all").
    pub given: OsString,
    /// The parsed confspec; `None` when the text can never be one.
    pub spec: Option<Confspec>,
    /// Its config file in `NSs-enabled`, when there is one.
    pub config: Option<EnabledConfig>,
}

impl Target {
    /// `NS/NAME` as Debian's init output shows it (a bare NAME is shown in
    /// namespace `app`), sanitised and quoted when it holds white space.
    pub fn initd_label(&self) -> String {
        match &self.spec {
            Some(spec) => spec.to_string(),
            None => display_name(&self.given),
        }
    }

    /// `NAME` for the default namespace, `NS/NAME` otherwise.
    pub fn label(&self) -> String {
        match &self.spec {
            Some(spec) if spec.namespace.is_default() => display_name(&spec.name),
            Some(spec) => spec.to_string(),
            None => display_name(&self.given),
        }
    }
}

/// What happened to one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No config file for this confspec: reported; a failure only for the
    /// modern commands (init mode keeps Debian's `?` with exit 0).
    NotFound,
    /// Done now: started, stopped, reloaded (the master's pid).
    Done { pid: Option<i32> },
    /// Already in the wanted state: running for start (its pid), not
    /// running for stop.
    Already { pid: Option<i32> },
    Failed {
        reason: String,
        /// The last lines of the instance's log, when they explain it.
        log_tail: Option<String>,
    },
    /// The answer of `status`.
    Status(InstanceStatus),
}

impl Outcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }

    pub fn failed(reason: impl Into<String>) -> Outcome {
        Outcome::Failed {
            reason: reason.into(),
            log_tail: None,
        }
    }
}

/// LSB status of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceStatus {
    Running {
        pid: i32,
    },
    /// A pidfile exists but names no master of this instance.
    Dead,
    NotRunning,
    /// No such configuration.
    Unknown,
}

impl InstanceStatus {
    pub fn lsb(self) -> crate::exit::LsbStatus {
        use crate::exit::LsbStatus;
        match self {
            InstanceStatus::Running { .. } => LsbStatus::Running,
            InstanceStatus::Dead => LsbStatus::DeadPidfileExists,
            InstanceStatus::NotRunning => LsbStatus::NotRunning,
            InstanceStatus::Unknown => LsbStatus::Unknown,
        }
    }
}

/// One instance's result.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: Target,
    pub outcome: Outcome,
    /// Things the administrator should know that did not make it fail
    /// (printed after Debian's progress line, never inside it).
    pub warnings: Vec<String>,
    /// Whether the run changed what runs: the instance was started,
    /// stopped, reloaded or restarted (`Done`), or, for a restart that
    /// failed to start again, stopped. Never for "already", not found, or
    /// a failure that left it as it was. Automation reads it (`changed` in
    /// JSON), so it is exact.
    pub changed: bool,
}

impl Report {
    pub fn new(target: Target, outcome: Outcome) -> Report {
        Report {
            changed: matches!(outcome, Outcome::Done { .. }),
            target,
            outcome,
            warnings: Vec::new(),
        }
    }
}

#[cfg(test)]
impl Report {
    /// A report for the output tests: NAME as given, no config found.
    pub(crate) fn for_test(name: &str, outcome: Outcome) -> Report {
        Report::new(
            Target {
                given: name.into(),
                spec: Confspec::parse(name.as_ref()).ok(),
                config: None,
            },
            outcome,
        )
    }
}
