//! `uwsgi-apps doctor`'s face: findings as lines for people (never a
//! control character, whatever the names on disk hold) or as one JSON
//! document. The findings are `doctor`'s.

use std::ffi::OsString;

use crate::display::{display_path, json_text, sanitize};
use crate::doctor::{diagnose, exit_status, Finding, Scope, Severity, Subject};
use crate::error::Result;
use crate::layout::Layout;
use crate::name::Confspec;

/// A finding as people read it: never a control character, whatever the
/// names on disk hold.
pub fn render_human(f: &Finding) -> String {
    let subject = match &f.subject {
        Subject::Path(p) => display_path(p),
        Subject::Process { pid, config } => match config {
            Some(c) => format!("process {pid} ({})", display_path(c)),
            None => format!("process {pid}"),
        },
    };
    let line = format!("{}: {subject}: {}", f.severity, f.message);
    let hint = format!("hint: {}", f.hint);
    format!(
        "{}\n    {}",
        sanitize(line.as_ref()),
        sanitize(hint.as_ref())
    )
}

pub fn render_json(findings: &[Finding]) -> serde_json::Value {
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let items: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let (path, pid) = match &f.subject {
                Subject::Path(p) => (Some(json_text(p.as_os_str())), None),
                Subject::Process { pid, config } => (
                    config.as_ref().map(|c| json_text(c.as_os_str())),
                    Some(*pid),
                ),
            };
            serde_json::json!({
                "severity": f.severity.as_str(),
                "check": f.check,
                "app": f.app.as_ref().map(|a| {
                    let mut s = json_text(a.namespace.as_os_str());
                    s.push('/');
                    s.push_str(&json_text(&a.name));
                    s
                }),
                "path": path,
                "pid": pid,
                "message": f.message,
                "hint": f.hint,
            })
        })
        .collect();
    serde_json::json!({
        "errors": count(Severity::Error),
        "warnings": count(Severity::Warning),
        "infos": count(Severity::Info),
        "findings": items,
    })
}

/// The `doctor` command.
pub fn run(layout: &Layout, names: &[OsString], json: bool) -> Result<i32> {
    let apps = names
        .iter()
        .map(|n| Confspec::parse(n))
        .collect::<Result<Vec<_>>>()?;
    let findings = diagnose(layout, &Scope { apps })?;
    if json {
        outln!("{}", render_json(&findings));
    } else {
        for f in &findings {
            outln!("{}", render_human(f));
        }
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        if findings.is_empty() {
            outln!("No problems found.");
        } else {
            outln!(
                "{} error(s), {} warning(s), {} info(s).",
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Info)
            );
        }
    }
    Ok(exit_status(&findings).code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_rendering_hides_control_characters() {
        let f = Finding::path(Severity::Error, "t", "/a\nb", None, "bad\x1b[2J", "fix\r");
        let s = render_human(&f);
        assert_eq!(s, "error: /a?b: bad?[2J\n    hint: fix?");
    }
}
