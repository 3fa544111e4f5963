//! `uwsgi-query [-q] [NAME]`: is an app enabled, and by whom, with the exit
//! codes of Apache's `a2query` (0 enabled, 1 not found or not enabled, 32
//! disabled by the administrator, 33 disabled by a maintainer script), so
//! that maintainer scripts written for Apache work unchanged.
//!
//! "Enabled" means what the front end will run: a config in apps-enabled
//! whose link reaches a regular file (a dangling link is not enabled).

use std::ffi::OsStr;

use super::app_label;
use super::markers;
use crate::discovery;
use crate::error::Result;
use crate::exit::query as code;
use crate::layout::{Actor, Layout};
use crate::name::{Confspec, Format, Namespace};
use crate::output;

fn by_whom(who: Option<Actor>) -> &'static str {
    match who {
        Some(Actor::Admin) => "site administrator",
        Some(Actor::Maint) => "maintainer script",
        None => "unknown",
    }
}

pub fn run(layout: &Layout, name: Option<&OsStr>, quiet: bool) -> Result<i32> {
    match name {
        Some(name) => query_one(layout, name, quiet),
        None => list_enabled(layout, quiet),
    }
}

fn query_one(layout: &Layout, argument: &OsStr, quiet: bool) -> Result<i32> {
    let spec = Confspec::parse(argument)?;
    let ns = &spec.namespace;
    let found = discovery::enabled(layout, ns)?;
    // NAME or NAME.EXT, as a2query takes a site with or without `.conf`.
    let mut name = spec.name.as_os_str();
    let mut instance = found.find(name);
    if instance.is_none() {
        if let Some((stem, format)) = Format::split_file_name(name) {
            instance = found.find(stem).filter(|i| i.format == format);
            name = stem;
        }
    }
    let label = app_label(ns, name);
    let have = markers::of(layout, ns, name);
    if instance.is_some() {
        if !quiet {
            outln!(
                "{label} (enabled by {})",
                by_whom(markers::who(&have, true))
            );
        }
        return Ok(code::ENABLED);
    }
    let (status, why) = match markers::who(&have, false) {
        Some(Actor::Admin) => (code::DISABLED_BY_ADMIN, " (disabled by site administrator)"),
        Some(Actor::Maint) => (code::DISABLED_BY_MAINT, " (disabled by maintainer script)"),
        None => (code::NOT_FOUND, ""),
    };
    if !quiet {
        output::error(format_args!("No app matches {label}{why}"));
    }
    Ok(status)
}

fn list_enabled(layout: &Layout, quiet: bool) -> Result<i32> {
    let mut count = 0;
    for ns in discovery::namespaces(layout)? {
        count += list_namespace(layout, &ns, quiet)?;
    }
    if count == 0 {
        // a2query -s without a site fails the same way when none is enabled.
        if !quiet {
            output::error("No app is enabled");
        }
        return Ok(code::NOT_FOUND);
    }
    Ok(code::ENABLED)
}

fn list_namespace(layout: &Layout, ns: &Namespace, quiet: bool) -> Result<usize> {
    let found = discovery::enabled(layout, ns)?;
    if quiet {
        return Ok(found.instances.len());
    }
    let index = markers::MarkerIndex::read(layout, ns)?;
    let mut text = String::new();
    for instance in &found.instances {
        let who = markers::who(&index.of(&instance.spec.name), true);
        text.push_str(&format!(
            "{} (enabled by {})\n",
            app_label(ns, &instance.spec.name),
            by_whom(who)
        ));
    }
    out!("{text}");
    Ok(found.instances.len())
}
