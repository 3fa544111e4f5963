//! A host for the package under a real systemd (`systemd.rs`): the
//! package's own unit files (`debian/uwsgi-apps.uwsgi@.service` as
//! `uwsgi@.service`, `debian/uwsgi-apps.uwsgi.service` as
//! `uwsgi.service`), the built binary where they expect it
//! (`/usr/sbin/uwsgi-apps`), and the test's own `/etc/uwsgi`,
//! `/etc/default/uwsgi`, `/var/log/uwsgi` and the package's `default.ini`,
//! bind-mounted. Used by the systemd tests and the engines' benchmark.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use super::live::chmod;
use super::systemd::{Systemd, SystemdBuilder};

pub const HTTP_LIMIT: Duration = Duration::from_secs(20);

pub const WSGI_APP: &str = "\
import os

def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('hello ' + os.environ.get('UWSGI_DEB_CONFNAME', '?')).encode()]
";

/// A host tree for one manager: what is bind-mounted where, and the apps.
pub struct Host {
    pub tmp: tempfile::TempDir,
    pub sd: Systemd,
}

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Where the source tree is seen inside the namespace: the tree itself may
/// be below `/tmp` (CI clones there), which the namespace covers with its
/// own tmpfs, so every host boots with the tree bound here, read-only.
pub const SRC_IN_NS: &str = "/usr/src/uwsgi-apps";

/// PATH of the source tree, as a command run inside the namespace sees it.
pub fn src(path: &str) -> PathBuf {
    Path::new(SRC_IN_NS).join(path)
}

impl Host {
    /// Boot a manager with the package's units and an empty app layout;
    /// `settings` is /etc/default/uwsgi. `None`: not root (a developer's
    /// run; never in CI).
    pub fn boot(settings: &str) -> Option<Host> {
        Host::boot_with(settings, |b, _| b)
    }

    /// `boot`, with more to the manager (binds) from `more`, which gets
    /// the host tree's directory.
    pub fn boot_with(
        settings: &str,
        more: impl FnOnce(SystemdBuilder, &Path) -> SystemdBuilder,
    ) -> Option<Host> {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let t = tmp.path();
        chmod(t, 0o755);
        for dir in [
            "etc-uwsgi/apps-available",
            "etc-uwsgi/apps-enabled",
            "log",
            "srv",
            "lib",
        ] {
            fs::create_dir_all(t.join(dir)).unwrap();
        }
        for dir in [
            "etc-uwsgi",
            "etc-uwsgi/apps-available",
            "etc-uwsgi/apps-enabled",
            "srv",
        ] {
            chmod(&t.join(dir), 0o755);
        }
        fs::write(t.join("srv/app.py"), WSGI_APP).unwrap();
        chmod(&t.join("srv/app.py"), 0o644);
        fs::write(t.join("default"), settings).unwrap();
        let sd = Systemd::builder()
            .unit_file_as(repo("debian/uwsgi-apps.uwsgi@.service"), "uwsgi@.service")
            .unit_file_as(repo("debian/uwsgi-apps.uwsgi.service"), "uwsgi.service")
            .bind_ro(env!("CARGO_BIN_EXE_uwsgi-apps"), "/usr/sbin/uwsgi-apps")
            .bind_ro(
                repo("debian/conf/default.ini"),
                "/usr/share/uwsgi/conf/default.ini",
            )
            .bind(t.join("etc-uwsgi"), "/etc/uwsgi")
            .bind_ro(t.join("default"), "/etc/default/uwsgi")
            .bind(t.join("log"), "/var/log/uwsgi")
            .bind(t.join("lib"), "/var/lib/uwsgi")
            .bind_ro(t.join("srv"), "/srv/uwsgi-test")
            .bind_ro(repo(""), SRC_IN_NS);
        let sd = more(sd, t).boot()?;
        Some(Host { tmp, sd })
    }

    /// An app NAME serving the WSGI app on 127.0.0.1:PORT (the namespace's
    /// own), enabled; `extra` config lines.
    pub fn app(&self, name: &str, port: u16, extra: &str) {
        let text = format!(
            "[uwsgi]\nplugins = python3\nhttp-socket = 127.0.0.1:{port}\n\
             wsgi-file = /srv/uwsgi-test/app.py\nprocesses = 1\n{extra}"
        );
        let file = format!("{name}.ini");
        let available = self.tmp.path().join("etc-uwsgi/apps-available").join(&file);
        fs::write(&available, text).unwrap();
        chmod(&available, 0o644);
        std::os::unix::fs::symlink(
            Path::new("../apps-available").join(&file),
            self.tmp.path().join("etc-uwsgi/apps-enabled").join(&file),
        )
        .unwrap();
    }

    /// `uwsgi-apps ARGS…` inside.
    pub fn apps(&self, args: &[&str]) -> Output {
        let mut all = vec!["/usr/sbin/uwsgi-apps"];
        all.extend_from_slice(args);
        self.sd.run(&all)
    }

    pub fn main_pid(&self, unit: &str) -> i32 {
        self.sd.property(unit, "MainPID").parse().unwrap_or(0)
    }

    pub fn http_wait(&self, port: u16) -> String {
        let until = Instant::now() + HTTP_LIMIT;
        loop {
            match self.sd.http_get(port) {
                Ok(body) => return body,
                Err(e) if Instant::now() >= until => panic!(
                    "no HTTP answer on port {port}: {e}\n{}",
                    self.sd.diagnostics()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    pub fn log(&self, name: &str) -> String {
        fs::read_to_string(self.tmp.path().join("log/app").join(format!("{name}.log")))
            .unwrap_or_default()
    }

    pub fn property(&self, unit: &str, name: &str) -> String {
        self.sd.property(unit, name)
    }
}
