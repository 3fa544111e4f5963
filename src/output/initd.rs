//! The init-script face, exactly as Debian's `/etc/init.d/uwsgi` prints
//! through lsb-base's log_daemon_msg / log_progress_msg / log_end_msg:
//!
//! ```text
//! Starting app server(s): uwsgi -> . ? . ! failed!
//! Stopping app server(s): uwsgi -> app/hello (app/idle) done.
//! Starting app server(s): uwsgi (omitted; missing conffile(s) in /etc/uwsgi/apps-enabled).
//! ```
//!
//! The exit status is the number of failed instances (a confspec that is
//! not found is `?` and no failure, Debian's rule); an unknown command is
//! Debian's usage line and exit 3. Reasons and warnings go to stderr after
//! the line, never into it.

use std::ffi::OsString;

use crate::display::display_path;
use crate::error::Result;
use crate::exit::LsbStatus;
use crate::layout::Layout;
use crate::name::Namespace;
use crate::service::engine::Context;
use crate::service::plan;
use crate::service::report::{InstanceStatus, Outcome, Report};
use crate::service::{Operation, Service};

/// `uwsgi-apps initd COMMAND [CONFSPEC…]`, the interface of
/// `/etc/init.d/uwsgi`.
pub fn run(layout: &Layout, args: &[OsString]) -> Result<i32> {
    let Some(op) = args
        .first()
        .and_then(|a| a.to_str())
        .and_then(Operation::parse)
    else {
        crate::stdio::write_stderr(format_args!("{}\n", Operation::initd_usage()));
        return Ok(crate::exit::INITD_USAGE);
    };
    let confspecs = &args[1..];
    let settings = super::load_settings(layout);
    let context = Context::from_settings(layout, &settings);
    let service = Service::new(&context);
    let (targets, warnings) = plan::plan(layout, confspecs)?;
    for w in warnings {
        crate::output::warning(w);
    }
    if op == Operation::Status {
        return Ok(status(&service, confspecs.len(), &targets));
    }

    let verbose = settings.verbose;
    let names = settings.print_confnames;
    let omitted = confspecs.is_empty() && targets.is_empty();
    if verbose {
        out!("{}", header(op));
        if !omitted {
            out!(" ->");
        }
    }
    let reports = service.run(op, &targets, &mut |r| {
        if verbose {
            out!(" {}", mark(r, names));
        }
    });
    let failed = failures(&reports);
    if verbose {
        if omitted {
            outln!(
                "{}",
                omitted_line(&display_path(&layout.enabled_dir(&Namespace::app())))
            );
        } else {
            outln!("{}", end(failed));
        }
    }
    super::print_after_line(&reports);
    Ok(exit_code(failed))
}

/// Debian's status: one confspec → `uwsgi is running.` and its LSB code.
/// Several or none (all enabled): one line per instance, the worst code.
fn status(service: &Service<'_>, named: usize, targets: &[crate::service::report::Target]) -> i32 {
    let one = named == 1;
    let reports = service.run(Operation::Status, targets, &mut |r| {
        let who = if one {
            "uwsgi".to_owned()
        } else {
            format!("uwsgi {}", r.target.initd_label())
        };
        if let Outcome::Status(s) = r.outcome {
            outln!("{}", status_line(&who, s));
        }
    });
    status_code(&reports)
}

/// The worst LSB code of the reports (4 over 1 over 3 over 0); nothing
/// enabled means nothing runs.
pub fn status_code(reports: &[Report]) -> i32 {
    if reports.is_empty() {
        return LsbStatus::NotRunning.code();
    }
    LsbStatus::merge_all(reports.iter().filter_map(|r| match r.outcome {
        Outcome::Status(s) => Some(s.lsb()),
        _ => None,
    }))
    .code()
}

fn failures(reports: &[Report]) -> usize {
    reports.iter().filter(|r| r.outcome.is_failure()).count()
}

/// `Starting app server(s): uwsgi`
pub fn header(op: Operation) -> String {
    format!("{} app server(s): uwsgi", op.initd_verb())
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
pub fn omitted_line(enabled_dir: &str) -> String {
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
        assert_eq!(header(Operation::Start), "Starting app server(s): uwsgi");
        assert_eq!(
            header(Operation::ForceReload),
            "Forced reloading app server(s): uwsgi"
        );
        assert_eq!(end(0), " done.");
        assert_eq!(end(2), " failed!");
        assert_eq!(exit_code(3), 3);
        assert_eq!(exit_code(256), 255);
        assert_eq!(
            status_line("uwsgi", InstanceStatus::NotRunning),
            "uwsgi is not running ... failed!"
        );
        assert_eq!(status_code(&[]), 3);
        let reports = [
            report("a", Outcome::Status(InstanceStatus::Running { pid: 1 })),
            report("b", Outcome::Status(InstanceStatus::Dead)),
            report("c", Outcome::Status(InstanceStatus::NotRunning)),
        ];
        assert_eq!(status_code(&reports), 1);
    }
}
