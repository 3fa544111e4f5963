//! The init.d front end and the modern start/stop/reload/status, tested as
//! a black box against SPEC §2 and §4 with the real uWSGI.
//!
//! Every test gets its own temporary root (see `common::live`), with an
//! inherited config modelled on Debian's `default.ini` and apps that serve
//! a small WSGI app over `http-socket` on 127.0.0.1. Assertions are on real
//! effects: HTTP answers, the master's /proc entries, pidfile and run dir
//! owners and modes, signals received (a `sleep` behind a stale pidfile dies
//! of SIGHUP, SIGTERM or SIGINT), and the exact init output, which follows
//! Debian's script and lsb's `log_daemon_msg`/`log_progress_msg`/
//! `log_end_msg`: `Starting app server(s): uwsgi -> . done.`.
//!
//! Dropping a `Live` kills every uWSGI of its root, so a failed assertion
//! leaves nothing running.

mod common;

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::live::{
    alive, children, cmdline, environ, exe, http_get, http_wait, is_uwsgi, owner_mode, wait_gone,
    www_data, Live, DAEMON,
};
use common::{code, stderr, stdout};

const HTTP: Duration = Duration::from_secs(15);

/// One init output line: `VERB app server(s): uwsgi -> MARKS`.
fn line(verb: &str, marks: &str) -> String {
    format!("{verb} app server(s): uwsgi -> {marks}\n")
}

/// `initd VERB NAME` succeeds with Debian's line for one instance:
/// `Starting app server(s): uwsgi -> . done.` (or Stopping).
#[track_caller]
fn initd_ok(l: &Live, verb: &str, name: &str) {
    let word = if verb == "start" {
        "Starting"
    } else {
        "Stopping"
    };
    expect(&l.initd(&[verb, name]), 0, &line(word, ". done."));
}

/// Exit status and standard output, with standard error in the message.
#[track_caller]
fn expect(o: &Output, status: i32, out: &str) {
    assert_eq!(
        (code(o), stdout(o).as_str()),
        (status, out),
        "\n--- stderr:\n{}",
        stderr(o)
    );
}

#[track_caller]
fn expect_env(pid: i32, var: &str, value: &str) {
    let want = OsString::from(format!("{var}={value}"));
    let env = environ(pid);
    assert!(
        env.contains(&want),
        "{var}={value} is not in the environment of {pid}: {env:?}"
    );
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "--json printed no JSON ({e}):\n{}\n--- stderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// Wait until PID's workers are all different from `before` (a reload
/// replaced them), and give them.
fn wait_new_workers(pid: i32, before: &[i32], limit: Duration) -> Vec<i32> {
    let end = Instant::now() + limit;
    loop {
        let now = children(pid);
        if !now.is_empty() && now.iter().all(|w| !before.contains(w)) {
            return now;
        }
        assert!(
            Instant::now() < end,
            "the workers of {pid} were not renewed: before {before:?}, now {now:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ------------------------------------------------------------ start, stop

#[test]
fn start_runs_debians_command_line_and_environment_and_serves_http() {
    let l = Live::new();
    let port = l.app("hello", "");

    let o = l.initd(&["start", "hello"]);
    expect(&o, 0, &line("Starting", ". done."));
    assert_eq!(http_wait(port, HTTP), "hello hello");

    let pid = l.master("hello");
    let want: Vec<OsString> = [
        Path::new(DAEMON),
        Path::new("--ini"),
        &l.inherited(),
        Path::new("--ini"),
        &l.conffile("hello"),
        Path::new("--logto"),
        &l.logfile("hello"),
        Path::new("--pidfile"),
        &l.pidfile("hello"),
    ]
    .iter()
    .map(|p| p.as_os_str().to_owned())
    .collect();
    assert_eq!(cmdline(pid), want, "the master's command line");
    expect_env(pid, "UWSGI_DEB_CONFNAMESPACE", "app");
    expect_env(pid, "UWSGI_DEB_CONFNAME", "hello");
    let notify = l.rundir("hello").join("notify");
    expect_env(pid, "NOTIFY_SOCKET", &notify.display().to_string());
    // Nothing of ours leaks in: uWSGI would read UWSGI_APPS_ROOT as an option.
    let env = environ(pid);
    assert!(
        !env.iter().any(|e| e.as_bytes().starts_with(b"UWSGI_APPS_")),
        "{env:?}"
    );
    assert_eq!(l.masters(), [pid], "one master");
    assert_eq!(
        exe(pid),
        fs::canonicalize(DAEMON).ok(),
        "the master runs the uWSGI program"
    );
    assert!(!children(pid).is_empty(), "the master has its worker");
}

#[test]
fn start_makes_run_dirs_pidfile_socket_and_log_with_debians_owners_and_modes() {
    let l = Live::new();
    let port = l.app("hello", "");
    initd_ok(&l, "start", "hello");
    http_wait(port, HTTP);
    let (www_uid, _) = www_data();

    assert_eq!(
        owner_mode(&l.r.path("run/uwsgi/app")),
        (0, 0, 0o755),
        "run/uwsgi/app"
    );
    // Unlike Debian's script, which gives it to the app's uid:gid: uWSGI
    // works there as root (socket, pidfile), so the app must not be able
    // to change it.
    assert_eq!(
        owner_mode(&l.rundir("hello")),
        (0, 0, 0o755),
        "the run dir is root's"
    );
    // uWSGI writes its pidfile 0666; the front end fixes it once ready.
    assert_eq!(
        owner_mode(&l.pidfile("hello")),
        (0, 0, 0o644),
        "the pidfile"
    );
    let socket = l.rundir("hello").join("socket");
    let meta = fs::symlink_metadata(&socket).expect("the socket of the inherited config");
    assert!(meta.file_type().is_socket());
    let (uid, _, mode) = owner_mode(&socket);
    assert_eq!((uid, mode), (www_uid, 0o660), "chown-socket, chmod-socket");

    let log = l.log("hello");
    assert!(log.contains("Starting uWSGI"), "the log: {log}");
    assert!(l.logfile("hello").is_file());
    assert_eq!(
        owner_mode(&l.r.path("var/log/uwsgi/app")),
        (0, 0, 0o755),
        "var/log/uwsgi/app"
    );
}

#[test]
fn stop_signals_waits_for_exit_and_removes_the_run_dir() {
    let l = Live::new();
    let port = l.app("hello", "");
    initd_ok(&l, "start", "hello");
    http_wait(port, HTTP);
    let pid = l.master("hello");
    let workers = children(pid);
    expect(&l.initd(&["status", "hello"]), 0, "uwsgi is running.\n");
    let doc = json(&l.apps(&["status", "--json"]));
    assert_eq!(doc["instances"][0]["pid"], pid);
    assert_eq!(doc["instances"][0]["result"], "running");

    initd_ok(&l, "stop", "hello");
    // stop returns once the master has exited, not before.
    assert!(!alive(pid), "the master {pid} is still alive after stop");
    assert!(l.uwsgi_processes().is_empty(), "workers survived stop");
    l.wait_no_masters(Duration::from_secs(3));
    for w in workers {
        assert!(!alive(w), "worker {w} survived");
    }
    assert!(!l.rundir("hello").exists(), "the run dir is removed");
    assert!(http_get(port).is_err(), "nothing answers any more");
    expect(
        &l.initd(&["status", "hello"]),
        3,
        "uwsgi is not running ... failed!\n",
    );

    // Stopping what does not run is already the needed state.
    initd_ok(&l, "stop", "hello");
}

#[test]
fn start_of_a_running_instance_keeps_it() {
    let l = Live::new();
    let port = l.app("hello", "");
    initd_ok(&l, "start", "hello");
    http_wait(port, HTTP);
    let pid = l.master("hello");

    initd_ok(&l, "start", "hello");
    l.settings("PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\n");
    expect(
        &l.initd(&["start", "app/hello"]),
        0,
        &line("Starting", "(app/hello) done."),
    );
    assert_eq!(l.master("hello"), pid, "the same master still runs");
    expect(
        &l.apps(&["start", "hello"]),
        0,
        &format!("hello: already running (pid {pid})\n"),
    );
    assert_eq!(l.masters(), [pid], "the same master still runs");
}

#[test]
fn a_namespaced_confspec_names_the_same_instance() {
    let l = Live::new();
    let port = l.app("hello", "");
    initd_ok(&l, "start", "app/hello");
    assert_eq!(http_wait(port, HTTP), "hello hello");
    let pid = l.master("hello");
    initd_ok(&l, "stop", "app/hello");
    assert!(!alive(pid));
}

#[test]
fn daemon_option_runs_that_program() {
    let l = Live::new();
    let port = l.app("hello", "");
    let o = l.apps(&["--daemon", "/usr/bin/uwsgi-core", "initd", "start", "hello"]);
    expect(&o, 0, &line("Starting", ". done."));
    http_wait(port, HTTP);
    let pid = l.master("hello");
    assert_eq!(
        cmdline(pid).first(),
        Some(&OsString::from("/usr/bin/uwsgi-core"))
    );
    let o = l.apps(&["--daemon", "/usr/bin/uwsgi-core", "initd", "stop", "hello"]);
    expect(&o, 0, &line("Stopping", ". done."));
    assert!(!alive(pid));
}

// ------------------------------------------------- start and stop of all

#[test]
fn without_confspec_every_enabled_app_in_name_order() {
    let l = Live::new();
    let beta = l.app("beta", "");
    let alpha = l.app("alpha", "");
    l.settings("PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\n");

    expect(
        &l.initd(&["start"]),
        0,
        &line("Starting", "app/alpha app/beta done."),
    );
    assert_eq!(http_wait(alpha, HTTP), "hello alpha");
    assert_eq!(http_wait(beta, HTTP), "hello beta");
    let pids = [l.master("alpha"), l.master("beta")];
    assert_eq!(l.masters().len(), 2);

    let o = l.initd(&["status"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2, "one line per instance");

    expect(
        &l.initd(&["stop"]),
        0,
        &line("Stopping", "app/alpha app/beta done."),
    );
    for pid in pids {
        assert!(!alive(pid), "{pid} survived stop");
    }
    l.wait_no_masters(Duration::from_secs(3));
    assert!(!l.rundir("alpha").exists() && !l.rundir("beta").exists());

    // Both already stopped: shown as "already in the needed state".
    expect(
        &l.initd(&["stop"]),
        0,
        &line("Stopping", "(app/alpha) (app/beta) done."),
    );
}

#[test]
fn without_any_enabled_app_the_command_is_omitted() {
    let l = Live::new();
    for (cmd, verb) in [("start", "Starting"), ("stop", "Stopping")] {
        let o = l.initd(&[cmd]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let out = stdout(&o);
        // SPEC: `-> (omitted; …)`; Debian's script prints no `->` there.
        // Either is Debian's meaning; the path may be shown under the root.
        let rest = out
            .strip_prefix(&format!("{verb} app server(s): uwsgi "))
            .unwrap_or_else(|| panic!("{out:?}"));
        let rest = rest.strip_prefix("-> ").unwrap_or(rest);
        assert!(
            rest.starts_with("(omitted; missing conffile(s) in ")
                && rest.ends_with("/etc/uwsgi/apps-enabled).\n"),
            "{out:?}"
        );
        // As Debian's script prints it, with the path under the root.
        assert_eq!(
            out,
            format!(
                "{verb} app server(s): uwsgi (omitted; missing conffile(s) in {}).\n",
                l.r.enabled().display()
            )
        );
    }
}

// ------------------------------------------------------ output and codes

#[test]
fn unknown_confspec_is_reported_and_not_a_failure() {
    let l = Live::new();
    expect(
        &l.initd(&["start", "nope"]),
        0,
        &line("Starting", "? done."),
    );
    expect(&l.initd(&["stop", "nope"]), 0, &line("Stopping", "? done."));
    expect(
        &l.initd(&["reload", "nope"]),
        0,
        &line("Reloading", "? done."),
    );
    expect(
        &l.initd(&["force-reload", "nope"]),
        0,
        &line("Forced reloading", "? done."),
    );
    l.settings("PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\n");
    expect(
        &l.initd(&["start", "nope"]),
        0,
        &line("Starting", "app/nope? done."),
    );
    assert_eq!(code(&l.initd(&["status", "nope"])), 4);
    assert!(l.masters().is_empty());

    // The modern commands call a missing app a failure (only the init
    // face keeps Debian's `?` with exit 0).
    for op in ["start", "stop", "reload", "force-reload", "restart"] {
        expect(&l.apps(&[op, "nope"]), 1, "nope: no such app\n");
        let o = l.apps(&[op, "--json", "nope"]);
        assert_eq!(code(&o), 1, "{op}");
        let doc = json(&o);
        assert_eq!(doc["exit_status"], 1, "{op}: {doc}");
        assert_eq!(doc["instances"][0]["result"], "not-found", "{op}: {doc}");
    }
}

#[test]
fn unknown_command_prints_usage_on_stderr_and_exits_3() {
    let l = Live::new();
    l.app("hello", "");
    for args in [&["frobnicate", "hello"][..], &[][..]] {
        let o = l.initd(args);
        assert_eq!(code(&o), 3, "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), "", "{args:?}");
        let err = stderr(&o);
        assert!(err.to_lowercase().contains("usage"), "{err}");
        assert!(
            err.starts_with(
                "Usage: /etc/init.d/uwsgi {start|stop|status|restart|reload|force-reload}"
            ),
            "{err}"
        );
        for cmd in [
            "start",
            "stop",
            "status",
            "restart",
            "reload",
            "force-reload",
        ] {
            assert!(err.contains(cmd), "usage names {cmd}: {err}");
        }
    }
    assert!(l.masters().is_empty(), "an unknown command started nothing");
}

#[test]
fn verbose_no_prints_nothing() {
    let l = Live::new();
    let port = l.app("hello", "");
    l.broken_app("bad");
    l.settings("VERBOSE=no\nSTART_TIMEOUT=10\n");
    expect(&l.initd(&["start", "hello"]), 0, "");
    http_wait(port, HTTP);
    let pid = l.master("hello");
    let o = l.initd(&["start", "bad"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    expect(&l.initd(&["stop", "hello"]), 0, "");
    assert!(!alive(pid));
}

#[test]
fn names_are_printed_in_every_form() {
    let l = Live::new();
    let port = l.app("hello", "");
    l.broken_app("bad");
    l.settings("PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\nSTART_TIMEOUT=10\n");

    expect(
        &l.initd(&["start", "hello"]),
        0,
        &line("Starting", "app/hello done."),
    );
    http_wait(port, HTTP);
    expect(
        &l.initd(&["start", "hello", "bad", "nope"]),
        1,
        &line("Starting", "(app/hello) app/bad! app/nope? failed!"),
    );
    expect(
        &l.initd(&["stop", "hello"]),
        0,
        &line("Stopping", "app/hello done."),
    );
}

#[test]
fn missing_wsgi_file_with_need_app_fails_at_once_with_the_log_tail() {
    let l = Live::new();
    let port = l.app("hello", "");
    l.broken_app("bad1");
    l.broken_app("bad2");
    // Should the front end wait for readiness until the timeout instead of
    // noticing the death, the test still ends, and fails on the time.
    l.settings("START_TIMEOUT=10\n");

    let t = Instant::now();
    let o = l.initd(&["start", "hello", "bad1", "bad2", "nope"]);
    let took = t.elapsed();
    // Exit status: the number of failed instances; `?` is no failure.
    expect(&o, 2, &line("Starting", ". ! ! ? failed!"));
    assert!(
        stderr(&o).contains("no app loaded"),
        "the tail of the log on stderr: {}",
        stderr(&o)
    );
    assert!(
        took < Duration::from_secs(8),
        "took {took:?}: death not seen"
    );
    http_wait(port, HTTP);
    let hello = l.master("hello");
    assert_eq!(l.masters(), [hello], "no master of the broken apps is left");

    // Debian's status: a pidfile of a dead master is "dead, pidfile exists"
    // (1); without a pidfile, "not running" (3).
    let status = code(&l.initd(&["status", "bad1"]));
    assert!(status == 1 || status == 3, "status of a dead app: {status}");

    // Nothing is left of a failed start: no runtime dir, no pidfile.
    assert!(!l.rundir("bad1").exists());
    assert!(l.pidfile("hello").exists());

    // The modern face: exit 1, the reason on stderr.
    let o = l.apps(&["start", "--start-timeout", "10", "bad1"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stderr(&o).contains("bad1"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("missing.py"),
        "the log tail is missing: {}",
        stderr(&o)
    );
    // In JSON, with the log's tail; the running one is already running.
    let o = l.apps(&["start", "--start-timeout", "10", "bad1", "hello", "--json"]);
    assert_eq!(code(&o), 1);
    let doc = json(&o);
    assert_eq!(doc["instances"][0]["result"], "failed");
    assert!(doc["instances"][0]["log_tail"]
        .as_str()
        .is_some_and(|t| t.contains("missing.py")));
    assert_eq!(doc["instances"][1]["result"], "already-running");

    // Without a confspec: every enabled app, sorted by name, the failures
    // among them.
    initd_ok(&l, "stop", "hello");
    expect(&l.initd(&["start"]), 2, &line("Starting", "! ! . failed!"));
    http_wait(port, HTTP);
}

#[test]
fn start_timeout_fails_an_instance_that_never_becomes_ready() {
    let l = Live::new();
    // The master imports the app before it forks its workers (no
    // lazy-apps), so it never gets to READY=1.
    l.write_file(
        "srv/slow.py",
        "import time\ntime.sleep(300)\n\ndef application(e, s):\n    return []\n",
        0o644,
    );
    l.app_file(
        "slow.ini",
        &format!(
            "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{}\nwsgi-file = {}\n",
            common::live::free_port(),
            l.r.path("srv/slow.py").display()
        ),
    );
    let t = Instant::now();
    let o = l.apps(&["start", "--start-timeout", "2", "slow"]);
    let took = t.elapsed();
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(15),
        "took {took:?} with --start-timeout 2"
    );
    // Whatever was left of it, stop cleans up.
    let o = l.apps(&["stop", "--timeout", "2", "slow"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    l.wait_no_masters(Duration::from_secs(3));
}

// ---------------------------------------------------------------- stop

#[test]
fn an_app_with_die_on_term_stops_in_about_a_second() {
    let l = Live::new();
    let port = l.app("hello", "die-on-term = true\n");
    initd_ok(&l, "start", "hello");
    http_wait(port, HTTP);
    let pid = l.master("hello");

    let t = Instant::now();
    initd_ok(&l, "stop", "hello");
    let took = t.elapsed();
    assert!(!alive(pid));
    // SIGQUIT would make it reload and stop would wait its whole timeout.
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
}

#[test]
fn a_stop_right_after_a_start_does_not_hang() {
    // uWSGI 2.0.21 can lose a SIGINT that comes within milliseconds of its
    // READY=1; stop must still finish in seconds, not after its 30 s
    // timeout and SIGKILL.
    let l = Live::new();
    l.app("hello", "");
    for _ in 0..5 {
        assert_eq!(code(&l.apps(&["start", "hello"])), 0);
        let pid = l.master("hello");
        let started = Instant::now();
        let o = l.apps(&["stop", "hello"]);
        let took = started.elapsed();
        expect(&o, 0, "hello: stopped\n");
        assert!(took < Duration::from_secs(12), "stop took {took:?}");
        assert!(!alive(pid));
    }
}

// ----------------------------------------------------------- identity

#[test]
fn a_stale_pidfile_naming_a_live_sleep_is_never_signalled() {
    let l = Live::new();
    let port = l.app("hello", "");
    let sleep = l.spawn_sleep();
    l.fake_pidfile("hello", &format!("{sleep}\n"));

    // SIGHUP, SIGTERM, SIGINT and SIGKILL all end a sleep: it lives on only
    // if nothing was sent to it.
    assert_eq!(
        code(&l.initd(&["status", "hello"])),
        1,
        "dead, pidfile exists"
    );
    expect(
        &l.initd(&["reload", "hello"]),
        1,
        &line("Reloading", "! failed!"),
    );
    expect(
        &l.initd(&["force-reload", "hello"]),
        1,
        &line("Forced reloading", "! failed!"),
    );
    initd_ok(&l, "stop", "hello");
    assert!(alive(sleep), "the sleep was signalled");

    initd_ok(&l, "start", "hello");
    assert_eq!(http_wait(port, HTTP), "hello hello");
    let pid = l.master("hello");
    assert_ne!(pid, sleep, "start replaced the stale pidfile");
    assert!(alive(sleep), "the sleep was signalled by start");

    initd_ok(&l, "stop", "hello");
    assert!(!alive(pid));
    assert!(alive(sleep), "the sleep was signalled by the second stop");

    // The modern face too.
    l.fake_pidfile("hello", &format!("{sleep}\n"));
    let o = l.apps(&["start", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let pid = l.master("hello");
    assert_ne!(pid, sleep, "start did not replace the stale pidfile");
    http_wait(port, HTTP);
    assert_eq!(code(&l.apps(&["stop", "hello"])), 0);
    assert!(alive(sleep), "the sleep was signalled by the modern stop");
    assert!(!alive(pid));
}

#[test]
fn a_pidfile_with_garbage_is_replaced() {
    let l = Live::new();
    let port = l.app("hello", "");
    l.fake_pidfile("hello", "garbage\n");

    // "Dead, pidfile exists".
    let status = code(&l.initd(&["status", "hello"]));
    assert_eq!(status, 1, "status with garbage: {status}");
    initd_ok(&l, "stop", "hello");
    l.fake_pidfile("hello", "garbage\n");
    initd_ok(&l, "start", "hello");
    http_wait(port, HTTP);
    let pid = l.master("hello");
    assert!(is_uwsgi(pid));
    initd_ok(&l, "stop", "hello");
    assert!(!alive(pid));

    // Control characters, a negative number: still not a PID.
    l.fake_pidfile("hello", "not a pid \u{1b}[2J\n");
    assert_eq!(code(&l.initd(&["status", "hello"])), 1);
    expect(&l.apps(&["stop", "hello"]), 0, "hello: not running\n");
    l.fake_pidfile("hello", "-1\n");
    initd_ok(&l, "start", "hello");
    http_wait(port, HTTP);
}

// -------------------------------------------------------------- safety

#[test]
fn a_world_writable_config_is_refused_unless_the_check_is_off() {
    let l = Live::new();
    let port = l.app("hello", "");
    common::live::chmod(&l.r.available().join("hello.ini"), 0o666);

    let o = l.initd(&["start", "hello"]);
    expect(&o, 1, &line("Starting", "! failed!"));
    assert!(
        stderr(&o).contains("hello.ini"),
        "the message names the file: {}",
        stderr(&o)
    );
    // The path, the mode and the owner.
    let file = l.r.available().join("hello.ini").display().to_string();
    for part in [file.as_str(), "0666", "root"] {
        assert!(stderr(&o).contains(part), "{part}: {}", stderr(&o));
    }
    assert!(l.masters().is_empty(), "nothing ran");

    // A directory between the file and /etc/uwsgi that others can write
    // is as bad as the file itself.
    common::live::chmod(&l.r.available().join("hello.ini"), 0o644);
    common::live::chmod(&l.r.available(), 0o777);
    let o = l.initd(&["start", "hello"]);
    expect(&o, 1, &line("Starting", "! failed!"));
    assert!(
        stderr(&o).contains("apps-available"),
        "the message names the directory: {}",
        stderr(&o)
    );
    assert!(l.masters().is_empty(), "nothing ran");

    l.settings("CHECK_CONFIG_PERMISSIONS=no\n");
    initd_ok(&l, "start", "hello");
    assert_eq!(http_wait(port, HTTP), "hello hello");
}

// --------------------------------------------------------------- names

#[test]
fn a_name_with_a_space() {
    let l = Live::new();
    let port = l.app("my app", "");
    l.settings("PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\n");

    expect(
        &l.initd(&["start", "my app", "nope"]),
        0,
        &line("Starting", "'app/my app' app/nope? done."),
    );
    assert_eq!(http_wait(port, HTTP), "hello my app");
    expect(
        &l.initd(&["start", "my app"]),
        0,
        &line("Starting", "('app/my app') done."),
    );
    let pid = l.master("my app");
    expect_env(pid, "UWSGI_DEB_CONFNAME", "my app");
    assert_eq!(owner_mode(&l.rundir("my app")), (0, 0, 0o755));
    assert_eq!(code(&l.initd(&["status", "my app"])), 0);

    expect(
        &l.initd(&["stop", "my app"]),
        0,
        &line("Stopping", "'app/my app' done."),
    );
    assert!(!alive(pid));
    assert!(!l.rundir("my app").exists());
    // Without a confspec: every enabled app, the same name.
    expect(
        &l.initd(&["start", "my app"]),
        0,
        &line("Starting", "'app/my app' done."),
    );
    expect(
        &l.initd(&["stop"]),
        0,
        &line("Stopping", "'app/my app' done."),
    );
}

// --------------------------------------------------------- concurrency

#[test]
fn two_concurrent_starts_of_one_app_give_one_master() {
    let l = Live::new();
    let port = l.app("hello", "");
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| l.initd(&["start", "hello"]));
        let b = s.spawn(|| l.initd(&["start", "hello"]));
        (a.join(), b.join())
    });
    let (a, b) = (a.expect("first start"), b.expect("second start"));
    expect(&a, 0, &line("Starting", ". done."));
    expect(&b, 0, &line("Starting", ". done."));
    assert_eq!(http_wait(port, HTTP), "hello hello");
    let pid = l.master("hello");
    assert_eq!(l.masters(), [pid], "exactly one master");
    initd_ok(&l, "stop", "hello");
    assert!(!alive(pid));

    // The modern face: one says started, the other already running.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| l.apps(&["start", "hello"]));
        let b = s.spawn(|| l.apps(&["start", "hello"]));
        (a.join(), b.join())
    });
    let (a, b) = (a.expect("first start"), b.expect("second start"));
    assert_eq!((code(&a), code(&b)), (0, 0));
    let both = format!("{}{}", stdout(&a), stdout(&b));
    assert_eq!(both.matches("started").count(), 1, "{both}");
    assert_eq!(both.matches("already running").count(), 1, "{both}");
    assert_eq!(l.masters().len(), 1);
    http_wait(port, HTTP);
}

// -------------------------------------------------------------- reload

#[test]
fn reload_and_force_reload_keep_the_master_and_renew_its_workers() {
    let l = Live::new();
    let port = l.app("hello", "");
    initd_ok(&l, "start", "hello");
    http_wait(port, HTTP);
    let pid = l.master("hello");
    let argv = cmdline(pid);

    // uWSGI logs which kind of reload a signal asked for: SIGHUP is
    // graceful, SIGTERM brutal.
    let count = |what: &str| l.log("hello").matches(what).count();
    let graceful = "...gracefully killing workers...";
    let brutal = "...brutally killing workers...";
    assert_eq!((count(graceful), count(brutal)), (0, 0));

    let before = children(pid);
    expect(
        &l.initd(&["reload", "hello"]),
        0,
        &line("Reloading", ". done."),
    );
    let after = wait_new_workers(pid, &before, Duration::from_secs(20));
    assert_eq!((count(graceful), count(brutal)), (1, 0), "reload is SIGHUP");
    assert_eq!(http_wait(port, HTTP), "hello hello");
    assert_eq!(l.master("hello"), pid, "reload keeps the master");
    assert_eq!(cmdline(pid), argv);

    expect(
        &l.initd(&["force-reload", "hello"]),
        0,
        &line("Forced reloading", ". done."),
    );
    wait_new_workers(pid, &after, Duration::from_secs(20));
    assert_eq!(
        (count(graceful), count(brutal)),
        (1, 1),
        "force-reload is SIGTERM"
    );
    assert_eq!(http_wait(port, HTTP), "hello hello");
    assert_eq!(l.master("hello"), pid, "force-reload keeps the master");
    expect_env(pid, "UWSGI_DEB_CONFNAME", "hello");
}

#[test]
fn reload_with_wait_returns_once_the_new_workers_are_ready() {
    let l = Live::new();
    let port = l.app("hello", "");
    let o = l.apps(&["start", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    http_wait(port, HTTP);
    let pid = l.master("hello");

    for cmd in ["reload", "force-reload"] {
        let before = children(pid);
        let o = l.apps(&[cmd, "--wait", "--start-timeout", "20", "hello"]);
        assert_eq!(code(&o), 0, "{cmd}: {}{}", stdout(&o), stderr(&o));
        if cmd == "reload" {
            assert_eq!(stdout(&o), format!("hello: reloaded (pid {pid})\n"));
        }
        assert_eq!(l.pid("hello"), Some(pid), "{cmd}: the pidfile");
        // Ready means the old workers are gone and new ones run: no retry.
        let now = children(pid);
        assert!(
            !now.is_empty() && now.iter().all(|w| !before.contains(w)),
            "{cmd} --wait returned before the reload finished: {before:?} -> {now:?}"
        );
        assert_eq!(l.master("hello"), pid, "{cmd} keeps the master");
        assert_eq!(http_wait(port, Duration::from_secs(2)), "hello hello");
    }
}

#[test]
fn reload_of_an_instance_that_does_not_run_fails() {
    let l = Live::new();
    l.app("hello", "");
    expect(
        &l.initd(&["reload", "hello"]),
        1,
        &line("Reloading", "! failed!"),
    );
    expect(
        &l.initd(&["force-reload", "hello"]),
        1,
        &line("Forced reloading", "! failed!"),
    );
    let o = l.apps(&["reload", "hello"]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(l.masters().is_empty(), "reload started nothing");
}

// ------------------------------------------------------------- restart

#[test]
fn restart_gives_a_new_master() {
    let l = Live::new();
    let port = l.app("hello", "");

    // Restart of a stopped instance starts it.
    expect(
        &l.initd(&["restart", "hello"]),
        0,
        &line("Restarting", ". done."),
    );
    http_wait(port, HTTP);
    let first = l.master("hello");

    expect(
        &l.initd(&["restart", "hello"]),
        0,
        &line("Restarting", ". done."),
    );
    assert_eq!(http_wait(port, HTTP), "hello hello");
    let second = l.master("hello");
    assert_ne!(first, second);
    assert!(!alive(first), "the old master is gone");
    assert_eq!(l.masters(), [second], "one master");

    let o = l.apps(&["restart", "hello"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    http_wait(port, HTTP);
    let third = l.master("hello");
    assert_ne!(third, second);
    assert!(!alive(second));

    // A restart that stops the instance and cannot start it again has
    // changed what runs (the instance is gone); one more changes nothing.
    let broken = l.r.available().join("broken.ini");
    l.broken_app("broken");
    fs::rename(&broken, l.r.available().join("hello.ini")).unwrap();
    fs::remove_file(l.r.enabled().join("broken.ini")).unwrap();
    for want in [true, false] {
        let o = l.apps(&["restart", "--json", "--start-timeout", "10", "hello"]);
        assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
        assert_eq!(json(&o)["instances"][0]["changed"], want, "{}", stdout(&o));
        assert_eq!(json(&o)["instances"][0]["result"], "failed");
    }
    assert!(!alive(third));
}

// -------------------------------------------------------------- status

#[test]
fn status_gives_lsb_codes_and_the_worst_wins() {
    let l = Live::new();
    let port = l.app("run", "");
    l.app("idle", "");
    l.app("stale", "");
    let sleep = l.spawn_sleep();
    l.fake_pidfile("stale", &format!("{sleep}\n"));
    initd_ok(&l, "start", "run");
    http_wait(port, HTTP);

    for (args, want) in [
        (&["run"][..], 0),
        (&["idle"], 3),
        (&["stale"], 1),
        (&["nope"], 4),
        (&["run", "idle"], 3),
        (&["idle", "run", "stale"], 1),
        (&["stale", "nope", "run"], 4),
        (&[], 1),
    ] {
        let mut init = vec!["status"];
        init.extend_from_slice(args);
        let o = l.initd(&init);
        assert_eq!(code(&o), want, "initd status {args:?}: {}", stdout(&o));
        if !args.is_empty() {
            assert_eq!(
                stdout(&o).lines().count(),
                args.len(),
                "one line per instance: {}",
                stdout(&o)
            );
        }
        let o = l.apps(&init);
        assert_eq!(code(&o), want, "status {args:?}: {}", stdout(&o));
    }
    let o = l.apps(&["status", "--json", "run", "idle"]);
    assert_eq!(code(&o), 3);
    json(&o);
    let o = l.apps(&["status", "run", "idle"]);
    assert!(stdout(&o).contains("run: running (pid"), "{}", stdout(&o));
    assert!(stdout(&o).contains("idle: not running"), "{}", stdout(&o));
    assert!(alive(sleep), "status signalled the stale pidfile's process");
}

// -------------------------------------------------------------- modern

#[test]
fn modern_output_names_the_instance_and_its_pid() {
    let l = Live::new();
    let port = l.app("hello", "");
    let o = l.apps(&["start", "hello"]);
    http_wait(port, HTTP);
    let pid = l.master("hello");
    expect(&o, 0, &format!("hello: started (pid {pid})\n"));
    // SPEC: "its name, what happened and the pid"; the pid may be left out
    // when nothing happened.
    let again = l.apps(&["start", "hello"]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert!(
        [
            "hello: already running\n".to_string(),
            format!("hello: already running (pid {pid})\n")
        ]
        .contains(&stdout(&again)),
        "{}",
        stdout(&again)
    );

    let o = l.apps(&["start", "--json", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc = json(&o).to_string();
    assert!(doc.contains("hello"), "{doc}");
    // Already running: nothing changed (automation reads `changed`).
    assert_eq!(json(&o)["instances"][0]["changed"], false, "{doc}");

    let o = l.apps(&["status", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("hello"), "{}", stdout(&o));

    // Every operation that acts says whether it changed what runs.
    for args in [
        &["reload", "--json", "--wait", "hello"][..],
        &["restart", "--json", "hello"],
        &["force-reload", "--json", "--wait", "hello"],
    ] {
        let o = l.apps(args);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        assert_eq!(json(&o)["instances"][0]["changed"], true, "{args:?}");
    }
    let pid = l.master("hello");
    let o = l.apps(&["stop", "--json", "hello", "nope"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["instances"][0]["changed"], true);
    assert_eq!(doc["instances"][1]["changed"], false);
    assert!(!alive(pid));
    assert_eq!(code(&l.apps(&["status", "hello"])), 3);
    let o = l.apps(&["stop", "--json", "hello"]);
    assert_eq!(json(&o)["instances"][0]["changed"], false);
    // status changes nothing and has no such field.
    let o = l.apps(&["status", "--json", "hello"]);
    assert!(json(&o)["instances"][0].get("changed").is_none());
}

#[test]
fn modern_jobs_and_timeout_options() {
    let l = Live::new();
    let a = l.app("a", "");
    let b = l.app("b", "");
    let o = l.apps(&["start", "-j", "1", "b", "a"]);
    http_wait(a, HTTP);
    http_wait(b, HTTP);
    let (pa, pb) = (l.master("a"), l.master("b"));
    // Printed in the order named.
    expect(
        &o,
        0,
        &format!("b: started (pid {pb})\na: started (pid {pa})\n"),
    );

    let o = l.apps(&["stop", "--timeout", "5", "a", "b"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(!alive(pa) && !alive(pb));
    assert!(wait_gone(pa, Duration::ZERO));
    l.wait_no_masters(Duration::from_secs(3));
}

// ------------------------------------------------------ enapp/disapp --now

#[test]
fn enapp_now_starts_disapp_now_stops_and_list_shows_what_runs() {
    let l = Live::new();
    let port = common::live::free_port();
    let file = l.r.available().join("hello.ini");
    fs::write(
        &file,
        format!(
            "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {}\nneed-app = true\n",
            l.r.path("srv/app.py").display()
        ),
    )
    .unwrap();
    common::live::chmod(&file, 0o644);

    let o = l.r.run("uwsgi-enapp", &["--now", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let pid = l.pid("hello").expect("started by --now");
    assert_eq!(
        stdout(&o),
        format!("Enabling app hello.\nhello: started (pid {pid})\n")
    );
    http_wait(port, HTTP);

    let o = l.apps(&["list"]);
    assert_eq!(
        stdout(&o)
            .lines()
            .next()
            .map(|l| l.split('\t').take(6).collect::<Vec<_>>()),
        Some(vec![
            "hello",
            "ini",
            "enabled",
            "admin",
            "ok",
            &pid.to_string()
        ])
    );
    let doc = json(&l.apps(&["list", "--json"]));
    assert_eq!(doc["apps"][0]["pid"], pid);
    assert_eq!(doc["apps"][0]["running"], true);

    // Disabling a running app without --now: done, with a warning.
    let o = l.r.run("uwsgi-disapp", &["hello"]);
    assert_eq!(code(&o), 0);
    assert!(stderr(&o).contains("still running"), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("pid {pid}")), "{}", stderr(&o));
    assert!(alive(pid));
    // Its config is gone, but status still sees it, and it can still be
    // stopped by name.
    let o = l.apps(&["status", "hello"]);
    assert_eq!(code(&o), 0, "running: {}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!("running (pid {pid}")),
        "{}",
        stdout(&o)
    );
    expect(&l.apps(&["stop", "hello"]), 0, "hello: stopped\n");
    assert_eq!(
        code(&l.apps(&["status", "hello"])),
        4,
        "no such app, once stopped"
    );
    assert!(!alive(pid));

    let o = l.r.run("uwsgi-enapp", &["--now", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let pid = l.pid("hello").unwrap();
    let o = l.r.run("uwsgi-disapp", &["--now", "hello"]);
    expect(&o, 0, "hello: stopped\nApp hello disabled.\n");
    assert!(!alive(pid));
    assert!(!l.r.enabled().join("hello.ini").exists());
    let o = l.apps(&["list"]);
    assert!(
        stdout(&o).starts_with("hello\tini\tdisabled\tadmin\t-\t-\t-"),
        "{}",
        stdout(&o)
    );
}

// ------------------------------------------------------------- fixture

/// The fixture itself, without the front end: the command line SPEC §4
/// gives, run by hand, serves the app, and dropping the `Live` kills it.
/// When this fails, the other failures say nothing about the front end.
#[test]
fn fixture_runs_under_uwsgi_by_hand_and_is_cleaned_up() {
    let (pid, root) = {
        let l = Live::new();
        let port = l.app("hello", "");
        let (www_uid, www_gid) = www_data();
        fs::create_dir_all(l.rundir("hello")).unwrap();
        fs::create_dir_all(l.r.path("var/log/uwsgi/app")).unwrap();
        std::os::unix::fs::chown(l.rundir("hello"), Some(www_uid), Some(www_gid)).unwrap();
        let status = std::process::Command::new(DAEMON)
            .env_clear()
            .env("UWSGI_DEB_CONFNAMESPACE", "app")
            .env("UWSGI_DEB_CONFNAME", "hello")
            .arg("--ini")
            .arg(l.inherited())
            .arg("--ini")
            .arg(l.conffile("hello"))
            .arg("--daemonize")
            .arg(l.logfile("hello"))
            .arg("--pidfile")
            .arg(l.pidfile("hello"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(http_wait(port, HTTP), "hello hello", "{}", l.log("hello"));
        let pid = l.master("hello");
        assert!(!children(pid).is_empty());
        (pid, l.r.root.clone())
    };
    assert!(
        wait_gone(pid, Duration::from_secs(5)),
        "the guard killed it"
    );
    assert!(!root.exists(), "the root was removed");
}

// ------------------------------------------------ run-as, config formats

/// The uid of PID, from /proc/PID/status (real uid).
/// The real uid (`Uid:`) or gid (`Gid:`) of a process.
fn id_of(pid: i32, key: &str) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn uid_of(pid: i32) -> Option<u32> {
    id_of(pid, "Uid:")
}

#[test]
fn the_apps_uid_and_gid_win_over_the_inherited_ones() {
    let l = Live::new();
    let port = l.app("hello", "uid = nobody\ngid = nogroup\n");
    initd_ok(&l, "start", "hello");
    assert_eq!(http_wait(port, HTTP), "hello hello");
    let pid = l.master("hello");
    let nobody = nix::unistd::User::from_name("nobody")
        .ok()
        .flatten()
        .expect("the user nobody");
    let nogroup = nix::unistd::Group::from_name("nogroup")
        .ok()
        .flatten()
        .expect("the group nogroup");
    assert_eq!(
        owner_mode(&l.rundir("hello")),
        (0, 0, 0o755),
        "the run dir is root's, whoever the app runs as"
    );
    for w in children(pid) {
        assert_eq!(uid_of(w), Some(nobody.uid.as_raw()), "worker {w}");
        assert_eq!(id_of(w, "Gid:"), Some(nogroup.gid.as_raw()), "worker {w}");
    }
}

#[test]
fn each_config_format_is_loaded_with_its_own_option() {
    let l = Live::new();
    let app = l.r.path("srv/app.py");
    let app = app.display();
    let (yport, jport) = (common::live::free_port(), common::live::free_port());
    l.app_file(
        "ya.YAML",
        &format!(
            "uwsgi:\n  plugins: python3\n  http-socket: 127.0.0.1:{yport}\n  wsgi-file: {app}\n"
        ),
    );
    l.app_file(
        "js.json",
        &format!(
            "{{\"uwsgi\": {{\"plugins\": \"python3\", \"http-socket\": \"127.0.0.1:{jport}\", \"wsgi-file\": \"{app}\"}}}}\n"
        ),
    );
    expect(
        &l.initd(&["start", "ya", "js"]),
        0,
        &line("Starting", ". . done."),
    );
    assert_eq!(http_wait(yport, HTTP), "hello ya");
    assert_eq!(http_wait(jport, HTTP), "hello js");
    for (file, opt) in [("ya.YAML", "--yaml"), ("js.json", "--json")] {
        let conf = l.r.enabled().join(file);
        let master = l
            .masters()
            .into_iter()
            .find(|&m| cmdline(m).iter().any(|a| Path::new(a) == conf))
            .unwrap_or_else(|| panic!("no master runs {file}"));
        let argv = cmdline(master);
        assert_eq!(
            argv.get(3..5),
            Some(&[OsString::from(opt), conf.into_os_string()][..]),
            "{argv:?}"
        );
    }
    expect(&l.initd(&["stop"]), 0, &line("Stopping", ". . done."));
    l.wait_no_masters(Duration::from_secs(3));
}

#[test]
fn stopping_several_instances_signals_all_before_waiting() {
    let l = Live::new();
    let names = ["s1", "s2", "s3", "s4"];
    // One with die-on-term: Debian's SIGQUIT would make it reload, and
    // its stop would wait 30 s.
    let ports: Vec<u16> = names
        .iter()
        .map(|n| {
            l.app(
                n,
                if *n == "s1" {
                    "die-on-term = true\n"
                } else {
                    ""
                },
            )
        })
        .collect();
    expect(&l.initd(&["start"]), 0, &line("Starting", ". . . . done."));
    for p in &ports {
        http_wait(*p, HTTP);
    }
    let pids: Vec<i32> = names.iter().map(|n| l.master(n)).collect();

    // Each master takes about a second to bury its worker on SIGINT; one
    // after the other, four would take four.
    let t = Instant::now();
    expect(&l.initd(&["stop"]), 0, &line("Stopping", ". . . . done."));
    let took = t.elapsed();
    for pid in pids {
        assert!(!alive(pid));
    }
    assert!(took < Duration::from_millis(3500), "stop took {took:?}");
    assert!(l.uwsgi_processes().is_empty(), "workers survived stop");
}

// ------------------------------------------------------ harder failures

#[test]
fn stop_kills_an_instance_that_outlives_the_timeout() {
    let l = Live::new();
    // The app is loaded in the worker (lazy-apps) and makes it ignore
    // SIGINT, so the master waits for it far longer than --timeout.
    l.write_file(
        "srv/stubborn.py",
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n\
         signal.signal(signal.SIGTERM, signal.SIG_IGN)\n\n\
         def application(e, s):\n    s('200 OK', [])\n    return [b'stubborn']\n",
        0o644,
    );
    let port = common::live::free_port();
    l.app_file(
        "stubborn.ini",
        &format!(
            "[uwsgi]\nplugins = python3\nlazy-apps = true\nhttp-socket = 127.0.0.1:{port}\n\
             wsgi-file = {}\n",
            l.r.path("srv/stubborn.py").display()
        ),
    );
    let o = l.apps(&["start", "stubborn"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(http_wait(port, HTTP), "stubborn");
    let pid = l.master("stubborn");

    let t = Instant::now();
    let o = l.apps(&["stop", "--timeout", "2", "stubborn"]);
    let took = t.elapsed();
    assert!(!alive(pid), "SIGKILL after the timeout; stop took {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "stop took {took:?} with --timeout 2"
    );
    assert_eq!(
        code(&o),
        0,
        "stopped is stopped: {}{}",
        stdout(&o),
        stderr(&o)
    );
}

#[test]
fn reload_with_wait_fails_when_the_reloaded_app_dies() {
    let l = Live::new();
    let port = l.app("hello", "need-app = true\n");
    let o = l.apps(&["start", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    http_wait(port, HTTP);
    let pid = l.master("hello");

    // The app's file disappears; the reloaded master cannot load it.
    fs::remove_file(l.r.path("srv/app.py")).unwrap();
    let t = Instant::now();
    let o = l.apps(&["reload", "--wait", "--start-timeout", "10", "hello"]);
    let took = t.elapsed();
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    assert!(
        took < Duration::from_secs(8),
        "took {took:?}: the death was not seen"
    );
    assert!(wait_gone(pid, Duration::from_secs(5)));
}

#[test]
fn the_pidfile_stays_root_0644_after_a_reload_with_wait() {
    let l = Live::new();
    let port = l.app("hello", "");
    let o = l.apps(&["start", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    http_wait(port, HTTP);
    let o = l.apps(&["reload", "--wait", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(owner_mode(&l.pidfile("hello")), (0, 0, 0o644));
}

#[test]
fn another_namespace_has_its_own_dirs_and_environment() {
    let l = Live::new();
    let port = common::live::free_port();
    let avail = l.r.path("etc/uwsgi/sites-available");
    let enabled = l.r.path("etc/uwsgi/sites-enabled");
    fs::create_dir_all(&avail).unwrap();
    fs::create_dir_all(&enabled).unwrap();
    l.write_file(
        "etc/uwsgi/sites-available/blog.ini",
        &format!(
            "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {}\n",
            l.r.path("srv/app.py").display()
        ),
        0o644,
    );
    std::os::unix::fs::symlink("../sites-available/blog.ini", enabled.join("blog.ini")).unwrap();

    // Not among "all": that is apps-enabled only, as in Debian.
    let all = l.initd(&["start"]);
    assert_eq!(code(&all), 0, "{}", stderr(&all));
    assert!(
        l.masters().is_empty(),
        "start without confspec ran {:?}",
        l.masters()
    );

    l.settings("PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\n");
    expect(
        &l.initd(&["start", "site/blog"]),
        0,
        &line("Starting", "site/blog done."),
    );
    assert_eq!(http_wait(port, HTTP), "hello blog");
    let pidfile = l.r.path("run/uwsgi/site/blog/pid");
    let pid: i32 = fs::read_to_string(&pidfile)
        .expect("the pidfile in run/uwsgi/site/blog")
        .trim()
        .parse()
        .unwrap();
    expect_env(pid, "UWSGI_DEB_CONFNAMESPACE", "site");
    expect_env(pid, "UWSGI_DEB_CONFNAME", "blog");
    let argv = cmdline(pid);
    assert_eq!(
        argv.get(4),
        Some(&enabled.join("blog.ini").into_os_string())
    );
    assert_eq!(
        argv.get(6),
        Some(&l.r.path("var/log/uwsgi/site/blog.log").into_os_string())
    );
    assert_eq!(code(&l.initd(&["status", "site/blog"])), 0);
    expect(
        &l.initd(&["stop", "site/blog"]),
        0,
        &line("Stopping", "site/blog done."),
    );
    assert!(!alive(pid));
}

#[test]
fn confspecs_that_are_no_names_start_nothing() {
    let l = Live::new();
    l.app("hello", "");
    for spec in [
        "../hello",
        "app/../hello",
        "/hello",
        "a/b/c",
        "",
        ".",
        "app/",
    ] {
        let o = l.initd(&["start", spec]);
        let status = code(&o);
        assert!(
            status == 0 || status == 1,
            "start {spec:?}: exit {status}: {}",
            stderr(&o)
        );
        assert!(
            [line("Starting", "? done."), line("Starting", "! failed!")].contains(&stdout(&o)),
            "start {spec:?}: {}",
            stdout(&o)
        );
        assert!(l.masters().is_empty(), "start {spec:?} ran something");
    }
}

#[test]
fn a_daemon_that_does_not_exist_fails_the_start() {
    let l = Live::new();
    l.app("hello", "");
    let o = l.apps(&["--daemon", "/nonexistent/uwsgi", "initd", "start", "hello"]);
    expect(&o, 1, &line("Starting", "! failed!"));
    assert!(!stderr(&o).is_empty(), "the reason is given");
    assert!(l.masters().is_empty());
}

#[test]
fn ten_apps_start_in_parallel_and_all_serve() {
    let l = Live::new();
    let names: Vec<String> = (0..10).map(|i| format!("app{i:02}")).collect();
    let ports: Vec<u16> = names.iter().map(|n| l.app(n, "")).collect();
    let o = l.apps(&["start", "-j", "4"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 10, "{}", stdout(&o));
    for (name, port) in names.iter().zip(&ports) {
        // Ready means ready: the first try must answer.
        assert_eq!(
            http_get(*port).as_deref(),
            Ok(format!("hello {name}").as_str())
        );
        l.master(name);
    }
    let o = l.apps(&["stop"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    l.wait_no_masters(Duration::from_secs(3));
}

#[test]
fn a_pidfile_naming_another_instances_master_is_not_this_instance() {
    let l = Live::new();
    let other_port = l.app("other", "");
    let port = l.app("hello", "");
    initd_ok(&l, "start", "other");
    http_wait(other_port, HTTP);
    let other = l.master("other");
    let workers = children(other);
    l.fake_pidfile("hello", &format!("{other}\n"));

    // SPEC: never signal a process that is not this instance's master.
    let status = code(&l.initd(&["status", "hello"]));
    assert!(status == 1 || status == 3, "status of hello: {status}");
    initd_ok(&l, "stop", "hello");
    let o = l.initd(&["reload", "hello"]);
    assert_eq!(code(&o), 1, "hello does not run: {}", stdout(&o));
    assert!(alive(other), "stop hello stopped other");
    assert_eq!(children(other), workers, "reload hello reloaded other");

    initd_ok(&l, "start", "hello");
    assert_eq!(http_wait(port, HTTP), "hello hello");
    assert_ne!(l.master("hello"), other);
    assert_eq!(l.master("other"), other);
}

#[test]
fn an_empty_inherited_config_setting_runs_the_app_config_alone() {
    let l = Live::new();
    l.settings("INHERITED_CONFIG=\n");
    // Without the inherited config nothing names a uid: it runs as root.
    let port = l.app("hello", "master = true\nprocesses = 1\n");
    initd_ok(&l, "start", "hello");
    assert_eq!(http_wait(port, HTTP), "hello hello");
    let pid = l.master("hello");
    let want: Vec<OsString> = [
        Path::new(DAEMON),
        Path::new("--ini"),
        &l.conffile("hello"),
        Path::new("--logto"),
        &l.logfile("hello"),
        Path::new("--pidfile"),
        &l.pidfile("hello"),
    ]
    .iter()
    .map(|p| p.as_os_str().to_owned())
    .collect();
    assert_eq!(cmdline(pid), want);
    assert_eq!(owner_mode(&l.rundir("hello")), (0, 0, 0o755));
    initd_ok(&l, "stop", "hello");
    assert!(!alive(pid));
}

#[test]
fn a_missing_inherited_config_fails_the_start_before_anything_is_made() {
    let l = Live::new();
    l.settings("INHERITED_CONFIG=/usr/share/uwsgi/conf/gone.ini\n");
    l.app("hello", "master = true\nprocesses = 1\n");
    let o = l.initd(&["start", "hello"]);
    expect(&o, 1, &line("Starting", "! failed!"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("gone.ini"), "{err}");
    assert!(err.contains("INHERITED_CONFIG="), "{err}");
    // Nothing was made, nothing runs.
    assert!(!l.rundir("hello").exists());
    assert!(!l.pidfile("hello").exists());
}

// ------------------------------------------------------------ discovery

#[test]
fn a_confspec_named_twice_is_one_instance() {
    let l = Live::new();
    let port = l.app("hello", "");
    expect(
        &l.initd(&["start", "hello", "hello"]),
        0,
        &line("Starting", ". . done."),
    );
    http_wait(port, HTTP);
    let pid = l.master("hello");
    assert_eq!(l.masters(), [pid]);
    // Restart stops, then starts: both with the name twice.
    expect(
        &l.initd(&["restart", "hello", "hello"]),
        0,
        &line("Restarting", ". . done."),
    );
    http_wait(port, HTTP);
    assert!(!alive(pid));
    let pid = l.master("hello");
    l.settings("PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\n");
    expect(
        &l.initd(&["stop", "hello", "app/hello"]),
        0,
        &line("Stopping", "app/hello (app/hello) done."),
    );
    assert!(!alive(pid));
}

#[test]
fn two_confnames_linked_to_one_file_are_two_instances() {
    let l = Live::new();
    // No port of its own: each instance has only the inherited config's
    // Unix socket, whose path holds the confname.
    let text = format!(
        "[uwsgi]\nplugins = python3\nwsgi-file = {}\n",
        l.r.path("srv/app.py").display()
    );
    l.write_file("etc/uwsgi/apps-available/shared.ini", &text, 0o644);
    for name in ["one.ini", "two.ini"] {
        std::os::unix::fs::symlink("../apps-available/shared.ini", l.r.enabled().join(name))
            .unwrap();
    }
    expect(&l.initd(&["start"]), 0, &line("Starting", ". . done."));
    let (one, two) = (l.master("one"), l.master("two"));
    assert!(l.rundir("one").join("socket").exists() && l.rundir("two").join("socket").exists());
    expect(&l.initd(&["stop"]), 0, &line("Stopping", ". . done."));
    assert!(!alive(one) && !alive(two));
}

#[test]
fn enabled_apps_are_found_in_subdirectories_and_clashes_resolve_to_one() {
    let l = Live::new();
    // Two files for one confname: the .ini wins over the .yaml (SPEC's
    // extension order), with a warning.
    let port = l.app("hello", "");
    l.app_file(
        "hello.yaml",
        "uwsgi:\n  plugins: python3\n  http-socket: 127.0.0.1:1\n",
    );
    // Debian searches apps-enabled recursively.
    let deep_port = common::live::free_port();
    fs::create_dir_all(l.r.enabled().join("sub")).unwrap();
    l.write_file(
        "etc/uwsgi/apps-available/deep.ini",
        &format!(
            "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{deep_port}\nwsgi-file = {}\n",
            l.r.path("srv/app.py").display()
        ),
        0o644,
    );
    std::os::unix::fs::symlink(
        "../../apps-available/deep.ini",
        l.r.enabled().join("sub/deep.ini"),
    )
    .unwrap();
    // A dangling link is no app.
    std::os::unix::fs::symlink("../apps-available/gone.ini", l.r.enabled().join("gone.ini"))
        .unwrap();

    l.settings("PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\n");
    let o = l.initd(&["start"]);
    expect(&o, 0, &line("Starting", "app/deep app/hello done."));
    assert!(stderr(&o).contains("hello"), "a warning about the clash");
    assert_eq!(http_wait(port, HTTP), "hello hello");
    assert_eq!(http_wait(deep_port, HTTP), "hello deep");
    l.master("hello");
    let deep = l
        .masters()
        .into_iter()
        .find(|&m| {
            cmdline(m)
                .iter()
                .any(|a| Path::new(a) == l.r.enabled().join("sub/deep.ini"))
        })
        .expect("deep runs from apps-enabled/sub/deep.ini");
    expect_env(deep, "UWSGI_DEB_CONFNAME", "deep");
    assert!(l.r.path("run/uwsgi/app/deep/pid").exists());

    expect(
        &l.initd(&["start", "gone"]),
        0,
        &line("Starting", "app/gone? done."),
    );
    expect(
        &l.initd(&["stop"]),
        0,
        &line("Stopping", "app/deep app/hello done."),
    );
    l.wait_no_masters(Duration::from_secs(3));
}

#[test]
fn names_with_utf8_and_control_characters() {
    let l = Live::new();
    let cafe = l.app("café", "");
    let tab = l.app("a\tb", "");
    l.settings("PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\n");
    // Control characters are shown as '?'; a tab is white space only
    // before that replacement, as in Debian's sanitize_confname.
    expect(
        &l.initd(&["start", "café", "a\tb"]),
        0,
        &line("Starting", "app/café app/a?b done."),
    );
    assert_eq!(http_wait(cafe, HTTP), "hello café");
    assert_eq!(http_wait(tab, HTTP), "hello a\tb");
    expect_env(l.master("a\tb"), "UWSGI_DEB_CONFNAME", "a\tb");
    expect(
        &l.initd(&["stop"]),
        0,
        &line("Stopping", "app/a?b app/café done."),
    );
    l.wait_no_masters(Duration::from_secs(3));
}

#[test]
fn a_long_name_starts_when_its_config_binds_no_unix_socket() {
    let l = Live::new();
    l.settings("INHERITED_CONFIG=\n");
    // 100 bytes: /run/uwsgi/app/NAME/… is longer than a Unix socket
    // address can be (108 bytes), even on the real system.
    let name = "n".repeat(100);
    let port = l.app(&name, "master = true\nprocesses = 1\n");
    let o = l.initd(&["start", &name]);
    expect(&o, 0, &line("Starting", ". done."));
    assert_eq!(http_wait(port, HTTP), format!("hello {name}"));
    let pid = l.master(&name);
    initd_ok(&l, "stop", &name);
    assert!(!alive(pid));
}

// ------------------------------------------------------------- hostile

#[test]
fn an_app_cannot_make_root_chmod_a_file_through_its_pidfile() {
    let l = Live::new();
    // A file of someone else's, 0600: the app (www-data) may not read it.
    let secret = l.write_file("secret", "s3cret\n", 0o600);
    std::os::unix::fs::chown(&secret, Some(1234), Some(1234)).unwrap();
    // The app runs as www-data: while it loads, it tries to replace the
    // pidfile uWSGI just wrote with a link to the secret, and answers
    // with what came of it. (Its run dir is root's, so it cannot.)
    let pidfile = l.pidfile("evil");
    l.write_file(
        "srv/evil.py",
        &format!(
            "import os\n\
             try:\n    os.unlink({pid:?})\n    os.symlink({secret:?}, {pid:?})\n    RESULT = 'swapped'\n\
             except OSError as e:\n    RESULT = 'blocked: ' + e.strerror\n\n\
             def application(e, s):\n    s('200 OK', [])\n    return [RESULT.encode()]\n",
            pid = pidfile.display().to_string(),
            secret = secret.display().to_string(),
        ),
        0o644,
    );
    let port = common::live::free_port();
    l.app_file(
        "evil.ini",
        &format!(
            "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {}\n",
            l.r.path("srv/evil.py").display()
        ),
    );
    let o = l.initd(&["start", "evil"]);
    // It answers, so its import ran and tried.
    assert_eq!(
        http_wait(port, HTTP),
        "blocked: Permission denied",
        "{}",
        stderr(&o)
    );
    assert_eq!(
        owner_mode(&secret),
        (1234, 1234, 0o600),
        "the front end changed the file the pidfile link points to"
    );
}

/// For runs that could hang: a hung run is killed, and fails the test.
const SHORT: Duration = Duration::from_secs(15);

#[test]
fn a_fifo_as_pidfile_hangs_nothing() {
    let l = Live::new();
    let port = l.app("hello", "");
    // The run dir is the instance user's: it can put anything there.
    fs::create_dir_all(l.rundir("hello")).unwrap();
    nix::unistd::mkfifo(
        &l.pidfile("hello"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();

    let status = code(&l.apps_within(SHORT, &["initd", "status", "hello"]));
    assert!(status == 1 || status == 3, "status with a FIFO: {status}");
    expect(
        &l.apps_within(SHORT, &["initd", "stop", "hello"]),
        0,
        &line("Stopping", ". done."),
    );
    fs::create_dir_all(l.rundir("hello")).unwrap();
    let _ = fs::remove_file(l.pidfile("hello"));
    nix::unistd::mkfifo(
        &l.pidfile("hello"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    expect(
        &l.apps_within(SHORT, &["initd", "start", "hello"]),
        0,
        &line("Starting", ". done."),
    );
    assert_eq!(http_wait(port, HTTP), "hello hello");
    l.master("hello");
}
