//! Smoke tests of the systemd harness (`tests/common/systemd.rs`): a real
//! systemd as PID 1 of its own namespaces boots, runs units (the real
//! uWSGI among them), checks unit files, and leaves nothing behind. The
//! tests of the systemd engine build on exactly these properties.
//!
//! Each test prints how long its steps took (`--nocapture` shows it).

mod common;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::systemd::{self, Systemd};
use common::{code, stderr, stdout};

/// The host's marker of "booted with systemd". Every test on this machine
/// (and the product's `ENGINE=auto`) relies on its absence.
const HOST_SYSTEMD_MARKER: &str = "/run/systemd/system";

fn assert_host_marker_absent() {
    assert!(
        !Path::new(HOST_SYSTEMD_MARKER).exists(),
        "{HOST_SYSTEMD_MARKER} exists on the host"
    );
}

fn ok(what: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{what}: exit {}\nstdout: {}\nstderr: {}",
        code(out),
        stdout(out),
        stderr(out)
    );
}

/// The mount points of the host, to prove a namespace left none.
fn host_mount_points() -> BTreeSet<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .expect("read mountinfo")
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .collect()
}

const HELLO: &str = "\
[Unit]
Description=A oneshot with default dependencies (met by the stub targets)

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'echo \"hello $HARNESS_GREETING\"; cat /etc/uwsgi-harness-probe/probe.txt'
";

const FAILS: &str = "\
[Service]
Type=oneshot
ExecStart=/bin/false
";

/// The names in the host's /dev: a devtmpfs shared by every namespace.
fn host_dev_entries() -> BTreeSet<OsString> {
    fs::read_dir("/dev")
        .expect("read /dev")
        .flatten()
        .map(|e| e.file_name())
        .collect()
}

#[test]
fn boots_and_runs_a_oneshot_unit() {
    assert_host_marker_absent();
    let dev_before = host_dev_entries();
    let data = tempfile::tempdir().expect("temporary directory");
    fs::write(data.path().join("probe.txt"), "probe from the host\n").unwrap();
    let begin = Instant::now();
    let Some(sd) = Systemd::builder()
        .unit("hello.service", HELLO)
        .unit("fails.service", FAILS)
        // Missing on the host: the harness needs an overlay for it.
        .bind_ro(data.path(), "/etc/uwsgi-harness-probe")
        .env("HARNESS_GREETING", "from the test")
        .boot()
    else {
        return;
    };
    eprintln!("boot: {:?}", sd.boot_time());

    let out = sd.systemctl(&["is-system-running"]);
    assert_eq!(stdout(&out).trim(), "running", "{}", sd.diagnostics());
    // The manager is PID 1 of its namespace and /run/systemd/system exists
    // there, on the namespace's own /run only.
    assert_eq!(stdout(&sd.run(&["cat", "/proc/1/comm"])).trim(), "systemd");
    assert!(sd.inside_path(HOST_SYSTEMD_MARKER).is_dir());
    assert_host_marker_absent();

    assert_eq!(sd.is_active("hello.service"), "inactive");
    let t = Instant::now();
    ok(
        "start hello.service",
        &sd.systemctl(&["start", "hello.service"]),
    );
    eprintln!("systemctl start of a oneshot: {:?}", t.elapsed());
    assert_eq!(sd.is_active("hello.service"), "active");
    let journal = sd.journal("hello.service");
    assert!(
        journal.contains("hello from the test"),
        "the unit saw the fixture's environment:\n{journal}"
    );
    assert!(
        journal.contains("probe from the host"),
        "the unit read the bind-mounted file:\n{journal}"
    );

    let out = sd.systemctl(&["start", "fails.service"]);
    assert!(!out.status.success(), "starting a failing unit fails");
    assert_eq!(sd.is_active("fails.service"), "failed");

    // The host is out of reach: the bind target was made in an overlay,
    // and the host's root is read-only inside.
    assert!(!Path::new("/etc/uwsgi-harness-probe").exists());
    let out = sd.run(&["touch", "/usr/uwsgi-harness-probe"]);
    assert!(!out.status.success(), "the host's /usr is writable inside");
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new("/usr/uwsgi-harness-probe").exists());
    // Global sysctls (systemd as PID 1 raises fs.file-max and fs.nr_open)
    // are read-only inside; writing the value it has would change nothing.
    let out = sd.run(&[
        "sh",
        "-c",
        "cat /proc/sys/fs/nr_open > /proc/sys/fs/nr_open",
    ]);
    assert!(!out.status.success(), "/proc/sys is writable inside");
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    // journald's /dev/log went to the namespace's own /dev.
    ok("/dev/log inside", &sd.run(&["test", "-S", "/dev/log"]));
    let dev_now = host_dev_entries();
    assert!(
        dev_now == dev_before,
        "the host's /dev changed: new {:?}, gone {:?}",
        dev_now.difference(&dev_before).collect::<Vec<_>>(),
        dev_before.difference(&dev_now).collect::<Vec<_>>()
    );
    // The fixture's environment reaches commands run inside too.
    let out = sd.run(&["sh", "-c", "echo $HARNESS_GREETING"]);
    assert_eq!(stdout(&out).trim(), "from the test");

    drop(sd);
    assert_host_marker_absent();
    eprintln!("boots_and_runs_a_oneshot_unit: {:?}", begin.elapsed());
}

/// Port of the app inside the namespace: its network is private, so any
/// port is free there.
const PORT: u16 = 8080;

/// A WSGI app that loads slowly (so `systemctl start` must wait for
/// uWSGI's READY=1) and answers with the version file of its directory,
/// read when it loads (so a reload shows).
const APP: &str = "\
import time
time.sleep(1)
VERSION = open('/srv/harness-app/version').read().strip()

def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('hello ' + VERSION).encode()]
";

fn uwsgi_unit() -> String {
    format!(
        "[Unit]\n\
         Description=The real uWSGI under the harness\n\
         \n\
         [Service]\n\
         Type=notify\n\
         ExecStart=/usr/bin/uwsgi --plugins python3 --http-socket 127.0.0.1:{PORT} \
         --wsgi-file /srv/harness-app/app.py --master --processes 1\n\
         ExecReload=/bin/kill -HUP $MAINPID\n\
         KillSignal=SIGINT\n"
    )
}

#[test]
fn runs_the_real_uwsgi_as_a_notify_service() {
    let begin = Instant::now();
    let app = tempfile::tempdir().expect("temporary directory");
    fs::write(app.path().join("app.py"), APP).unwrap();
    fs::write(app.path().join("version"), "one\n").unwrap();
    let Some(sd) = Systemd::builder()
        .unit("web.service", &uwsgi_unit())
        .bind(app.path(), "/srv/harness-app")
        .boot()
    else {
        return;
    };
    eprintln!("boot: {:?}", sd.boot_time());
    assert_eq!(sd.is_active("web.service"), "inactive");

    // While the app loads (a second), the unit is activating.
    let t = Instant::now();
    ok(
        "start --no-block web.service",
        &sd.systemctl(&["start", "--no-block", "web.service"]),
    );
    let mut state = sd.is_active("web.service");
    while state == "inactive" && t.elapsed() < Duration::from_millis(500) {
        state = sd.is_active("web.service");
    }
    assert_eq!(state, "activating");
    // A start returns only once uWSGI said READY=1: after the app loaded,
    // and then the first request is answered.
    let out = sd.systemctl(&["start", "web.service"]);
    let took = t.elapsed();
    ok("start web.service", &out);
    eprintln!("systemctl start (Type=notify, 1 s app load): {took:?}");
    assert!(
        took >= Duration::from_secs(1),
        "start returned before the app loaded: {took:?}"
    );
    assert_eq!(sd.http_get(PORT).as_deref(), Ok("hello one"));
    assert_eq!(sd.is_active("web.service"), "active");
    let main_pid = sd.property("web.service", "MainPID");
    assert_ne!(main_pid, "0");

    // reload: SIGHUP makes uWSGI reload gracefully, in the same master,
    // and load the app again.
    fs::write(app.path().join("version"), "two\n").unwrap();
    let t = Instant::now();
    ok(
        "reload web.service",
        &sd.systemctl(&["reload", "web.service"]),
    );
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        match sd.http_get(PORT) {
            Ok(body) if body == "hello two" => break,
            answer => assert!(
                Instant::now() < end,
                "no new app after reload: {answer:?}\n{}",
                sd.journal("web.service")
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("reload until the new app answered: {:?}", t.elapsed());
    assert_eq!(sd.is_active("web.service"), "active");
    assert_eq!(sd.property("web.service", "MainPID"), main_pid);

    // stop: KillSignal=SIGINT is uWSGI's "shut down now".
    let t = Instant::now();
    let out = sd.systemctl(&["stop", "web.service"]);
    let took = t.elapsed();
    ok("stop web.service", &out);
    eprintln!("systemctl stop (KillSignal=SIGINT): {took:?}");
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
    assert_eq!(sd.is_active("web.service"), "inactive");
    assert_eq!(sd.property("web.service", "Result"), "success");
    assert!(sd.http_get(PORT).is_err(), "uWSGI still answers after stop");
    let journal = sd.journal("web.service");
    assert!(journal.contains("goodbye to uWSGI"), "{journal}");

    drop(sd);
    assert_host_marker_absent();
    eprintln!(
        "runs_the_real_uwsgi_as_a_notify_service: {:?}",
        begin.elapsed()
    );
}

const SLEEPER: &str = "\
[Service]
ExecStart=/bin/sleep 1000
";

/// What a namespace consists of, seen from the host.
struct Traces {
    pid1: i32,
    cgroup: PathBuf,
    pidns: OsString,
}

fn boot_with_processes() -> Option<(Systemd, Traces)> {
    let sd = Systemd::builder().unit("sleeper.service", SLEEPER).boot()?;
    ok(
        "start sleeper",
        &sd.systemctl(&["start", "sleeper.service"]),
    );
    // A process outside any unit, detached from everything: it too must die.
    ok(
        "a stray daemon",
        &sd.run(&["sh", "-c", "setsid sleep 1000 </dev/null >/dev/null 2>&1 &"]),
    );
    let traces = Traces {
        pid1: sd.pid1(),
        cgroup: sd.cgroup().to_path_buf(),
        pidns: fs::read_link(format!("/proc/{}/ns/pid", sd.pid1()))
            .expect("the manager's PID namespace")
            .into_os_string(),
    };
    let inside = systemd::processes_in_pidns(&traces.pidns);
    // systemd, journald, the sleeper, the stray sleep.
    assert!(inside.len() >= 4, "processes inside: {inside:?}");
    assert!(traces.cgroup.is_dir());
    Some((sd, traces))
}

fn assert_gone(traces: &Traces, mounts_before: &BTreeSet<String>) {
    let left = systemd::processes_in_pidns(&traces.pidns);
    assert!(left.is_empty(), "processes of the namespace left: {left:?}");
    assert!(!common::live::alive(traces.pid1), "PID 1 still alive");
    assert!(
        !traces.cgroup.exists(),
        "cgroup left behind: {}",
        traces.cgroup.display()
    );
    assert_eq!(
        &host_mount_points(),
        mounts_before,
        "the host's mounts changed"
    );
    assert_host_marker_absent();
}

#[test]
fn drop_leaves_no_process_cgroup_or_mount() {
    let begin = Instant::now();
    let mounts_before = host_mount_points();
    let Some((sd, traces)) = boot_with_processes() else {
        return;
    };
    let t = Instant::now();
    drop(sd);
    eprintln!("teardown: {:?}", t.elapsed());
    assert_gone(&traces, &mounts_before);

    // The same when the test panics with the fixture alive.
    let seen: std::sync::Mutex<Option<Traces>> = std::sync::Mutex::new(None);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (sd, traces) = boot_with_processes().expect("booted before");
        *seen.lock().unwrap() = Some(traces);
        let _keep = sd;
        panic!("intended: a test fails with its fixture alive");
    }));
    assert!(result.is_err());
    let traces = seen.into_inner().unwrap().expect("the fixture booted");
    assert_gone(&traces, &mounts_before);
    eprintln!(
        "drop_leaves_no_process_cgroup_or_mount: {:?}",
        begin.elapsed()
    );
}

const VERIFY_GOOD: &str = "\
[Unit]
Description=A right unit whose program exists only inside (bind-mounted)

[Service]
Type=notify
ExecStart=/usr/sbin/uwsgi-apps --version
ExecReload=/bin/kill -HUP $MAINPID
KillSignal=SIGINT

[Install]
WantedBy=multi-user.target
";

const VERIFY_BAD_TYPE: &str = "\
[Service]
Type=notifyy
ExecStart=relative/uwsgi
";

const VERIFY_TYPO: &str = "\
[Service]
ExecStartt=/usr/sbin/uwsgi-apps --version
";

const VERIFY_NO_PROGRAM: &str = "\
[Service]
ExecStart=/usr/sbin/uwsgi-apps-not-installed
";

#[test]
fn verify_catches_broken_units() {
    let begin = Instant::now();
    let Some(sd) = Systemd::builder()
        .unit("good.service", VERIFY_GOOD)
        .unit("bad-type.service", VERIFY_BAD_TYPE)
        .unit("typo.service", VERIFY_TYPO)
        .unit("no-program.service", VERIFY_NO_PROGRAM)
        .bind_ro(env!("CARGO_BIN_EXE_uwsgi-apps"), "/usr/sbin/uwsgi-apps")
        .boot()
    else {
        return;
    };
    // The built binary runs inside under its packaged path.
    ok(
        "uwsgi-apps --version",
        &sd.run(&["/usr/sbin/uwsgi-apps", "--version"]),
    );

    let t = Instant::now();
    let out = sd.verify(&["good.service"]);
    eprintln!("systemd-analyze verify (one unit): {:?}", t.elapsed());
    ok("verify good.service", &out);
    assert_eq!(stderr(&out), "", "a right unit gets no warning");

    for (unit, expected) in [
        ("bad-type.service", "Failed to parse service type"),
        ("typo.service", "Unknown key 'ExecStartt'"),
        ("no-program.service", "is not executable"),
    ] {
        let out = sd.verify(&[unit]);
        assert!(!out.status.success(), "verify passed {unit}");
        assert!(
            stderr(&out).contains(expected),
            "verify {unit}: expected {expected:?} in:\n{}",
            stderr(&out)
        );
    }
    drop(sd);
    eprintln!("verify_catches_broken_units: {:?}", begin.elapsed());
}

/// The mount plan needs no privilege: which targets get an overlay.
#[test]
fn overlays_go_on_the_outermost_existing_ancestors() {
    let host: BTreeSet<&str> = [
        "/",
        "/usr",
        "/usr/sbin",
        "/etc",
        "/etc/default",
        "/var",
        "/var/log",
    ]
    .into_iter()
    .collect();
    let exists = |p: &Path| host.contains(p.to_str().unwrap());
    let targets = [
        "/usr/sbin/uwsgi-apps",
        "/etc/uwsgi",
        "/etc/uwsgi/apps-enabled/x.ini",
        "/etc/default/uwsgi",
        "/run/uwsgi",
        "/var/log/uwsgi",
    ];
    let targets: Vec<&Path> = targets.iter().map(Path::new).collect();
    let overlays = systemd::plan_overlays(&targets, &exists).unwrap();
    assert_eq!(
        overlays,
        [
            Path::new("/etc"),
            Path::new("/usr/sbin"),
            Path::new("/var/log")
        ]
    );

    for bad in [
        "relative/x",
        "/etc/../x",
        "/proc/x",
        "/",
        "/run",
        "/nonexistent/x",
    ] {
        assert!(
            systemd::plan_overlays(&[Path::new(bad)], &exists).is_err(),
            "{bad} was accepted"
        );
    }
}
