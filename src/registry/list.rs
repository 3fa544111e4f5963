//! `uwsgi-apps list [--json]`: every app of every namespace, available or
//! enabled, with its format, whether it is enabled and by whom, the
//! health of its link, and whether its instance runs (pid, uptime).
//!
//! It is built for thousands of apps: per namespace one listing of
//! apps-available, one of apps-enabled (plus one `readlink` per link; a
//! `stat` only for links that do not have the canonical form) and one
//! listing per marker directory. No config file is opened.
//!
//! The row model (`AppRow`) and the table (`Table`) are meant to grow: the
//! front end adds whether each app runs (pid, uptime) as more columns.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::Path;

use console::Style;
use serde_json::{json, Value};

use super::link::{is_temp_name, EnabledLink, LinkState};
use super::markers::{self, MarkerIndex};
use super::{app_label, json_str};
use crate::discovery::{self, EntryKind};
use crate::display::sanitize;
use crate::error::{Error, IoContext, Result};
use crate::layout::{Actor, Layout};
use crate::name::{Format, Namespace};

/// One app file, as `list` shows it.
#[derive(Debug, Clone)]
pub struct AppRow {
    pub namespace: Namespace,
    pub name: OsString,
    /// The file name (in apps-available, or in apps-enabled when the app
    /// is not available).
    pub file: OsString,
    pub format: Format,
    /// A regular file (or a link to one) in apps-available.
    pub available: bool,
    /// What stands in apps-enabled under the file name (`Missing` if none).
    pub link: LinkState,
    /// The front end runs it: its entry in apps-enabled reaches a regular
    /// file.
    pub enabled: bool,
    pub enabled_by: Option<Actor>,
    pub disabled_by: Option<Actor>,
}

impl AppRow {
    fn state(&self) -> &'static str {
        if self.enabled {
            "enabled"
        } else if matches!(self.link, LinkState::Dangling { .. }) {
            "broken"
        } else {
            "disabled"
        }
    }

    fn by(&self) -> Option<Actor> {
        if self.enabled {
            self.enabled_by
        } else {
            self.disabled_by
        }
    }

    pub fn to_json(&self) -> Value {
        let actor = |a: Option<Actor>| match a {
            Some(Actor::Admin) => json!("admin"),
            Some(Actor::Maint) => json!("maint"),
            None => Value::Null,
        };
        let target = match &self.link {
            LinkState::Dangling { target, .. } | LinkState::Foreign { target } => {
                json_str(target.as_os_str())
            }
            _ => Value::Null,
        };
        json!({
            "namespace": json_str(self.namespace.as_os_str()),
            "name": json_str(&self.name),
            "file": json_str(&self.file),
            "format": self.format.extension(),
            "available": self.available,
            "enabled": self.enabled,
            // Markers are kept per name, not per file: only the one that
            // matches the file's state says something about this file.
            "enabled_by": actor(self.enabled_by.filter(|_| self.enabled)),
            "disabled_by": actor(self.disabled_by.filter(|_| !self.enabled)),
            "link": match self.link {
                LinkState::Missing => Value::Null,
                ref l => json!(l.health()),
            },
            "link_target": target,
        })
    }
}

fn actor_word(a: Option<Actor>) -> &'static str {
    match a {
        Some(Actor::Admin) => "admin",
        Some(Actor::Maint) => "maint",
        None => "-",
    }
}

/// Every app of every namespace, sorted by namespace, name and format.
pub fn collect(layout: &Layout) -> Result<Vec<AppRow>> {
    let mut rows = Vec::new();
    for ns in discovery::namespaces(layout)? {
        collect_namespace(layout, &ns, &mut rows)?;
    }
    Ok(rows)
}

fn collect_namespace(layout: &Layout, ns: &Namespace, rows: &mut Vec<AppRow>) -> Result<()> {
    let first = rows.len();
    let index = MarkerIndex::read(layout, ns)?;
    let mut by_file: HashMap<OsString, usize> = HashMap::new();
    for app in discovery::available(layout, ns)? {
        by_file.insert(app.file_name.clone(), rows.len());
        rows.push(AppRow {
            namespace: ns.clone(),
            name: app.confname,
            file: app.file_name,
            format: app.format,
            available: matches!(app.kind, EntryKind::File | EntryKind::LinkToFile),
            link: LinkState::Missing,
            enabled: false,
            enabled_by: None,
            disabled_by: None,
        });
    }

    let dir = layout.enabled_dir(ns);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => Some(entries),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("read directory", dir, e)),
    };
    let canonical_dir = Path::new("..").join(ns.available_dir_name());
    for entry in entries.into_iter().flatten() {
        let entry = entry.at("read directory", &dir)?;
        let file_name = entry.file_name();
        if is_temp_name(&file_name) {
            continue;
        }
        let Some((confname, format)) = Format::split_file_name(&file_name) else {
            continue;
        };
        let row = by_file.get(&file_name).copied();
        let available = row.is_some_and(|i| rows[i].available);
        let file_type = entry.file_type().at("inspect", entry.path())?;
        let (link, enabled) = if file_type.is_symlink() {
            let target = fs::read_link(entry.path()).at("read link", entry.path())?;
            // The common case needs no stat: our own link to a file that
            // the listing of apps-available already showed to be there.
            if available
                && target.parent() == Some(&canonical_dir)
                && target.file_name() == Some(&file_name)
            {
                (LinkState::Ok, true)
            } else {
                let link = EnabledLink::new(layout, ns, &file_name).inspect()?;
                let enabled = fs::metadata(entry.path()).is_ok_and(|m| m.is_file());
                (link, enabled)
            }
        } else {
            let link = EnabledLink::new(layout, ns, &file_name).inspect()?;
            (link, file_type.is_file())
        };
        let i = match row {
            Some(i) => i,
            None => {
                rows.push(AppRow {
                    namespace: ns.clone(),
                    name: confname.to_owned(),
                    file: file_name.clone(),
                    format,
                    available: false,
                    link: LinkState::Missing,
                    enabled: false,
                    enabled_by: None,
                    disabled_by: None,
                });
                rows.len() - 1
            }
        };
        rows[i].link = link;
        rows[i].enabled = enabled;
    }

    for row in &mut rows[first..] {
        let have = index.of(&row.name);
        row.enabled_by = markers::who(&have, true);
        row.disabled_by = markers::who(&have, false);
    }
    rows[first..].sort_by(|a, b| (&a.name, a.format, &a.file).cmp(&(&b.name, b.format, &b.file)));
    Ok(())
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

/// Whether each row's instance runs: its master's pid and uptime. One
/// listing of `/run/uwsgi/NS` per namespace; a pidfile is read only where
/// a runtime dir exists, so 10,000 stopped apps cost 10,000 nothing.
fn running_of(layout: &Layout, rows: &[AppRow]) -> Vec<Option<(i32, Option<std::time::Duration>)>> {
    let (settings, _) = crate::settings::Settings::load(layout);
    let context = crate::service::context_from_settings(layout, &settings);
    let service = crate::service::Service::new(&context);
    let mut run_dirs: HashMap<Namespace, std::collections::HashSet<OsString>> = HashMap::new();
    rows.iter()
        .map(|row| {
            let dirs = run_dirs.entry(row.namespace.clone()).or_insert_with(|| {
                fs::read_dir(layout.run_namespace_dir(&row.namespace))
                    .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
                    .unwrap_or_default()
            });
            if !dirs.contains(&row.name) {
                return None;
            }
            let spec = crate::name::Confspec::new(row.namespace.clone(), row.name.clone()).ok()?;
            // Enabled: its config says which user the master may run as.
            let config = row.enabled.then(|| crate::discovery::EnabledConfig {
                spec: spec.clone(),
                path: layout.enabled_dir(&row.namespace).join(&row.file),
                format: row.format,
                depth: 1,
            });
            service.running(&spec, config.as_ref())
        })
        .collect()
}

fn pid_word(running: Option<(i32, Option<std::time::Duration>)>) -> String {
    running.map_or_else(|| "-".into(), |(pid, _)| pid.to_string())
}

fn uptime_word(running: Option<(i32, Option<std::time::Duration>)>) -> String {
    running
        .and_then(|(_, up)| up)
        .map_or_else(|| "-".into(), crate::output::service::human_duration)
}

pub fn run(layout: &Layout, json: bool) -> Result<i32> {
    let rows = collect(layout)?;
    let running = running_of(layout, &rows);
    if json {
        // One document, written in pieces as it is made: a tree of 10,000
        // JSON values would cost more memory than all the rest of the run.
        let mut text = String::with_capacity(64 * 1024);
        text.push_str("{\"apps\":[");
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            let mut v = row.to_json();
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
    use std::os::unix::fs::symlink;

    #[test]
    fn rows_show_link_health_and_who() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path(), "/usr/bin/uwsgi");
        let ns = Namespace::app();
        let av = layout.available_dir(&ns);
        let en = layout.enabled_dir(&ns);
        fs::create_dir_all(&av).unwrap();
        fs::create_dir_all(&en).unwrap();
        for f in ["a.ini", "b.yaml", "c.ini", "d.ini"] {
            fs::write(av.join(f), "").unwrap();
        }
        symlink("../apps-available/a.ini", en.join("a.ini")).unwrap();
        symlink("../apps-available/gone.ini", en.join("gone.ini")).unwrap();
        symlink("/etc/hostname", en.join("c.ini")).unwrap();
        fs::write(en.join("local.xml"), "").unwrap();
        markers::record(
            &layout,
            &ns,
            "a".as_ref(),
            crate::layout::MarkerKind {
                enabled: true,
                by: Actor::Maint,
            },
        )
        .unwrap();
        let rows = collect(&layout).unwrap();
        let got: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.file.to_str().unwrap(),
                    r.state(),
                    actor_word(r.by()),
                    r.to_json()["link"].as_str().unwrap_or("-").to_owned(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a.ini", "enabled", "maint", "ok".to_owned()),
                ("b.yaml", "disabled", "-", "-".to_owned()),
                ("c.ini", "enabled", "-", "foreign".to_owned()),
                ("d.ini", "disabled", "-", "-".to_owned()),
                ("gone.ini", "broken", "-", "dangling".to_owned()),
                ("local.xml", "enabled", "-", "regular-file".to_owned()),
            ]
        );
    }

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
