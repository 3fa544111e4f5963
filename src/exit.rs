//! Exit statuses and how many results merge into one.
//!
//! Commands that handle many items keep going after a failure and exit with
//! the merged status at the end (as coreutils and a2ensite do).

/// The exit status of the registry and modern commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum ExitStatus {
    /// Everything asked for is done (including "already").
    #[default]
    Success,
    /// At least one item failed.
    Failure,
    /// The command line could not be understood; nothing was done.
    Usage,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
        }
    }

    /// Merge two results: the worse one wins (usage > failure > success),
    /// because one failed item must make the whole run fail.
    pub fn merge(self, other: ExitStatus) -> ExitStatus {
        self.max(other)
    }

    pub fn merge_all(items: impl IntoIterator<Item = ExitStatus>) -> ExitStatus {
        items
            .into_iter()
            .fold(ExitStatus::Success, ExitStatus::merge)
    }
}

/// LSB status codes for `status` (init-script convention).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LsbStatus {
    Running = 0,
    DeadPidfileExists = 1,
    NotRunning = 3,
    Unknown = 4,
}

impl LsbStatus {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// How bad a status is, for merging many into one: the SPEC orders them
    /// 4 over 1 over 3 over 0 (an unknown config is worse than a crashed
    /// instance, which is worse than a stopped one).
    fn severity(self) -> u8 {
        match self {
            LsbStatus::Running => 0,
            LsbStatus::NotRunning => 1,
            LsbStatus::DeadPidfileExists => 2,
            LsbStatus::Unknown => 3,
        }
    }

    pub fn merge(self, other: LsbStatus) -> LsbStatus {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    pub fn merge_all(items: impl IntoIterator<Item = LsbStatus>) -> LsbStatus {
        items.into_iter().fold(LsbStatus::Running, LsbStatus::merge)
    }
}

/// `a2query`'s exit codes, which `uwsgi-query` keeps.
pub mod query {
    pub const ENABLED: i32 = 0;
    pub const NOT_FOUND: i32 = 1;
    pub const DISABLED_BY_ADMIN: i32 = 32;
    pub const DISABLED_BY_MAINT: i32 = 33;
}

/// Init mode: unknown command → usage on stderr, exit 3 (Debian's script).
pub const INITD_USAGE: i32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_exit_status_wins() {
        use ExitStatus::*;
        assert_eq!(ExitStatus::merge_all([]), Success);
        assert_eq!(ExitStatus::merge_all([Success, Success]), Success);
        assert_eq!(ExitStatus::merge_all([Success, Failure, Success]), Failure);
        assert_eq!(ExitStatus::merge_all([Usage, Failure]), Usage);
        assert_eq!(Failure.code(), 1);
        assert_eq!(Usage.code(), 2);
    }

    #[test]
    fn lsb_status_merges_4_over_1_over_3_over_0() {
        use LsbStatus::*;
        assert_eq!(LsbStatus::merge_all([]), Running);
        assert_eq!(LsbStatus::merge_all([Running, NotRunning]), NotRunning);
        assert_eq!(
            LsbStatus::merge_all([NotRunning, DeadPidfileExists]),
            DeadPidfileExists
        );
        assert_eq!(
            LsbStatus::merge_all([DeadPidfileExists, Unknown, Running]),
            Unknown
        );
        assert_eq!(LsbStatus::merge_all([Unknown, NotRunning]), Unknown);
        assert_eq!(DeadPidfileExists.code(), 1);
        assert_eq!(Unknown.code(), 4);
    }
}
