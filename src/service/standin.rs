//! TEMPORARY STAND-IN — delete when the `config` branch lands in main.
//!
//! It mirrors exactly the planned API of `settings::Settings::load` and
//! `config::run_as`, so that the engine compiles and runs before those
//! modules exist. It is deliberately tiny: it is not an INI reader (only
//! `uid`/`gid` lines of ini files are looked at) and it must not be used
//! by anything but `service::deps`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Result;
use crate::layout::Layout;
use crate::name::Format;

#[derive(Debug, Clone)]
pub struct Settings {
    pub verbose: bool,
    pub print_confnames: bool,
    pub inherited_config: Option<PathBuf>,
    pub start_timeout: Option<Duration>,
    pub check_config_permissions: bool,
}

impl Settings {
    pub fn load(layout: &Layout) -> (Settings, Vec<String>) {
        let mut s = Settings {
            verbose: true,
            print_confnames: false,
            inherited_config: Some(layout.default_inherited_config()),
            start_timeout: None,
            check_config_permissions: true,
        };
        let text = std::fs::read_to_string(layout.settings_file()).unwrap_or_default();
        for line in text.lines() {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"').trim_matches('\'');
            match k.trim() {
                "VERBOSE" => s.verbose = v != "no",
                "PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT" => s.print_confnames = v == "yes",
                "INHERITED_CONFIG" => {
                    s.inherited_config = (!v.is_empty()).then(|| layout.under_root(v))
                }
                "START_TIMEOUT" => s.start_timeout = v.parse().ok().map(Duration::from_secs),
                "CHECK_CONFIG_PERMISSIONS" => s.check_config_permissions = v != "no",
                _ => {}
            }
        }
        (s, Vec::new())
    }
}

#[derive(Debug, Clone)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
    pub user: Option<String>,
    pub warnings: Vec<String>,
}

fn first(path: &Path, format: Format, key: &str) -> Option<String> {
    if format != Format::Ini {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

pub fn run_as(app: &Path, app_format: Format, inherited: Option<&Path>) -> Result<RunAs> {
    let pick = |key: &str| {
        first(app, app_format, key).or_else(|| {
            inherited.and_then(|p| first(p, Format::of_path(p).unwrap_or(Format::Ini), key))
        })
    };
    let uid = match pick("uid") {
        None => 0,
        Some(v) => v
            .parse()
            .ok()
            .or_else(|| {
                nix::unistd::User::from_name(&v)
                    .ok()
                    .flatten()
                    .map(|u| u.uid.as_raw())
            })
            .unwrap_or(0),
    };
    let gid = match pick("gid") {
        None => 0,
        Some(v) => v
            .parse()
            .ok()
            .or_else(|| {
                nix::unistd::Group::from_name(&v)
                    .ok()
                    .flatten()
                    .map(|g| g.gid.as_raw())
            })
            .unwrap_or(0),
    };
    Ok(RunAs {
        uid,
        gid,
        user: None,
        warnings: Vec::new(),
    })
}
