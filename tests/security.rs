//! The attacks of the security audit, each run for real: the attacker is
//! a real unprivileged user (made by the test, removed after it) or an
//! app's own user, the instances are the real uWSGI, and each test fails
//! on a front end without the defence it proves.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::live::{self, Live};
use common::users::TestUser;

const HTTP_LIMIT: Duration = Duration::from_secs(20);

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

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
