//! The modern output of start/stop/reload/restart/status: one line per
//! instance on stdout, reasons on stderr, or one JSON document.

use std::time::Duration;

use serde_json::{json, Value};

use crate::name::json_text;
use crate::service::{InstanceStatus, Outcome, Report};

/// Which operation a report is about, for its wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Start,
    Stop,
    Reload,
    ForceReload,
    Restart,
    Status,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Start => "start",
            Operation::Stop => "stop",
            Operation::Reload => "reload",
            Operation::ForceReload => "force-reload",
            Operation::Restart => "restart",
            Operation::Status => "status",
        }
    }
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
            let word = match op {
                Operation::Start => "started",
                Operation::Stop => "stopped",
                Operation::Reload => "reloaded",
                Operation::ForceReload => "force-reloaded",
                Operation::Restart => "restarted",
                Operation::Status => "running",
            };
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
            text.push_str(&crate::name::sanitize(l.as_ref()));
        }
    }
    Some(text)
}

fn result_key(op: Operation, outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::NotFound => "not-found",
        Outcome::Failed { .. } => "failed",
        Outcome::Done { .. } => match op {
            Operation::Start => "started",
            Operation::Stop => "stopped",
            Operation::Reload => "reloaded",
            Operation::ForceReload => "force-reloaded",
            Operation::Restart => "restarted",
            Operation::Status => "running",
        },
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
    if let Outcome::Failed { reason, log_tail } = &report.outcome {
        v["error"] = json!(reason);
        v["log_tail"] = json!(log_tail);
    }
    if let Outcome::Status(s) = &report.outcome {
        v["lsb"] = json!(s.lsb().code());
    }
    v
}

pub fn json_document(op: Operation, reports: &[Report], exit: i32) -> Value {
    json!({
        "command": op.name(),
        "instances": reports.iter().map(|r| json_report(op, r)).collect::<Vec<_>>(),
        "failed": reports.iter().filter(|r| r.outcome.is_failure()).count(),
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
        assert_eq!(j["failed"], 1);
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
