//! `uwsgi-apps exec CONFSPEC` (`--unit INSTANCE` from a systemd unit): the
//! launch recipe in the foreground, then uWSGI in place of this program,
//! so that the supervisor's main process is uWSGI's master and gets its
//! `READY=1` (SPEC §7). It takes no lock: the supervisor runs one unit at
//! a time, and a `start` of this program may hold the instance's lock
//! while it waits for the unit.
//!
//! Exit statuses when nothing runs: 6 when the confname is not enabled,
//! 78 when a safety rule refuses the config or the instance already runs
//! outside (two masters would fight for its socket) — statuses a unit does
//! not restart on — and 1 for anything else.
//!
//! Also here: the Emperor's wrapper (`vassal`), which runs the same
//! recipe for a vassal, and `unit-stopped`, the unit's `ExecStopPost`.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::discovery::EnabledConfig;
use crate::display::display_path;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::name::Confspec;
use crate::service::engine::emperor;
use crate::service::engine::systemd::{self, exit};
use crate::service::engine::{Context, Instance};
use crate::service::plan;
use crate::service::recipe::Refusal;

/// Which instance the command line names.
fn spec_of(confspec: Option<&OsStr>, unit: Option<&str>) -> Result<Confspec> {
    match (unit, confspec) {
        (Some(unit), _) => systemd::parse_instance(unit),
        (None, Some(text)) => Confspec::parse(text),
        (None, None) => Err(Error::Usage(
            "exec needs a CONFSPEC or --unit INSTANCE".into(),
        )),
    }
}

/// Prepare the instance and become its uWSGI; returns only when it could
/// not (the exit status).
pub fn run(layout: &Layout, confspec: Option<&OsStr>, unit: Option<&str>) -> Result<i32> {
    let spec = spec_of(confspec, unit)?;
    let settings = super::load_settings(layout);
    let context = Context::from_settings(layout, &settings);
    let targets = plan::plan_specs(layout, std::slice::from_ref(&spec))?;
    let Some(config) = targets.into_iter().next().and_then(|t| t.config) else {
        super::error(format_args!(
            "{spec} is not enabled: no config for it in {}; enable it with uwsgi-enapp",
            display_path(&layout.enabled_dir(&spec.namespace))
        ));
        return Ok(exit::NOT_ENABLED);
    };
    let instance = Instance {
        spec: &spec,
        config: Some(&config),
    };
    if let Ok((Some(master), _)) = context.probe(instance) {
        super::error(format_args!(
            "{spec} already runs (master pid {}), started by something else; stop it \
             first (`uwsgi-apps stop {}` with the engine that started it), since two \
             masters would fight for its socket",
            master.pid(),
            crate::display::display_name(spec.to_arg().as_os_str())
        ));
        return Ok(exit::REFUSED);
    }
    // A supervisor's readiness socket (systemd's, for Type=notify) is the
    // one caller variable uWSGI must see.
    let extra: Vec<(OsString, OsString)> = std::env::var_os("NOTIFY_SOCKET")
        .map(|n| ("NOTIFY_SOCKET".into(), n))
        .into_iter()
        .collect();
    match become_uwsgi(&context, &spec, &config, || extra) {
        Refusal::Refused(why) => {
            super::error(format_args!("{spec}: {why}"));
            Ok(exit::REFUSED)
        }
        Refusal::Failed(e) => Err(e),
    }
}

/// The recipe's last steps, shared by `exec` and the Emperor's wrapper:
/// prepare the instance, say its warnings, then run uWSGI in place of
/// this program with the recipe's environment and the caller variables
/// `extra()` gives once the instance is prepared. Returns only when
/// nothing could be run, with why, for the caller to say.
fn become_uwsgi(
    context: &Context<'_>,
    spec: &Confspec,
    config: &EnabledConfig,
    extra: impl FnOnce() -> Vec<(OsString, OsString)>,
) -> Refusal {
    let recipe = context.recipe();
    let prepared = match recipe.prepare(config) {
        Ok(p) => p,
        Err(refusal) => return refusal,
    };
    for w in &prepared.run_as.warnings {
        super::warning(format_args!("{spec}: {w}"));
    }
    let env = recipe.environment(spec, &extra());
    let program = recipe.program();
    let err = Command::new(program)
        .args(&prepared.args)
        .env_clear()
        .envs(env)
        .current_dir("/")
        .exec();
    Refusal::Failed(Error::os(format!("run {}", display_path(program)), err))
}

/// What the Emperor's vassals exit with when they must not run: the
/// Emperor then forgets the vassal instead of respawning it (uWSGI's
/// UWSGI_EXILE_CODE).
pub const VASSAL_EXILE: i32 = 26;

/// The Emperor's wrapper (`uwsgi-apps-vassal --ini NAME.ini`, see
/// `service::engine::emperor`): the recipe for the instance the link's
/// name stands for, then uWSGI in its place, with the Emperor's channel
/// (`UWSGI_EMPEROR_FD` and the descriptor it names, which stays open) and
/// the readiness socket `start` listens on. It says its pid there first,
/// so that `start` sees the vassal die at once, and, when it runs
/// nothing, why (on its stderr, the Emperor's log, too).
pub fn vassal(layout: &Layout, args: &[OsString]) -> Result<i32> {
    let Some(name) = emperor::vassal_arg(args) else {
        super::error("not started as the Emperor's wrapper: no vassal file name in its arguments");
        return Ok(VASSAL_EXILE);
    };
    let spec = match emperor::spec_of_link(name) {
        Ok(s) => s,
        Err(e) => {
            super::error(e);
            return Ok(VASSAL_EXILE);
        }
    };
    // Said first, so that a wait for this vassal watches this process
    // from now on and sees at once any end before it becomes uWSGI (the
    // pid stays the same through the exec).
    let notify = layout.notify_socket(&spec);
    say(&notify, &emperor::main_pid_message(std::process::id()));
    // Whatever keeps it from running, the Emperor must not respawn it
    // again and again: every failure is an exile.
    let why = vassal_of(layout, &spec, &notify);
    super::error(format_args!("{spec}: {why}"));
    say(&notify, &emperor::exiled_message(&why.to_string()));
    Ok(VASSAL_EXILE)
}

/// One message to the readiness socket `start` listens on: nobody may
/// listen any more (a respawn after the start gave up), so it may go
/// nowhere.
fn say(notify: &Path, message: &str) {
    if let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = socket.send_to(message.as_bytes(), notify);
    }
}

/// The vassal's recipe, then uWSGI in place of this program; returns only
/// when nothing could be run, with why.
fn vassal_of(layout: &Layout, spec: &Confspec, notify: &Path) -> Refusal {
    // The Emperor respawns a vassal that dies before it has seen its link
    // go (a stop, a start that failed and killed it): that one is no
    // vassal any more and runs nothing.
    match emperor::vassal_link(layout, spec) {
        Ok(link) if link.symlink_metadata().is_ok() => {}
        Ok(_) => return Refusal::Refused("its vassal link is gone (it was stopped)".into()),
        Err(e) => return Refusal::Failed(e),
    }
    let settings = super::load_settings(layout);
    let context = Context::from_settings(layout, &settings);
    let targets = match plan::plan_specs(layout, std::slice::from_ref(spec)) {
        Ok(t) => t,
        Err(e) => return Refusal::Failed(e),
    };
    let Some(config) = targets.into_iter().next().and_then(|t| t.config) else {
        return Refusal::Refused(format!(
            "not enabled (no config for it in {}); the Emperor's link to it is stale",
            display_path(&layout.enabled_dir(&spec.namespace))
        ));
    };
    become_uwsgi(&context, spec, &config, || {
        let mut extra: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(k, _)| {
                k.to_str().is_some_and(|k| {
                    matches!(
                        k,
                        "UWSGI_EMPEROR_FD" | "UWSGI_EMPEROR_FD_CONFIG" | "UWSGI_BROODLORD_NUM"
                    )
                })
            })
            .collect();
        extra.push(("NOTIFY_SOCKET".into(), notify.into()));
        extra
    })
}

/// The unit's `ExecStopPost`: its master has exited (or never ran), so
/// its runtime dir goes, unless a master of the instance runs after all.
/// systemd runs it within the unit's stop (or failed start), before any
/// next start of the unit. It takes no instance lock: `uwsgi-apps stop`
/// holds it while systemd runs this. A dir that stays is a warning (in
/// the journal), never a failure: the app has stopped all the same.
pub fn unit_stopped(layout: &Layout, unit: &str) -> Result<i32> {
    let spec = systemd::parse_instance(unit)?;
    let settings = super::load_settings(layout);
    let context = Context::from_settings(layout, &settings);
    let instance = Instance {
        spec: &spec,
        config: None,
    };
    if let Err(e) = context.remove_idle_run_dir(instance) {
        super::warning(format_args!("{spec}: its runtime directory stays: {e}"));
    }
    Ok(0)
}
