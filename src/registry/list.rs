//! `uwsgi-apps list [--json]`: every app of every namespace, available or
//! enabled, with its format, whether it is enabled and by whom, the
//! health of its link, and whether its instance runs (pid, uptime).
//!
//! It is built for thousands of apps: per namespace one listing of
//! apps-available, one of apps-enabled (plus one `readlink` per link; a
//! `stat` only for links that do not have the canonical form) and one
//! listing per marker directory. No config file is opened.
//!
//! This is the data (`AppRow`, `running`); `output::list` prints it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::path::Path;

use super::link::{is_temp_name, EnabledLink, LinkState};
use super::markers::{self, MarkerIndex};
use crate::discovery::{self, EntryKind};
use crate::error::{IoContext, Result};
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
    /// `enabled`, `broken` (a dangling link) or `disabled`.
    pub fn state(&self) -> &'static str {
        if self.enabled {
            "enabled"
        } else if matches!(self.link, LinkState::Dangling { .. }) {
            "broken"
        } else {
            "disabled"
        }
    }

    /// Who made it what it is (enabled or disabled), by its markers.
    pub fn by(&self) -> Option<Actor> {
        if self.enabled {
            self.enabled_by
        } else {
            self.disabled_by
        }
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

    let canonical_dir = Path::new("..").join(ns.available_dir_name());
    for entry in discovery::enabled_top(layout, ns)? {
        let file_name = &entry.file_name;
        if is_temp_name(file_name) {
            continue;
        }
        let Some((confname, format)) = entry.config_name() else {
            continue;
        };
        let row = by_file.get(file_name).copied();
        let available = row.is_some_and(|i| rows[i].available);
        let file_type = entry.file_type;
        let (link, enabled) = if file_type.is_symlink() {
            let target = fs::read_link(&entry.path).at("read link", &entry.path)?;
            // The common case needs no stat: our own link to a file that
            // the listing of apps-available already showed to be there.
            if available
                && target.parent() == Some(&canonical_dir)
                && target.file_name() == Some(file_name.as_os_str())
            {
                (LinkState::Ok, true)
            } else {
                let link = EnabledLink::new(layout, ns, file_name).inspect()?;
                let enabled = fs::metadata(&entry.path).is_ok_and(|m| m.is_file());
                (link, enabled)
            }
        } else {
            let link = EnabledLink::new(layout, ns, file_name).inspect()?;
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

/// Whether an instance runs: its master's pid, and how long it has run.
pub type Running = Option<(i32, Option<std::time::Duration>)>;

/// Whether each row's instance runs. One listing of `/run/uwsgi/NS` per
/// namespace; a pidfile is read only where a runtime dir exists, so 10,000
/// stopped apps cost 10,000 nothing.
pub fn running(layout: &Layout, rows: &[AppRow]) -> Vec<Running> {
    let (settings, _) = crate::settings::Settings::load(layout);
    let context = crate::service::engine::Context::from_settings(layout, &settings);
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
                    match r.by() {
                        Some(Actor::Admin) => "admin",
                        Some(Actor::Maint) => "maint",
                        None => "-",
                    },
                    match r.link {
                        LinkState::Missing => "-".to_owned(),
                        ref l => l.health().to_owned(),
                    },
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
}
