//! The Emperor engine (ENGINE=emperor) for real: the real uWSGI Emperor,
//! as root and not in Tyrant mode, over this program's vassal links, with
//! this program as its wrapper, under a temporary root.

mod common;

use std::fs;
use std::process::Output;
use std::time::{Duration, Instant};

use common::live::{self, Live};
use common::show;
use common::users::TestUser;

const HTTP_LIMIT: Duration = Duration::from_secs(20);

fn emperor_live() -> Live {
    let live = Live::new();
    live.settings("ENGINE=emperor\n");
    live
}

/// The Emperor of a root: the parent of its masters.
fn emperor_of(pid: i32) -> i32 {
    let parent = live::ppid(pid).expect("a master has a parent");
    let args = live::cmdline(parent);
    assert!(
        args.iter().any(|a| a == "--emperor"),
        "the master {pid} runs under {parent} {args:?}, not an Emperor"
    );
    assert!(
        !args.iter().any(|a| a == "--emperor-tyrant"),
        "not Tyrant mode"
    );
    parent
}

fn ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", show(out));
}

#[test]
fn start_stop_reload_restart_of_one_app_leave_the_others_alone() {
    let live = emperor_live();
    let pa = live.app("a", "");
    let pb = live.app("b", "");
    let out = live.initd(&["start"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Starting app server(s): uwsgi -> . . done.\n",
        "{}",
        show(&out)
    );
    ok(&out);
    assert_eq!(live::http_wait(pa, HTTP_LIMIT), "hello a");
    assert_eq!(live::http_wait(pb, HTTP_LIMIT), "hello b");
    let (a, b) = (live.master("a"), live.master("b"));
    let emperor = emperor_of(a);
    assert_eq!(emperor_of(b), emperor, "one Emperor");

    ok(&live.apps(&["reload", "--wait", "a"]));
    assert_eq!(live.master("a"), a, "a reload keeps the master");
    assert!(live
        .log("a")
        .contains("gracefully (RE)spawned uWSGI master process"));
    assert_eq!(live::http_wait(pa, HTTP_LIMIT), "hello a");

    ok(&live.apps(&["restart", "a"]));
    let a2 = live.master("a");
    assert_ne!(a2, a, "restart makes a new master");
    assert_eq!(emperor_of(a2), emperor);
    assert_eq!(live::http_wait(pa, HTTP_LIMIT), "hello a");

    ok(&live.apps(&["stop", "a"]));
    assert!(live::wait_gone(a2, Duration::from_secs(10)));
    assert!(live::http_get(pa).is_err());
    assert_eq!(live.master("b"), b, "b untouched by all of it");
    let out = live.apps(&["status", "a", "b"]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));

    ok(&live.initd(&["stop"]));
    assert!(live::wait_gone(b, Duration::from_secs(10)));
    assert!(
        live::wait_gone(emperor, Duration::from_secs(10)),
        "the Emperor goes with the last app"
    );
}

/// A vassal killed from outside comes back (the Emperor respawns it), and
/// `status` says so with the new master.
#[test]
fn a_killed_vassal_comes_back() {
    let live = emperor_live();
    let port = live.app("k", "");
    ok(&live.apps(&["start", "k"]));
    let old = live.master("k");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let out = live.apps(&["status", "--json", "k"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(pid) = doc["instances"][0]["pid"].as_i64() {
            if pid as i32 != old {
                assert_eq!(out.status.code(), Some(0));
                break;
            }
        }
        assert!(Instant::now() < until, "never came back: {}", show(&out));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello k");
    ok(&live.apps(&["stop", "k"]));
}

/// What Tyrant mode loses and this engine keeps: the app's user's
/// supplementary groups. Control: a Tyrant Emperor over the same app
/// (its config owned by the user) runs it without them.
#[test]
fn vassals_keep_supplementary_groups_unlike_tyrant_mode() {
    let live = emperor_live();
    let user = TestUser::new("em");
    let group = format!("{}g", user.name);
    assert!(std::process::Command::new("groupadd")
        .args(["--system", &group])
        .status()
        .unwrap()
        .success());
    let _guard = GroupGuard(group.clone());
    assert!(std::process::Command::new("usermod")
        .args(["-aG", &group, &user.name])
        .status()
        .unwrap()
        .success());
    let gid = nix::unistd::Group::from_name(&group)
        .unwrap()
        .unwrap()
        .gid
        .as_raw();
    let port = live.app("grp", &format!("uid = {u}\ngid = {u}\n", u = user.name));
    ok(&live.apps(&["start", "grp"]));
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello grp");
    let master = live.master("grp");
    for pid in std::iter::once(master).chain(live::children(master)) {
        assert!(
            groups_of(pid).contains(&gid),
            "{pid} lacks group {gid}: {:?}",
            groups_of(pid)
        );
    }
    let out = live.apps(&["doctor", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !doc.to_string().contains("missing-groups") && !doc.to_string().contains("supplementary"),
        "doctor finds vassals without their groups: {doc}"
    );
    ok(&live.apps(&["stop", "grp"]));

    // The control: Tyrant mode, the vassal config owned by the user.
    let dir = live.r.path("tyrant");
    fs::create_dir_all(&dir).unwrap();
    let tport = live::free_port();
    let vassal = dir.join("t.ini");
    fs::write(
        &vassal,
        format!(
            "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{tport}\nwsgi-file = {}\nmaster = true\nprocesses = 1\n",
            live.r.path("srv/app.py").display()
        ),
    )
    .unwrap();
    std::os::unix::fs::chown(&vassal, Some(user.uid), Some(user.gid)).unwrap();
    let mut tyrant = std::process::Command::new(live::DAEMON);
    tyrant
        .args(["--emperor"])
        .arg(&dir)
        .args(["--emperor-tyrant", "--emperor-freq", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let emperor = live.spawn(tyrant);
    assert_eq!(live::http_wait(tport, HTTP_LIMIT), "hello ?");
    let vassal_pid = live::children(emperor)[0];
    assert!(
        !groups_of(vassal_pid).contains(&gid),
        "Tyrant mode kept the group"
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(emperor),
        nix::sys::signal::Signal::SIGINT,
    );
    assert!(live::wait_gone(emperor, Duration::from_secs(10)));
}

/// A config writable by others is refused before anything runs; a
/// crashing app is reported with its log's tail, and its link removed so
/// that the Emperor does not respawn it forever.
#[test]
fn refused_and_crashing_apps_fail_with_their_reason() {
    let live = emperor_live();
    let open_port = live.app("open", "");
    live::chmod(&live.r.available().join("open.ini"), 0o666);
    let out = live.apps(&["start", "open"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("0666"),
        "{}",
        show(&out)
    );
    assert!(live::http_get(open_port).is_err());
    assert!(live.masters().is_empty());

    live.broken_app("broken");
    let out = live.initd(&["start", "broken"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Starting app server(s): uwsgi -> ! failed!\n"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("last lines of its log") && err.contains("missing.py"),
        "{}",
        show(&out)
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(live.masters().is_empty(), "respawned: {:?}", live.masters());
}

fn groups_of(pid: i32) -> Vec<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| {
            g.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

struct GroupGuard(String);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("groupdel").arg(&self.0).status();
    }
}

/// Two starts at once make one Emperor, and a stop of one app while
/// another starts never takes the Emperor away from it.
#[test]
fn concurrent_starts_and_stops_share_one_emperor() {
    let live = emperor_live();
    let pa = live.app("a", "");
    let pb = live.app("b", "");
    let spawn = |args: &[&str]| {
        let mut cmd = std::process::Command::new(live.r.applet("uwsgi-apps"));
        cmd.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("UWSGI_APPS_ROOT", &live.r.root)
            .args(args)
            .stdout(std::process::Stdio::null());
        cmd
    };
    let mut first = spawn(&["start", "a"]).spawn().unwrap();
    let mut second = spawn(&["start", "b"]).spawn().unwrap();
    assert!(first.wait().unwrap().success());
    assert!(second.wait().unwrap().success());
    assert_eq!(live::http_wait(pa, HTTP_LIMIT), "hello a");
    assert_eq!(live::http_wait(pb, HTTP_LIMIT), "hello b");
    let (a, b) = (live.master("a"), live.master("b"));
    assert_eq!(emperor_of(a), emperor_of(b), "one Emperor for both");
    let emperors: Vec<i32> = live
        .uwsgi_processes()
        .into_iter()
        .filter(|&p| live::cmdline(p).iter().any(|x| x == "--emperor"))
        .collect();
    assert_eq!(emperors.len(), 1, "{emperors:?}");

    // Stop a and start it again at the same time as b stops: whatever
    // the order, a runs at the end.
    ok(&live.apps(&["stop", "a"]));
    let mut stop_b = spawn(&["stop", "b"]).spawn().unwrap();
    let mut start_a = spawn(&["start", "a"]).spawn().unwrap();
    assert!(stop_b.wait().unwrap().success());
    assert!(start_a.wait().unwrap().success());
    assert_eq!(live::http_wait(pa, HTTP_LIMIT), "hello a");
    ok(&live.initd(&["stop"]));
}

/// The Emperor killed while a start waits for its vassal: the start fails
/// at once with the reason (the Emperor's death is watched, not only the
/// vassal's master, which may not exist yet), leaves no link behind, and
/// the next start brings up a new Emperor that serves the app. The kill
/// comes as soon as the Emperor appears, usually before its vassal has
/// said its pid; either way the start must not wait out its timeout.
#[test]
fn an_emperor_killed_during_a_start_fails_it_at_once() {
    let live = emperor_live();
    let port = live.slow_app("slow");
    let began = Instant::now();
    let outcome = std::thread::scope(|scope| {
        let start = scope.spawn(|| live.apps(&["start", "--start-timeout", "25", "slow"]));
        let emperor = loop {
            let found = live
                .uwsgi_processes()
                .into_iter()
                .find(|&pid| live::cmdline(pid).iter().any(|a| a == "--emperor"));
            if let Some(pid) = found {
                break pid;
            }
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "no Emperor appeared"
            );
            std::thread::sleep(Duration::from_millis(1));
        };
        // SAFETY: a plain kill(2) of a process this test's root started.
        assert_eq!(unsafe { libc::kill(emperor, libc::SIGKILL) }, 0);
        start.join().unwrap()
    });
    let took = began.elapsed();
    assert_eq!(outcome.status.code(), Some(1), "{}", show(&outcome));
    let said = show(&outcome);
    assert!(
        said.contains("Emperor") || said.contains("exited before it was ready"),
        "the reason is given: {}",
        show(&outcome)
    );
    assert!(
        took < Duration::from_secs(15),
        "the start waited {took:?} for an Emperor that was gone (timeout 25 s)"
    );
    assert!(
        fs::read_dir(live.r.path("run/uwsgi-apps/emperor/vassals"))
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "no vassal link is left behind"
    );
    live.wait_no_masters(Duration::from_secs(20));
    ok(&live.apps(&["start", "slow"]));
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "slow");
    ok(&live.apps(&["stop", "slow"]));
}

/// The Emperor runs its wrapper as root for every vassal. Root running a
/// `uwsgi-apps` link that sits in another user's directory must not make
/// that user's `uwsgi-apps-vassal` beside it the wrapper: only a wrapper
/// nobody but root can change is taken from beside the program.
#[test]
fn a_wrapper_in_another_users_directory_never_runs_as_root() {
    let live = emperor_live();
    live.app("a", "");
    let user = TestUser::new("wr");
    let dir = live.r.path("home-wr");
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid)).unwrap();
    live::chmod(&dir, 0o755);
    std::os::unix::fs::symlink(live.r.applet("uwsgi-apps"), dir.join("uwsgi-apps")).unwrap();
    let proof = live.r.path("wrapper-ran");
    let wrapper = dir.join("uwsgi-apps-vassal");
    // The user's own program, in the user's own directory.
    let out = user
        .command("sh")
        .arg("-c")
        .arg(format!(
            "printf '#!/bin/sh\\nid -u > {}\\n' > {} && chmod 755 {}",
            proof.display(),
            wrapper.display(),
            wrapper.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let out = std::process::Command::new(dir.join("uwsgi-apps"))
        .args(["start", "--start-timeout", "10", "a"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("UWSGI_APPS_ROOT", &live.r.root)
        .output()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !proof.exists(),
        "the user's wrapper ran as uid {}: {}",
        fs::read_to_string(&proof).unwrap_or_default().trim(),
        show(&out)
    );
    let _ = live.apps(&["stop", "a"]);
}

/// The Emperor's own files under the root: its pidfile, and the link of
/// vassal NAME.
fn emperor_pidfile(live: &Live) -> std::path::PathBuf {
    live.r.path("run/uwsgi-apps/emperor/pid")
}

fn vassal_link(live: &Live, name: &str) -> std::path::PathBuf {
    live.r
        .path("run/uwsgi-apps/emperor/vassals")
        .join(format!("{name}.ini"))
}

/// The live Emperors of the root.
fn emperors(live: &Live) -> Vec<i32> {
    live.uwsgi_processes()
        .into_iter()
        .filter(|&p| live::cmdline(p).iter().any(|a| a == "--emperor"))
        .collect()
}

/// Nothing of a failed vassal is left: no link, no runtime dir — now, and
/// still after a while (a vassal the Emperor respawned would make the dir
/// again), and no master of it.
fn assert_nothing_left_of(live: &Live, name: &str) {
    for _ in 0..2 {
        assert!(
            vassal_link(live, name).symlink_metadata().is_err(),
            "{name}'s vassal link is left"
        );
        assert!(
            !live.rundir(name).exists(),
            "{name}'s runtime dir is left: {:?}",
            fs::read_dir(live.rundir(name))
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    let conf = live.conffile(name);
    let masters: Vec<i32> = live
        .masters()
        .into_iter()
        .filter(|&m| {
            live::cmdline(m)
                .iter()
                .any(|a| std::path::Path::new(a) == conf)
        })
        .collect();
    assert!(masters.is_empty(), "{name} runs again: {masters:?}");
}

/// A start in which every vassal fails leaves what a failed start of the
/// daemon engine leaves: nothing — no runtime dir, no link, and no
/// Emperor governing nothing.
#[test]
fn a_start_whose_only_vassal_fails_leaves_no_emperor_behind() {
    let live = emperor_live();
    live.broken_app("broken");
    let out = live.apps(&["start", "broken"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        emperors(&live).is_empty(),
        "an Emperor is left with no vassal: {:?}",
        emperors(&live)
    );
    assert!(
        !emperor_pidfile(&live).exists(),
        "the Emperor's pidfile is left"
    );
    assert_nothing_left_of(&live, "broken");
    assert!(emperors(&live).is_empty(), "an Emperor came back");
}

/// In a batch where one vassal starts and one fails, the Emperor stays
/// for the good one and only the failed one is cleaned away.
#[test]
fn a_failed_vassal_beside_a_good_one_is_cleaned_and_the_emperor_stays() {
    let live = emperor_live();
    let port = live.app("good", "");
    live.broken_app("broken");
    let out = live.apps(&["start", "good", "broken"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken"),
        "{}",
        show(&out)
    );
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello good");
    let emperor = emperor_of(live.master("good"));
    assert_nothing_left_of(&live, "broken");
    assert!(live::alive(emperor), "the Emperor of good is gone");
    assert_eq!(emperor_of(live.master("good")), emperor);
    assert!(vassal_link(&live, "good").symlink_metadata().is_ok());
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello good");
    ok(&live.apps(&["stop", "good"]));
    assert!(live::wait_gone(emperor, Duration::from_secs(10)));
}

/// A vassal that is not ready in time is stopped once its link is gone,
/// and the start waits for that: then nothing of it is left, and no
/// Emperor either. It is still loading its app when the Emperor tells it
/// to stop, so uWSGI 2.0.21 loses the stop in its fresh worker and would
/// hang for 30 s, until the Emperor kills it: the start does not wait
/// that long.
#[test]
fn a_vassal_not_ready_in_time_is_stopped_and_leaves_nothing() {
    let live = emperor_live();
    live.slow_app("slow");
    let began = Instant::now();
    let out = live.apps(&["start", "--start-timeout", "1", "slow"]);
    let took = began.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not become ready within 1 s"),
        "{}",
        show(&out)
    );
    assert!(
        took < Duration::from_secs(15),
        "the failed start took {took:?}"
    );
    assert!(
        live.uwsgi_processes().is_empty(),
        "left running: {:?}",
        live.uwsgi_processes()
    );
    assert!(!emperor_pidfile(&live).exists());
    assert_nothing_left_of(&live, "slow");
}

/// The Emperor respawns a vassal that dies before it has seen the
/// vassal's link go (a stop, a start that failed): the wrapper runs
/// nothing for an instance whose link is gone, and exiles it.
#[test]
fn the_wrapper_runs_nothing_for_a_vassal_whose_link_is_gone() {
    let live = emperor_live();
    let port = live.app("gone", "");
    let out = live
        .r
        .cmd("uwsgi-apps-vassal")
        .args(["--ini", "gone.ini"])
        .timeout(Duration::from_secs(15))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(26), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("link is gone"),
        "{}",
        show(&out)
    );
    assert!(!live.rundir("gone").exists(), "its runtime dir was made");
    assert!(live::http_get(port).is_err());
    assert!(live.uwsgi_processes().is_empty());
}

/// Hold the Emperor engine's own lock (`/run/uwsgi-apps/emperor/lock`) as
/// a `start` would, until the returned file is dropped.
fn hold_emperor_lock(live: &Live) -> fs::File {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::DirBuilderExt;
    let dir = live.r.path("run/uwsgi-apps/emperor");
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .unwrap();
    live::chmod(&live.r.path("run/uwsgi-apps"), 0o700);
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .unwrap();
    // SAFETY: flock(2) on a descriptor this function owns.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    lock
}

/// The wrapper's own recipe check fails (here: the config, changed after
/// `start` checked it, names a user that does not exist). The wrapper
/// says its pid first and exiles itself, so `start` reports the failure
/// at once, with the wrapper's reason, instead of waiting out its
/// timeout while the Emperor runs the wrapper again and again.
#[test]
fn a_vassal_refused_by_its_wrapper_fails_its_start_at_once() {
    let live = emperor_live();
    let port = live.app("late", "");
    let config = live.r.available().join("late.ini");
    let held = hold_emperor_lock(&live);
    let notify = live.rundir("late").join("notify");
    let (out, after_release) = std::thread::scope(|scope| {
        let start = scope.spawn(|| live.apps(&["start", "--start-timeout", "20", "late"]));
        // `start` has checked the config and bound its readiness socket:
        // it waits for the Emperor's lock to make the link.
        let until = Instant::now() + Duration::from_secs(20);
        while !notify.exists() {
            assert!(Instant::now() < until, "start never got to the lock");
            std::thread::sleep(Duration::from_millis(10));
        }
        let text = fs::read_to_string(&config).unwrap();
        fs::write(&config, format!("{text}uid = no-such-user-here\n")).unwrap();
        drop(held);
        let released = Instant::now();
        let out = start.join().unwrap();
        (out, released.elapsed())
    });
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        after_release < Duration::from_secs(10),
        "start took {after_release:?} to report a vassal its wrapper refused (timeout 20 s): {}",
        show(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-user-here"),
        "the wrapper's reason is not given: {}",
        show(&out)
    );
    assert!(emperors(&live).is_empty(), "{:?}", emperors(&live));
    assert_nothing_left_of(&live, "late");
    // The wrapper says why on its stderr, the Emperor's log: it ran once
    // (twice if the Emperor's rescan, a second later, came before the
    // link went), not again and again.
    let emperor_log = fs::read_to_string(live.r.path("var/log/uwsgi/emperor.log")).unwrap();
    let runs = emperor_log.matches("no-such-user-here").count();
    assert!(
        (1..=2).contains(&runs),
        "the wrapper ran {runs} times:\n{emperor_log}"
    );
    assert!(live::http_get(port).is_err());
}

/// The engine-mismatch findings of doctor, as (app, message).
fn mismatches(live: &Live) -> Vec<(String, String)> {
    let out = live.apps(&["doctor", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}\n{}", show(&out)));
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "engine-mismatch")
        .map(|f| {
            (
                f["app"].as_str().unwrap_or_default().to_owned(),
                f["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// doctor says which engine runs each master by the engines' own rule: a
/// vassal of this root's Emperor is the Emperor's, a master started by the
/// daemon engine is the daemon engine's, whatever ENGINE= says now.
#[test]
fn doctor_tells_the_emperors_vassals_from_daemons() {
    let live = emperor_live();
    let pv = live.app("vassal", "");
    let pd = live.app("daemon", "");
    ok(&live.apps(&["start", "vassal"]));
    assert_eq!(live::http_wait(pv, HTTP_LIMIT), "hello vassal");
    let emperor = emperor_of(live.master("vassal"));
    assert_eq!(mismatches(&live), []);

    live.settings("ENGINE=daemon\n");
    ok(&live.apps(&["start", "daemon"]));
    assert_eq!(live::http_wait(pd, HTTP_LIMIT), "hello daemon");
    let found = mismatches(&live);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "app/vassal");
    assert!(
        found[0].1.contains("runs under the emperor engine"),
        "{found:?}"
    );

    live.settings("ENGINE=emperor\n");
    let found = mismatches(&live);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "app/daemon");
    assert!(
        found[0].1.contains("runs under the daemon engine"),
        "{found:?}"
    );
    ok(&live.apps(&["stop", "vassal", "daemon"]));
    assert!(
        live::wait_gone(emperor, Duration::from_secs(10)),
        "the Emperor goes with the last app"
    );
}
