//! The systemd engine (SPEC §7): one unit per app, `uwsgi@NAME.service`,
//! whose `ExecStart` is `uwsgi-apps exec`, the launch recipe in the
//! foreground, so that uWSGI's master is the unit's main process and
//! systemd owns it (its cgroup, journal, `systemctl status`). Every action
//! on an app goes through systemd for that one unit, so systemd's view and
//! ours agree; `status` reads the same pidfile as every engine.
//!
//! The unit instance names an instance: `uwsgi@NAME.service` for the
//! default namespace `app` (what users type: `systemctl start
//! uwsgi@searxng`), `uwsgi@NS:NAME.service` for the others. A byte that a
//! unit name cannot hold (anything but ASCII letters, digits, `_`, `.`,
//! `-`; `:` inside a part; `.` at the start) is written `\xNN`, as
//! `systemd-escape` does — but `-` stays `-` (these names never hold `/`,
//! which `systemd-escape` writes as `-`), and the unit reads the instance
//! raw (`%i`), never `%I`.

use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::{Command, Output, Stdio};

use rustix::process::Signal;

use crate::error::{Error, Result};
use crate::name::{Confspec, Namespace};
use crate::process::Master;
use crate::process::{launch, procfs};
use crate::service::report::{InstanceStatus, Outcome};

use super::{reload, Context, Engine, Finished, Instance, Sink, LOG_TAIL_LINES};

/// The longest unit name systemd accepts.
const MAX_UNIT_NAME: usize = 255;

/// The unit instance string of `spec` (what `%i` holds).
pub fn instance_string(spec: &Confspec) -> String {
    let mut out = String::new();
    if !spec.namespace.is_default() {
        escape_into(spec.namespace.as_os_str().as_bytes(), &mut out);
        out.push(':');
    }
    escape_into(spec.name.as_bytes(), &mut out);
    out
}

/// `uwsgi@INSTANCE.service`, or an error when the name is too long for
/// systemd.
pub fn unit_name(spec: &Confspec) -> Result<String> {
    let name = format!("uwsgi@{}.service", instance_string(spec));
    if name.len() > MAX_UNIT_NAME {
        return Err(Error::Failed(format!(
            "{spec}: the name is too long for a systemd unit ({} bytes once escaped, at most \
             {MAX_UNIT_NAME}); run it with ENGINE=daemon or give it a shorter name",
            name.len()
        )));
    }
    Ok(name)
}

/// Whether `pid` runs in `unit`'s cgroup: a master that systemd runs for
/// that unit, not one another engine started.
pub fn runs_in_unit(pid: i32, unit: &str) -> bool {
    procfs::service_unit(pid).as_deref() == Some(unit)
}

fn escape_into(bytes: &[u8], out: &mut String) {
    for (i, &b) in bytes.iter().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
}

/// The confspec a unit instance string (`%i`) names.
pub fn parse_instance(instance: &str) -> Result<Confspec> {
    let bad = |why: &str| {
        Error::Failed(format!(
            "{} is not a unit instance of this program: {why}",
            crate::display::display_name(OsStr::new(instance))
        ))
    };
    let (ns, name) = match instance.split_once(':') {
        Some((ns, name)) => (
            Some(unescape(ns).ok_or_else(|| bad("a bad \\x escape"))?),
            name,
        ),
        None => (None, instance),
    };
    if name.contains(':') {
        return Err(bad("more than one ':'"));
    }
    let name = unescape(name).ok_or_else(|| bad("a bad \\x escape"))?;
    let namespace = match ns {
        Some(ns) => Namespace::new(std::ffi::OsString::from_vec(ns))?,
        None => Namespace::app(),
    };
    Confspec::new(namespace, std::ffi::OsString::from_vec(name))
}

fn unescape(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) != Some(&b'x') {
                return None;
            }
            let hex = std::str::from_utf8(bytes.get(i + 2..i + 4)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// What systemd says of one unit (`systemctl show`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitState {
    pub id: String,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    pub main_pid: i32,
    pub result: String,
    pub exec_main_status: i32,
}

impl UnitState {
    pub fn is_active(&self) -> bool {
        matches!(self.active_state.as_str(), "active" | "reloading")
    }
}

/// The properties `show` asks for.
const PROPERTIES: &str = "Id,LoadState,ActiveState,SubState,MainPID,Result,ExecMainStatus";

/// Parse `systemctl show -p …` of several units: one block of `KEY=VALUE`
/// lines per unit, blocks separated by an empty line, in the order asked.
pub fn parse_show(text: &str) -> Vec<UnitState> {
    let mut units = Vec::new();
    let mut cur: Option<UnitState> = None;
    for line in text.lines() {
        if line.is_empty() {
            units.extend(cur.take());
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let u = cur.get_or_insert_with(UnitState::default);
        match key {
            "Id" => u.id = value.to_owned(),
            "LoadState" => u.load_state = value.to_owned(),
            "ActiveState" => u.active_state = value.to_owned(),
            "SubState" => u.sub_state = value.to_owned(),
            "MainPID" => u.main_pid = value.parse().unwrap_or(0),
            "Result" => u.result = value.to_owned(),
            "ExecMainStatus" => u.exec_main_status = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    units.extend(cur);
    units
}

/// Run `systemctl ARGS…` and give its output; an error when it cannot be
/// run at all.
pub fn systemctl(args: &[&str]) -> Result<Output> {
    Command::new("systemctl")
        .arg("--no-ask-password")
        .args(args)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("SYSTEMD_PAGER", "")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::os("run systemctl", e))
}

/// The states of `units`, in their order.
pub fn show(units: &[String]) -> Result<Vec<UnitState>> {
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["show", "-p", PROPERTIES, "--"];
    args.extend(units.iter().map(String::as_str));
    let out = systemctl(&args)?;
    let states = parse_show(&String::from_utf8_lossy(&out.stdout));
    if states.len() != units.len() {
        return Err(Error::Failed(format!(
            "systemctl show answered for {} of {} units: {}",
            states.len(),
            units.len(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(states)
}

/// The instances whose `uwsgi@` unit runs (or is starting, stopping or
/// reloading), as systemd lists them: one D-Bus call, however many units
/// are loaded. Also the units whose instance names no app of ours.
pub fn running_instances() -> Result<(Vec<Confspec>, Vec<String>)> {
    let out = systemctl(&[
        "list-units",
        "--plain",
        "--no-legend",
        "--state=active,activating,deactivating,reloading",
        "--",
        "uwsgi@*.service",
    ])?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut specs = Vec::new();
    let mut odd = Vec::new();
    for unit in text.lines().filter_map(|l| l.split_whitespace().next()) {
        let instance = unit
            .strip_prefix("uwsgi@")
            .and_then(|u| u.strip_suffix(".service"));
        match instance.map(parse_instance) {
            Some(Ok(spec)) => specs.push(spec),
            _ => odd.push(crate::display::sanitize(OsStr::new(unit)).into_owned()),
        }
    }
    Ok((specs, odd))
}

/// The exit statuses `uwsgi-apps exec` ends with when the instance must
/// not run; the unit does not restart on them.
pub mod exit {
    /// The confname is not enabled (no such config): LSB's "program is not
    /// configured".
    pub const NOT_ENABLED: i32 = 6;
    /// A safety rule refused the config, or the instance already runs
    /// outside this unit (EX_CONFIG).
    pub const REFUSED: i32 = 78;
}

pub struct SystemdEngine<'a> {
    cx: &'a Context<'a>,
}

impl<'a> SystemdEngine<'a> {
    pub fn new(cx: &'a Context<'a>) -> Self {
        SystemdEngine { cx }
    }

    /// Why a unit is not active, in words, with the log's tail.
    fn failure(&self, instance: Instance<'_>, state: &UnitState) -> Outcome {
        let why = match (state.result.as_str(), state.exec_main_status) {
            (_, exit::NOT_ENABLED) => "it is not enabled".to_owned(),
            (_, exit::REFUSED) => {
                "it was refused (see `journalctl -u` the unit for why)".to_owned()
            }
            ("exit-code", code) => format!("uWSGI exited with status {code}"),
            ("signal" | "core-dump", sig) => format!("uWSGI was killed by signal {sig}"),
            ("timeout", _) => "it did not report READY=1 in time".to_owned(),
            (result, _) => format!("it is {} ({result})", state.active_state),
        };
        let log = self.cx.layout.log_file(instance.spec);
        Outcome::Failed {
            reason: format!(
                "{} failed to start: {why}; see {} and `journalctl -u {}`",
                state.id,
                crate::display::display_path(&log),
                state.id
            ),
            log_tail: launch::log_tail(&log, LOG_TAIL_LINES),
        }
    }
}

/// The unit names of a batch; per instance either its unit or why it has
/// none.
fn units_of(batch: &[Instance<'_>]) -> Vec<Result<String>> {
    batch.iter().map(|i| unit_name(i.spec)).collect()
}

impl Engine for SystemdEngine<'_> {
    /// Refusals are checked here first, so that they are reported with
    /// their reason (the unit would only exit 78); the rest is one
    /// `systemctl start` of every unit, which systemd runs in parallel and
    /// which returns when each is active (READY=1) or has failed.
    fn start(&self, batch: &[Instance<'_>], done: Sink<'_>) {
        let recipe = self.cx.recipe();
        let units = units_of(batch);
        let mut todo: Vec<(usize, String)> = Vec::new();
        let mut warnings: Vec<Vec<String>> = vec![Vec::new(); batch.len()];
        for (i, (instance, unit)) in batch.iter().zip(units).enumerate() {
            let Some(config) = instance.config else {
                done(i, Finished::new(Outcome::NotFound));
                continue;
            };
            let unit = match unit {
                Ok(u) => u,
                Err(e) => {
                    done(i, Finished::failed(e.to_string()));
                    continue;
                }
            };
            match recipe
                .check(config)
                .and_then(|run_as| recipe.check_run_dirs(&config.spec).map(|()| run_as))
            {
                Ok(run_as) => warnings[i] = run_as.warnings,
                Err(refusal) => {
                    done(i, Finished::failed(refusal.to_string()));
                    continue;
                }
            }
            todo.push((i, unit));
        }
        // Whether each already runs is read from its pidfile and its
        // master's cgroup, not asked of systemd: a `systemctl show` of N
        // units is a D-Bus call per unit that PID 1 answers (0.18 s for
        // 50), on the path of every start. A unit that runs is started
        // all the same (a no-op for systemd, and right if it is being
        // stopped); its master still the same afterwards means "already".
        let mut starting: Vec<(usize, String, u64)> = Vec::new();
        let mut running_before: Vec<Option<i32>> = vec![None; batch.len()];
        for (i, unit) in todo {
            match self.cx.probe(batch[i]) {
                Ok((Some(master), _)) if !runs_in_unit(master.pid(), &unit) => {
                    // Started by another engine (before ENGINE= changed):
                    // a unit now would be a second master on its socket.
                    done(
                        i,
                        Finished::failed(format!(
                            "it already runs outside {unit} (master pid {}), started by another \
                             engine; stop it first (uwsgi-apps stop {}), then start it",
                            master.pid(),
                            crate::display::display_name(batch[i].spec.to_arg().as_os_str())
                        )),
                    );
                    continue;
                }
                Ok((Some(master), _)) => running_before[i] = Some(master.pid()),
                _ => {}
            }
            let offset = launch::log_end(&self.cx.layout.log_file(batch[i].spec));
            starting.push((i, unit, offset));
        }
        if starting.is_empty() {
            return;
        }
        let names: Vec<String> = starting.iter().map(|(_, u, _)| u.clone()).collect();
        let mut args = vec!["start", "--"];
        args.extend(names.iter().map(String::as_str));
        // An active unit's report: the warnings of the check and of its
        // log, and "already" when its master is the one it had before.
        let active = |i: usize, offset: u64, pid: Option<i32>, mut warnings: Vec<String>| {
            warnings.extend(super::log_warnings(
                &self.cx.layout.log_file(batch[i].spec),
                offset,
            ));
            let outcome = if pid.is_some() && pid == running_before[i] {
                Outcome::Already { pid }
            } else {
                Outcome::Done { pid }
            };
            Finished { outcome, warnings }
        };
        // It returns when every unit is active (READY=1) or has failed;
        // only when one failed is systemd asked which, and why.
        let run = systemctl(&args);
        if run.as_ref().is_ok_and(|out| out.status.success()) {
            for (i, _, offset) in &starting {
                let pid = match self.cx.probe(batch[*i]) {
                    Ok((Some(master), _)) => Some(master.pid()),
                    _ => None,
                };
                done(
                    *i,
                    active(*i, *offset, pid, std::mem::take(&mut warnings[*i])),
                );
            }
            return;
        }
        let after = run.and_then(|_| show(&names));
        let after = match after {
            Ok(a) => a,
            Err(e) => {
                for (i, _, _) in &starting {
                    done(*i, Finished::failed(e.to_string()));
                }
                return;
            }
        };
        let mut failed_units: Vec<&str> = Vec::new();
        for ((i, unit, offset), state) in starting.iter().zip(&after) {
            let instance = batch[*i];
            if state.is_active() {
                let pid = (state.main_pid > 0).then_some(state.main_pid);
                done(
                    *i,
                    active(*i, *offset, pid, std::mem::take(&mut warnings[*i])),
                );
            } else {
                failed_units.push(unit);
                done(*i, Finished::new(self.failure(instance, state)));
            }
        }
        // A unit whose start failed would be restarted by systemd
        // (Restart=on-failure) again and again; a failed start leaves
        // nothing running, as with the other engines.
        // (Its runtime dir goes with it: the unit's ExecStopPost.)
        if !failed_units.is_empty() {
            let mut args = vec!["stop", "--"];
            args.extend(failed_units);
            let _ = systemctl(&args);
        }
    }

    /// One `systemctl stop` of every unit that runs; it returns when each
    /// has stopped (`KillSignal=SIGINT`, SIGKILL after the unit's stop
    /// timeout). An instance whose unit is inactive is not running, or
    /// runs under another engine.
    fn stop(&self, batch: &[Instance<'_>], done: Sink<'_>) {
        // An instance whose master runs in its unit is stopped through it
        // without asking systemd first (a `systemctl show` of N units is a
        // D-Bus call per unit that PID 1 answers: 0.18 s for 50). Only
        // those without a master are looked up: their unit may be starting
        // or waiting to restart, and then it is stopped too.
        let mut stopping: Vec<(usize, String, Option<i32>)> = Vec::new();
        let mut outside: Vec<usize> = Vec::new();
        let mut unknown: Vec<(usize, String)> = Vec::new();
        for (i, unit) in units_of(batch).into_iter().enumerate() {
            let unit = match unit {
                Ok(u) => u,
                Err(e) => {
                    done(i, Finished::failed(e.to_string()));
                    continue;
                }
            };
            match self.cx.probe(batch[i]) {
                Ok((Some(master), _)) if runs_in_unit(master.pid(), &unit) => {
                    stopping.push((i, unit, Some(master.pid())));
                }
                // Started by another engine before ENGINE= changed: a stop
                // reaches it all the same (signalled as the daemon engine
                // does), so that switching engines is "stop, change
                // ENGINE=, start".
                Ok((Some(_), _)) => outside.push(i),
                _ => unknown.push((i, unit)),
            }
        }
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.iter().map(|(_, u)| u.clone()).collect();
            match show(&names) {
                Ok(states) => {
                    for ((i, unit), state) in unknown.into_iter().zip(states) {
                        if matches!(state.active_state.as_str(), "inactive" | "failed") {
                            outside.push(i);
                        } else {
                            stopping.push((
                                i,
                                unit,
                                (state.main_pid > 0).then_some(state.main_pid),
                            ));
                        }
                    }
                }
                Err(e) => {
                    for (i, _) in unknown {
                        done(i, Finished::failed(e.to_string()));
                    }
                }
            }
        }
        // Not running in its unit: not running at all, or run by another
        // engine; the daemon engine tells which, and stops the latter.
        if !outside.is_empty() {
            let rest: Vec<Instance<'_>> = outside.iter().map(|&i| batch[i]).collect();
            super::daemon::DaemonEngine::new(self.cx).stop(&rest, &|k, f| done(outside[k], f));
        }
        if stopping.is_empty() {
            return;
        }
        let names: Vec<String> = stopping.iter().map(|(_, u, _)| u.clone()).collect();
        let mut args = vec!["stop", "--"];
        args.extend(names.iter().map(String::as_str));
        // It returns when every unit has stopped (SIGINT, SIGKILL after the
        // unit's stop timeout); only when it failed is systemd asked how
        // each unit ended.
        let run = systemctl(&args);
        if run.as_ref().is_ok_and(|out| out.status.success()) {
            for (i, _, pid) in &stopping {
                done(*i, Finished::new(Outcome::Done { pid: *pid }));
            }
            return;
        }
        let after = run.and_then(|_| show(&names));
        for (k, (i, unit, pid)) in stopping.iter().enumerate() {
            let finished = match &after {
                Ok(states) if matches!(states[k].active_state.as_str(), "inactive" | "failed") => {
                    Finished::new(Outcome::Done { pid: *pid })
                }
                Ok(states) => Finished::failed(format!(
                    "{unit} is still {} after systemctl stop",
                    states[k].active_state
                )),
                Err(e) => Finished::failed(e.to_string()),
            };
            done(*i, finished);
        }
    }

    /// As the daemon engine reloads (see `reload`), but the signal goes
    /// through systemd: `systemctl reload` (the unit's `ExecReload` sends
    /// SIGHUP to its main process) or, for a brutal reload, `systemctl
    /// kill --kill-whom=main --signal=SIGTERM`.
    fn reload(&self, batch: &[Instance<'_>], force: bool, done: Sink<'_>) {
        std::thread::scope(|scope| {
            for (i, instance) in batch.iter().enumerate() {
                scope.spawn(move || {
                    let unit = match unit_name(instance.spec) {
                        Ok(u) => u,
                        Err(e) => return done(i, Finished::failed(e.to_string())),
                    };
                    let finished = match self.cx.probe(*instance) {
                        Ok((Some(master), _)) => {
                            let send =
                                |_: &Master, signal: Signal| -> std::result::Result<(), String> {
                                    let out = if signal == Signal::HUP {
                                        systemctl(&["reload", "--", &unit])
                                    } else {
                                        systemctl(&[
                                            "kill",
                                            "--kill-whom=main",
                                            "--signal=SIGTERM",
                                            "--",
                                            &unit,
                                        ])
                                    }
                                    .map_err(|e| e.to_string())?;
                                    if out.status.success() {
                                        Ok(())
                                    } else {
                                        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
                                    }
                                };
                            reload::reload(self.cx, *instance, &master, force, false, &send)
                        }
                        Ok((None, _)) => Finished::failed("not running, so it cannot be reloaded"),
                        Err(e) => Finished::failed(e.to_string()),
                    };
                    done(i, finished)
                });
            }
        });
    }

    fn status(&self, instance: Instance<'_>) -> InstanceStatus {
        self.cx.pidfile_status(instance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ns: &str, name: &[u8]) -> Confspec {
        Confspec::new(
            Namespace::new(ns).unwrap(),
            std::ffi::OsString::from_vec(name.to_vec()),
        )
        .unwrap()
    }

    #[test]
    fn unit_names_are_what_users_type_and_round_trip() {
        let cases: [(&str, &[u8], &str); 6] = [
            ("app", b"searxng", "uwsgi@searxng.service"),
            ("app", b"my-app", "uwsgi@my-app.service"),
            ("vassal", b"x", "uwsgi@vassal:x.service"),
            ("app", b"a b:c", "uwsgi@a\\x20b\\x3ac.service"),
            ("app", b".hidden", "uwsgi@\\x2ehidden.service"),
            ("app", b"s\xc3\xbc\xff", "uwsgi@s\\xc3\\xbc\\xff.service"),
        ];
        for (ns, name, unit) in cases {
            let s = spec(ns, name);
            assert_eq!(unit_name(&s).unwrap(), unit);
            let instance = &unit["uwsgi@".len()..unit.len() - ".service".len()];
            assert_eq!(parse_instance(instance).unwrap(), s, "{unit}");
        }
        assert!(parse_instance("bad\\x4").is_err());
        assert!(parse_instance("bad\\q").is_err());
        assert!(
            parse_instance("a:b:c").is_err(),
            "a name never holds ':' raw"
        );
        assert!(parse_instance("").is_err());
        let long = spec("app", &[b'\xff'; 100]);
        assert!(unit_name(&long).is_err(), "too long once escaped");
    }

    #[test]
    fn reads_systemctl_show_of_several_units() {
        let text = "Id=uwsgi@a.service\nLoadState=loaded\nActiveState=active\nSubState=running\n\
                    MainPID=42\nResult=success\nExecMainStatus=0\n\n\
                    Id=uwsgi@b.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\n\
                    MainPID=0\nResult=exit-code\nExecMainStatus=6\n";
        let units = parse_show(text);
        assert_eq!(units.len(), 2);
        assert!(units[0].is_active());
        assert_eq!(units[0].main_pid, 42);
        assert!(!units[1].is_active());
        assert_eq!(
            (units[1].result.as_str(), units[1].exec_main_status),
            ("exit-code", exit::NOT_ENABLED)
        );
    }
}
