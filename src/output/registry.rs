//! The faces of the registry commands: `uwsgi-enapp`/`uwsgi-disapp`
//! (asking for names on a terminal, `--now`, one message per outcome, the
//! "you need to run" hint, JSON) and `uwsgi-query`. What changes and what
//! is found is `registry`'s; this prints it and decides the exit status.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, IsTerminal};

use serde_json::{json, Value};

use crate::display::{display_path, json_text, sanitize};
use crate::error::{Error, Result};
use crate::exit::ExitStatus;
use crate::layout::{Actor, Layout};
use crate::name::Namespace;
use crate::registry::enable::{self, Action, Outcome};
use crate::registry::link::LinkState;
use crate::registry::query;
use crate::registry::{Direction, SwitchOptions};
use crate::service::Operation;

/// `uwsgi-enapp` / `uwsgi-disapp` (`dir`), with its options.
pub fn switch(layout: &Layout, dir: Direction, opts: &SwitchOptions) -> Result<i32> {
    let names = if opts.names.is_empty() {
        ask_for_names(layout, dir)?
    } else {
        opts.names.clone()
    };
    let now = opts.now && !opts.dry_run;
    let mut service_ok = true;

    // --now with disable: stop first (a dry run tells which apps the
    // NAMES designate), and disable only if every stop succeeded, so that
    // no instance is left running without its config.
    if now && dir == Direction::Disable {
        let preview = SwitchOptions {
            dry_run: true,
            ..opts.clone()
        };
        let specs = enable::specs_of(&enable::switch(layout, dir, &preview, &names)?, false);
        if !super::service::for_registry(layout, Operation::Stop, &specs, opts.quiet || opts.json)?
        {
            return Err(Error::Failed(
                "not disabling: stopping the running instance failed".into(),
            ));
        }
    }

    let outcomes = enable::switch(layout, dir, opts, &names)?;
    if !opts.json {
        for outcome in &outcomes {
            report(outcome, opts);
        }
    }
    if dir == Direction::Disable && !now && !opts.dry_run {
        warn_running(layout, &outcomes);
    }
    if now && dir == Direction::Enable {
        service_ok = super::service::for_registry(
            layout,
            Operation::Start,
            &enable::specs_of(&outcomes, true),
            opts.quiet || opts.json,
        )?;
    }

    let status = ExitStatus::merge_all(outcomes.iter().map(|o| match o.result {
        Ok(_) => ExitStatus::Success,
        Err(_) => ExitStatus::Failure,
    }))
    .merge(if service_ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    });
    if opts.json {
        print_json(&outcomes, dir, opts, status);
    } else if !opts.quiet && !opts.dry_run && !now {
        print_hint(&outcomes, dir);
    }
    Ok(status.code())
}

/// No NAME: on a terminal, show the choices and ask, as a2ensite does;
/// otherwise it is a usage error (a script must say what it wants).
fn ask_for_names(layout: &Layout, dir: Direction) -> Result<Vec<OsString>> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::Usage(format!(
            "no app named: give the NAME of each app to {} (standard input is not a terminal to ask)",
            dir.verb()
        )));
    }
    let choices = enable::choices(layout, dir)?;
    outln!("Your choices are: {}", choices.join(" "));
    outln!("Which app(s) do you want to {} (wildcards ok)?", dir.verb());
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::os("read standard input", e))?;
    Ok(line.split_whitespace().map(OsString::from).collect())
}

/// Disabling a running app leaves its instance running with its config
/// gone: its next reload fails. Say so, and how to stop it.
fn warn_running(layout: &Layout, outcomes: &[Outcome]) {
    for (o, pid) in enable::still_running(layout, outcomes) {
        let Some(spec) = o.spec() else { continue };
        let word = shell_word(&spec.namespace, &spec.name);
        super::warning(format_args!(
            "{} is still running (pid {pid}) and will fail at its next reload, \
             since its config is gone; stop it with: uwsgi-apps stop {word}",
            o.label()
        ));
    }
}

/// A link that reaches nothing is "dangling"; one that leads round in a
/// circle is named for what it is, as `doctor` does.
fn dangling_word(loops: bool) -> &'static str {
    if loops {
        "looping"
    } else {
        "dangling"
    }
}

/// What one action is said to be, line by line.
fn message(action: &Action, label: &str, dry_run: bool) -> Vec<String> {
    let mut lines = Vec::new();
    match action {
        Action::Enabled { replaced, link } => {
            let verb = if dry_run {
                "Would replace"
            } else {
                "Replacing"
            };
            match replaced {
                LinkState::Dangling { target, loops } => lines.push(format!(
                    "{verb} {} link {} (to {}).",
                    dangling_word(*loops),
                    display_path(link),
                    display_path(target)
                )),
                LinkState::Foreign { target } => lines.push(format!(
                    "{verb} link {} (to {}).",
                    display_path(link),
                    display_path(target)
                )),
                _ => {}
            }
            lines.push(if dry_run {
                format!("Would enable app {label}.")
            } else {
                format!("Enabling app {label}.")
            });
        }
        Action::AlreadyEnabled => lines.push(format!("App {label} already enabled")),
        Action::KeptDisabledByAdmin => lines.push(format!(
            "App {label} was disabled by the site administrator: not enabling it (maintainer mode)"
        )),
        Action::Disabled { .. } => lines.push(if dry_run {
            format!("Would disable app {label}.")
        } else {
            format!("App {label} disabled.")
        }),
        Action::AlreadyDisabled { .. } => lines.push(format!("App {label} already disabled")),
        Action::RemovedDangling { path, loops } => lines.push(format!(
            "{} {} link {}.",
            if dry_run { "Would remove" } else { "Removing" },
            dangling_word(*loops),
            display_path(path)
        )),
        Action::Purged { .. } => {}
    }
    lines
}

fn report(outcome: &Outcome, opts: &SwitchOptions) {
    let label = outcome.label();
    match &outcome.result {
        Ok(action) => {
            if !opts.quiet {
                for line in message(action, &label, opts.dry_run) {
                    outln!("{line}");
                }
            }
        }
        Err(e) => super::error(format_args!("ERROR: {e}")),
    }
}

/// "To activate the new configuration, you need to run: …"
fn print_hint(outcomes: &[Outcome], dir: Direction) {
    let mut words: Vec<String> = Vec::new();
    for o in outcomes {
        if let (Ok(action), Some((ns, name, _))) = (&o.result, &o.app) {
            let word = shell_word(ns, name);
            if action.switched() && !words.contains(&word) {
                words.push(word);
            }
        }
    }
    if words.is_empty() {
        return;
    }
    let verb = match dir {
        Direction::Enable => "start",
        Direction::Disable => "stop",
    };
    outln!("To activate the new configuration, you need to run:");
    outln!("  service uwsgi {verb} {}", words.join(" "));
}

/// One JSON document: every outcome, with `changed` exact for automation.
fn print_json(outcomes: &[Outcome], dir: Direction, opts: &SwitchOptions, status: ExitStatus) {
    let results: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            let mut v = json!({
                "argument": json_str(&o.argument),
                "changed": o.changed(),
            });
            if let Some((ns, name, file)) = &o.app {
                v["namespace"] = json_str(ns.as_os_str());
                v["name"] = json_str(name);
                if let Some(file) = file {
                    v["file"] = json_str(file);
                }
            }
            match &o.result {
                Ok(action) => {
                    v["result"] = json!(action.code());
                    let lines = message(action, &o.label(), opts.dry_run);
                    if !lines.is_empty() {
                        v["message"] = json!(lines.join("\n"));
                    }
                }
                Err(e) => {
                    v["result"] = json!("error");
                    v["error"] = json!(e);
                }
            }
            v
        })
        .collect();
    let doc = json!({
        "command": dir.verb(),
        "dry_run": opts.dry_run,
        "results": results,
        "exit_status": status.code(),
    });
    outln!("{doc}");
}

/// `uwsgi-query [-q] [NAME]`.
pub fn query(layout: &Layout, name: Option<&OsStr>, quiet: bool) -> Result<i32> {
    let Some(name) = name else {
        return list_enabled(layout, quiet);
    };
    let answer = query::query(layout, name)?;
    if !quiet {
        if answer.enabled {
            outln!("{} (enabled by {})", answer.label, by_whom(answer.by));
        } else {
            let why = match answer.by {
                Some(Actor::Admin) => " (disabled by site administrator)",
                Some(Actor::Maint) => " (disabled by maintainer script)",
                None => "",
            };
            super::error(format_args!("No app matches {}{why}", answer.label));
        }
    }
    Ok(answer.code())
}

fn by_whom(who: Option<Actor>) -> &'static str {
    match who {
        Some(Actor::Admin) => "site administrator",
        Some(Actor::Maint) => "maintainer script",
        None => "unknown",
    }
}

/// Without NAME: every enabled app, one per line.
fn list_enabled(layout: &Layout, quiet: bool) -> Result<i32> {
    let apps = query::enabled_apps(layout, !quiet)?;
    if apps.is_empty() {
        // a2query -s without a site fails the same way when none is enabled.
        if !quiet {
            super::error("No app is enabled");
        }
        return Ok(crate::exit::query::NOT_FOUND);
    }
    if !quiet {
        let mut text = String::new();
        for app in &apps {
            text.push_str(&format!(
                "{} (enabled by {})\n",
                crate::registry::app_label(&app.namespace, &app.name),
                by_whom(app.by)
            ));
        }
        out!("{text}");
    }
    Ok(crate::exit::query::ENABLED)
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

/// A name or path as a JSON string (`display::json_text`: bytes that are
/// not UTF-8 go out lossy, since JSON has no way to carry them).
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
    }
}
