//! What a field test on real Debian hosts found, each case against the
//! real uWSGI: reloads of threaded apps, bursts of reloads, apps that load
//! nothing, and what the front end says while it waits.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::live::{self, Live};
use common::show;

const HTTP_LIMIT: Duration = Duration::from_secs(20);

/// Radicale's shipped config, as far as a test app can have it: threads,
/// the cheaper subsystem, and an exec-as-root.
const RADICALE_LIKE: &str = "threads = 4\nworkers = 6\ncheaper = 2\n\
                             exec-as-root = true\nsingle-interpreter = true\n";

/// Issue 8.2: `reload --wait` of an app with threads always waited the
/// whole timeout and failed (a threaded worker's main thread sleeps in a
/// futex, so it never looked "settled"). Twenty in a row must succeed,
/// each within a few seconds, and the app keeps answering.
#[test]
fn reload_wait_of_a_threaded_app_succeeds_twenty_times() {
    let live = Live::new();
    let port = live.app("radi", RADICALE_LIKE);
    let out = live.apps(&["start", "radi"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let master = live.master("radi");
    for round in 0..20 {
        let started = Instant::now();
        let out = live.apps(&["reload", "--wait", "--start-timeout", "20", "radi"]);
        assert_eq!(out.status.code(), Some(0), "round {round}: {}", show(&out));
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "round {round} took {:?}",
            started.elapsed()
        );
        assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello radi");
    }
    assert_eq!(live.masters(), vec![master], "one master, the same");
    let log = live.log("radi");
    assert!(
        log.matches("gracefully (RE)spawned uWSGI master process")
            .count()
            >= 20,
        "every reload really happened: {log}"
    );
}

/// Issue 8.3: ten `service uwsgi reload` in a row killed the app in 2 of
/// 3 bursts (a SIGHUP reached the master while it re-executed, before it
/// handled SIGHUP again) while each said it succeeded. Twenty in a row,
/// init and modern faces, force-reload too: each exits 0 and the app
/// still answers with one master.
#[test]
fn a_burst_of_reloads_leaves_the_app_running() {
    let live = Live::new();
    let port = live.app("radi", RADICALE_LIKE);
    let out = live.initd(&["start", "radi"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let master = live.master("radi");
    for round in 0..20 {
        let args: &[&str] = match round % 4 {
            0 => &["initd", "reload", "radi"],
            1 => &["reload", "radi"],
            2 => &["initd", "force-reload", "radi"],
            _ => &["force-reload", "radi"],
        };
        let out = live.apps(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round} {args:?}: {}",
            show(&out)
        );
    }
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello radi");
    assert!(live::alive(master), "the master died");
    assert_eq!(live.masters(), vec![master]);
    // Every signal made a reload: none merged into one still under way.
    // uWSGI can take its whole 60 s worker mercy to end a reload (a
    // threaded worker that hangs on its way out, seen under heavy load),
    // and the reloads queued behind it then wait too: give it that long.
    let until = Instant::now() + Duration::from_secs(75);
    let respawns = || {
        live.log("radi")
            .matches("gracefully (RE)spawned uWSGI master process")
            .count()
    };
    while respawns() < 20 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(respawns(), 20, "{}", live.log("radi"));
    let out = live.initd(&["status", "radi"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// Issue 8.6: a config uWSGI reads no option from (`[uwsgi` without its
/// `]`), or one whose plugin does not exist, runs "in full dynamic mode"
/// and serves nothing; `start` said `. done.` and nothing else. Now it
/// warns on stderr, naming the app and the log's line, after the line.
#[test]
fn start_warns_about_an_app_that_loads_nothing() {
    let live = Live::new();
    let broken_header = format!(
        "[uwsgi\nplugins = python3\nhttp-socket = 127.0.0.1:{}\nwsgi-file = {}\n",
        live::free_port(),
        live.r.path("srv/app.py").display()
    );
    live.app_file("nohead.ini", &broken_header);
    live.app_file(
        "noplug.ini",
        &format!(
            "[uwsgi]\nplugins = nosuchplugin\nhttp-socket = 127.0.0.1:{}\nwsgi-file = {}\n",
            live::free_port(),
            live.r.path("srv/app.py").display()
        ),
    );
    for name in ["nohead", "noplug"] {
        let out = live.initd(&["start", name]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stdout,
            "Starting app server(s): uwsgi -> . done.\n",
            "{name}: the line stays whole: {}",
            show(&out)
        );
        assert!(
            stderr.contains(&format!("warning: {name}: it runs but loaded no app"))
                && stderr.contains("*** no app loaded"),
            "{name}: {}",
            show(&out)
        );
    }
    // On a terminal both streams are one: the warnings come after the
    // progress line, never inside it (issue 8.7).
    let out = std::process::Command::new("sh")
        .args(["-c", "exec \"$0\" initd restart nohead noplug 2>&1"])
        .arg(live.r.applet("uwsgi-apps"))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("UWSGI_APPS_ROOT", &live.r.root)
        .output()
        .unwrap();
    let both = String::from_utf8_lossy(&out.stdout);
    assert!(
        both.starts_with("Restarting app server(s): uwsgi -> . . done.\n")
            && both.contains("warning: nohead: it runs but loaded no app")
            && both.contains("warning: noplug: it runs but loaded no app"),
        "one stream: {both}"
    );
}

/// Issue 8.7: a `stop` queued behind a `start` that waits for readiness
/// printed nothing for up to the start timeout. Now it says at once what
/// it waits for (the holder's pid and command line).
#[test]
fn a_stop_queued_behind_a_start_says_what_it_waits_for() {
    let live = Live::new();
    // An app that takes its time to load (READY=1 comes after 3 s).
    let port = live.slow_app("slow");
    let mut start = live.r.cmd("uwsgi-apps");
    let start_cmd = start.args(["start", "slow"]);
    let mut starter = std::process::Command::new(start_cmd.get_program());
    starter
        .args(start_cmd.get_args())
        .env_clear()
        .envs(start_cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
    let starter_pid = live.spawn(starter);
    // Let the start take its lock.
    std::thread::sleep(Duration::from_millis(700));
    let started = Instant::now();
    let out = live.apps(&["stop", "slow"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("waiting for pid {starter_pid}"))
            && stderr.contains("uwsgi-apps start slow"),
        "{}",
        show(&out)
    );
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "slow: stopped\n");
    assert!(live::http_get(port).is_err());
}

/// Issue 8.7: "within 7 s" for `--start-timeout 8`. The timeout message
/// names the timeout that was set.
#[test]
fn the_timeout_message_names_the_timeout_set() {
    let live = Live::new();
    live.write_file("srv/hang.py", "import time\ntime.sleep(60)\n", 0o644);
    live.app_file(
        "hang.ini",
        &format!(
            "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{}\nwsgi-file = {}\n",
            live::free_port(),
            live.r.path("srv/hang.py").display()
        ),
    );
    let out = live.apps(&["start", "--start-timeout", "3", "hang"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("did not report READY=1 within 3 s"),
        "{}",
        show(&out)
    );
    let out = live.apps(&["stop", "hang"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(live.masters().is_empty());
    let _ = fs::remove_file(live.r.path("srv/hang.py"));
}
