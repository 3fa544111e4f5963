//! The init-script line, exactly as Debian's `/etc/init.d/uwsgi` prints it
//! through lsb-base's log_daemon_msg / log_progress_msg / log_end_msg:
//!
//! ```text
//! Starting app server(s): uwsgi -> . ? . ! failed!
//! Stopping app server(s): uwsgi -> app/hello (app/idle) done.
//! Starting app server(s): uwsgi (omitted; missing conffile(s) in /etc/uwsgi/apps-enabled).
//! ```

use crate::service::{InstanceStatus, Outcome, Report};

/// The commands of the init script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitdCommand {
    Start,
    Stop,
    Reload,
    ForceReload,
    Restart,
    Status,
}

impl InitdCommand {
    pub fn parse(word: &str) -> Option<InitdCommand> {
        Some(match word {
            "start" => InitdCommand::Start,
            "stop" => InitdCommand::Stop,
            "reload" => InitdCommand::Reload,
            "force-reload" => InitdCommand::ForceReload,
            "restart" => InitdCommand::Restart,
            "status" => InitdCommand::Status,
            _ => return None,
        })
    }

    pub fn verb(self) -> &'static str {
        match self {
            InitdCommand::Start => "Starting",
            InitdCommand::Stop => "Stopping",
            InitdCommand::Reload => "Reloading",
            InitdCommand::ForceReload => "Forced reloading",
            InitdCommand::Restart => "Restarting",
            InitdCommand::Status => "Checking",
        }
    }
}

/// Debian's usage line (on stderr, exit 3).
pub const USAGE: &str = "Usage: /etc/init.d/uwsgi {start|stop|status|restart|reload|force-reload}";

/// `Starting app server(s): uwsgi`
pub fn header(command: InitdCommand) -> String {
    format!("{} app server(s): uwsgi", command.verb())
}

/// The progress mark of one instance, without the leading space.
pub fn mark(report: &Report, print_confnames: bool) -> String {
    let label = || report.target.initd_label();
    match (&report.outcome, print_confnames) {
        (Outcome::NotFound, false) => "?".into(),
        (Outcome::NotFound, true) => format!("{}?", label()),
        (Outcome::Failed { .. }, false) => "!".into(),
        (Outcome::Failed { .. }, true) => format!("{}!", label()),
        (Outcome::Already { .. }, true) => format!("({})", label()),
        (Outcome::Done { .. }, true) => label(),
        (Outcome::Status(_), true) => label(),
        (_, false) => ".".into(),
    }
}

/// The end of the line: ` done.` or ` failed!`.
pub fn end(failures: usize) -> &'static str {
    if failures == 0 {
        " done."
    } else {
        " failed!"
    }
}

/// ` (omitted; missing conffile(s) in DIR).` — no app enabled at all.
pub fn omitted(enabled_dir: &str) -> String {
    format!(" (omitted; missing conffile(s) in {enabled_dir}).")
}

/// The exit status of the init script: the number of failed instances,
/// which a shell can only carry up to 255 (more must not wrap to 0).
pub fn exit_code(failures: usize) -> i32 {
    failures.min(255) as i32
}

/// A status line as lsb-base's status_of_proc prints it. `who` is
/// `uwsgi` for the one-instance form Debian has, `uwsgi NS/NAME` for
/// several.
pub fn status_line(who: &str, status: InstanceStatus) -> String {
    match status {
        InstanceStatus::Running { .. } => format!("{who} is running."),
        InstanceStatus::Dead | InstanceStatus::NotRunning => {
            format!("{who} is not running ... failed!")
        }
        InstanceStatus::Unknown => format!("{who}: no such configuration ... failed!"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, outcome: Outcome) -> Report {
        Report::for_test(name, outcome)
    }

    #[test]
    fn marks_are_debians() {
        let done = report("hello", Outcome::Done { pid: Some(1) });
        let already = report("hello", Outcome::Already { pid: None });
        let failed = report(
            "my app",
            Outcome::Failed {
                reason: "x".into(),
                log_tail: None,
            },
        );
        let missing = report("nope", Outcome::NotFound);
        let other_ns = report("vassal/nope", Outcome::NotFound);
        assert_eq!(mark(&done, false), ".");
        assert_eq!(mark(&already, false), ".");
        assert_eq!(mark(&failed, false), "!");
        assert_eq!(mark(&missing, false), "?");
        assert_eq!(mark(&done, true), "app/hello");
        assert_eq!(mark(&already, true), "(app/hello)");
        assert_eq!(mark(&failed, true), "'app/my app'!");
        assert_eq!(mark(&missing, true), "app/nope?");
        assert_eq!(mark(&other_ns, true), "vassal/nope?");
    }

    #[test]
    fn line_parts() {
        assert_eq!(header(InitdCommand::Start), "Starting app server(s): uwsgi");
        assert_eq!(
            header(InitdCommand::ForceReload),
            "Forced reloading app server(s): uwsgi"
        );
        assert_eq!(end(0), " done.");
        assert_eq!(end(2), " failed!");
        assert_eq!(exit_code(3), 3);
        assert_eq!(exit_code(256), 255);
        assert_eq!(InitdCommand::parse("bogus"), None);
        assert_eq!(
            status_line("uwsgi", InstanceStatus::NotRunning),
            "uwsgi is not running ... failed!"
        );
    }
}
