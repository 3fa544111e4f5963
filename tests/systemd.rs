//! The systemd engine for real: a real systemd (tests/common/systemd.rs)
//! runs the package's own unit files with the real uWSGI, and the built
//! binary where the units expect it, on a host of
//! tests/common/package_host.rs: inside the test's namespaces the real
//! paths are the test's own files, bind-mounted; `/run` is the
//! namespace's. Nothing of the host changes.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::live::chmod;
use common::package_host::{repo, src, Host, HTTP_LIMIT};
use common::show;

#[test]
fn one_app_starts_stops_and_reports_through_its_own_unit() {
    let Some(h) = Host::boot("") else { return };
    h.app("hello", 8001, "");
    let out = h.apps(&["start", "hello"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        show(&out),
        h.sd.diagnostics()
    );
    assert_eq!(h.http_wait(8001), "hello hello");
    assert_eq!(h.sd.is_active("uwsgi@hello.service"), "active");
    let pid = h.main_pid("uwsgi@hello.service");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("hello: started (pid {pid})")),
        "{}",
        show(&out)
    );
    let out = h.apps(&["status", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // Started again: the same master, and said so.
    let out = h.apps(&["start", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("hello: already running (pid {pid})")),
        "{}",
        show(&out)
    );
    assert_eq!(h.main_pid("uwsgi@hello.service"), pid);
    let out = h.apps(&["stop", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("hello: stopped"),
        "{}",
        show(&out)
    );
    assert_eq!(h.sd.is_active("uwsgi@hello.service"), "inactive");
    // Stopped again: it was not running.
    let out = h.apps(&["stop", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("hello: not running"),
        "{}",
        show(&out)
    );
    assert!(h.sd.http_get(8001).is_err());
    let out = h.apps(&["status", "hello"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(h.log("hello").contains("WSGI app 0"), "{}", h.log("hello"));
    let run_dir = h.sd.inside_path("/run/uwsgi/app/hello");
    assert!(!run_dir.exists(), "the stop left {}", run_dir.display());
}

/// However a unit stops, its ExecStopPost removes the app's runtime dir
/// (pidfile, sockets): `systemctl stop uwsgi@NAME` alone leaves a stopped
/// app, as `uwsgi-apps stop` does, and so does `systemctl stop uwsgi` for
/// an app disabled while it ran.
#[test]
fn a_stop_by_systemctl_leaves_no_runtime_dir() {
    let Some(h) = Host::boot("") else { return };
    h.app("hello", 8001, "");
    let out = h.apps(&["start", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let run_dir = h.sd.inside_path("/run/uwsgi/app/hello");
    assert!(run_dir.join("pid").is_file(), "{}", run_dir.display());
    let out = h.sd.systemctl(&["stop", "uwsgi@hello.service"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        !run_dir.exists(),
        "systemctl stop left {}",
        run_dir.display()
    );
    let out = h.apps(&["status", "hello"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let out = h.apps(&["doctor", "--json", "hello"]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("stale-pidfile"),
        "{}",
        show(&out)
    );
    // A pidfile left all the same (by hand here) is what it is under every
    // engine: "dead, pidfile exists", a doctor finding, and `uwsgi-apps
    // stop` clears it.
    let made = h.sd.run(&[
        "sh",
        "-c",
        "install -d -m 0755 /run/uwsgi/app/hello && echo 999999 > /run/uwsgi/app/hello/pid",
    ]);
    assert!(made.status.success(), "{}", show(&made));
    let out = h.apps(&["status", "hello"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let out = h.apps(&["doctor", "--json", "hello"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("stale-pidfile"),
        "{}",
        show(&out)
    );
    let out = h.apps(&["stop", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        !run_dir.exists(),
        "uwsgi-apps stop left {}",
        run_dir.display()
    );
    // Through uwsgi.service, with an app disabled while it runs.
    h.app("gone", 8002, "");
    let out = h.sd.systemctl(&["start", "uwsgi.service"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(h.http_wait(8001), "hello hello");
    assert_eq!(h.http_wait(8002), "hello gone");
    let out = h.apps(&["disable", "gone"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = h.sd.systemctl(&["stop", "uwsgi.service"]);
    assert!(out.status.success(), "{}", show(&out));
    // The disabled app's stop is one of the group's own, and said.
    let journal = h.sd.journal("uwsgi.service");
    assert!(journal.contains("gone: stopped"), "{journal}");
    for app in ["hello", "gone"] {
        let dir = h.sd.inside_path(&format!("/run/uwsgi/app/{app}"));
        assert!(!dir.exists(), "systemctl stop uwsgi left {}", dir.display());
        assert_eq!(h.sd.is_active(&format!("uwsgi@{app}.service")), "inactive");
    }
}

/// The package's units are valid, and the sandbox of an app's unit rates
/// "OK" (overall exposure below 5.0) in `systemd-analyze security`; an
/// administrator's ProtectSystem=full (a drop-in) keeps apps running.
#[test]
fn the_units_verify_and_the_sandbox_rates_ok() {
    let Some(h) = Host::boot("") else { return };
    let out = h.sd.verify(&["uwsgi@.service", "uwsgi.service"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "",
        "verify said something: {}",
        show(&out)
    );
    let out = h.sd.run(&[
        "systemd-analyze",
        "security",
        "--no-pager",
        "--threshold=49",
        "uwsgi@x.service",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(" OK "),
        "exposure above 4.9: {}",
        show(&out)
    );
    // The read-only /usr and /etc that the README says how to add (the
    // unit has no mount namespace, for speed): apps still run with it.
    let dropins = h.sd.unit_dir().join("uwsgi@.service.d");
    fs::create_dir_all(&dropins).unwrap();
    h.sd.install_unit(
        "uwsgi@.service.d/protect.conf",
        "[Service]\nProtectSystem=full\n",
    );
    assert_eq!(h.property("uwsgi@hello.service", "ProtectSystem"), "full");
    h.app("hello", 8001, "");
    let out = h.apps(&["start", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(h.http_wait(8001), "hello hello");
    let out = h.apps(&["stop", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// Debian's init output for one app, through its unit, run directly
/// (not through /usr/sbin/service, which would drop the name).
#[test]
fn the_init_script_run_directly_acts_on_one_unit() {
    let Some(h) = Host::boot("") else { return };
    h.app("hello", 8001, "");
    h.app("other", 8002, "");
    let init = src("debian/uwsgi-apps.uwsgi.init");
    let init = init.to_str().unwrap();
    let out = h.sd.run(&["sh", init, "start", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Starting app server(s): uwsgi -> . done.\n"
    );
    assert_eq!(h.sd.is_active("uwsgi@hello.service"), "active");
    assert_eq!(h.sd.is_active("uwsgi@other.service"), "inactive");
    let out = h.sd.run(&["sh", init, "status", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "uwsgi is running.\n");
    let out = h.sd.run(&["sh", init, "reload", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = h.sd.run(&["sh", init, "restart", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(h.http_wait(8001), "hello hello");
    let out = h.sd.run(&["sh", init, "stop", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(h.sd.is_active("uwsgi@hello.service"), "inactive");
    let out = h.sd.run(&["sh", init, "status", "hello"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
}

/// `uwsgi.service` groups the apps: start starts every enabled app (a
/// broken one fails the group's start, the others run), reload starts the
/// newly enabled and reloads the others (same masters, new workers),
/// stop returns once every app is stopped, restart brings all back.
#[test]
fn the_group_unit_starts_reloads_and_stops_every_app() {
    let Some(h) = Host::boot("") else { return };
    h.app("a", 8001, "");
    h.app("b", 8002, "");
    h.app(
        "broken",
        8003,
        "need-app = true\nwsgi-file = /srv/uwsgi-test/missing.py\n",
    );
    let out = h.sd.systemctl(&["start", "uwsgi.service"]);
    assert!(
        !out.status.success(),
        "a broken app fails the group's start"
    );
    assert_eq!(h.sd.is_active("uwsgi.service"), "failed");
    assert_eq!(h.http_wait(8001), "hello a");
    assert_eq!(h.http_wait(8002), "hello b");
    assert_eq!(
        h.sd.is_active("uwsgi@broken.service"),
        "inactive",
        "not left restarting"
    );

    // Fix the group: disable the broken app, enable another one.
    fs::remove_file(h.tmp.path().join("etc-uwsgi/apps-enabled/broken.ini")).unwrap();
    let out = h.sd.systemctl(&["start", "uwsgi.service"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        show(&out),
        h.sd.journal("uwsgi.service")
    );
    let (a, b) = (h.main_pid("uwsgi@a.service"), h.main_pid("uwsgi@b.service"));
    h.app("c", 8004, "");
    let out = h.sd.systemctl(&["reload", "uwsgi.service"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        h.http_wait(8004),
        "hello c",
        "reload starts the newly enabled app"
    );
    assert_eq!(
        (h.main_pid("uwsgi@a.service"), h.main_pid("uwsgi@b.service")),
        (a, b),
        "reload keeps the masters"
    );
    let until = Instant::now() + HTTP_LIMIT;
    while !h.log("a").contains("gracefully (RE)spawned") {
        assert!(Instant::now() < until, "a was not reloaded: {}", h.log("a"));
        std::thread::sleep(Duration::from_millis(100));
    }

    let out = h.sd.systemctl(&["restart", "uwsgi.service"]);
    assert!(out.status.success(), "{}", show(&out));
    for (unit, port) in [("a", 8001), ("b", 8002), ("c", 8004)] {
        assert_eq!(h.http_wait(port), format!("hello {unit}"));
    }
    assert_ne!(h.main_pid("uwsgi@a.service"), a, "restart made new masters");

    let out = h.sd.systemctl(&["stop", "uwsgi.service"]);
    assert!(out.status.success(), "{}", show(&out));
    for unit in ["a", "b", "c"] {
        assert_eq!(h.sd.is_active(&format!("uwsgi@{unit}.service")), "inactive");
    }
    // Each app's stop is said once.
    let journal = h.sd.journal("uwsgi.service");
    let last_stop = &journal[journal.rfind("Stopping uwsgi.service").unwrap_or(0)..];
    assert_eq!(last_stop.matches("a: stopped").count(), 1, "{last_stop}");
    assert!(!last_stop.contains("not running"), "{last_stop}");
    let ps = h.sd.run(&["pgrep", "-c", "uwsgi-core"]);
    assert_eq!(
        String::from_utf8_lossy(&ps.stdout).trim(),
        "0",
        "a master outlived the stop"
    );
}

/// SIGQUIT, which Debian's uwsgi-app@.service sends, reloads an app with
/// `die-on-term`; SIGINT stops it at once.
#[test]
fn an_app_with_die_on_term_stops_in_under_two_seconds() {
    let Some(h) = Host::boot("") else { return };
    h.app("dot", 8001, "die-on-term = true\n");
    for stop in [
        &["systemctl", "stop", "uwsgi@dot.service"][..],
        &["/usr/sbin/uwsgi-apps", "stop", "dot"],
    ] {
        let out = h.apps(&["start", "dot"]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        assert_eq!(h.http_wait(8001), "hello dot");
        let started = Instant::now();
        let out = h.sd.run(stop);
        assert!(out.status.success(), "{stop:?}: {}", show(&out));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{stop:?} took {:?}",
            started.elapsed()
        );
        assert_eq!(h.sd.is_active("uwsgi@dot.service"), "inactive");
    }
}

/// An app that crashes while loading fails its unit; `start` reports `!`
/// with the tail of the app's log, and the unit is not left restarting.
#[test]
fn a_crashing_app_fails_its_unit_and_start_shows_the_log() {
    let Some(h) = Host::boot("") else { return };
    h.app(
        "broken",
        8001,
        "need-app = true\nwsgi-file = /srv/uwsgi-test/missing.py\n",
    );
    let out = h.apps(&["initd", "start", "broken"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Starting app server(s): uwsgi -> ! failed!\n"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("uwsgi@broken.service failed to start")
            && err.contains("last lines of its log")
            && err.contains("missing.py"),
        "{}",
        show(&out)
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(h.sd.is_active("uwsgi@broken.service"), "inactive");
    let run_dir = h.sd.inside_path("/run/uwsgi/app/broken");
    assert!(
        !run_dir.exists(),
        "the failed start left {}",
        run_dir.display()
    );
}

/// A refused config (writable by others) or run dir (the app user's) is
/// reported with its reason and its unit never runs it; the unit itself
/// refuses it too (exit 78, no restart), and a name that is not enabled
/// exits 6.
#[test]
fn refusals_come_with_their_reason_and_are_not_retried() {
    let Some(h) = Host::boot("") else { return };
    h.app("open", 8001, "");
    chmod(
        &h.tmp.path().join("etc-uwsgi/apps-available/open.ini"),
        0o666,
    );
    let out = h.apps(&["start", "open"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("0666"),
        "{}",
        show(&out)
    );
    let out = h.sd.systemctl(&["start", "uwsgi@open.service"]);
    assert!(!out.status.success());
    assert_eq!(h.property("uwsgi@open.service", "ExecMainStatus"), "78");
    let out = h.sd.systemctl(&["start", "uwsgi@nope.service"]);
    assert!(!out.status.success());
    assert_eq!(h.property("uwsgi@nope.service", "ExecMainStatus"), "6");
    // A run dir the app's user owns (as Debian's script makes them) is
    // refused with its reason, by our start and by the unit (exit 78, not
    // retried), and the unit's ExecStopPost leaves it for the
    // administrator: root removes nothing inside it.
    h.app("owned", 8002, "");
    let made = h.sd.run(&[
        "sh",
        "-c",
        "install -d -m 0755 /run/uwsgi/app && install -d -o www-data -g www-data /run/uwsgi/app/owned && touch /run/uwsgi/app/owned/keep",
    ]);
    assert!(made.status.success(), "{}", show(&made));
    let out = h.apps(&["start", "owned"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing to use the runtime directory"),
        "{}",
        show(&out)
    );
    let out = h.sd.systemctl(&["start", "uwsgi@owned.service"]);
    assert!(!out.status.success());
    assert_eq!(h.property("uwsgi@owned.service", "ExecMainStatus"), "78");
    // None of them is retried (RestartPreventExitStatus=).
    std::thread::sleep(Duration::from_secs(3));
    for unit in [
        "uwsgi@nope.service",
        "uwsgi@open.service",
        "uwsgi@owned.service",
    ] {
        assert_eq!(h.property(unit, "NRestarts"), "0", "{unit}");
    }
    assert!(h.sd.http_get(8001).is_err());
    assert!(
        h.sd.inside_path("/run/uwsgi/app/owned/keep").exists(),
        "the refused run dir was emptied"
    );
}

/// The unit keeps what uWSGI does as root before it drops privileges:
/// `exec-as-root` runs as root, and the app's user keeps its
/// supplementary groups (Debian's uwsgi-app@.service, with DynamicUser=,
/// broke both).
#[test]
fn exec_as_root_and_supplementary_groups_work_in_the_unit() {
    let Some(h) = Host::boot("") else { return };
    let user = common::users::TestUser::new("sg");
    let group = format!("{}x", user.name);
    assert!(std::process::Command::new("groupadd")
        .args(["--system", &group])
        .status()
        .unwrap()
        .success());
    let _remove_group = scopeguard(&group);
    assert!(std::process::Command::new("usermod")
        .args(["-aG", &group, &user.name])
        .status()
        .unwrap()
        .success());
    let gid = String::from_utf8(
        std::process::Command::new("getent")
            .args(["group", &group])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .split(':')
    .nth(2)
    .unwrap()
    .to_owned();
    h.app(
        "grp",
        8001,
        &format!(
            "uid = {u}\ngid = {u}\nexec-as-root = touch /run/uwsgi/proof-%(deb-confname)\n",
            u = user.name
        ),
    );
    let out = h.apps(&["start", "grp"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        show(&out),
        h.log("grp")
    );
    assert_eq!(h.http_wait(8001), "hello grp");
    let out = h.sd.run(&["stat", "-c", "%U", "/run/uwsgi/proof-grp"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "root",
        "{}",
        show(&out)
    );
    let master = h.main_pid("uwsgi@grp.service");
    let workers =
        h.sd.run(&["cat", &format!("/proc/{master}/task/{master}/children")]);
    let workers = String::from_utf8_lossy(&workers.stdout).into_owned();
    let mut seen = 0;
    for pid in
        std::iter::once(master.to_string()).chain(workers.split_whitespace().map(String::from))
    {
        let status = h.sd.run(&["cat", &format!("/proc/{pid}/status")]);
        let status = String::from_utf8_lossy(&status.stdout).into_owned();
        let line = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            line("Uid:").contains(&user.uid.to_string()),
            "{pid}: {status}"
        );
        assert!(
            line("Groups:").split_whitespace().any(|g| g == gid),
            "{pid} lacks group {gid}: {}",
            line("Groups:")
        );
        seen += 1;
    }
    assert!(seen >= 2, "the master and a worker");
    let out = h.apps(&["stop", "grp"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// Removes a group when the test ends.
struct GroupGuard(String);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("groupdel").arg(&self.0).status();
    }
}

fn scopeguard(group: &str) -> GroupGuard {
    GroupGuard(group.to_owned())
}

/// Switching ENGINE= with running apps never makes a second master: an
/// app a daemon runs is not started again by its unit (an error says to
/// stop it first), `stop` under the new engine stops it all the same, and
/// then its unit starts it.
#[test]
fn switching_engines_never_makes_two_masters() {
    let Some(h) = Host::boot("ENGINE=daemon\n") else {
        return;
    };
    h.app("sw", 8001, "");
    let out = h.apps(&["start", "sw"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        h.sd.is_active("uwsgi@sw.service"),
        "inactive",
        "a daemon, not a unit"
    );
    let daemon_pid = h.apps(&["status", "--json", "sw"]);
    let doc: serde_json::Value = serde_json::from_slice(&daemon_pid.stdout).unwrap();
    let pid = doc["instances"][0]["pid"].as_i64().unwrap();

    fs::write(h.tmp.path().join("default"), "ENGINE=systemd\n").unwrap();
    let out = h.apps(&["start", "sw"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already runs outside uwsgi@sw.service"),
        "{}",
        show(&out)
    );
    let ps = h.sd.run(&["pgrep", "-c", "-f", "apps-enabled/sw.ini"]);
    let masters_and_workers: i32 = String::from_utf8_lossy(&ps.stdout).trim().parse().unwrap();
    assert_eq!(masters_and_workers, 2, "one master and its worker");
    // doctor says which engine runs it.
    let out = h.apps(&["doctor", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mismatch = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "engine-mismatch")
        .unwrap_or_else(|| panic!("no engine-mismatch finding: {doc}"));
    assert_eq!(mismatch["app"], "app/sw");
    assert!(
        mismatch["message"]
            .as_str()
            .unwrap()
            .contains("runs under the daemon engine"),
        "{mismatch}"
    );
    // The unit refuses too, when started by hand.
    let out = h.sd.systemctl(&["start", "uwsgi@sw.service"]);
    assert!(!out.status.success());
    assert_eq!(h.property("uwsgi@sw.service", "ExecMainStatus"), "78");

    let out = h.apps(&["stop", "sw"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("sw: stopped"));
    let out = h.sd.run(&["kill", "-0", &pid.to_string()]);
    assert!(!out.status.success(), "the daemon {pid} still runs");
    let out = h.apps(&["start", "sw"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(h.sd.is_active("uwsgi@sw.service"), "active");
    assert_eq!(h.http_wait(8001), "hello sw");
}

/// `uwsgi-enapp --now` and `uwsgi-disapp --now` start and stop the app's
/// unit, and only that one.
#[test]
fn enapp_and_disapp_now_go_through_the_unit() {
    let Some(h) = Host::boot("") else { return };
    h.app("other", 8002, "");
    let out = h.apps(&["start", "other"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let other = h.main_pid("uwsgi@other.service");
    // An available app, not yet enabled.
    let text = "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:8001\n\
                wsgi-file = /srv/uwsgi-test/app.py\nprocesses = 1\n";
    let avail = h.tmp.path().join("etc-uwsgi/apps-available/new.ini");
    fs::write(&avail, text).unwrap();
    chmod(&avail, 0o644);
    let out =
        h.sd.run(&["/usr/sbin/uwsgi-apps", "enable", "--now", "new"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(h.sd.is_active("uwsgi@new.service"), "active");
    assert_eq!(h.http_wait(8001), "hello new");
    let out =
        h.sd.run(&["/usr/sbin/uwsgi-apps", "disable", "--now", "new"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(h.sd.is_active("uwsgi@new.service"), "inactive");
    assert_eq!(
        h.main_pid("uwsgi@other.service"),
        other,
        "the other app was not touched"
    );
}

/// On a systemd host, `service uwsgi ACTION NAME` becomes `systemctl
/// ACTION uwsgi.service` and drops NAME (Debian's /usr/sbin/service): it
/// acts on every app. That is why the README says to use `uwsgi-apps
/// ACTION NAME` or `systemctl ACTION uwsgi@NAME` for one app.
#[test]
fn service_uwsgi_acts_on_the_group_unit() {
    let Some(h) = Host::boot("") else { return };
    h.app("a", 8001, "");
    h.app("b", 8002, "");
    let out = h.sd.run(&["service", "uwsgi", "start", "a"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(h.sd.is_active("uwsgi.service"), "active");
    assert_eq!(h.http_wait(8001), "hello a");
    assert_eq!(
        h.http_wait(8002),
        "hello b",
        "the name was dropped: every app started"
    );
    let out = h.sd.run(&["service", "uwsgi", "stop", "a"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        h.sd.is_active("uwsgi@b.service"),
        "inactive",
        "every app stopped"
    );
}

/// doctor knows Debian's `uwsgi-app@.service` (the real file, from the
/// installed uwsgi-core): enabled for an app with `die-on-term`, its
/// SIGQUIT would reload the app instead of stopping it.
#[test]
fn doctor_warns_about_debians_unit_on_a_die_on_term_app() {
    let debian = Path::new("/lib/systemd/system/uwsgi-app@.service");
    assert!(
        debian.is_file(),
        "uwsgi-core's unit is installed (scripts/deps.sh)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let units = root.join("lib/systemd/system");
    let wants = root.join("etc/systemd/system/multi-user.target.wants");
    for dir in [
        &units,
        &wants,
        &root.join("etc/uwsgi/apps-available"),
        &root.join("etc/uwsgi/apps-enabled"),
    ] {
        fs::create_dir_all(dir).unwrap();
    }
    fs::copy(debian, units.join("uwsgi-app@.service")).unwrap();
    for (name, text) in [
        ("dot", "[uwsgi]\ndie-on-term = true\n"),
        ("calm", "[uwsgi]\nmaster = true\n"),
    ] {
        fs::write(
            root.join(format!("etc/uwsgi/apps-available/{name}.ini")),
            text,
        )
        .unwrap();
        std::os::unix::fs::symlink(
            "/lib/systemd/system/uwsgi-app@.service",
            wants.join(format!("uwsgi-app@{name}.service")),
        )
        .unwrap();
    }
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_uwsgi-apps"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(["--root", root.to_str().unwrap(), "doctor", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "debian-unit-sigquit")
        .collect();
    assert_eq!(found.len(), 1, "{doc}");
    assert!(found[0]["message"]
        .as_str()
        .unwrap()
        .contains("uwsgi-app@dot.service"));
}

/// The maintainer-script helper of another package, on a systemd host:
/// install, upgrade, remove and purge of that package start, restart and
/// stop its own app's unit and never another app (before, it called
/// `invoke-rc.d uwsgi ACTION NAME`, which systemd turns into an action on
/// uwsgi.service: removing one package stopped every app). A start that
/// policy-rc.d forbids is said to be forbidden and not made.
#[test]
fn the_maintscript_helper_touches_only_its_own_app_on_a_systemd_host() {
    let policy = std::sync::Mutex::new(None::<PathBuf>);
    let Some(h) = Host::boot_with("", |b, t| {
        // What a host with the package installed has: its init script,
        // its programs, dpkg's record of it, and a policy that allows.
        let init = t.join("init");
        fs::copy(repo("debian/uwsgi-apps.uwsgi.init"), &init).unwrap();
        chmod(&init, 0o755);
        let status = t.join("dpkg-status");
        let mut text = fs::read_to_string("/var/lib/dpkg/status").unwrap();
        text.push_str(
            "\nPackage: uwsgi-apps\nStatus: install ok installed\nPriority: optional\n\
             Section: httpd\nMaintainer: test\nArchitecture: amd64\nVersion: 0.1.1\n\
             Description: test\n",
        );
        fs::write(&status, text).unwrap();
        let allow = t.join("policy-rc.d");
        fs::write(&allow, "#!/bin/sh\nexit 0\n").unwrap();
        chmod(&allow, 0o755);
        *policy.lock().unwrap() = Some(allow.clone());
        let bin = env!("CARGO_BIN_EXE_uwsgi-apps");
        b.bind_ro(&init, "/etc/init.d/uwsgi")
            .bind_ro(bin, "/usr/sbin/uwsgi-enapp")
            .bind_ro(bin, "/usr/sbin/uwsgi-disapp")
            .bind_ro(bin, "/usr/sbin/uwsgi-query")
            .bind_ro(&status, "/var/lib/dpkg/status")
            .bind_ro(&allow, "/usr/sbin/policy-rc.d")
    }) else {
        return;
    };
    let policy = policy.into_inner().unwrap().unwrap();
    h.app("other", 8002, "");
    let out = h.apps(&["start", "other"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let other = h.main_pid("uwsgi@other.service");
    // The package's app, available and not enabled yet.
    let avail = h.tmp.path().join("etc-uwsgi/apps-available/mine.ini");
    fs::write(
        &avail,
        "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:8001\n\
         wsgi-file = /srv/uwsgi-test/app.py\nprocesses = 1\n",
    )
    .unwrap();
    chmod(&avail, 0o644);
    let helper = src("debian/maintscript-helper/uwsgi-apps-maintscript-helper");
    let script = |name: &str, args: &str, call: &str| -> Output {
        let text = format!(
            "DPKG_MAINTSCRIPT_NAME={name}; DPKG_MAINTSCRIPT_PACKAGE=mine; \
             set -- {args}; . {}; uwsgi_apps_invoke {call} mine",
            helper.display()
        );
        h.sd.run(&["sh", "-c", &text])
    };

    let out = script("postinst", "configure", "enapp");
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        h.sd.is_active("uwsgi@mine.service"),
        "active",
        "{}",
        show(&out)
    );
    assert_eq!(h.http_wait(8001), "hello mine");
    assert_eq!(h.main_pid("uwsgi@other.service"), other);
    let mine = h.main_pid("uwsgi@mine.service");

    let out = script("postinst", "configure 0.9", "enapp");
    assert!(out.status.success(), "{}", show(&out));
    assert_ne!(
        h.main_pid("uwsgi@mine.service"),
        mine,
        "an upgrade restarts it"
    );
    assert_eq!(h.main_pid("uwsgi@other.service"), other);

    let out = script("prerm", "remove", "disapp");
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(h.sd.is_active("uwsgi@mine.service"), "inactive");
    assert!(!h
        .tmp
        .path()
        .join("etc-uwsgi/apps-enabled/mine.ini")
        .exists());
    assert_eq!(
        h.main_pid("uwsgi@other.service"),
        other,
        "the other app kept running"
    );
    assert_eq!(
        h.sd.is_active("uwsgi.service"),
        "inactive",
        "never the group"
    );

    let out = script("postrm", "purge", "disapp");
    assert!(out.status.success(), "{}", show(&out));
    assert!(!h.tmp.path().join("lib/app/disabled_by_maint/mine").exists());

    // Installed again, with a policy that forbids starts.
    fs::write(&policy, "#!/bin/sh\nexit 101\n").unwrap();
    let out = script("postinst", "configure", "enapp");
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        h.tmp
            .path()
            .join("etc-uwsgi/apps-enabled/mine.ini")
            .exists(),
        "enabled"
    );
    assert_eq!(
        h.sd.is_active("uwsgi@mine.service"),
        "inactive",
        "not started"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("forbidden"),
        "{}",
        show(&out)
    );
    assert_eq!(h.main_pid("uwsgi@other.service"), other);
}

/// ENGINE=emperor on a systemd host: uwsgi.service runs one Emperor (in
/// its cgroup), the apps are its vassals, and stopping the unit stops
/// them all and the Emperor.
#[test]
fn the_group_unit_runs_an_emperor_under_engine_emperor() {
    let Some(h) = Host::boot_with("ENGINE=emperor\n", |b, _| {
        b.bind_ro(
            env!("CARGO_BIN_EXE_uwsgi-apps"),
            "/usr/lib/uwsgi-apps/uwsgi-apps-vassal",
        )
    }) else {
        return;
    };
    h.app("a", 8001, "");
    h.app("b", 8002, "");
    let out = h.sd.systemctl(&["start", "uwsgi.service"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        show(&out),
        h.sd.journal("uwsgi.service")
    );
    assert_eq!(h.http_wait(8001), "hello a");
    assert_eq!(h.http_wait(8002), "hello b");
    let tree =
        h.sd.systemctl(&["status", "--no-pager", "-l", "uwsgi.service"]);
    let tree = String::from_utf8_lossy(&tree.stdout).into_owned();
    assert!(
        tree.contains("--emperor"),
        "the Emperor runs in uwsgi.service: {tree}"
    );
    assert!(
        tree.contains("apps-enabled/a.ini"),
        "with its vassals: {tree}"
    );
    let out = h.apps(&["status"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = h.sd.systemctl(&["stop", "uwsgi.service"]);
    assert!(out.status.success(), "{}", show(&out));
    let ps = h.sd.run(&["pgrep", "-c", "uwsgi-core"]);
    assert_eq!(
        String::from_utf8_lossy(&ps.stdout).trim(),
        "0",
        "something outlived the stop"
    );
}

/// The playbooks of `ansible/tests/` (the same files `run.sh` runs under a
/// temporary root with the daemon engine), run by `ansible-playbook` inside
/// the namespace against localhost (`connection: local`), with no `root`
/// and no `binary`: the modules find `/usr/sbin/uwsgi-apps`, which routes
/// every action through the app's unit. Check mode changes nothing; a
/// converge is changed, then ok; the handler reloads the unit (same main
/// PID) and the new config answers at once; a broken app fails its task
/// with its log's tail; disabled and stopped leaves every unit inactive.
#[test]
fn the_ansible_collection_drives_the_units() {
    let Some(h) = Host::boot("") else { return };
    assert!(
        Path::new("/usr/bin/ansible-playbook").exists(),
        "ansible-playbook is missing: install ansible-core (scripts/deps.sh does)"
    );
    let srv = h.tmp.path().join("srv");
    fs::write(
        srv.join("greet.py"),
        "import os\n\n\
         def application(environ, start_response):\n    \
         start_response('200 OK', [('Content-Type', 'text/plain')])\n    \
         return [(os.environ.get('GREETING', 'hello') + ' '\n             \
         + os.environ.get('UWSGI_DEB_CONFNAME', '?')).encode()]\n",
    )
    .unwrap();
    chmod(&srv.join("greet.py"), 0o644);
    // Available, not enabled: other and fresh serve, broken dies loading.
    let available = h.tmp.path().join("etc-uwsgi/apps-available");
    for (name, port, file) in [
        ("other", 8002, "greet.py"),
        ("fresh", 8003, "greet.py"),
        ("broken", 8004, "missing.py"),
    ] {
        let path = available.join(format!("{name}.ini"));
        fs::write(
            &path,
            format!(
                "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{port}\n\
                 wsgi-file = /srv/uwsgi-test/{file}\nneed-app = true\nprocesses = 1\n"
            ),
        )
        .unwrap();
        chmod(&path, 0o644);
    }
    let enabled = h.tmp.path().join("etc-uwsgi/apps-enabled");
    let enabled_now = || fs::read_dir(&enabled).unwrap().count();

    let out = playbook(&h, "check", &["--check", "--diff"]);
    assert_eq!(out.recap("changed"), 1, "{}", out.text);
    assert_eq!(enabled_now(), 0, "check mode enabled an app");
    assert_eq!(
        fs::read_dir(h.tmp.path().join("lib")).unwrap().count(),
        0,
        "check mode wrote a state marker"
    );
    assert_eq!(h.sd.is_active("uwsgi@fresh.service"), "inactive");

    let converge = ["--diff", "-e", "greeting=hello"];
    let out = playbook(&h, "converge", &converge);
    assert_eq!(out.recap("changed"), 4, "{}", out.text);
    assert_eq!(h.sd.is_active("uwsgi@hello.service"), "active");
    assert_eq!(h.sd.is_active("uwsgi@other.service"), "active");
    assert_eq!(h.http_wait(8001), "hello hello");
    assert_eq!(h.http_wait(8002), "hello other");
    let out = playbook(&h, "converge", &converge);
    assert_eq!(out.recap("changed"), 0, "{}", out.text);

    let hello = h.main_pid("uwsgi@hello.service");
    let other = h.main_pid("uwsgi@other.service");
    let out = playbook(&h, "converge", &["--diff", "-e", "greeting=howdy"]);
    assert_eq!(out.recap("changed"), 2, "{}", out.text);
    assert!(
        out.text.contains("RUNNING HANDLER [Reload uwsgi app]"),
        "{}",
        out.text
    );
    // With wait, the reload is over when the play is: no retry here.
    assert_eq!(h.sd.http_get(8001), Ok("howdy hello".to_string()));
    assert_eq!(
        h.main_pid("uwsgi@hello.service"),
        hello,
        "reloaded, not restarted"
    );
    assert_eq!(h.main_pid("uwsgi@other.service"), other);

    let out = playbook(&h, "broken", &[]);
    assert_eq!(out.code, Some(2), "{}", out.text);
    assert_eq!(out.recap("failed"), 1, "{}", out.text);
    assert!(
        out.text.contains("uwsgi@broken.service") && out.text.contains("last lines of its log"),
        "{}",
        out.text
    );
    assert!(out.text.contains("missing.py"), "{}", out.text);

    let out = playbook(&h, "teardown", &["--diff"]);
    assert_eq!(out.recap("changed"), 1, "{}", out.text);
    for unit in ["hello", "other", "fresh", "broken"] {
        assert_ne!(
            h.sd.is_active(&format!("uwsgi@{unit}.service")),
            "active",
            "{unit}"
        );
    }
    assert!(h.sd.http_get(8001).is_err());
    assert_eq!(enabled_now(), 0);
}

/// What one ansible-playbook run printed and how it exited.
struct Played {
    code: Option<i32>,
    text: String,
}

impl Played {
    /// A count of the play recap (`changed`, `failed`, …).
    fn recap(&self, key: &str) -> u32 {
        self.text
            .lines()
            .rfind(|l| l.starts_with("localhost") && l.contains(" ok="))
            .and_then(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix(&format!("{key}=")).map(str::to_string))
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {key}= in the recap:\n{}", self.text))
    }
}

/// `ansible-playbook ansible/tests/playbooks/NAME.yml ARGS…` inside the
/// namespace, with the tests' ansible.cfg and inventory, and its own
/// writable HOME and temporary dirs (the host's root is read-only there).
fn playbook(h: &Host, name: &str, args: &[&str]) -> Played {
    let tests = src("ansible/tests");
    let collections = src("ansible");
    let book = tests.join(format!("playbooks/{name}.yml"));
    let mut all: Vec<String> = [
        "env",
        "HOME=/tmp/ansible-home",
        "ANSIBLE_LOCAL_TEMP=/tmp/ansible-local",
        "ANSIBLE_REMOTE_TEMP=/tmp/ansible-remote",
        "ANSIBLE_NOCOLOR=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.push(format!(
        "ANSIBLE_CONFIG={}",
        tests.join("ansible.cfg").display()
    ));
    all.push(format!(
        "ANSIBLE_COLLECTIONS_PATH={}",
        collections.display()
    ));
    all.extend(
        [
            "ansible-playbook",
            "-i",
            &tests.join("inventory").to_string_lossy(),
            "-e",
            "port_hello=8001",
            "-e",
            "wsgi_file=/srv/uwsgi-test/greet.py",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    all.extend(args.iter().map(|s| s.to_string()));
    all.push(book.to_string_lossy().into_owned());
    let argv: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = h.sd.run_within(Duration::from_secs(180), &argv);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("Traceback"), "a Python traceback:\n{text}");
    Played {
        code: out.status.code(),
        text,
    }
}
