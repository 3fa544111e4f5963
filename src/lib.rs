//! uwsgi-apps: manage Debian's uWSGI apps-available/apps-enabled layout.
//!
//! The binary is a thin shell around `run`, which picks the applet from the
//! name the program was called by (`uwsgi-enapp`, `uwsgi-disapp`,
//! `uwsgi-query`, or `uwsgi-apps COMMAND`), parses the command line once,
//! and hands plain options to the modules that do the work:
//!
//! * `display`, `exit`, `stdio`, `error`: the bottom (showing names,
//!   exit statuses, printing that survives a closed pipe, the error type);
//! * `name`, `layout`: names, confspecs, formats, and every path;
//! * `config`, `settings`: reading app configs and /etc/default/uwsgi;
//! * `discovery`, `process`, `lock`, `safety`: the one walk of the apps,
//!   pidfiles/identity/signals/readiness, the locks, the permission rule;
//! * `service`: the planner over the engines, behind init.d and the
//!   modern commands; `doctor`: findings about the layout and what runs;
//! * `registry`: enabling, disabling, markers, query, list (as data);
//! * `output`: the faces (init, modern, registry, list, doctor, exec).
//!
//! docs/design.md says which module may use which (tests/layers.rs checks
//! it).

// First: its `outln!`/`out!` macros are used by the modules below.
#[macro_use]
pub(crate) mod stdio;

pub(crate) mod cli;
pub mod config;
pub mod discovery;
pub mod display;
pub mod error;
pub mod exit;
pub(crate) mod generate;
pub mod layout;
pub(crate) mod lock;
pub mod name;
pub mod output;
pub mod process;
pub(crate) mod registry;
pub(crate) mod service;
pub mod settings;

pub mod doctor;
pub(crate) mod safety;

use std::ffi::OsString;
use std::path::Path;

use clap::Parser;

use cli::{Applet, Command, DisappCli, EnappCli, QueryCli, UwsgiAppsCli};
use layout::Layout;

/// Run the program with these arguments (argv[0] included) and return the
/// exit status.
pub fn run(args: Vec<OsString>) -> i32 {
    let program = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(Applet::from_program_name)
        .unwrap_or(Applet::UwsgiApps);
    stdio::set_program_name(program.name());

    // The Emperor's wrapper for its vassals is this program under another
    // name, called as uWSGI would be (`--ini NAME.ini`), not as a command.
    let called_as = args.first().and_then(|a| Path::new(a).file_name());
    if called_as == Some(std::ffi::OsStr::new(service::engine::emperor::WRAPPER_NAME)) {
        let layout = Layout::new(
            std::env::var_os("UWSGI_APPS_ROOT").unwrap_or_else(|| "/".into()),
            std::env::var_os("UWSGI_APPS_DAEMON").unwrap_or_else(|| layout::DEFAULT_DAEMON.into()),
        );
        return match output::exec::vassal(&layout, &args[1..]) {
            Ok(code) => code,
            Err(e) => {
                output::error(&e);
                e.exit_status().code()
            }
        };
    }

    match dispatch(program, args) {
        Ok(code) => code,
        Err(e) => {
            output::error(&e);
            e.exit_status().code()
        }
    }
}

/// Parse errors go through clap, which prints usage and exits 2 (0 for
/// --help and --version, which is what users expect of them).
fn parse<P: Parser>(args: Vec<OsString>) -> P {
    P::parse_from(args)
}

fn dispatch(program: Applet, args: Vec<OsString>) -> error::Result<i32> {
    match program {
        Applet::Enapp => {
            let cli: EnappCli = parse(args);
            output::registry::switch(
                &cli.global.layout(),
                registry::Direction::Enable,
                &enable_options(&cli.args),
            )
        }
        Applet::Disapp => {
            let cli: DisappCli = parse(args);
            output::registry::switch(
                &cli.global.layout(),
                registry::Direction::Disable,
                &disable_options(&cli.args),
            )
        }
        Applet::Query => {
            let cli: QueryCli = parse(args);
            output::registry::query(&cli.root.layout(), cli.args.name.as_deref(), cli.args.quiet)
        }
        Applet::UwsgiApps => {
            let cli: UwsgiAppsCli = parse(args);
            let layout = cli.global.layout();
            if let Some(code) = service_command(&layout, &cli.command) {
                return code;
            }
            match cli.command {
                Command::Doctor(args) => output::doctor::run(&layout, &args.names, args.json),
                // Packaging and shell completion; not part of the product's
                // interface (hidden from help).
                Command::Generate(args) => generate::generate(&args),
                Command::CompleteNames(args) => generate::complete_names(&layout, &args),
                Command::Enable(a) => output::registry::switch(
                    &layout,
                    registry::Direction::Enable,
                    &enable_options(&a),
                ),
                Command::Disable(a) => output::registry::switch(
                    &layout,
                    registry::Direction::Disable,
                    &disable_options(&a),
                ),
                Command::Query(a) => output::registry::query(&layout, a.name.as_deref(), a.quiet),
                Command::List(a) => output::list::run(&layout, a.json),
                Command::Exec(a) => {
                    output::exec::run(&layout, a.confspec.as_deref(), a.unit.as_deref())
                }
                Command::UnitStopped(a) => output::exec::unit_stopped(&layout, &a.unit),
                Command::Group(a) => output::group::run(&layout, group_action(a.action)),
                // Answered by `service_command` above.
                Command::Start(_)
                | Command::Stop(_)
                | Command::Reload(_)
                | Command::ForceReload(_)
                | Command::Restart(_)
                | Command::Status(_)
                | Command::Initd(_) => Err(error::Error::Failed(
                    "internal error: a service command was not dispatched".into(),
                )),
            }
        }
    }
}

/// The service commands (start/stop/reload/force-reload/restart/status and
/// initd); `None` for the others.
fn service_command(layout: &Layout, command: &Command) -> Option<error::Result<i32>> {
    use service::plan::Choices;
    use service::Operation;
    let start = |o: &cli::StartOpts| Choices {
        jobs: o.jobs.map(usize::from),
        start_timeout: o.start_timeout,
        ..Choices::default()
    };
    let (op, targets, choices) = match command {
        Command::Initd(a) => return Some(output::initd::run(layout, &a.args)),
        Command::Start(a) => (Operation::Start, &a.targets, start(&a.start)),
        Command::Stop(a) => (
            Operation::Stop,
            &a.targets,
            Choices {
                stop_timeout: Some(a.stop.timeout),
                ..Choices::default()
            },
        ),
        Command::Restart(a) => (
            Operation::Restart,
            &a.targets,
            Choices {
                stop_timeout: Some(a.stop.timeout),
                ..start(&a.start)
            },
        ),
        Command::Reload(a) | Command::ForceReload(a) => (
            if matches!(command, Command::Reload(_)) {
                Operation::Reload
            } else {
                Operation::ForceReload
            },
            &a.targets,
            Choices {
                wait: a.reload.wait,
                start_timeout: a.reload.start_timeout,
                ..Choices::default()
            },
        ),
        Command::Status(a) => (Operation::Status, &a.targets, Choices::default()),
        _ => return None,
    };
    Some(output::service::run(
        layout,
        op,
        &targets.confspecs,
        &choices,
        targets.json,
    ))
}

// ------------------------------------------------ clap → plain options
//
// clap types stop in this file: what is below takes plain values.

fn enable_options(a: &cli::EnableArgs) -> registry::SwitchOptions {
    registry::SwitchOptions {
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

fn disable_options(a: &cli::DisableArgs) -> registry::SwitchOptions {
    registry::SwitchOptions {
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

fn group_action(a: cli::GroupAction) -> service::group::GroupAction {
    match a {
        cli::GroupAction::Start => service::group::GroupAction::Start,
        cli::GroupAction::Reload => service::group::GroupAction::Reload,
        cli::GroupAction::Stop => service::group::GroupAction::Stop,
    }
}
