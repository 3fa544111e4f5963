//! `uwsgi-apps list`: a table on a terminal (colour only there, and never
//! with `NO_COLOR`), tab-separated lines when piped, one JSON document with
//! `--json`. The rows are `registry::list`'s.

use std::ffi::OsString;

use console::Style;
use serde_json::{json, Value};

use super::registry::json_str;
use crate::display::sanitize;
use crate::error::Result;
use crate::layout::{Actor, Layout};
use crate::registry::app_label;
use crate::registry::link::LinkState;
use crate::registry::list::{self, AppRow, Running};

/// One app of `list --json` (without whether it runs).
fn row_json(row: &AppRow) -> Value {
    let actor = |a: Option<Actor>| match a {
        Some(Actor::Admin) => json!("admin"),
        Some(Actor::Maint) => json!("maint"),
        None => Value::Null,
    };
    let target = match &row.link {
        LinkState::Dangling { target, .. } | LinkState::Foreign { target } => {
            json_str(target.as_os_str())
        }
        _ => Value::Null,
    };
    json!({
        "namespace": json_str(row.namespace.as_os_str()),
        "name": json_str(&row.name),
        "file": json_str(&row.file),
        "format": row.format.extension(),
        "available": row.available,
        "enabled": row.enabled,
        // Markers are kept per name, not per file: only the one that
        // matches the file's state says something about this file.
        "enabled_by": actor(row.enabled_by.filter(|_| row.enabled)),
        "disabled_by": actor(row.disabled_by.filter(|_| !row.enabled)),
        "link": match row.link {
            LinkState::Missing => Value::Null,
            ref l => json!(l.health()),
        },
        "link_target": target,
    })
}

fn actor_word(a: Option<Actor>) -> &'static str {
    match a {
        Some(Actor::Admin) => "admin",
        Some(Actor::Maint) => "maint",
        None => "-",
    }
}

/// A plain text table: columns padded to their widest cell, each cell
/// with an optional style applied after padding (so colour codes never
/// count as width).
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<(String, Option<Style>)>>,
}

impl Table {
    pub fn new(headers: Vec<&'static str>) -> Table {
        Table {
            headers,
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<(String, Option<Style>)>) {
        self.rows.push(row);
    }

    pub fn render(&self, colour: bool) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (i, (text, _)) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(console::measure_text_width(text));
                }
            }
        }
        let mut out = String::new();
        let header_style = Style::new().bold();
        let header: Vec<(String, Option<Style>)> = self
            .headers
            .iter()
            .map(|h| (h.to_string(), Some(header_style.clone())))
            .collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let last = row.len().saturating_sub(1);
            for (i, (text, style)) in row.iter().enumerate() {
                let pad = widths
                    .get(i)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(console::measure_text_width(text));
                match style {
                    Some(style) if colour => {
                        out.push_str(&style.apply_to(text).force_styling(true).to_string())
                    }
                    _ => out.push_str(text),
                }
                if i < last {
                    out.extend(std::iter::repeat(' ').take(pad + 2));
                }
            }
            out.push('\n');
        }
        out
    }
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to
/// anything non-empty (no-color.org).
pub fn use_colour(stdout_is_terminal: bool) -> bool {
    stdout_is_terminal && std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
}

fn pid_word(running: Running) -> String {
    running.map_or_else(|| "-".into(), |(pid, _)| pid.to_string())
}

fn uptime_word(running: Running) -> String {
    running
        .and_then(|(_, up)| up)
        .map_or_else(|| "-".into(), super::service::human_duration)
}

/// `uwsgi-apps list [--json]`.
pub fn run(layout: &Layout, json: bool) -> Result<i32> {
    let rows = list::collect(layout)?;
    let running = list::running(layout, &rows);
    if json {
        // One document, written in pieces as it is made: a tree of 10,000
        // JSON values would cost more memory than all the rest of the run.
        let mut text = String::with_capacity(64 * 1024);
        text.push_str("{\"apps\":[");
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            let mut v = row_json(row);
            v["running"] = json!(running[i].is_some());
            v["pid"] = json!(running[i].map(|(pid, _)| pid));
            v["uptime_seconds"] = json!(running[i].and_then(|(_, up)| up).map(|d| d.as_secs()));
            text.push_str(&v.to_string());
            if text.len() >= 60 * 1024 {
                out!("{text}");
                text.clear();
            }
        }
        text.push_str("]}\n");
        out!("{text}");
        return Ok(0);
    }
    let terminal = console::Term::stdout().is_term();
    if !terminal {
        // One line per app, tab-separated, no header: for `cut` and `awk`.
        let mut text = String::with_capacity(rows.len() * 48);
        for (row, run) in rows.iter().zip(&running) {
            let link = match row.link {
                LinkState::Missing => "-",
                ref l => l.health(),
            };
            let uptime = run
                .and_then(|(_, up)| up)
                .map_or_else(|| "-".into(), |d| d.as_secs().to_string());
            let line = format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                plain_label(row),
                row.format,
                row.state(),
                actor_word(row.by()),
                link,
                pid_word(*run),
                uptime
            );
            text.push_str(&line);
        }
        out!("{text}");
        return Ok(0);
    }
    let mut table = Table::new(vec!["APP", "FORMAT", "STATE", "BY", "LINK", "PID", "UP"]);
    for (row, run) in rows.iter().zip(&running) {
        let state_style = match row.state() {
            "enabled" => Style::new().green(),
            "broken" => Style::new().red(),
            _ => Style::new().dim(),
        };
        let (link, link_style) = match &row.link {
            LinkState::Missing => ("-", None),
            LinkState::Ok => ("ok", None),
            l => (l.health(), Some(Style::new().red().bold())),
        };
        table.push(vec![
            (app_label(&row.namespace, &row.name), None),
            (row.format.to_string(), None),
            (row.state().to_string(), Some(state_style)),
            (actor_word(row.by()).to_string(), None),
            (link.to_string(), link_style),
            (pid_word(*run), None),
            (uptime_word(*run), None),
        ]);
    }
    out!("{}", table.render(use_colour(terminal)));
    Ok(0)
}

/// A name for a tab-separated line: sanitised (no tab or newline can
/// split it), never quoted.
fn plain_label(row: &AppRow) -> String {
    let mut whole = OsString::new();
    if !row.namespace.is_default() {
        whole.push(row.namespace.as_os_str());
        whole.push("/");
    }
    whole.push(&row.name);
    sanitize(&whole).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_by_visible_width() {
        let mut t = Table::new(vec!["A", "B"]);
        t.push(vec![
            ("süß".into(), Some(Style::new().red())),
            ("x".into(), None),
        ]);
        let plain = t.render(false);
        assert_eq!(plain, "A    B\nsüß  x\n");
        let coloured = t.render(true);
        assert!(coloured.contains("\u{1b}["), "{coloured:?}");
        assert_eq!(console::strip_ansi_codes(&coloured), plain);
    }
}
