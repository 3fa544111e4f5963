//! The Ansible collection (`ansible/ansible_collections/uwsgi_apps/uwsgi`)
//! for real: `ansible/tests/run.sh` drives this build of uwsgi-apps through
//! `ansible-playbook` (localhost, `connection: local`) under a temporary
//! `--root`, where the real uWSGI serves on 127.0.0.1 — check mode, enabling
//! twice, started, a handler's reload with wait, restarted, a broken app,
//! every error the modules report, disabled and stopped. The playbooks
//! assert each task's result; the script checks the recaps, HTTP with curl,
//! the tree on disk and the processes. The same modules under the systemd
//! engine are in tests/systemd.rs.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the whole script may take (it takes well under a minute; the
/// machine may be loaded by other test binaries).
const LIMIT: Duration = Duration::from_secs(300);

/// After SIGTERM (the script's trap stops what it started), how long
/// before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(30);

#[test]
fn the_collection_manages_apps_under_a_temporary_root() {
    if !nix::unistd::Uid::effective().is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the Ansible test needs root; CI is set, so this is a failure, not a skip"
        );
        eprintln!("\n!!!!! SKIPPED: the Ansible test needs root (uWSGI drops to www-data) !!!!!\n");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = tempfile::tempdir().expect("temporary directory");
    let log_path = home.path().join("run.log");
    let log = fs::File::create(&log_path).expect("create the log");
    // A clean environment, as every test here: nothing of the developer's
    // shell (ANSIBLE_*, UWSGI_APPS_ROOT) changes the result, and HOME is
    // the test's own, so ~/.ansible is neither read nor written.
    let mut child = Command::new("sh")
        .arg(repo.join("ansible/tests/run.sh"))
        .arg(env!("CARGO_BIN_EXE_uwsgi-apps"))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C.UTF-8")
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup the log"))
        .stderr(log)
        .spawn()
        .expect("run ansible/tests/run.sh");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for run.sh") {
            break Some(status);
        }
        if started.elapsed() > LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let status = status.unwrap_or_else(|| {
        // Our own child, not yet reaped: its PID is still its own.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let end = Instant::now() + TERM_GRACE;
        while Instant::now() < end {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "run.sh took more than {LIMIT:?}:\n{}",
            fs::read_to_string(&log_path).unwrap_or_default()
        );
    });
    let output = fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.success(), "run.sh failed ({status}):\n{output}");
    assert!(
        output.contains("ansible: 6 passed, 0 failed"),
        "run.sh did not finish its scenarios:\n{output}"
    );
    // What each scenario took, for the log of a passing run.
    for line in output
        .lines()
        .filter(|l| l.starts_with("== ") && l.contains(": exit "))
    {
        println!("{line}");
    }
}
