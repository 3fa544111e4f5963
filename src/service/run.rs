//! The two faces of the engine: init mode (Debian's line, exit = number of
//! failures) and the modern commands (a line per instance, or JSON).

use std::ffi::OsString;
use std::time::Duration;

use crate::error::Result;
use crate::exit::{ExitStatus, LsbStatus};
use crate::layout::Layout;
use crate::name::display_path;
use crate::output::initd::{self, InitdCommand};
use crate::output::service::{self as modern, Operation};
use crate::{out, outln};

use super::deps::Settings;
use super::{plan, Engine, Options, Outcome, Report, Target};

/// Choices from the modern command line; `None` means "the default".
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub jobs: Option<usize>,
    pub start_timeout: Option<u64>,
    pub stop_timeout: Option<u64>,
    pub wait: bool,
    pub json: bool,
}

fn load_settings(layout: &Layout) -> Settings {
    let (settings, warnings) = Settings::load(layout);
    for w in warnings {
        crate::output::warning(w);
    }
    settings
}

fn options(settings: &Settings, choices: &Choices) -> Options {
    let mut o = Options::from_settings(settings);
    if let Some(j) = choices.jobs {
        o.jobs = j.max(1);
    }
    if let Some(t) = choices.start_timeout {
        o.start_timeout = Duration::from_secs(t);
    }
    if let Some(t) = choices.stop_timeout {
        o.stop_timeout = Duration::from_secs(t);
    }
    o.wait_reload = choices.wait;
    o.with_lock_wait()
}

fn print_failures(reports: &[Report]) {
    for r in reports {
        if let Some(text) = modern::failure_text(r) {
            crate::output::error(text);
        }
    }
}

fn failures(reports: &[Report]) -> usize {
    reports.iter().filter(|r| r.outcome.is_failure()).count()
}

fn all_stopped(reports: &[Report]) -> bool {
    reports.iter().all(|r| !r.outcome.is_failure())
}

/// `uwsgi-apps initd COMMAND [CONFSPEC…]`, the interface of
/// `/etc/init.d/uwsgi`.
pub fn initd(layout: &Layout, args: &[OsString]) -> Result<i32> {
    let command = args
        .first()
        .and_then(|a| a.to_str())
        .and_then(InitdCommand::parse);
    let Some(command) = command else {
        crate::output::write_stderr(format_args!("{}\n", initd::USAGE));
        return Ok(crate::exit::INITD_USAGE);
    };
    let confspecs = &args[1..];
    let settings = load_settings(layout);
    let engine = Engine::new(layout, &settings, options(&settings, &Choices::default()));
    let (targets, warnings) = plan(layout, confspecs)?;
    for w in warnings {
        crate::output::warning(w);
    }
    if command == InitdCommand::Status {
        return Ok(initd_status(&engine, confspecs.len(), &targets));
    }

    let verbose = settings.verbose;
    let names = settings.print_confnames;
    let omitted = confspecs.is_empty() && targets.is_empty();
    if verbose {
        out!("{}", initd::header(command));
    }
    let mut emit = |r: &Report| {
        if verbose {
            out!(" {}", initd::mark(r, names));
        }
    };
    let mut shown_arrow = false;
    let mut arrow = |verbose: bool| {
        if verbose && !omitted && !shown_arrow {
            out!(" ->");
            shown_arrow = true;
        }
    };

    let reports = match command {
        InitdCommand::Start => {
            arrow(verbose);
            engine.start(&targets, &mut emit)
        }
        InitdCommand::Stop => {
            arrow(verbose);
            engine.stop(&targets, &mut emit)
        }
        InitdCommand::Reload | InitdCommand::ForceReload => {
            arrow(verbose);
            engine.reload(&targets, command == InitdCommand::ForceReload, &mut emit)
        }
        InitdCommand::Restart => {
            // Debian's restart stops quietly, and starts only if every
            // stop succeeded.
            let stopped = engine.stop(&targets, &mut |_| {});
            if !all_stopped(&stopped) {
                if verbose {
                    outln!("{}", initd::end(1));
                }
                print_failures(&stopped);
                return Ok(initd::exit_code(failures(&stopped)));
            }
            arrow(verbose);
            engine.start(&targets, &mut emit)
        }
        // Answered above, before the progress line.
        InitdCommand::Status => Vec::new(),
    };
    let failed = failures(&reports);
    if verbose {
        if omitted {
            outln!(
                "{}",
                initd::omitted(&display_path(&super::enabled_dir_for_message(layout)))
            );
        } else {
            outln!("{}", initd::end(failed));
        }
    }
    print_failures(&reports);
    Ok(initd::exit_code(failed))
}

/// Debian's status: one confspec → `uwsgi is running.` and its LSB code.
/// Several or none (all enabled): one line per instance, the worst code.
fn initd_status(engine: &Engine<'_>, named: usize, targets: &[Target]) -> i32 {
    let one = named == 1;
    let reports = engine.status(targets, &mut |r| {
        let who = if one {
            "uwsgi".to_owned()
        } else {
            format!("uwsgi {}", r.target.initd_label())
        };
        if let Outcome::Status(s) = r.outcome {
            outln!("{}", initd::status_line(&who, s));
        }
    });
    status_code(&reports)
}

fn status_code(reports: &[Report]) -> i32 {
    if reports.is_empty() {
        // Nothing is enabled, so nothing runs.
        return LsbStatus::NotRunning.code();
    }
    LsbStatus::merge_all(reports.iter().filter_map(|r| match r.outcome {
        Outcome::Status(s) => Some(s.lsb()),
        _ => None,
    }))
    .code()
}

/// `uwsgi-apps start|stop|reload|force-reload|restart|status [CONFSPEC…]`.
pub fn modern(
    layout: &Layout,
    op: Operation,
    confspecs: &[OsString],
    choices: &Choices,
) -> Result<i32> {
    let settings = load_settings(layout);
    let engine = Engine::new(layout, &settings, options(&settings, choices));
    let (targets, warnings) = plan(layout, confspecs)?;
    for w in warnings {
        crate::output::warning(w);
    }
    let json = choices.json;
    let mut emit = |r: &Report| {
        if !json {
            outln!("{}", modern::line(op, r));
        }
    };
    let reports = match op {
        Operation::Start => engine.start(&targets, &mut emit),
        Operation::Stop => engine.stop(&targets, &mut emit),
        Operation::Reload => engine.reload(&targets, false, &mut emit),
        Operation::ForceReload => engine.reload(&targets, true, &mut emit),
        Operation::Status => engine.status(&targets, &mut emit),
        Operation::Restart => {
            let stopped = engine.stop(&targets, &mut |_| {});
            if all_stopped(&stopped) {
                engine.start(&targets, &mut emit)
            } else {
                // Nothing is started: report what the stop did.
                let op = Operation::Stop;
                for r in &stopped {
                    if !json {
                        outln!("{}", modern::line(op, r));
                    }
                }
                stopped
            }
        }
    };
    let code = if op == Operation::Status {
        status_code(&reports)
    } else if failures(&reports) == 0 {
        ExitStatus::Success.code()
    } else {
        ExitStatus::Failure.code()
    };
    if json {
        outln!("{}", modern::json_document(op, &reports, code));
    }
    print_failures(&reports);
    Ok(code)
}

/// Start or stop the instances of apps that `uwsgi-enapp --now` /
/// `uwsgi-disapp --now` just switched, printing a line per instance
/// unless `quiet`. Whether all succeeded.
pub fn for_registry(
    layout: &Layout,
    op: Operation,
    specs: &[crate::name::Confspec],
    quiet: bool,
) -> Result<bool> {
    if specs.is_empty() {
        return Ok(true);
    }
    let settings = load_settings(layout);
    let engine = Engine::new(layout, &settings, options(&settings, &Choices::default()));
    let given: Vec<OsString> = specs.iter().map(confspec_arg).collect();
    let (targets, _) = plan(layout, &given)?;
    let mut emit = |r: &Report| {
        if !quiet {
            outln!("{}", modern::line(op, r));
        }
    };
    let reports = match op {
        Operation::Stop => engine.stop(&targets, &mut emit),
        _ => engine.start(&targets, &mut emit),
    };
    print_failures(&reports);
    Ok(failures(&reports) == 0)
}

/// `NS/NAME` as a command-line confspec.
fn confspec_arg(spec: &crate::name::Confspec) -> OsString {
    let mut s = spec.namespace.as_os_str().to_owned();
    s.push("/");
    s.push(&spec.name);
    s
}
