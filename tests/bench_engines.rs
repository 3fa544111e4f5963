//! Not a test: the benchmark of the three engines (every test here is
//! `#[ignore]`d; `bench/engines.sh` runs them with `--ignored`). It prints
//! numbers and asserts only that the apps really ran. Start and stop of N
//! apps (N=50 by default) under the daemon engine and the Emperor engine
//! (under a temporary `--root`), and under the systemd engine through
//! `uwsgi.service` (a real systemd in its own namespaces, the package's
//! units); and for each, the stop of one app, the floor a stop of many is
//! compared with.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::live::{self, Live};
use common::package_host::Host;
use common::systemd::Systemd;

fn n() -> usize {
    std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

fn timed(what: &str, f: impl FnOnce() -> Output) -> Duration {
    let t = Instant::now();
    let out = f();
    let d = t.elapsed();
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    d
}

/// Workers a few ms old lose the SIGINT of a stop (uWSGI 2.0.21), and
/// every front end would then measure uWSGI's 60 s mercy: let them settle.
fn settle() {
    std::thread::sleep(Duration::from_secs(1));
}

fn row(engine: &str, n: usize, start: Duration, stop: Duration, one: Duration) {
    println!(
        "{engine:<8} start {n}: {:>6.2} s   stop {n}: {:>6.2} s   stop 1: {:>5.2} s   stop {n} / stop 1: {:>4.2}x",
        start.as_secs_f64(),
        stop.as_secs_f64(),
        one.as_secs_f64(),
        stop.as_secs_f64() / one.as_secs_f64()
    );
    // For bench/engines.sh, which takes medians and ratios across runs.
    println!(
        "bench-row {engine} {n} {:.3} {:.3} {:.3}",
        start.as_secs_f64(),
        stop.as_secs_f64(),
        one.as_secs_f64()
    );
}

fn under_root(engine: &str, settings: &str) {
    let n = n();
    let live = Live::new();
    live.settings(settings);
    let ports: Vec<u16> = (0..n).map(|i| live.app(&format!("a{i:03}"), "")).collect();
    let start = timed("start", || live.initd(&["start"]));
    for (i, port) in ports.iter().enumerate() {
        assert_eq!(
            live::http_wait(*port, Duration::from_secs(30)),
            format!("hello a{i:03}")
        );
    }
    settle();
    let stop = timed("stop", || live.initd(&["stop"]));
    timed("start one", || live.initd(&["start", "a000"]));
    settle();
    let one = timed("stop one", || live.initd(&["stop", "a000"]));
    row(engine, n, start, stop, one);
}

#[test]
#[ignore]
fn bench_daemon_engine() {
    under_root("daemon", "ENGINE=daemon\n");
}

#[test]
#[ignore]
fn bench_emperor_engine() {
    under_root("emperor", "ENGINE=emperor\n");
}

/// A manager with the package's units and N enabled apps (a000, a001, …
/// on ports 9000, 9001, …).
fn systemd_host(n: usize) -> Option<Host> {
    let host = Host::boot("")?;
    for i in 0..n {
        host.app(&format!("a{i:03}"), 9000 + i as u16, "");
    }
    Some(host)
}

#[test]
#[ignore]
fn bench_systemd_engine() {
    let n = n();
    let Some(host) = systemd_host(n) else {
        return;
    };
    let sd = &host.sd;
    let start = timed("systemctl start uwsgi", || {
        sd.systemctl(&["start", "uwsgi.service"])
    });
    for i in 0..n {
        assert_eq!(
            sd.http_get(9000 + i as u16).as_deref(),
            Ok(format!("hello a{i:03}").as_str()),
            "a{i:03}"
        );
    }
    settle();
    let stop = timed("systemctl stop uwsgi", || {
        sd.systemctl(&["stop", "uwsgi.service"])
    });
    timed("start one", || {
        sd.systemctl(&["start", "uwsgi@a000.service"])
    });
    settle();
    let one = timed("stop one", || sd.systemctl(&["stop", "uwsgi@a000.service"]));
    row("systemd", n, start, stop, one);
}

/// Where the systemd engine's start and stop of many spend their time:
/// through `uwsgi.service` (our `group` commands) against `systemctl`
/// acting on the N units by name (systemd's own cost, and the floor of
/// this engine), with the CPU that systemd's PID 1 and journald used
/// meanwhile.
#[test]
#[ignore]
fn bench_systemd_parts() {
    let n = n();
    let Some(host) = systemd_host(n) else {
        return;
    };
    let sd = &host.sd;
    let units: Vec<String> = (0..n).map(|i| format!("uwsgi@a{i:03}.service")).collect();
    let by_name = |verb: &str| -> Vec<String> {
        let mut args = vec![verb.to_owned(), "--".to_owned()];
        args.extend(units.iter().cloned());
        args
    };
    // Each way twice, so that loading the N units (on the first start)
    // counts against neither.
    let group = |verb: &str| vec![verb.to_owned(), "uwsgi.service".to_owned()];
    let steps = [
        group("start"),
        group("stop"),
        by_name("start"),
        by_name("stop"),
        group("start"),
        group("stop"),
        by_name("start"),
        by_name("stop"),
    ];
    // What one look at every unit costs (the group commands take one
    // before and one after acting).
    let mut show = vec!["show", "-p", "Id,ActiveState,MainPID", "--"];
    show.extend(units.iter().map(String::as_str));
    let d = timed("systemctl show", || sd.systemctl(&show));
    println!("systemctl show of {n} units: {:.3} s", d.as_secs_f64());
    for (k, how) in steps.iter().enumerate() {
        if how[0] == "stop" {
            settle();
        }
        let how: Vec<&str> = how.iter().map(String::as_str).collect();
        let before = cpu_of_managers(sd);
        let d = timed("systemctl", || sd.systemctl(&how));
        let after = cpu_of_managers(sd);
        let what = if k % 4 < 2 {
            "uwsgi.service"
        } else {
            "the units by name"
        };
        println!(
            "systemctl {} {what}: {:.2} s; CPU meanwhile: PID 1 {:.2} s, journald {:.2} s",
            how[0],
            d.as_secs_f64(),
            after.0 - before.0,
            after.1 - before.1
        );
    }
}

/// The CPU seconds (user + system) used so far by the namespace's PID 1
/// and by its journald, from their `/proc/PID/stat`.
fn cpu_of_managers(sd: &Systemd) -> (f64, f64) {
    let out = sd.run(&[
        "sh",
        "-c",
        "cat /proc/1/stat; cat /proc/$(pidof systemd-journald)/stat 2>/dev/null || echo",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let ticks = |line: &str| -> f64 {
        // Fields after the command's closing parenthesis: utime and stime
        // are the 12th and 13th of them.
        let Some((_, rest)) = line.rsplit_once(") ") else {
            return 0.0;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let t: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
        t as f64 / 100.0
    };
    let mut lines = text.lines();
    (
        ticks(lines.next().unwrap_or("")),
        ticks(lines.next().unwrap_or("")),
    )
}
