//! The registry of apps: which are enabled (links in `NSs-enabled`), who
//! decided it (state markers), and the commands that change or show it:
//! `uwsgi-enapp`, `uwsgi-disapp`, `uwsgi-query`, `uwsgi-apps list`.
//!
//! * `link`: inspecting and changing one enabled link, atomically;
//! * `markers`: `/var/lib/uwsgi/NS/{enabled,disabled}_by_{admin,maint}`;
//! * `pattern`: NAME, NAME.EXT and shell globs against the apps on disk;
//! * `enable`, `query`, `list`: the commands.

pub mod enable;
pub mod link;
pub mod list;
pub mod markers;
pub mod pattern;
pub mod query;

use std::ffi::{OsStr, OsString};

use serde_json::Value;

use crate::cli::{DisableArgs, EnableArgs};
use crate::display::{display_name, json_text, sanitize};
use crate::name::Namespace;

pub use enable::Direction;

/// The options of enable and disable, free of clap.
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

impl SwitchOptions {
    pub fn from_enable(a: &EnableArgs) -> SwitchOptions {
        SwitchOptions {
            names: a.names.clone(),
            quiet: a.quiet,
            force: a.force,
            dry_run: a.dry_run,
            maintmode: a.maintmode,
            purge: false,
            now: a.now,
            json: a.json,
        }
    }

    pub fn from_disable(a: &DisableArgs) -> SwitchOptions {
        SwitchOptions {
            names: a.names.clone(),
            quiet: a.quiet,
            force: false,
            dry_run: a.dry_run,
            maintmode: a.maintmode,
            purge: a.purge,
            now: a.now,
            json: a.json,
        }
    }
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

/// The app as one word of a shell command line (for the "you need to run"
/// hint): quoted for `sh` whenever it holds anything but plain characters,
/// so that copying the hint runs exactly what it says.
pub fn shell_word(ns: &Namespace, name: &OsStr) -> String {
    let mut whole = OsString::new();
    if !ns.is_default() {
        whole.push(ns.as_os_str());
        whole.push("/");
    }
    whole.push(name);
    let clean = sanitize(&whole);
    let plain = !clean.is_empty()
        && clean
            .chars()
            .all(|c| c.is_alphanumeric() || "_-.,/:@%+=".contains(c));
    if plain {
        clean.into_owned()
    } else {
        format!("'{}'", clean.replace('\'', "'\\''"))
    }
}

/// A name or path as a JSON string (`display::json_text`: bytes that are not
/// UTF-8 go out lossy, since JSON has no way to carry them).
pub fn json_str(s: &OsStr) -> Value {
    Value::String(json_text(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_words_are_safe_for_the_shell() {
        let app = Namespace::app();
        assert_eq!(shell_word(&app, OsStr::new("hello")), "hello");
        assert_eq!(shell_word(&app, OsStr::new("my app")), "'my app'");
        assert_eq!(shell_word(&app, OsStr::new("it's")), "'it'\\''s'");
        assert_eq!(shell_word(&app, OsStr::new("$(rm)")), "'$(rm)'");
        assert_eq!(shell_word(&app, OsStr::new("süß")), "süß");
        let v = Namespace::new("vassal").unwrap();
        assert_eq!(shell_word(&v, OsStr::new("x")), "vassal/x");
        assert_eq!(app_label(&v, OsStr::new("x")), "vassal/x");
        assert_eq!(app_label(&app, OsStr::new("a b")), "'a b'");
    }
}
