//! The attacks of the security audit, each run for real: the attacker is
//! a real unprivileged user (made by the test, removed after it) or an
//! app's own user, the instances are the real uWSGI, and each test fails
//! on a front end without the defence it proves.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::live::{self, Live};
use common::show;
use common::users::TestUser;

const HTTP_LIMIT: Duration = Duration::from_secs(20);

/// Wait until `user` holds a flock on `path` (as /proc/locks shows).
fn wait_flocked(path: &Path, pid: i32) {
    use std::os::unix::fs::MetadataExt;
    let ino = fs::metadata(path).unwrap().ino();
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        let locks = fs::read_to_string("/proc/locks").unwrap();
        let held = locks.lines().any(|l| {
            let f: Vec<&str> = l.split_ascii_whitespace().collect();
            f.get(1) != Some(&"->")
                && f.get(5)
                    .and_then(|d| d.rsplit(':').next())
                    .and_then(|i| i.parse::<u64>().ok())
                    == Some(ino)
        });
        if held {
            return;
        }
        assert!(live::alive(pid), "the attacker's flock on {path:?} died");
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the attacker never got its flock on {path:?}");
}

/// Issue: any local user could hang start, stop, restart, enable and
/// disable by flock-ing a file the front end locks (the app's config, or
/// `/etc/uwsgi`), since anyone can open those. A user with no app holds
/// both; every command must still finish, and in time.
#[test]
fn a_local_user_holding_flocks_on_configs_hangs_nothing() {
    let live = Live::new();
    let port = live.app("vic", "");
    let atk_conf = live.r.available().join("atk.ini");
    fs::write(&atk_conf, "[uwsgi]\n").unwrap();
    live::chmod(&atk_conf, 0o644);
    let user = TestUser::new("lk");

    let config = live.r.available().join("vic.ini");
    for path in [live.r.path("etc/uwsgi"), config.clone(), live.r.enabled()] {
        let mut cmd = user.command("flock");
        cmd.arg("-x").arg(&path).args(["sleep", "300"]);
        let pid = live.spawn(cmd);
        wait_flocked(&path, pid);
    }

    let limit = Duration::from_secs(25);
    for args in [
        &["initd", "start", "vic"][..],
        &["initd", "restart", "vic"],
        &["reload", "vic"],
        &["initd", "stop"],
        &["start", "vic"],
        &["enable", "atk"],
        &["disable", "atk"],
        &["stop", "vic"],
    ] {
        let started = Instant::now();
        let out = live.apps_within(limit, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", show(&out));
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{args:?} took {:?}",
            started.elapsed()
        );
        if args == ["start", "vic"] {
            assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello vic");
        }
    }

    // The locks themselves are out of the user's reach: the directory
    // that holds them is root's alone.
    let locks = live.r.path("run/uwsgi-apps");
    assert_eq!(live::owner_mode(&locks), (0, 0, 0o700));
    let out = user
        .command("flock")
        .arg("-n")
        .arg(locks.join("registry"))
        .arg("true")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the user could lock the registry");
}

/// The python loop of the attack on the run dir, as the app's user: swap
/// a link to the victim in for the socket (which uWSGI, still root,
/// chowns to the app's user right after binding it) and plant one at the
/// pidfile (which uWSGI, as root, opens with fopen("w")), over and over,
/// whatever the dir holds at the moment.
const RUN_DIR_ATTACK: &str = r#"
import os, sys, time
run, victim = sys.argv[1], sys.argv[2]
end = time.time() + 60
while time.time() < end:
    for name in ("socket", "pid"):
        tmp = os.path.join(run, name + ".atk")
        try:
            os.symlink(victim, tmp)
            os.rename(tmp, os.path.join(run, name))
        except OSError:
            pass
"#;

/// Issue: `/run/uwsgi/NS/NAME/` belonged to the app's user, and uWSGI in
/// its root phase chowns the socket it binds there and writes its pidfile
/// there, following links: a helper process left running by the app
/// swapped a link in and got a root file chowned to it (8 of 10 restarts)
/// or truncated. The run dir is root's now: the same attack, run by the
/// app's real user through ten restarts, changes nothing.
#[test]
fn the_apps_user_cannot_swap_links_into_its_run_dir() {
    let live = Live::new();
    let port = live.app("own", "");
    let victim = live.write_file("fake-passwd", "root:x:0:0::/root:/bin/sh\n", 0o644);
    let before = (fs::read(&victim).unwrap(), live::owner_mode(&victim));
    let script = live.write_file("srv/attack.py", RUN_DIR_ATTACK, 0o644);

    let out = live.initd(&["start", "own"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        live::owner_mode(&live.rundir("own")),
        (0, 0, 0o755),
        "the run dir is root's"
    );

    // The attacker is the app's own user, www-data.
    let (uid, gid) = live::www_data();
    let mut cmd = std::process::Command::new("setpriv");
    cmd.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"))
        .arg("--clear-groups")
        // Debian's python, which every user can run (not a developer's
        // pyenv shim under /root).
        .arg("/usr/bin/python3")
        .arg(&script)
        .arg(live.rundir("own"))
        .arg(&victim);
    live.spawn(cmd);

    for round in 0..10 {
        let out = live.initd(&["restart", "own"]);
        assert_eq!(out.status.code(), Some(0), "round {round}: {}", show(&out));
        assert_eq!(
            (fs::read(&victim).unwrap(), live::owner_mode(&victim)),
            before,
            "round {round}: the victim changed"
        );
        assert!(fs::symlink_metadata(live.pidfile("own")).unwrap().is_file());
    }
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello own");
    let out = live.initd(&["stop", "own"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// A run dir that root made beforehand (`mkdir /run/uwsgi/app/NAME`) is
/// the normal case now, and starts.
#[test]
fn a_run_dir_root_made_beforehand_starts() {
    let live = Live::new();
    let port = live.app("pre", "");
    fs::create_dir_all(live.rundir("pre")).unwrap();
    live::chmod(&live.rundir("pre"), 0o755);
    let out = live.initd(&["start", "pre"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello pre");
    let out = live.initd(&["stop", "pre"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// Another user's own uWSGI, run with `setpriv` as `user`, serving on
/// `port`; `env` is added to a clean environment (a forger sets the
/// instance variables of an app).
fn foreign_uwsgi(live: &Live, user: &TestUser, port: u16, env: &[(&str, &str)]) -> i32 {
    let mut cmd = user.command(live::DAEMON);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .args(["--plugins", "python3", "--master", "--processes", "1"])
        .args(["--http-socket", &format!("127.0.0.1:{port}")])
        .arg("--wsgi-file")
        .arg(live.r.path("srv/app.py"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let pid = live.spawn(cmd);
    live::http_wait(port, HTTP_LIMIT);
    pid
}

/// Issue: identity failed open. A uWSGI process whose environment did
/// not name the instance was taken for its master, so a pidfile naming
/// another user's own uWSGI made `status` say running and `stop` kill
/// that server. Now the instance variables must be there and name the
/// instance, and the process must run as root or as the instance's user.
#[test]
fn a_pidfile_naming_another_users_uwsgi_is_never_believed_or_signalled() {
    let live = Live::new();
    live.app("atk", "");
    let user = TestUser::new("id");
    let plain = foreign_uwsgi(&live, &user, live::free_port(), &[]);
    // The forger sets the very variables the front end checks.
    let forged = foreign_uwsgi(
        &live,
        &user,
        live::free_port(),
        &[
            ("UWSGI_DEB_CONFNAMESPACE", "app"),
            ("UWSGI_DEB_CONFNAME", "atk"),
        ],
    );
    for pid in [plain, forged] {
        fs::create_dir_all(live.rundir("atk")).unwrap();
        fs::write(live.pidfile("atk"), format!("{pid}\n")).unwrap();
        let out = live.apps(&["status", "atk"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "dead, pidfile exists: {}",
            show(&out)
        );
        let out = live.initd(&["status", "atk"]);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let out = live.apps(&["list", "--json"]);
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            !list.to_string().contains(&format!("\"pid\":{pid}")),
            "list shows the foreign pid: {list}"
        );
        let out = live.initd(&["stop", "atk"]);
        assert_eq!(out.status.code(), Some(0), "not running: {}", show(&out));
        std::thread::sleep(Duration::from_millis(300));
        assert!(live::alive(pid), "stop killed the other user's uWSGI {pid}");
    }
}

/// A stand-in (named as such: a real uWSGI cannot be made to do this)
/// that is stopped with SIGSTOP and carries a huge environment: `status`
/// answers at once with little memory, and `stop` of every app does not
/// wait for it.
#[test]
fn a_stopped_stand_in_with_a_huge_environment_costs_nothing() {
    let live = Live::new();
    live.app("atk", "");
    let user = TestUser::new("hg");
    // 1.5 MB in all (one variable may hold at most 128 KiB, and the
    // whole of argv and environ about 2 MB), the instance's variables last.
    let chunk = "x".repeat(100_000);
    let mut cmd = user.command(live::DAEMON);
    cmd.env_clear();
    for k in 0..15 {
        cmd.env(format!("HUGE{k}"), &chunk);
    }
    cmd.env("UWSGI_DEB_CONFNAMESPACE", "app")
        .env("UWSGI_DEB_CONFNAME", "atk")
        .args(["--http-socket", &format!("127.0.0.1:{}", live::free_port())])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let pid = live.spawn(cmd);
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    fs::create_dir_all(live.rundir("atk")).unwrap();
    fs::write(live.pidfile("atk"), format!("{pid}\n")).unwrap();

    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "maxrss=%M"])
        .arg(env!("CARGO_BIN_EXE_uwsgi-apps"))
        .arg("--root")
        .arg(&live.r.root)
        .args(["status", "atk"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let kb: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("maxrss="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss in {err}"));
    assert!(kb < 16 * 1024, "status took {kb} kB");

    let started = Instant::now();
    let out = live.apps_within(Duration::from_secs(25), &["stop"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(live::alive(pid));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGCONT,
    );
}

/// Issue: the `STATUS=` text an app sends to the readiness socket was
/// printed raw in the timeout message: terminal escapes from the app
/// reached root's terminal (a new window title, a cleared screen, a fake
/// "all apps started OK"). Everything from an app is sanitised.
#[test]
fn terminal_escapes_from_an_app_never_reach_roots_terminal() {
    let live = Live::new();
    live.write_file(
        "srv/escape.py",
        "import os, socket, time\n\
         s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
         s.sendto(b'STATUS=\\x1b]0;pwned-title\\x07\\x1b[2J\\x1b[31mFAKE: all apps started OK\\x1b[0m',\n\
                  os.environ['NOTIFY_SOCKET'])\n\
         print('\\x1b]0;log-title\\x07\\x1b[2J in the log')\n\
         time.sleep(60)\n",
        0o644,
    );
    live.app_file(
        "esc.ini",
        &format!(
            "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{}\nwsgi-file = {}\n",
            live::free_port(),
            live.r.path("srv/escape.py").display()
        ),
    );
    for args in [
        &["start", "--start-timeout", "3", "esc"][..],
        &["start", "--json", "--start-timeout", "3", "esc"],
    ] {
        let out = live.apps(args);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let all = [&out.stdout[..], &out.stderr[..]].concat();
        assert!(
            !all.iter().any(|&b| b == 0x1b || b == 0x07),
            "raw escapes in the output: {}",
            show(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !args.contains(&"--json") {
            assert!(stderr.contains("?]0;pwned-title?"), "{}", show(&out));
            assert!(
                stderr.contains("?[2J in the log"),
                "the log tail: {}",
                show(&out)
            );
        }
        let out = live.apps(&["stop", "esc"]);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    }
}

/// Issue: an app made 5,000 nested directories in its run dir; with
/// systemd's default `ulimit -n 1024` the stop could not remove them
/// ("Too many open files") and `restart` then started nothing: every app
/// stayed down. The run dir is root's now, so an app cannot do that; the
/// same leftovers (made here by root) only earn a warning, and each
/// instance is restarted on its own.
#[test]
fn one_apps_leftovers_never_keep_the_others_down() {
    let live = Live::new();
    let pa = live.app("junk", "");
    let pb = live.app("clean", "");
    let out = live.initd(&["start"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let (a, b) = (live.master("junk"), live.master("clean"));
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg("import os, sys\nos.chdir(sys.argv[1])\nfor _ in range(5000):\n    os.mkdir('d'); os.chdir('d')\n")
        .arg(live.rundir("junk"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));

    let out = std::process::Command::new("prlimit")
        .arg("--nofile=1024")
        .arg(live.r.applet("uwsgi-apps"))
        .args(["initd", "restart"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("UWSGI_APPS_ROOT", &live.r.root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Restarting app server(s): uwsgi -> . . done.\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("junk: stopped, but its runtime directory stays"),
        "{}",
        show(&out)
    );
    assert_eq!(live::http_wait(pa, HTTP_LIMIT), "hello junk");
    assert_eq!(live::http_wait(pb, HTTP_LIMIT), "hello clean");
    let (a2, b2) = (live.master("junk"), live.master("clean"));
    assert!(a2 != a && b2 != b, "both restarted");
    let out = live.initd(&["stop"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // rm walks any depth; the fixture's own clean-up may not.
    let _ = std::process::Command::new("rm")
        .arg("-rf")
        .arg(live.rundir("junk"))
        .status();
}

/// With the run dir root's, what uWSGI makes there after it dropped
/// privileges cannot be made (it would exit with Permission denied): a
/// stats socket, a master FIFO, or any socket when nothing (no
/// `chown-socket`) makes uWSGI bind it before the drop. `start` refuses
/// such a config with the option and what to use instead, before anything
/// runs.
#[test]
fn start_refuses_configs_that_make_files_in_the_run_dir_after_the_drop() {
    let live = Live::new();
    let run = live.r.path("run/uwsgi/app");
    let run = run.display();
    live.app("stats", &format!("stats = {run}/stats/stats.sock\n"));
    live.app("fifo", &format!("master-fifo = {run}/fifo/fifo\n"));
    for (name, option) in [("stats", "stats"), ("fifo", "master-fifo")] {
        let out = live.initd(&["start", name]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(option) && stderr.contains(&format!("{run}/{name}")),
            "{name}: {}",
            show(&out)
        );
        assert!(live.masters().is_empty(), "{name}: a master runs");
    }

    // No inherited config (so no chown-socket): the app's own socket in
    // its run dir would be bound after the drop.
    let live = Live::new();
    live.settings("INHERITED_CONFIG=\n");
    live.app(
        "bare",
        &format!(
            "master = true\nuid = www-data\ngid = www-data\n\
             socket = {}/run/uwsgi/app/bare/socket\n",
            live.r.root.display()
        ),
    );
    let out = live.initd(&["start", "bare"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("socket") && stderr.contains("chown-socket"),
        "{}",
        show(&out)
    );
    assert!(live.masters().is_empty());
    // With chown-socket it binds as root, and starts.
    let port = live.app(
        "owned",
        &format!(
            "master = true\nuid = www-data\ngid = www-data\nchown-socket = www-data\n\
             socket = {}/run/uwsgi/app/owned/socket\n",
            live.r.root.display()
        ),
    );
    let out = live.initd(&["start", "owned"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello owned");
    let out = live.initd(&["stop", "owned"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}
