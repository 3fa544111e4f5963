//! The registry of apps: which are enabled (links in `NSs-enabled`), who
//! decided it (state markers), and the commands that change or show it:
//! `uwsgi-enapp`, `uwsgi-disapp`, `uwsgi-query`, `uwsgi-apps list`.
//!
//! * `link`: inspecting and changing one enabled link, atomically;
//! * `markers`: `/var/lib/uwsgi/NS/{enabled,disabled}_by_{admin,maint}`;
//! * `pattern`: NAME, NAME.EXT and shell globs against the apps on disk;
//! * `enable`, `query`, `list`: what the commands find and change, as data;
//!   `output::registry` and `output::list` print it.

pub mod enable;
pub mod link;
pub mod list;
pub mod markers;
pub mod pattern;
pub mod query;

use std::ffi::{OsStr, OsString};

use crate::display::display_name;
use crate::name::Namespace;

pub use enable::Direction;

/// The options of enable and disable, free of clap (`lib.rs` makes them
/// from the command line).
#[derive(Debug, Clone, Default)]
pub struct SwitchOptions {
    pub names: Vec<OsString>,
    pub quiet: bool,
    pub force: bool,
    pub dry_run: bool,
    pub maintmode: bool,
    pub purge: bool,
    pub now: bool,
    pub json: bool,
}

/// How an app is named in messages: `NAME` in the default namespace (as
/// users type it), `NS/NAME` in any other; sanitised, quoted when it holds
/// white space.
pub fn app_label(ns: &Namespace, name: &OsStr) -> String {
    if ns.is_default() {
        display_name(name)
    } else {
        let mut whole = ns.as_os_str().to_owned();
        whole.push("/");
        whole.push(name);
        display_name(&whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_namespace_unless_it_is_the_default() {
        let app = Namespace::app();
        let v = Namespace::new("vassal").unwrap();
        assert_eq!(app_label(&v, OsStr::new("x")), "vassal/x");
        assert_eq!(app_label(&app, OsStr::new("a b")), "'a b'");
    }
}
