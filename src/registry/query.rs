//! `uwsgi-query [-q] [NAME]`: is an app enabled, and by whom. The answers
//! carry the exit codes of Apache's `a2query` (0 enabled, 1 not found or
//! not enabled, 32 disabled by the administrator, 33 disabled by a
//! maintainer script), so that maintainer scripts written for Apache work
//! unchanged. Printing is `output::registry`'s.
//!
//! "Enabled" means what the front end will run: a config in apps-enabled
//! whose link reaches a regular file (a dangling link is not enabled).

use std::ffi::{OsStr, OsString};

use super::app_label;
use super::markers;
use crate::discovery;
use crate::error::Result;
use crate::exit::query as code;
use crate::layout::{Actor, Layout};
use crate::name::{Confspec, Format, Namespace};

/// What `uwsgi-query NAME` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The app as messages name it (`NAME`, or `NS/NAME`).
    pub label: String,
    pub enabled: bool,
    /// Who enabled it (when enabled) or disabled it (when not), by its
    /// state markers.
    pub by: Option<Actor>,
}

impl Answer {
    /// a2query's exit code for this answer.
    pub fn code(&self) -> i32 {
        match (self.enabled, self.by) {
            (true, _) => code::ENABLED,
            (false, Some(Actor::Admin)) => code::DISABLED_BY_ADMIN,
            (false, Some(Actor::Maint)) => code::DISABLED_BY_MAINT,
            (false, None) => code::NOT_FOUND,
        }
    }
}

/// Look up one app: NAME or NAME.EXT, as a2query takes a site with or
/// without `.conf`.
pub fn query(layout: &Layout, argument: &OsStr) -> Result<Answer> {
    let spec = Confspec::parse(argument)?;
    let ns = &spec.namespace;
    let found = discovery::enabled(layout, ns)?;
    let mut name = spec.name.as_os_str();
    let mut instance = found.find(name);
    if instance.is_none() {
        if let Some((stem, format)) = Format::split_file_name(name) {
            instance = found.find(stem).filter(|i| i.format == format);
            name = stem;
        }
    }
    let enabled = instance.is_some();
    let have = markers::of(layout, ns, name);
    Ok(Answer {
        label: app_label(ns, name),
        enabled,
        by: markers::who(&have, enabled),
    })
}

/// One enabled app, for `uwsgi-query` without NAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnabledApp {
    pub namespace: Namespace,
    pub name: OsString,
    /// Who enabled it; only looked up with `who` (a quiet run needs only
    /// the count, and so reads no marker).
    pub by: Option<Actor>,
}

/// Every enabled app of every namespace, in discovery's order.
pub fn enabled_apps(layout: &Layout, who: bool) -> Result<Vec<EnabledApp>> {
    let mut apps = Vec::new();
    for ns in discovery::namespaces(layout)? {
        let found = discovery::enabled(layout, &ns)?;
        let index = if who && !found.instances.is_empty() {
            Some(markers::MarkerIndex::read(layout, &ns)?)
        } else {
            None
        };
        for instance in found.instances {
            let by = index
                .as_ref()
                .and_then(|i| markers::who(&i.of(&instance.spec.name), true));
            apps.push(EnabledApp {
                namespace: ns.clone(),
                name: instance.spec.name,
                by,
            });
        }
    }
    Ok(apps)
}
