//! The modern face of the service commands (`uwsgi-apps start|stop|
//! reload|force-reload|restart|status`): one line per instance on stdout,
//! reasons and warnings on stderr, or one JSON document. Exit status 0
//! when every instance succeeded, 1 otherwise (a named app that does not
//! exist is a failure here; only the init face keeps Debian's `?` with
//! exit 0); `status` keeps the LSB codes.

use std::ffi::OsString;
use std::time::Duration;

use serde_json::{json, Value};

use crate::display::json_text;
use crate::error::Result;
use crate::exit::ExitStatus;
use crate::layout::Layout;
use crate::name::Confspec;
use crate::service::engine::Context;
use crate::service::plan::{self, Choices, Options};
use crate::service::report::{InstanceStatus, Outcome, Report};
use crate::service::{Operation, Service};

/// `uwsgi-apps OP [CONFSPEC…]`.
pub fn run(
    layout: &Layout,
    op: Operation,
    confspecs: &[OsString],
    choices: &Choices,
    json: bool,
) -> Result<i32> {
    let settings = super::load_settings(layout);
    let context = Context::new(layout, &settings, Options::new(&settings, choices));
    let service = Service::new(&context);
    let (targets, warnings) = plan::plan(layout, confspecs)?;
    for w in warnings {
        crate::output::warning(w);
    }
    let reports = service.run(op, &targets, &mut |r| {
        if !json {
            outln!("{}", line(op, r));
        }
    });
    let code = exit_code(op, &reports);
    if json {
        outln!("{}", json_document(op, &reports, code));
    }
    super::print_after_line(&reports);
    Ok(code)
}

/// LSB codes for status; else 0 when every instance succeeded.
fn exit_code(op: Operation, reports: &[Report]) -> i32 {
    if op == Operation::Status {
        return super::initd::status_code(reports);
    }
    ExitStatus::merge_all(reports.iter().map(|r| {
        if is_failure(&r.outcome) {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        }
    }))
    .code()
}

/// A failure in the modern face: failed, or no such app.
fn is_failure(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Failed { .. } | Outcome::NotFound)
}

/// Start or stop the instances of apps that `uwsgi-enapp --now` /
/// `uwsgi-disapp --now` just switched, printing a line per instance
/// unless `quiet`. Whether all succeeded.
pub fn for_registry(
    layout: &Layout,
    op: Operation,
    specs: &[Confspec],
    quiet: bool,
) -> Result<bool> {
    if specs.is_empty() {
        return Ok(true);
    }
    let settings = super::load_settings(layout);
    let context = Context::from_settings(layout, &settings);
    let service = Service::new(&context);
    let targets = plan::plan_specs(layout, specs)?;
    let reports = service.run(op, &targets, &mut |r| {
        if !quiet {
            outln!("{}", line(op, r));
        }
    });
    super::print_after_line(&reports);
    Ok(!reports.iter().any(|r| is_failure(&r.outcome)))
}

fn with_pid(word: &str, pid: Option<i32>) -> String {
    match pid {
        Some(pid) => format!("{word} (pid {pid})"),
        None => word.to_owned(),
    }
}

/// `1d 2h`, `3h 4m`, `5m 6s`, `7s`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins, secs) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins}m")
    } else if mins > 0 {
        format!("{mins}m {secs}s")
    } else {
        format!("{secs}s")
    }
}

/// What happened, in a few words (`started (pid 4242)`).
pub fn result_words(op: Operation, outcome: &Outcome) -> String {
    match outcome {
        Outcome::NotFound => "no such app".into(),
        Outcome::Failed { .. } => format!("failed to {}", op.name()),
        Outcome::Done { pid } => {
            let word = op.past();
            if op == Operation::Stop {
                word.to_owned()
            } else {
                with_pid(word, *pid)
            }
        }
        Outcome::Already { pid } => match op {
            Operation::Stop => "not running".into(),
            _ => with_pid("already running", *pid),
        },
        Outcome::Status(status) => match status {
            InstanceStatus::Running { pid } => {
                let up = crate::process::procfs::uptime(*pid)
                    .map(|d| format!(", up {}", human_duration(d)))
                    .unwrap_or_default();
                format!("running (pid {pid}{up})")
            }
            InstanceStatus::Dead => "dead (pidfile exists, process gone)".into(),
            InstanceStatus::NotRunning => "not running".into(),
            InstanceStatus::Unknown => "no such app".into(),
        },
    }
}

/// `hello: started (pid 4242)`
pub fn line(op: Operation, report: &Report) -> String {
    format!(
        "{}: {}",
        report.target.label(),
        result_words(op, &report.outcome)
    )
}

/// The reason of a failure, for stderr (with the log's tail indented).
pub fn failure_text(report: &Report) -> Option<String> {
    let Outcome::Failed { reason, log_tail } = &report.outcome else {
        return None;
    };
    let mut text = format!("{}: {reason}", report.target.label());
    if let Some(tail) = log_tail {
        text.push_str("\nlast lines of its log:");
        for l in tail.lines() {
            text.push_str("\n    ");
            text.push_str(&crate::display::sanitize(l.as_ref()));
        }
    }
    Some(text)
}

fn result_key(op: Operation, outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::NotFound => "not-found",
        Outcome::Failed { .. } => "failed",
        Outcome::Done { .. } => op.past(),
        Outcome::Already { .. } => match op {
            Operation::Stop => "not-running",
            _ => "already-running",
        },
        Outcome::Status(s) => match s {
            InstanceStatus::Running { .. } => "running",
            InstanceStatus::Dead => "dead",
            InstanceStatus::NotRunning => "not-running",
            InstanceStatus::Unknown => "unknown",
        },
    }
}

/// One JSON object per instance.
pub fn json_report(op: Operation, report: &Report) -> Value {
    let (namespace, name) = match &report.target.spec {
        Some(spec) => (
            Some(json_text(spec.namespace.as_os_str())),
            json_text(&spec.name),
        ),
        None => (None, json_text(&report.target.given)),
    };
    let pid = match &report.outcome {
        Outcome::Done { pid } | Outcome::Already { pid } => *pid,
        Outcome::Status(InstanceStatus::Running { pid }) => Some(*pid),
        _ => None,
    };
    let mut v = json!({
        "namespace": namespace,
        "name": name,
        "result": result_key(op, &report.outcome),
        "pid": pid,
        "config": report.target.config.as_ref().map(|c| json_text(c.path.as_os_str())),
    });
    if op != Operation::Status {
        v["changed"] = json!(report.changed);
    }
    if let Outcome::Failed { reason, log_tail } = &report.outcome {
        v["error"] = json!(reason);
        v["log_tail"] = json!(log_tail);
    }
    if let Outcome::Status(s) = &report.outcome {
        v["lsb"] = json!(s.lsb().code());
    }
    if !report.warnings.is_empty() {
        v["warnings"] = json!(report.warnings);
    }
    v
}

pub fn json_document(op: Operation, reports: &[Report], exit: i32) -> Value {
    json!({
        "command": op.name(),
        "instances": reports.iter().map(|r| json_report(op, r)).collect::<Vec<_>>(),
        "failed": reports.iter().filter(|r| op != Operation::Status && is_failure(&r.outcome)).count(),
        "exit_status": exit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, outcome: Outcome) -> Report {
        Report::for_test(name, outcome)
    }

    #[test]
    fn lines_read_like_the_issue_says() {
        assert_eq!(
            line(
                Operation::Start,
                &report("hello", Outcome::Done { pid: Some(4242) })
            ),
            "hello: started (pid 4242)"
        );
        assert_eq!(
            line(
                Operation::Start,
                &report("hello", Outcome::Already { pid: Some(7) })
            ),
            "hello: already running (pid 7)"
        );
        assert_eq!(
            line(Operation::Start, &report("nope", Outcome::NotFound)),
            "nope: no such app"
        );
        assert_eq!(
            line(
                Operation::Stop,
                &report("ns/x", Outcome::Already { pid: None })
            ),
            "ns/x: not running"
        );
        let failed = report(
            "my app",
            Outcome::Failed {
                reason: "boom".into(),
                log_tail: Some("a\nb\x1b[2J".into()),
            },
        );
        assert_eq!(line(Operation::Start, &failed), "'my app': failed to start");
        assert_eq!(
            failure_text(&failed).unwrap(),
            "'my app': boom\nlast lines of its log:\n    a\n    b?[2J"
        );
        let j = json_document(Operation::Start, &[failed], 1);
        assert_eq!(j["instances"][0]["result"], "failed");
        assert_eq!(j["instances"][0]["namespace"], "app");
        assert_eq!(j["instances"][0]["changed"], false);
        assert_eq!(j["failed"], 1);
    }

    #[test]
    fn changed_is_true_only_for_what_was_done() {
        let changed = |op, outcome| json_report(op, &report("x", outcome))["changed"].clone();
        assert_eq!(
            changed(Operation::Start, Outcome::Done { pid: Some(1) }),
            true
        );
        assert_eq!(changed(Operation::Stop, Outcome::Done { pid: None }), true);
        assert_eq!(
            changed(Operation::Reload, Outcome::Done { pid: Some(1) }),
            true
        );
        assert_eq!(
            changed(Operation::Start, Outcome::Already { pid: Some(1) }),
            false
        );
        assert_eq!(
            changed(Operation::Stop, Outcome::Already { pid: None }),
            false
        );
        assert_eq!(changed(Operation::Restart, Outcome::NotFound), false);
        assert_eq!(changed(Operation::Reload, Outcome::failed("no")), false);
        // status changes nothing and says nothing about it.
        let status = Outcome::Status(InstanceStatus::NotRunning);
        assert!(json_report(Operation::Status, &report("x", status))
            .get("changed")
            .is_none());
        // A restart whose stop worked and whose start failed changed it.
        let mut half = report("x", Outcome::failed("start failed"));
        half.changed = true;
        assert_eq!(json_report(Operation::Restart, &half)["changed"], true);
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(human_duration(Duration::from_secs(5)), "5s");
        assert_eq!(human_duration(Duration::from_secs(65)), "1m 5s");
        assert_eq!(human_duration(Duration::from_secs(3 * 3600 + 60)), "3h 1m");
        assert_eq!(
            human_duration(Duration::from_secs(2 * 86400 + 3600)),
            "2d 1h"
        );
    }
}
