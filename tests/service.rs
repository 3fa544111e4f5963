//! The service commands against the real uWSGI (`/usr/bin/uwsgi` with the
//! python3 plugin): every test has its own root, its own ports on
//! 127.0.0.1, a small WSGI app, and a guard that kills every uWSGI process
//! of its root when it ends, also when it fails.

mod common;

use std::collections::HashSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::{code, stderr, stdout, Root};

const WSGI_APP: &str = "\
def application(env, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'hello from ' + env.get('SCRIPT_NAME', '').encode() + b'uwsgi\\n']
";

/// A root with an inherited config (Debian's defaults, with its paths
/// inside the root) and a WSGI app, readable by www-data.
struct Svc {
    r: Root,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

impl Svc {
    fn new() -> Svc {
        let r = Root::new();
        // tempdir is 0700: uWSGI, as www-data, must reach the app file.
        chmod(r.tmp.path(), 0o755);
        for d in [
            "",
            "etc",
            "etc/uwsgi",
            "etc/uwsgi/apps-available",
            "etc/uwsgi/apps-enabled",
        ] {
            chmod(&r.path(d), 0o755);
        }
        let conf = r.path("usr/share/uwsgi/conf");
        fs::create_dir_all(&conf).unwrap();
        let run = r.path("run/uwsgi");
        fs::write(
            conf.join("default.ini"),
            format!(
                "[uwsgi]\n\
                 declare-option = deb-confnamespace=$1\n\
                 declare-option = deb-confname=$1\n\
                 plugins = python3\n\
                 master = true\n\
                 workers = 2\n\
                 no-orphans = true\n\
                 pidfile = {run}/%(deb-confnamespace)/%(deb-confname)/pid\n\
                 socket = {run}/%(deb-confnamespace)/%(deb-confname)/socket\n\
                 chown-socket = www-data\n\
                 chmod-socket = 660\n\
                 log-date = true\n\
                 uid = www-data\n\
                 gid = www-data\n",
                run = run.display()
            ),
        )
        .unwrap();
        fs::create_dir_all(r.path("srv")).unwrap();
        chmod(&r.path("srv"), 0o755);
        fs::write(r.path("srv/app.py"), WSGI_APP).unwrap();
        Svc { r }
    }

    /// Write apps-available/NAME.ini serving HTTP on a fresh port, enable
    /// it, and return the port.
    fn app(&self, name: &str, extra: &str) -> u16 {
        let port = free_port();
        let file = self.r.available().join(format!("{name}.ini"));
        fs::write(
            &file,
            format!(
                "[uwsgi]\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {}\nneed-app = true\n{extra}",
                self.r.path("srv/app.py").display()
            ),
        )
        .unwrap();
        chmod(&file, 0o644);
        symlink(
            format!("../apps-available/{name}.ini"),
            self.r.enabled().join(format!("{name}.ini")),
        )
        .unwrap();
        port
    }

    fn settings(&self, text: &str) {
        fs::create_dir_all(self.r.path("etc/default")).unwrap();
        fs::write(self.r.path("etc/default/uwsgi"), text).unwrap();
    }

    fn initd(&self, args: &[&str]) -> Output {
        let mut all = vec!["initd"];
        all.extend_from_slice(args);
        self.r.run("uwsgi-apps", &all)
    }

    fn apps(&self, args: &[&str]) -> Output {
        self.r.run("uwsgi-apps", args)
    }

    fn run_dir(&self, name: &str) -> PathBuf {
        self.r.path("run/uwsgi/app").join(name)
    }

    fn pidfile(&self, name: &str) -> PathBuf {
        self.run_dir(name).join("pid")
    }

    fn pid(&self, name: &str) -> Option<i32> {
        fs::read_to_string(self.pidfile(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn log(&self, name: &str) -> PathBuf {
        self.r.path(format!("var/log/uwsgi/app/{name}.log"))
    }

    /// Every live uWSGI process started for this root (found by the
    /// NOTIFY_SOCKET in its environment, which names a path in the root).
    fn processes(&self) -> Vec<i32> {
        let needle = format!("NOTIFY_SOCKET={}", self.r.root.display());
        let mut out = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if !alive(pid) {
                continue;
            }
            let Ok(env) = fs::read(format!("/proc/{pid}/environ")) else {
                continue;
            };
            if env
                .split(|&b| b == 0)
                .any(|e| e.starts_with(needle.as_bytes()))
            {
                out.push(pid);
            }
        }
        out
    }

    /// The masters among them: those whose parent is not one of them.
    fn masters(&self) -> Vec<i32> {
        let all: HashSet<i32> = self.processes().into_iter().collect();
        all.iter()
            .copied()
            .filter(|&p| parent(p).map_or(true, |pp| !all.contains(&pp)))
            .collect()
    }
}

impl Drop for Svc {
    fn drop(&mut self) {
        // Kill by PID only what this root started (its environment says
        // so), masters and workers alike.
        for pid in self.processes() {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = s.rfind(')')?;
    Some(
        s[close + 1..]
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

/// Alive and not a zombie (PID 1 here does not reap).
fn alive(pid: i32) -> bool {
    stat_fields(pid).is_some_and(|f| f[0] != "Z" && f[0] != "X")
}

fn parent(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

fn environ(pid: i32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

fn cmdline(pid: i32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect()
}

/// GET / on 127.0.0.1:PORT; the body, if it answered 200.
fn http(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let (head, body) = buf.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.to_owned())
        .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_owned()))
}

fn owner_mode(path: &Path) -> (u32, u32, u32) {
    let m = fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

const WWW_DATA: u32 = 33;

#[test]
fn start_status_stop_with_debians_output_paths_owners_and_environment() {
    let s = Svc::new();
    let port = s.app("hello", "");

    let o = s.initd(&["start", "hello"]);
    assert_eq!(
        stdout(&o),
        "Starting app server(s): uwsgi -> . done.\n",
        "{}",
        stderr(&o)
    );
    assert_eq!(code(&o), 0);
    assert_eq!(http(port).as_deref(), Some("hello from uwsgi\n"));

    let pid = s.pid("hello").expect("a pidfile with a pid");
    assert!(alive(pid));
    assert_eq!(s.masters(), vec![pid]);
    // SPEC §4 owners and modes.
    assert_eq!(owner_mode(&s.pidfile("hello")), (0, 0, 0o644));
    assert_eq!(owner_mode(&s.run_dir("hello")), (0, 0, 0o755));
    assert_eq!(owner_mode(&s.r.path("run/uwsgi/app")), (0, 0, 0o755));
    assert_eq!(owner_mode(&s.run_dir("hello").join("socket")).0, WWW_DATA);
    assert!(s.log("hello").is_file());
    assert_eq!(owner_mode(&s.r.path("var/log/uwsgi/app")), (0, 0, 0o755));

    // SPEC §4 step 4: the exact command line, the environment.
    let r = &s.r.root;
    assert_eq!(
        cmdline(pid),
        [
            "/usr/bin/uwsgi".to_owned(),
            "--ini".into(),
            format!("{}/usr/share/uwsgi/conf/default.ini", r.display()),
            "--ini".into(),
            format!("{}/etc/uwsgi/apps-enabled/hello.ini", r.display()),
            "--logto".into(),
            format!("{}/var/log/uwsgi/app/hello.log", r.display()),
            "--pidfile".into(),
            format!("{}/run/uwsgi/app/hello/pid", r.display()),
        ]
    );
    let env = environ(pid);
    assert!(
        env.contains(&"UWSGI_DEB_CONFNAMESPACE=app".to_owned()),
        "{env:?}"
    );
    assert!(
        env.contains(&"UWSGI_DEB_CONFNAME=hello".to_owned()),
        "{env:?}"
    );
    assert!(
        env.contains(&format!(
            "NOTIFY_SOCKET={}/run/uwsgi/app/hello/notify",
            r.display()
        )),
        "{env:?}"
    );
    // Nothing of ours leaks in: uWSGI would read UWSGI_APPS_ROOT as an option.
    assert!(!env.iter().any(|e| e.starts_with("UWSGI_APPS_")), "{env:?}");

    // Already running: skipped, same master.
    let o = s.initd(&["start", "hello"]);
    assert_eq!(stdout(&o), "Starting app server(s): uwsgi -> . done.\n");
    let o = s.apps(&["start", "hello"]);
    assert_eq!(stdout(&o), format!("hello: already running (pid {pid})\n"));
    assert_eq!(code(&o), 0);
    assert_eq!(s.masters(), vec![pid]);

    let o = s.initd(&["status", "hello"]);
    assert_eq!(stdout(&o), "uwsgi is running.\n");
    assert_eq!(code(&o), 0);
    let o = s.apps(&["status", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["instances"][0]["pid"], pid);
    assert_eq!(j["instances"][0]["result"], "running");

    let o = s.initd(&["stop", "hello"]);
    assert_eq!(
        stdout(&o),
        "Stopping app server(s): uwsgi -> . done.\n",
        "{}",
        stderr(&o)
    );
    assert_eq!(code(&o), 0);
    assert!(!alive(pid), "the master survived stop");
    assert!(s.processes().is_empty(), "workers survived stop");
    assert!(!s.run_dir("hello").exists(), "the runtime dir stayed");
    let o = s.initd(&["status", "hello"]);
    assert_eq!(code(&o), 3);
    assert_eq!(stdout(&o), "uwsgi is not running ... failed!\n");
    let o = s.initd(&["stop", "hello"]);
    assert_eq!(stdout(&o), "Stopping app server(s): uwsgi -> . done.\n");
}

#[test]
fn reload_and_force_reload_keep_the_master_restart_replaces_it() {
    let s = Svc::new();
    let port = s.app("hello", "");
    assert_eq!(code(&s.apps(&["start", "hello"])), 0);
    // Let a worker answer first: uWSGI 2.0.21 can hang a graceful reload
    // that arrives while its workers are still starting.
    assert!(http(port).is_some());
    let pid = s.pid("hello").unwrap();

    let o = s.apps(&["reload", "--wait", "--start-timeout", "20", "hello"]);
    assert_eq!(
        stdout(&o),
        format!("hello: reloaded (pid {pid})\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(code(&o), 0);
    assert_eq!(s.pid("hello"), Some(pid));
    assert!(alive(pid));
    assert_eq!(http(port).as_deref(), Some("hello from uwsgi\n"));

    let o = s.apps(&["force-reload", "--wait", "--start-timeout", "20", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.pid("hello"), Some(pid));
    assert_eq!(http(port).as_deref(), Some("hello from uwsgi\n"));

    let o = s.initd(&["reload", "hello"]);
    assert_eq!(stdout(&o), "Reloading app server(s): uwsgi -> . done.\n");
    assert!(http(port).is_some());
    let o = s.initd(&["force-reload", "hello"]);
    assert_eq!(
        stdout(&o),
        "Forced reloading app server(s): uwsgi -> . done.\n"
    );
    assert!(http(port).is_some());

    let o = s.initd(&["restart", "hello"]);
    assert_eq!(
        stdout(&o),
        "Restarting app server(s): uwsgi -> . done.\n",
        "{}",
        stderr(&o)
    );
    let new = s.pid("hello").unwrap();
    assert_ne!(new, pid);
    assert!(!alive(pid));
    assert_eq!(s.masters(), vec![new]);
    assert_eq!(http(port).as_deref(), Some("hello from uwsgi\n"));

    assert_eq!(code(&s.apps(&["stop", "hello"])), 0);
    // Reloading what does not run is a failure.
    let o = s.initd(&["reload", "hello"]);
    assert_eq!(stdout(&o), "Reloading app server(s): uwsgi -> ! failed!\n");
    assert_eq!(code(&o), 1);
}

#[test]
fn an_app_that_cannot_load_is_a_failure_with_its_log() {
    let s = Svc::new();
    let port = s.app("good", "");
    let file = s.r.available().join("broken.ini");
    fs::write(
        &file,
        format!(
            "[uwsgi]\nhttp-socket = 127.0.0.1:{}\nwsgi-file = {}\nneed-app = true\n",
            free_port(),
            s.r.path("srv/missing.py").display()
        ),
    )
    .unwrap();
    symlink(
        "../apps-available/broken.ini",
        s.r.enabled().join("broken.ini"),
    )
    .unwrap();

    let started = Instant::now();
    let o = s.initd(&["start"]);
    // Sorted by name: broken, good.
    assert_eq!(stdout(&o), "Starting app server(s): uwsgi -> ! . failed!\n");
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("broken"), "{err}");
    assert!(err.contains("missing.py"), "the log tail is missing: {err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(http(port).is_some());
    // Nothing is left of the failed start: no runtime dir, no pidfile.
    assert!(!s.run_dir("broken").exists());
    assert!(s.run_dir("good").join("pid").exists());

    let o = s.apps(&["start", "broken", "good", "--json"]);
    assert_eq!(code(&o), 1);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["instances"][0]["result"], "failed");
    assert!(j["instances"][0]["log_tail"]
        .as_str()
        .is_some_and(|t| t.contains("missing.py")));
    assert_eq!(j["instances"][1]["result"], "already-running");
}

#[test]
fn die_on_term_apps_stop_promptly_and_stop_waits_for_all_together() {
    let s = Svc::new();
    let a = s.app("a-term", "die-on-term = true\n");
    let b = s.app("b-plain", "");
    let c = s.app("c-plain", "");
    let o = s.initd(&["start"]);
    assert_eq!(
        stdout(&o),
        "Starting app server(s): uwsgi -> . . . done.\n",
        "{}",
        stderr(&o)
    );
    for port in [a, b, c] {
        assert!(http(port).is_some());
    }
    let masters = s.masters();
    assert_eq!(masters.len(), 3);

    let started = Instant::now();
    let o = s.initd(&["stop"]);
    let took = started.elapsed();
    assert_eq!(
        stdout(&o),
        "Stopping app server(s): uwsgi -> . . . done.\n",
        "{}",
        stderr(&o)
    );
    // Debian's SIGQUIT makes a die-on-term app reload, and its stop then
    // waits 30 s; SIGINT stops it in about a second. Three instances
    // stopped together take as long as one.
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
    for pid in masters {
        assert!(!alive(pid));
    }
    assert!(s.processes().is_empty());
}

#[test]
fn a_pidfile_naming_another_process_is_never_signalled() {
    let s = Svc::new();
    let port = s.app("hello", "");
    let mut sleeper = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .unwrap();
    let sleeper_pid = sleeper.id() as i32;
    fs::create_dir_all(s.run_dir("hello")).unwrap();
    fs::write(s.pidfile("hello"), format!("{sleeper_pid}\n")).unwrap();

    let o = s.initd(&["status", "hello"]);
    assert_eq!(code(&o), 1, "a stale pidfile is 'dead, pidfile exists'");
    let o = s.initd(&["stop", "hello"]);
    assert_eq!(code(&o), 0);
    assert!(alive(sleeper_pid), "stop signalled an unrelated process");

    fs::create_dir_all(s.run_dir("hello")).unwrap();
    fs::write(s.pidfile("hello"), format!("{sleeper_pid}\n")).unwrap();
    let o = s.apps(&["start", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let pid = s.pid("hello").unwrap();
    assert_ne!(pid, sleeper_pid, "start did not replace the stale pidfile");
    assert!(http(port).is_some());
    assert_eq!(code(&s.apps(&["stop", "hello"])), 0);
    assert!(alive(sleeper_pid));
    assert!(!alive(pid));
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

#[test]
fn garbage_in_a_pidfile_means_not_running() {
    let s = Svc::new();
    let port = s.app("hello", "");
    fs::create_dir_all(s.run_dir("hello")).unwrap();
    fs::write(s.pidfile("hello"), "not a pid \u{1b}[2J\n").unwrap();
    let o = s.initd(&["status", "hello"]);
    assert_eq!(code(&o), 1);
    let o = s.apps(&["stop", "hello"]);
    assert_eq!(stdout(&o), "hello: not running\n");
    fs::create_dir_all(s.run_dir("hello")).unwrap();
    fs::write(s.pidfile("hello"), "-1\n").unwrap();
    let o = s.initd(&["start", "hello"]);
    assert_eq!(
        stdout(&o),
        "Starting app server(s): uwsgi -> . done.\n",
        "{}",
        stderr(&o)
    );
    assert!(http(port).is_some());
}

#[test]
fn a_config_others_can_write_is_refused_unless_the_check_is_off() {
    let s = Svc::new();
    let port = s.app("hello", "");
    let file = s.r.available().join("hello.ini");
    chmod(&file, 0o666);
    let o = s.initd(&["start", "hello"]);
    assert_eq!(stdout(&o), "Starting app server(s): uwsgi -> ! failed!\n");
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("0666"), "{err}");
    assert!(err.contains("root"), "{err}");
    assert!(s.masters().is_empty());

    s.settings("CHECK_CONFIG_PERMISSIONS=no\n");
    let o = s.initd(&["start", "hello"]);
    assert_eq!(
        stdout(&o),
        "Starting app server(s): uwsgi -> . done.\n",
        "{}",
        stderr(&o)
    );
    assert!(http(port).is_some());
}

#[test]
fn names_with_spaces_and_the_confname_output() {
    let s = Svc::new();
    let port = s.app("my app", "");
    s.settings("PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes\n");
    let o = s.initd(&["start", "my app", "nope"]);
    assert_eq!(
        stdout(&o),
        "Starting app server(s): uwsgi -> 'app/my app' app/nope? done.\n",
        "{}",
        stderr(&o)
    );
    assert_eq!(code(&o), 0);
    assert!(http(port).is_some());
    let pid = s.pid("my app").unwrap();
    assert!(environ(pid).contains(&"UWSGI_DEB_CONFNAME=my app".to_owned()));
    let o = s.initd(&["start", "my app"]);
    assert_eq!(
        stdout(&o),
        "Starting app server(s): uwsgi -> ('app/my app') done.\n"
    );
    let o = s.initd(&["stop"]);
    assert_eq!(
        stdout(&o),
        "Stopping app server(s): uwsgi -> 'app/my app' done.\n"
    );
    assert!(!alive(pid));
}

#[test]
fn two_concurrent_starts_make_one_master() {
    let s = Svc::new();
    let port = s.app("hello", "");
    let spawn = || {
        let mut c = std::process::Command::new(s.r.applet("uwsgi-apps"));
        c.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("UWSGI_APPS_ROOT", &s.r.root)
            .args(["start", "hello"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn();
    let b = spawn();
    let a = a.wait_with_output().unwrap();
    let b = b.wait_with_output().unwrap();
    assert_eq!(code(&a), 0);
    assert_eq!(code(&b), 0);
    let both = format!("{}{}", stdout(&a), stdout(&b));
    assert_eq!(both.matches("started").count(), 1, "{both}");
    assert_eq!(both.matches("already running").count(), 1, "{both}");
    assert_eq!(s.masters().len(), 1);
    assert!(http(port).is_some());
}

#[test]
fn missing_confspecs_unknown_commands_quiet_mode_and_status_codes() {
    let s = Svc::new();
    let o = s.initd(&["start"]);
    assert_eq!(
        stdout(&o),
        format!(
            "Starting app server(s): uwsgi (omitted; missing conffile(s) in {}).\n",
            s.r.enabled().display()
        )
    );
    let o = s.initd(&["start", "nope"]);
    assert_eq!(stdout(&o), "Starting app server(s): uwsgi -> ? done.\n");
    assert_eq!(code(&o), 0, "a missing conffile is not a failure");
    // The modern commands call a missing app a failure (only the init
    // face keeps Debian's `?` with exit 0).
    for op in ["start", "stop", "reload", "force-reload", "restart"] {
        let o = s.apps(&[op, "nope"]);
        assert_eq!(stdout(&o), "nope: no such app\n", "{op}");
        assert_eq!(code(&o), 1, "{op}");
        let o = s.apps(&[op, "--json", "nope"]);
        assert_eq!(code(&o), 1, "{op}");
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(doc["exit_status"], 1, "{op}: {doc}");
        assert_eq!(doc["instances"][0]["result"], "not-found", "{op}: {doc}");
    }

    let o = s.initd(&["bogus"]);
    assert_eq!(code(&o), 3);
    assert!(stderr(&o)
        .starts_with("Usage: /etc/init.d/uwsgi {start|stop|status|restart|reload|force-reload}"));
    assert!(stdout(&o).is_empty());

    let port = s.app("hello", "");
    s.app("idle", "");
    s.settings("VERBOSE=no\n");
    let o = s.initd(&["start", "hello"]);
    assert_eq!(stdout(&o), "");
    assert_eq!(code(&o), 0);
    assert!(http(port).is_some());

    // Worst status wins: 4 over 1 over 3 over 0.
    assert_eq!(code(&s.initd(&["status", "hello"])), 0);
    assert_eq!(code(&s.initd(&["status", "hello", "idle"])), 3);
    assert_eq!(code(&s.apps(&["status", "hello", "idle", "nope"])), 4);
    let o = s.apps(&["status"]);
    assert_eq!(code(&o), 3);
    assert!(stdout(&o).contains("hello: running (pid"), "{}", stdout(&o));
    assert!(stdout(&o).contains("idle: not running"), "{}", stdout(&o));
}

#[test]
fn a_stop_right_after_a_start_does_not_hang() {
    // uWSGI 2.0.21 can lose a SIGINT that comes within milliseconds of its
    // READY=1; stop must still finish in seconds, not after its 30 s
    // timeout and SIGKILL.
    let s = Svc::new();
    s.app("hello", "");
    for _ in 0..5 {
        assert_eq!(code(&s.apps(&["start", "hello"])), 0);
        let pid = s.pid("hello").unwrap();
        let started = Instant::now();
        let o = s.apps(&["stop", "hello"]);
        let took = started.elapsed();
        assert_eq!(stdout(&o), "hello: stopped\n", "{}", stderr(&o));
        assert!(took < Duration::from_secs(12), "stop took {took:?}");
        assert!(!alive(pid));
    }
}

#[test]
fn enapp_now_starts_disapp_now_stops_and_list_shows_what_runs() {
    let s = Svc::new();
    let port = free_port();
    let file = s.r.available().join("hello.ini");
    fs::write(
        &file,
        format!(
            "[uwsgi]\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {}\nneed-app = true\n",
            s.r.path("srv/app.py").display()
        ),
    )
    .unwrap();

    let o = s.r.run("uwsgi-enapp", &["--now", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let pid = s.pid("hello").expect("started by --now");
    assert_eq!(
        stdout(&o),
        format!("Enabling app hello.\nhello: started (pid {pid})\n")
    );
    assert!(http(port).is_some());

    let o = s.apps(&["list"]);
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
    let o = s.apps(&["list", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["apps"][0]["pid"], pid);
    assert_eq!(j["apps"][0]["running"], true);

    // Disabling a running app without --now: done, with a warning.
    let o = s.r.run("uwsgi-disapp", &["hello"]);
    assert_eq!(code(&o), 0);
    assert!(stderr(&o).contains("still running"), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("pid {pid}")), "{}", stderr(&o));
    assert!(alive(pid));
    // Its config is gone, but it can still be stopped by name.
    let o = s.apps(&["stop", "hello"]);
    assert_eq!(stdout(&o), "hello: stopped\n", "{}", stderr(&o));
    assert!(!alive(pid));

    let o = s.r.run("uwsgi-enapp", &["--now", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let pid = s.pid("hello").unwrap();
    let o = s.r.run("uwsgi-disapp", &["--now", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "hello: stopped\nApp hello disabled.\n");
    assert!(!alive(pid));
    assert!(!s.r.enabled().join("hello.ini").exists());
    let o = s.apps(&["list"]);
    assert!(
        stdout(&o).starts_with("hello\tini\tdisabled\tadmin\t-\t-\t-"),
        "{}",
        stdout(&o)
    );
}
