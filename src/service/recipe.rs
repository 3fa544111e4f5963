//! The launch recipe: how one instance is made ready to run and what
//! uWSGI is run with (SPEC §4 steps 1-4), defined once for every engine.
//! The daemon engine runs it detached; `uwsgi-apps exec` runs it in the
//! foreground for the engines that supervise uWSGI themselves (a systemd
//! unit, an Emperor's vassal).
//!
//! 1. Refusals: a config (or anything it pulls in) that someone other
//!    than root can change, a missing inherited config, a config that has
//!    uWSGI make files in the (root-owned) run dir after it dropped
//!    privileges.
//! 2. The user: the last `uid`/`gid` of the app's config, else of the
//!    inherited config, as uWSGI reads them.
//! 3. The runtime dirs (root's) and the log dir.
//! 4. The command line — `DAEMON --<opt> INHERITED --<opt> CONFFILE
//!    --logto LOG --pidfile PID` — and the environment: the locale, a fixed
//!    PATH and `UWSGI_DEB_CONFNAMESPACE`/`UWSGI_DEB_CONFNAME`, nothing
//!    else of the caller's, since uWSGI reads every `UWSGI_*` variable as
//!    an option.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use crate::config::after_drop::{self, Effect};
use crate::config::{run_as_instance, RunAs};
use crate::discovery::EnabledConfig;
use crate::display::display_path;
use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::name::{Confspec, Format};
use crate::process::pidfile;
use crate::settings::Settings;

use super::rundir;

/// The recipe's inputs: where everything is, and what the settings say.
#[derive(Debug, Clone, Copy)]
pub struct Recipe<'a> {
    pub layout: &'a Layout,
    pub settings: &'a Settings,
    /// SPEC §4 "Safety of configs" (`CHECK_CONFIG_PERMISSIONS`).
    pub check_permissions: bool,
}

/// Why an instance must not run; distinct from an error on the way, since
/// a supervisor must not retry it (`exec` exits with its own status).
#[derive(Debug)]
pub enum Refusal {
    /// The config is not safe to run as root, or the setup is incomplete.
    Refused(String),
    /// Something failed on the way (a directory that cannot be made).
    Failed(Error),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Refused(why) => f.write_str(why),
            Refusal::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Refusal {
        Refusal::Failed(e)
    }
}

/// An instance ready to run.
#[derive(Debug)]
pub struct Prepared {
    pub run_as: RunAs,
    /// The arguments after the program.
    pub args: Vec<OsString>,
}

impl<'a> Recipe<'a> {
    pub fn new(layout: &'a Layout, settings: &'a Settings, check_permissions: bool) -> Self {
        Recipe {
            layout,
            settings,
            check_permissions,
        }
    }

    /// The uid/gid the instance runs as, with `%(deb-confname)` and
    /// `%(deb-confnamespace)` resolved as uWSGI will resolve them.
    pub fn run_as(&self, config: &EnabledConfig) -> Result<RunAs> {
        let inherited = self
            .settings
            .inherited_config
            .as_deref()
            .filter(|p| p.exists());
        run_as_instance(&config.path, config.format, inherited, &config.spec)
    }

    /// Step 1 and 2: the refusals, then the user.
    pub fn check(&self, config: &EnabledConfig) -> std::result::Result<RunAs, Refusal> {
        if self.check_permissions {
            if let Err(why) = crate::safety::refuse_unsafe(
                self.layout,
                config,
                self.settings.inherited_config.as_deref(),
            ) {
                return Err(Refusal::Refused(why.to_string()));
            }
        }
        if let Some(inherited) = self.settings.inherited_config.as_deref() {
            // uWSGI would only log "realpath() … failed" and run without
            // it, which drops its uid/gid: the app would run as root.
            if let Err(e) = fs::metadata(inherited) {
                return Err(Refusal::Refused(format!(
                    "cannot use the inherited config {}: {e}; install it, or set \
                     INHERITED_CONFIG= (empty) in {} to run apps without one",
                    display_path(inherited),
                    display_path(&self.layout.settings_file())
                )));
            }
        }
        let mut run_as = self.run_as(config)?;
        // The run dir is root's: what uWSGI makes there after dropping
        // privileges cannot be made, and uWSGI then exits (a socket with
        // no `chown-socket`, a stats socket, a master FIFO…) or runs
        // without it (a `file:` logger).
        let run_dir = self.layout.run_dir(&config.spec);
        let inherited = self
            .settings
            .inherited_config
            .as_deref()
            .filter(|p| p.exists());
        for problem in after_drop::instance_after_drop(
            &config.path,
            config.format,
            inherited,
            &config.spec,
            &run_dir,
        ) {
            match problem.effect {
                Effect::Fails => return Err(Refusal::Refused(problem.message(&run_dir))),
                Effect::Degrades => run_as.warnings.push(problem.message(&run_dir)),
            }
        }
        Ok(run_as)
    }

    /// Step 3: the runtime dirs and the log dir; whether the instance's
    /// runtime dir was made now.
    pub fn make_dirs(&self, spec: &Confspec) -> Result<bool> {
        let created = rundir::make_run_dirs(self.layout, spec)?;
        rundir::make_dirs_root(&self.layout.log_dir(&spec.namespace))?;
        Ok(created)
    }

    /// Remove a pidfile that names no running master (the caller has
    /// checked): uWSGI would rewrite it, but then a pidfile seen later is
    /// surely the new master's.
    pub fn remove_stale_pidfile(&self, spec: &Confspec) -> Result<()> {
        let path = self.layout.pidfile(spec);
        if pidfile::read(&path)?.exists() {
            fs::remove_file(&path).at("remove stale pidfile", &path)?;
        }
        Ok(())
    }

    /// Step 4: `--<opt> INHERITED --<opt> CONFFILE --logto LOG --pidfile
    /// PID`, where CONFFILE is the path in `NSs-enabled` (as Debian's script
    /// gives it), and the pidfile comes last so that it is where the front
    /// end looks, whatever the configs say.
    pub fn command_line(&self, config: &EnabledConfig) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        if let Some(inherited) = &self.settings.inherited_config {
            let format = Format::of_path(inherited).unwrap_or(Format::Ini);
            args.push(format.uwsgi_option().into());
            args.push(inherited.as_os_str().to_owned());
        }
        args.push(config.format.uwsgi_option().into());
        args.push(config.path.as_os_str().to_owned());
        args.push("--logto".into());
        args.push(self.layout.log_file(&config.spec).into_os_string());
        args.push("--pidfile".into());
        args.push(self.layout.pidfile(&config.spec).into_os_string());
        args
    }

    /// Step 4: the environment: a fixed PATH (what `service` gives an init
    /// script), the caller's locale, the instance's names, then `extra`
    /// (the readiness socket, a supervisor's variables).
    pub fn environment(
        &self,
        spec: &Confspec,
        extra: &[(OsString, OsString)],
    ) -> Vec<(OsString, OsString)> {
        let mut env = self.environment_base();
        env.push((
            "UWSGI_DEB_CONFNAMESPACE".into(),
            spec.namespace.as_os_str().to_owned(),
        ));
        env.push(("UWSGI_DEB_CONFNAME".into(), spec.name.clone()));
        env.extend(extra.iter().cloned());
        env
    }

    /// The environment of any uWSGI this program runs (an instance, an
    /// Emperor): a fixed PATH and the caller's locale.
    pub fn environment_base(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> =
            vec![("PATH".into(), "/sbin:/usr/sbin:/bin:/usr/bin".into())];
        for (k, v) in std::env::vars_os() {
            let keep = k.to_str().is_some_and(|k| {
                k == "LANG" || k == "LANGUAGE" || k == "TZ" || k.starts_with("LC_")
            });
            if keep {
                env.push((k, v));
            }
        }
        env
    }

    /// Step 3's rule for the runtime dirs that exist already, making
    /// nothing: a refusal (someone else's dir, or one others can write)
    /// is said with its reason, and a supervisor does not retry it.
    pub fn check_run_dirs(&self, spec: &Confspec) -> std::result::Result<(), Refusal> {
        rundir::check_existing_run_dirs(self.layout, spec)
            .map_err(|e| Refusal::Refused(e.to_string()))
    }

    /// Steps 1-4 for an instance that does not run: checks, user, dirs,
    /// stale pidfile gone, command line.
    pub fn prepare(&self, config: &EnabledConfig) -> std::result::Result<Prepared, Refusal> {
        let run_as = self.check(config)?;
        self.check_run_dirs(&config.spec)?;
        self.make_dirs(&config.spec)?;
        self.remove_stale_pidfile(&config.spec)?;
        Ok(Prepared {
            run_as,
            args: self.command_line(config),
        })
    }

    /// The uWSGI program.
    pub fn program(&self) -> &Path {
        self.layout.daemon()
    }

    /// The instance's log file.
    pub fn log(&self, spec: &Confspec) -> PathBuf {
        self.layout.log_file(spec)
    }
}

/// A refusal as the one-line error the caller prints.
impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        match r {
            Refusal::Refused(why) => Error::Failed(why),
            Refusal::Failed(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Namespace;

    fn layout_with_app(tmp: &Path) -> (Layout, EnabledConfig) {
        let layout = Layout::new(tmp, "/usr/bin/uwsgi");
        let enabled = tmp.join("etc/uwsgi/apps-enabled");
        fs::create_dir_all(&enabled).unwrap();
        fs::write(enabled.join("hello.ini"), "[uwsgi]\nuid = nobody\n").unwrap();
        let config = EnabledConfig {
            spec: Confspec::new(Namespace::app(), "hello").unwrap(),
            path: enabled.join("hello.ini"),
            format: Format::Ini,
            depth: 1,
        };
        (layout, config)
    }

    #[test]
    fn the_command_line_is_debians_with_logto_and_our_pidfile_last() {
        let tmp = tempfile::tempdir().unwrap();
        let (layout, config) = layout_with_app(tmp.path());
        let settings = Settings::defaults(&layout);
        let recipe = Recipe::new(&layout, &settings, true);
        let args = recipe.command_line(&config);
        let r = tmp.path().display();
        let expected: Vec<OsString> = [
            "--ini".to_owned(),
            format!("{r}/usr/share/uwsgi/conf/default.ini"),
            "--ini".into(),
            format!("{r}/etc/uwsgi/apps-enabled/hello.ini"),
            "--logto".into(),
            format!("{r}/var/log/uwsgi/app/hello.log"),
            "--pidfile".into(),
            format!("{r}/run/uwsgi/app/hello/pid"),
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        assert_eq!(args, expected);
        let env = recipe.environment(&config.spec, &[("X".into(), "1".into())]);
        let keys: Vec<_> = env
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(keys[0], "PATH");
        assert!(keys.ends_with(&[
            "UWSGI_DEB_CONFNAMESPACE".into(),
            "UWSGI_DEB_CONFNAME".into(),
            "X".into()
        ]));
    }

    #[test]
    fn a_missing_inherited_config_is_a_refusal() {
        let tmp = tempfile::tempdir().unwrap();
        let (layout, config) = layout_with_app(tmp.path());
        let settings = Settings::defaults(&layout);
        let recipe = Recipe::new(&layout, &settings, false);
        let err = recipe.prepare(&config).unwrap_err();
        assert!(matches!(err, Refusal::Refused(_)), "{err}");
        assert!(err.to_string().contains("inherited config"), "{err}");
        assert!(!layout.run_dir(&config.spec).exists(), "nothing made");
    }
}
