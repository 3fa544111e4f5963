//! Config checks: the settings file, the inherited config, and every
//! enabled config, read with the same readers the front end uses.
//!
//! A config that cannot be read or parsed is an error (its instance cannot
//! start, or starts with other options than its author meant), and so is
//! one from which uWSGI reads no option at all (a `[uwsgi` header without
//! its `]`: uWSGI starts with the inherited config alone and loads no
//! app), and a plugin uWSGI cannot find (it goes on without it, and the
//! options the plugin would have read are ignored: again no app). What the
//! readers noticed but uWSGI accepts is an info, with the line. The user
//! an instance will run as is remembered for the runtime checks.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Finding, NamespaceFacts, Severity};
use crate::config;
use crate::config::tree;
use crate::display::{display_name, display_path};
use crate::layout::Layout;
use crate::name::Format;
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
                // the apps' own configs, for it and what it pulls in.
                // Without an instance, only its own magic variables are
                // known (`$(UWSGI_DEB_CONFNAME)` is not).
                let tree = tree::load(
                    &[(inherited.as_path(), Format::of_path(inherited))],
                    &tree::Environment::default(),
                );
                super::permissions::report_tree(
                    layout,
                    settings,
                    &tree,
                    0,
                    inherited,
                    None,
                    "every instance loads the inherited config as root",
                    findings,
                );
            }
        }
    }
    inherited_options
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
            format!(
                "has no config extension ({}); it is read as ini",
                Format::extension_list()
            ),
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
            let section = if format == Format::Ini {
                "a line \"[uwsgi]\""
            } else {
                "a top-level \"uwsgi:\" key"
            };
            match (opts.section_missing, opts.options.is_empty(), app) {
                (true, _, Some(_)) => findings.push(Finding::path(
                    Severity::Error,
                    "no-options",
                    path,
                    app.cloned(),
                    format!(
                        "uWSGI reads no option from this file: it has no section uWSGI reads \
                         ({section}), so the instance runs without its own options and loads \
                         no app"
                    ),
                    "fix the section header (the notes below say which line uWSGI misreads)",
                )),
                // The inherited config gives every instance its uid, gid
                // and socket: without them, apps run as root.
                (true, _, None) => findings.push(Finding::path(
                    Severity::Error,
                    "no-options",
                    path,
                    None,
                    format!(
                        "uWSGI reads no option from the inherited config: it has no section \
                         uWSGI reads ({section}), so no instance gets its options (uid, gid, \
                         socket…)"
                    ),
                    "fix the section header (the notes below say which line uWSGI misreads)",
                )),
                (false, true, Some(_)) => findings.push(Finding::path(
                    Severity::Warning,
                    "no-options",
                    path,
                    app.cloned(),
                    "the file sets no option: the instance runs with the inherited config \
                     alone and loads no app",
                    "add the app's options, or disable it",
                )),
                _ => {}
            }
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
        match config::run_as_instance(&instance.path, instance.format, inherited, &instance.spec) {
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

/// Where the uWSGI program looks for plugins last: the directory it was
/// built with (Debian's is /usr/lib/uwsgi/plugins). Asked once, from the
/// program itself (`uwsgi --cflags` prints its build flags and exits),
/// and only when a plugin was not found anywhere else.
pub struct PluginDir {
    daemon: PathBuf,
    dir: Option<PathBuf>,
}

/// Debian's build; used when the program does not say.
const DEBIAN_PLUGIN_DIR: &str = "/usr/lib/uwsgi/plugins";

impl PluginDir {
    pub fn new(daemon: &Path) -> PluginDir {
        PluginDir {
            daemon: daemon.to_path_buf(),
            dir: None,
        }
    }

    pub fn get(&mut self) -> &Path {
        let daemon = &self.daemon;
        self.dir.get_or_insert_with(|| {
            built_in_plugin_dir(daemon).unwrap_or_else(|| PathBuf::from(DEBIAN_PLUGIN_DIR))
        })
    }
}

/// `-DUWSGI_PLUGIN_DIR="\"/usr/lib/uwsgi/plugins\""` in `DAEMON --cflags`.
fn built_in_plugin_dir(daemon: &Path) -> Option<PathBuf> {
    let mut child = Command::new(daemon)
        .arg("--cflags")
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut out = Vec::new();
        let _ = (&mut stdout).take(64 * 1024).read_to_end(&mut out);
        let _ = tx.send(out);
    });
    // It prints a line and exits at once; a program that does not is not
    // waited for.
    let out = rx.recv_timeout(Duration::from_secs(5));
    if out.is_err() {
        let _ = child.kill();
    }
    let _ = child.wait();
    parse_plugin_dir(&String::from_utf8_lossy(&out.ok()?))
}

fn parse_plugin_dir(cflags: &str) -> Option<PathBuf> {
    let flag = cflags
        .split_whitespace()
        .find_map(|w| w.strip_prefix("-DUWSGI_PLUGIN_DIR="))?;
    let dir = flag.trim_matches(|c| c == '"' || c == '\\');
    (dir.starts_with('/')).then(|| PathBuf::from(dir))
}

/// Every plugin an enabled instance asks for (in its config, the inherited
/// config, or what they include) that uWSGI will not find: neither at the
/// path given, nor in a `plugins-dir`, nor in the directory uWSGI was
/// built with. uWSGI logs "UNABLE to load uWSGI plugin" and goes on (exits,
/// for `need-plugin`); the options the plugin would have read are ignored,
/// so an app that needs it loads nothing.
pub fn check_plugins(facts: &NamespaceFacts, dir: &mut PluginDir, findings: &mut Vec<Finding>) {
    for instance in &facts.discovery.instances {
        let Some(tree) = facts.trees.get(&instance.spec.name) else {
            continue;
        };
        let name = display_name(&instance.spec.name);
        let mut reported: Vec<&str> = Vec::new();
        for p in &tree.plugins {
            if p.found.is_some() || reported.contains(&p.file_name.as_str()) {
                continue;
            }
            let looked = if p.is_path {
                display_path(Path::new(&p.file_name))
            } else {
                let built_in = dir.get().join(&p.file_name);
                if built_in.exists() {
                    continue;
                }
                display_path(&built_in)
            };
            reported.push(&p.file_name);
            let effect = if p.required {
                "uWSGI exits at start"
            } else {
                "uWSGI goes on without it, ignores the options it would have read, and the \
                 app loads nothing (\"no app loaded\")"
            };
            findings.push(Finding::path(
                Severity::Error,
                "unknown-plugin",
                &p.by.file,
                Some(instance.spec.clone()),
                format!(
                    "app {name} asks for plugin \"{}\" ({}), but there is no {looked}: {effect}",
                    p.name,
                    p.by.describe()
                ),
                "fix the plugin's name, or install the package that ships it \
                 (`apt-cache search uwsgi-plugin`)",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_dir_from_the_build_flags() {
        let cflags =
            r#"-O2 -I. -Wall -DUWSGI_PLUGIN_DIR="\"/usr/lib/uwsgi/plugins\"" -DUWSGI_PCRE"#;
        assert_eq!(
            parse_plugin_dir(cflags),
            Some(PathBuf::from("/usr/lib/uwsgi/plugins"))
        );
        assert_eq!(parse_plugin_dir("-O2"), None);
        assert_eq!(parse_plugin_dir("-DUWSGI_PLUGIN_DIR=\".\""), None);
    }

    #[test]
    fn the_real_uwsgi_says_where_its_plugins_are() {
        let daemon = Path::new("/usr/bin/uwsgi");
        if !daemon.exists() {
            return;
        }
        assert_eq!(
            built_in_plugin_dir(daemon),
            Some(PathBuf::from(DEBIAN_PLUGIN_DIR))
        );
        // Not a uWSGI: the caller falls back to Debian's directory.
        assert_eq!(built_in_plugin_dir(Path::new("/bin/true")), None);
        assert_eq!(built_in_plugin_dir(Path::new("/nonexistent")), None);
    }
}
