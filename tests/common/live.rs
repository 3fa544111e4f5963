//! A harness for tests that run the real uWSGI through the front end.
//!
//! `Live` is a temporary root laid out the way Debian's package lays out
//! `/`: an inherited config modelled on Debian's `default.ini` (every path
//! in it points into the root), `/etc/default/uwsgi`, a tiny WSGI app that
//! answers `hello NAME`, and apps that serve it over `http-socket` on a free
//! port of 127.0.0.1. The root is traversable by `www-data`, which the
//! instances run as.
//!
//! Whatever happens in a test (a failed assertion included), dropping the
//! `Live` SIGKILLs every uWSGI process that belongs to its root — found
//! both through the pidfiles and by scanning /proc for command lines that
//! name the root — and every helper process the test spawned. Processes are
//! killed only after `/proc/PID/exe` proved they are uWSGI.
//!
//! PID 1 on the test machines does not reap orphans, so a daemon that
//! exited may linger as a zombie: every check here treats a zombie as dead.

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{symlink, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Root;

/// The program the front end runs by default, and what it resolves to
/// (`/usr/bin/uwsgi` is an alternatives link to `/usr/bin/uwsgi-core`).
pub const DAEMON: &str = "/usr/bin/uwsgi";

/// How long any one run of the front end may take before the test gives
/// up on it (the child is killed; the test then fails on its output).
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// The WSGI app every instance serves: it names the instance it runs in,
/// from the environment the front end gave its master.
const WSGI_APP: &str = "\
import os

def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('hello ' + os.environ.get('UWSGI_DEB_CONFNAME', '?')).encode()]
";

pub struct Live {
    pub r: Root,
    /// Helper processes (a `sleep` behind a stale pidfile, …), killed and
    /// reaped on drop.
    children: Mutex<Vec<Child>>,
}

impl Live {
    /// A root with the inherited config, the settings file (verbose,
    /// symbols), the WSGI app, and no app enabled.
    pub fn new() -> Live {
        let r = Root::new();
        // tempfile makes its directory 0700; the instances drop to
        // www-data and must reach the WSGI app (and uWSGI's cwd checks).
        chmod(r.tmp.path(), 0o755);
        chmod(&r.root, 0o755);
        for dir in [
            "etc",
            "etc/uwsgi",
            "etc/uwsgi/apps-available",
            "etc/uwsgi/apps-enabled",
        ] {
            chmod(&r.path(dir), 0o755);
        }
        let live = Live {
            r,
            children: Mutex::new(Vec::new()),
        };
        live.write_file("srv/app.py", WSGI_APP, 0o644);
        live.write_file(
            "usr/share/uwsgi/conf/default.ini",
            &live.inherited_config(),
            0o644,
        );
        live.settings("");
        live
    }

    /// Debian's default.ini, with every path moved into the root and one
    /// worker so that many instances fit on a small machine.
    fn inherited_config(&self) -> String {
        let run = self.r.path("run/uwsgi");
        let run = run.display();
        format!(
            "[uwsgi]\n\
             declare-option = deb-confnamespace=$1\n\
             declare-option = deb-confname=$1\n\
             master = true\n\
             processes = 1\n\
             no-orphans = true\n\
             pidfile = {run}/%(deb-confnamespace)/%(deb-confname)/pid\n\
             socket = {run}/%(deb-confnamespace)/%(deb-confname)/socket\n\
             chown-socket = www-data\n\
             chmod-socket = 660\n\
             log-date = true\n\
             uid = www-data\n\
             gid = www-data\n"
        )
    }

    /// Write `/etc/default/uwsgi`: Debian's defaults (verbose, symbols, the
    /// inherited config), then `extra` lines, which override them.
    pub fn settings(&self, extra: &str) {
        self.write_file(
            "etc/default/uwsgi",
            &format!(
                "VERBOSE=yes\n\
                 PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=no\n\
                 INHERITED_CONFIG=/usr/share/uwsgi/conf/default.ini\n\
                 {extra}"
            ),
            0o644,
        );
    }

    /// Write a file inside the root (parents 0755) with this mode.
    pub fn write_file(&self, rel: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.r.path(rel);
        let parent = path.parent().expect("a file inside the root has a parent");
        fs::create_dir_all(parent).expect("create the parent directory");
        fs::write(&path, text).expect("write the file");
        chmod(&path, mode);
        path
    }

    /// Add an app NAME that serves the WSGI app on a fresh port of
    /// 127.0.0.1, with `extra` config lines, enabled by a relative link as
    /// `uwsgi-enapp` makes it. Returns the port.
    pub fn app(&self, name: &str, extra: &str) -> u16 {
        let port = free_port();
        let text = format!(
            "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {}\n{extra}",
            self.r.path("srv/app.py").display()
        );
        self.app_file(&format!("{name}.ini"), &text);
        port
    }

    /// An app NAME that takes 3 s to load (its READY=1 comes that much
    /// after its start) and then answers `slow`, enabled; its port.
    pub fn slow_app(&self, name: &str) -> u16 {
        let file = format!("srv/{name}.py");
        self.write_file(
            &file,
            "import time\ntime.sleep(3)\n\
            def application(e, s):\n    s('200 OK', [])\n    return [b'slow']\n",
            0o644,
        );
        let port = free_port();
        self.app_file(
            &format!("{name}.ini"),
            &format!(
                "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {}\n",
                self.r.path(&file).display()
            ),
        );
        port
    }

    /// An app whose `wsgi-file` does not exist and that needs it: uWSGI
    /// writes the pidfile, then dies at once ("no app loaded").
    pub fn broken_app(&self, name: &str) {
        let text = format!(
            "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{}\nwsgi-file = {}\nneed-app = true\n",
            free_port(),
            self.r.path("srv/missing.py").display()
        );
        self.app_file(&format!("{name}.ini"), &text);
    }

    /// Write apps-available/FILE (root, 0644) and link it from apps-enabled.
    pub fn app_file(&self, file_name: &str, text: &str) -> PathBuf {
        let path = self.r.available().join(file_name);
        fs::write(&path, text).expect("write the app config");
        chmod(&path, 0o644);
        symlink(
            Path::new("../apps-available").join(file_name),
            self.r.enabled().join(file_name),
        )
        .expect("enable the app");
        path
    }

    /// `uwsgi-apps ARGS…` in a clean environment rooted here.
    pub fn apps(&self, args: &[&str]) -> Output {
        self.r
            .cmd("uwsgi-apps")
            .args(args)
            .timeout(RUN_LIMIT)
            .output()
            .expect("run uwsgi-apps")
    }

    /// `uwsgi-apps ARGS…`, given up on (killed) after `limit`: for runs
    /// that might hang.
    pub fn apps_within(&self, limit: Duration, args: &[&str]) -> Output {
        self.r
            .cmd("uwsgi-apps")
            .args(args)
            .timeout(limit)
            .output()
            .expect("run uwsgi-apps")
    }

    /// `uwsgi-apps initd ARGS…`: what `/etc/init.d/uwsgi ARGS…` runs.
    pub fn initd(&self, args: &[&str]) -> Output {
        let mut all = vec!["initd"];
        all.extend_from_slice(args);
        self.apps(&all)
    }

    pub fn rundir(&self, name: &str) -> PathBuf {
        self.r.path("run/uwsgi/app").join(name)
    }

    pub fn pidfile(&self, name: &str) -> PathBuf {
        self.rundir(name).join("pid")
    }

    pub fn logfile(&self, name: &str) -> PathBuf {
        self.r.path("var/log/uwsgi/app").join(format!("{name}.log"))
    }

    pub fn conffile(&self, name: &str) -> PathBuf {
        self.r.enabled().join(format!("{name}.ini"))
    }

    pub fn inherited(&self) -> PathBuf {
        self.r.path("usr/share/uwsgi/conf/default.ini")
    }

    /// The PID in NAME's pidfile, if there is a pidfile with a number.
    pub fn pid(&self, name: &str) -> Option<i32> {
        read_pid(&self.pidfile(name))
    }

    /// The running master of NAME: its pidfile names a live uWSGI, and
    /// that uWSGI is the only master under this root for NAME's config.
    pub fn master(&self, name: &str) -> i32 {
        let pid = self.pid(name).unwrap_or_else(|| {
            panic!("{name} has no pidfile with a PID; log:\n{}", self.log(name))
        });
        assert!(
            alive(pid),
            "{name}: the pidfile names PID {pid}, which is dead"
        );
        assert!(
            is_uwsgi(pid),
            "{name}: PID {pid} is not uWSGI: {:?}",
            exe(pid)
        );
        let conf = self.conffile(name);
        let of_this: Vec<i32> = self
            .masters()
            .into_iter()
            .filter(|m| cmdline(*m).iter().any(|a| Path::new(a) == conf))
            .collect();
        assert_eq!(of_this, [pid], "{name}: the masters running its config");
        pid
    }

    /// The log of NAME, for failure messages.
    pub fn log(&self, name: &str) -> String {
        fs::read_to_string(self.logfile(name)).unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// Every live uWSGI process whose command line names this root.
    pub fn uwsgi_processes(&self) -> Vec<i32> {
        let root = self.r.root.as_os_str().as_bytes();
        all_pids()
            .into_iter()
            .filter(|&pid| {
                alive(pid)
                    && is_uwsgi(pid)
                    && cmdline(pid)
                        .iter()
                        .any(|a| a.as_bytes().windows(root.len()).any(|w| w == root))
            })
            .collect()
    }

    /// The masters among them: those whose parent is not one of them
    /// (workers are children of their master), or is an Emperor (whose
    /// vassals are masters); an Emperor itself is none.
    pub fn masters(&self) -> Vec<i32> {
        let all = self.uwsgi_processes();
        let emperor = |pid: i32| cmdline(pid).iter().any(|a| a == "--emperor");
        let mut masters: Vec<i32> = all
            .iter()
            .copied()
            .filter(|&pid| !emperor(pid))
            .filter(|&pid| !matches!(ppid(pid), Some(p) if all.contains(&p) && !emperor(p)))
            .collect();
        masters.sort_unstable();
        masters
    }

    /// Wait up to `limit` until no uWSGI of this root is left.
    pub fn wait_no_masters(&self, limit: Duration) {
        let end = Instant::now() + limit;
        while !self.uwsgi_processes().is_empty() {
            assert!(
                Instant::now() < end,
                "uWSGI processes of the root are still alive: {:?}",
                self.uwsgi_processes()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Spawn a process this test owns (killed on drop) and give its PID.
    pub fn spawn_sleep(&self) -> i32 {
        let child = std::process::Command::new("sleep")
            .arg("300")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id() as i32;
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child);
        pid
    }

    /// Spawn a process this test owns (killed on drop), e.g. an attacker's
    /// helper running as another user, and give its PID.
    pub fn spawn(&self, mut cmd: std::process::Command) -> i32 {
        let child = cmd.spawn().expect("spawn a helper process");
        let pid = child.id() as i32;
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child);
        pid
    }

    /// Write NAME's pidfile by hand, as a stale one would be left.
    pub fn fake_pidfile(&self, name: &str, content: &str) {
        fs::create_dir_all(self.rundir(name)).expect("create the run dir");
        fs::write(self.pidfile(name), content).expect("write the pidfile");
    }

    fn kill_everything(&self) {
        let mut pids = self.uwsgi_processes();
        // A master whose command line does not name the root (a front end
        // that ran it differently) is still found through its pidfile.
        if let Ok(namespaces) = fs::read_dir(self.r.path("run/uwsgi")) {
            for ns in namespaces.flatten() {
                for inst in fs::read_dir(ns.path()).into_iter().flatten().flatten() {
                    let pid = read_pid(&inst.path().join("pid"));
                    if let Some(pid) = pid.filter(|&p| p > 1 && is_uwsgi(p)) {
                        pids.push(pid);
                    }
                }
            }
        }
        for pid in pids {
            if is_uwsgi(pid) {
                // SAFETY: kill(2) on a PID just proven to be a uWSGI of ours.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        for child in children.iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.kill_everything();
    }
}

/// The number in a pidfile. Tests put FIFOs and links there: open
/// without blocking, and read only a regular file.
pub fn read_pid(path: &Path) -> Option<i32> {
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// A port of 127.0.0.1 that was free a moment ago, below the kernel's
/// ephemeral range (32768-60999 here): a port the kernel hands out (bind
/// to port 0) is handed out again to the next outgoing connection, and an
/// app that binds it a moment later then finds it in use. Each test
/// process takes its ports from its own stretch of 20000-32767, in turn.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_700;
    let base = std::process::id() * 397 % SPAN;
    for _ in 0..SPAN {
        let port = (LOW + (base + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port of 127.0.0.1 in {LOW}-{}", LOW + SPAN)
}

/// One HTTP/1.0 GET of `/`: the body of a 200 answer, or what went wrong.
pub fn http_get(port: u16) -> Result<String, String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no complete answer: {answer:?}"))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(format!("not 200: {head:?}"));
    }
    Ok(body.to_string())
}

/// GET `/` until it answers 200 (the app may still be loading), at most
/// `limit`; panics with the last error.
pub fn http_wait(port: u16, limit: Duration) -> String {
    let end = Instant::now() + limit;
    loop {
        match http_get(port) {
            Ok(body) => return body,
            Err(e) if Instant::now() >= end => panic!("no HTTP answer on port {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The fields of /proc/PID/stat after the command name (which may hold
/// blanks and parentheses): state, ppid, …
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// The process exists and is not a zombie (nor dead and being reaped).
pub fn alive(pid: i32) -> bool {
    match stat_fields(pid) {
        Some(f) => !matches!(f.first().map(String::as_str), Some("Z" | "X" | "x")),
        None => false,
    }
}

pub fn ppid(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

pub fn exe(pid: i32) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// `/proc/PID/exe` is the uWSGI program (compared resolved).
pub fn is_uwsgi(pid: i32) -> bool {
    match (exe(pid), fs::canonicalize(DAEMON)) {
        (Some(exe), Ok(daemon)) => exe == daemon,
        _ => false,
    }
}

pub fn cmdline(pid: i32) -> Vec<OsString> {
    split_nul(fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
}

pub fn environ(pid: i32) -> Vec<OsString> {
    split_nul(fs::read(format!("/proc/{pid}/environ")).unwrap_or_default())
}

fn split_nul(bytes: Vec<u8>) -> Vec<OsString> {
    bytes
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| OsString::from_vec(s.to_vec()))
        .collect()
}

/// The live children of PID (a master's workers).
pub fn children(pid: i32) -> Vec<i32> {
    let mut kids: Vec<i32> = all_pids()
        .into_iter()
        .filter(|&p| ppid(p) == Some(pid) && alive(p))
        .collect();
    kids.sort_unstable();
    kids
}

/// Wait up to `limit` for PID to be gone (a zombie counts as gone).
pub fn wait_gone(pid: i32, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while alive(pid) {
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// uid, gid and permission bits of a path (not following a final link).
pub fn owner_mode(path: &Path) -> (u32, u32, u32) {
    let m = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

/// www-data's uid and gid on this machine.
pub fn www_data() -> (u32, u32) {
    let user = nix::unistd::User::from_name("www-data")
        .ok()
        .flatten()
        .expect("the user www-data exists");
    (user.uid.as_raw(), user.gid.as_raw())
}
