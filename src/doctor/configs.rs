//! Config checks: the settings file, the inherited config, and every
//! enabled config, read with the same readers the front end uses.
//!
//! A config that cannot be read or parsed is an error (its instance cannot
//! start, or starts with other options than its author meant); what the
//! readers noticed but uWSGI accepts is an info, with the line. The user an
//! instance will run as is remembered for the runtime checks.

use std::path::Path;

use super::{Finding, NamespaceFacts, Severity};
use crate::config;
use crate::layout::Layout;
use crate::name::{display_name, display_path, Format};
use crate::settings::Settings;

/// At most this many reader notes per file: one broken file must not drown
/// the rest of the report.
const MAX_NOTES_PER_FILE: usize = 10;

/// The settings file, and the inherited config every instance loads first.
/// Returns the inherited config's options when it can be read.
pub fn check_settings(
    layout: &Layout,
    settings_warnings: &[String],
    settings: &Settings,
    findings: &mut Vec<Finding>,
) -> Option<config::ConfigOptions> {
    let mut inherited_options = None;
    for w in settings_warnings {
        findings.push(Finding::path(
            Severity::Warning,
            "settings",
            layout.settings_file(),
            None,
            w.clone(),
            "fix the line: the settings file is read as KEY=VALUE lines, never run",
        ));
    }
    if let Some(inherited) = &settings.inherited_config {
        match inherited.symlink_metadata() {
            // Every start passes it to uWSGI (as Debian's script does) and
            // refuses to go on without it: running the apps without their
            // inherited uid/gid would run them as root.
            Err(_) => findings.push(Finding::path(
                Severity::Error,
                "inherited-config-missing",
                inherited,
                None,
                "the inherited config does not exist: no instance can start",
                "install uwsgi-apps' default.ini, or set INHERITED_CONFIG= (empty) in the \
                 settings file to say that none is wanted",
            )),
            Ok(_) => {
                inherited_options = check_file(inherited, None, findings);
                // It runs as root in every instance: the same rule as for
                // the apps' own configs.
                match crate::safety::check_config(layout, inherited) {
                    Ok(unsafe_paths) => {
                        for u in unsafe_paths {
                            findings.push(Finding::path(
                                permission_severity(settings),
                                "unsafe-permissions",
                                &u.path,
                                None,
                                format!(
                                    "every instance loads the inherited config as root, but {}",
                                    u.describe()
                                ),
                                format!(
                                    "make it writable by root only: `chown root:root {0} && chmod go-w {0}`",
                                    display_path(&u.path)
                                ),
                            ));
                        }
                    }
                    Err(e) => findings.push(Finding::path(
                        Severity::Error,
                        "uninspectable-config",
                        inherited,
                        None,
                        format!("the safety of the inherited config cannot be checked: {e}"),
                        "fix the permissions so that root can inspect every path on the way",
                    )),
                }
            }
        }
    }
    inherited_options
}

/// `CHECK_CONFIG_PERMISSIONS=no` makes `start` run unsafe configs anyway:
/// still worth a warning, no longer an error that blocks a start.
pub fn permission_severity(settings: &Settings) -> Severity {
    if settings.check_config_permissions {
        Severity::Error
    } else {
        Severity::Warning
    }
}

/// Read one config with its format's reader; report what fails and what
/// the reader noticed.
fn check_file(
    path: &Path,
    app: Option<&crate::name::Confspec>,
    findings: &mut Vec<Finding>,
) -> Option<config::ConfigOptions> {
    let Some(format) = Format::of_path(path) else {
        findings.push(Finding::path(
            Severity::Warning,
            "unknown-format",
            path,
            app.cloned(),
            "has no config extension (db ini js json sqlite sqlite3 xml yaml yml); it is read as ini",
            "rename it with the extension of its format",
        ));
        return None;
    };
    match config::read_options(path, format) {
        Err(e) => {
            findings.push(Finding::path(
                Severity::Error,
                "unreadable-config",
                path,
                app.cloned(),
                format!("cannot be read as {}: {e}", format.family()),
                "fix the file (uWSGI cannot load it either)",
            ));
            None
        }
        Ok(opts) => {
            let total = opts.diagnostics.len();
            for d in opts.diagnostics.iter().take(MAX_NOTES_PER_FILE) {
                findings.push(Finding::path(
                    Severity::Info,
                    "config-note",
                    path,
                    app.cloned(),
                    d.to_string(),
                    "uWSGI accepts the file, but probably not as meant: check that line",
                ));
            }
            if total > MAX_NOTES_PER_FILE {
                findings.push(Finding::path(
                    Severity::Info,
                    "config-note",
                    path,
                    app.cloned(),
                    format!("and {} more notes like these", total - MAX_NOTES_PER_FILE),
                    "check the file's syntax",
                ));
            }
            Some(opts)
        }
    }
}

/// Every enabled config of the namespace: readable, parsable, and naming a
/// user and group that exist. Fills `facts.run_as`.
pub fn check(settings: &Settings, facts: &mut NamespaceFacts, findings: &mut Vec<Finding>) {
    let inherited = settings
        .inherited_config
        .as_deref()
        .filter(|p| p.symlink_metadata().is_ok());
    for instance in &facts.discovery.instances {
        let Some(opts) = check_file(&instance.path, Some(&instance.spec), findings) else {
            continue;
        };
        facts.options.insert(instance.spec.name.clone(), opts);
        match config::run_as(&instance.path, instance.format, inherited) {
            Ok(run_as) => {
                facts.run_as.insert(instance.spec.name.clone(), run_as);
            }
            Err(e) => findings.push(Finding::path(
                Severity::Error,
                "unknown-account",
                &instance.path,
                Some(instance.spec.clone()),
                format!(
                    "{e}: app {} cannot start",
                    display_name(&instance.spec.name)
                ),
                "create the user or group, or fix the uid/gid option",
            )),
        }
    }
}
