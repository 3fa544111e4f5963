//! Every path the program uses, derived from one root.
//!
//! `--root DIR` (or `UWSGI_APPS_ROOT`) moves all of them under `DIR`, the
//! way `dpkg --root` does, so tests and chroots never touch the real `/etc`.
//! The uWSGI program is not under the root (see `Layout::daemon`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::name::{Confspec, Namespace};

/// Who made an app enabled or disabled, as Apache's tools record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    Admin,
    Maint,
}

/// A state marker: `/var/lib/uwsgi/NS/{enabled,disabled}_by_{admin,maint}/NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MarkerKind {
    pub enabled: bool,
    pub by: Actor,
}

impl MarkerKind {
    pub const ALL: [MarkerKind; 4] = [
        MarkerKind {
            enabled: true,
            by: Actor::Admin,
        },
        MarkerKind {
            enabled: true,
            by: Actor::Maint,
        },
        MarkerKind {
            enabled: false,
            by: Actor::Admin,
        },
        MarkerKind {
            enabled: false,
            by: Actor::Maint,
        },
    ];

    pub fn dir_name(self) -> &'static str {
        match (self.enabled, self.by) {
            (true, Actor::Admin) => "enabled_by_admin",
            (true, Actor::Maint) => "enabled_by_maint",
            (false, Actor::Admin) => "disabled_by_admin",
            (false, Actor::Maint) => "disabled_by_maint",
        }
    }
}

pub const DEFAULT_DAEMON: &str = "/usr/bin/uwsgi";

/// The longest path a Unix socket address can hold (`sun_path` is 108
/// bytes, NUL included).
pub const MAX_SOCKET_PATH: usize = 107;

/// FNV-1a, 64 bits: a short, stable name for a long confname. Stable across
/// builds, unlike std's hasher, because a reload may be awaited by a newer
/// binary than the one that started the instance.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
    daemon: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>, daemon: impl Into<PathBuf>) -> Layout {
        Layout {
            root: root.into(),
            daemon: daemon.into(),
        }
    }

    /// The real system: root `/`, `/usr/bin/uwsgi`.
    pub fn system() -> Layout {
        Layout::new("/", DEFAULT_DAEMON)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether this layout is the host's own tree (no `--root`, or
    /// `--root /`): only then do the host's systemd units run its apps.
    pub fn is_host_root(&self) -> bool {
        self.root() == Path::new("/")
    }

    /// The uWSGI program (outside the root: it is a program, not state).
    pub fn daemon(&self) -> &Path {
        &self.daemon
    }

    /// An absolute system path moved under the root: `/etc/x` → `ROOT/etc/x`.
    /// Relative paths are taken as relative to the root, too.
    pub fn under_root(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        let rel = path.strip_prefix("/").unwrap_or(path);
        self.root.join(rel)
    }

    /// `/etc/uwsgi`
    pub fn config_dir(&self) -> PathBuf {
        self.under_root("etc/uwsgi")
    }

    /// `/etc/uwsgi/NSs-available`
    pub fn available_dir(&self, ns: &Namespace) -> PathBuf {
        self.config_dir().join(ns.available_dir_name())
    }

    /// `/etc/uwsgi/NSs-enabled`
    pub fn enabled_dir(&self, ns: &Namespace) -> PathBuf {
        self.config_dir().join(ns.enabled_dir_name())
    }

    /// `/etc/default/uwsgi`
    pub fn settings_file(&self) -> PathBuf {
        self.under_root("etc/default/uwsgi")
    }

    /// `/usr/share/uwsgi/conf/default.ini`, used unless the settings file
    /// names another `INHERITED_CONFIG`.
    pub fn default_inherited_config(&self) -> PathBuf {
        self.under_root("usr/share/uwsgi/conf/default.ini")
    }

    /// `/run/uwsgi/NS`
    pub fn run_namespace_dir(&self, ns: &Namespace) -> PathBuf {
        self.under_root("run/uwsgi").join(ns.as_os_str())
    }

    /// `/run/uwsgi/NS/NAME`
    pub fn run_dir(&self, spec: &Confspec) -> PathBuf {
        self.run_namespace_dir(&spec.namespace).join(&spec.name)
    }

    /// `/run/uwsgi/NS/NAME/pid`
    pub fn pidfile(&self, spec: &Confspec) -> PathBuf {
        self.run_dir(spec).join("pid")
    }

    /// `/run/uwsgi/NS/NAME/notify`: the readiness socket. It lives in the
    /// instance's runtime dir, at a stable path, because the master keeps
    /// `NOTIFY_SOCKET` across reloads and reports `READY=1` there again.
    ///
    /// A Unix socket address holds at most 107 bytes of path, so for a long
    /// name (or a deep root) the socket moves to the namespace's run dir
    /// under a short name derived from the confname: still stable across
    /// reloads, still under root-owned `/run/uwsgi/NS`.
    pub fn notify_socket(&self, spec: &Confspec) -> PathBuf {
        let in_run_dir = self.run_dir(spec).join("notify");
        if in_run_dir.as_os_str().len() <= MAX_SOCKET_PATH {
            return in_run_dir;
        }
        self.run_namespace_dir(&spec.namespace)
            .join(format!(".notify-{:016x}", fnv1a(spec.name.as_bytes())))
    }

    /// `/run/uwsgi-apps`: this program's own locks, in a directory only
    /// root can open (see `lock`). Not under `/run/uwsgi`, which everyone
    /// can open and where any name could be a namespace's.
    pub fn lock_dir(&self) -> PathBuf {
        self.under_root("run/uwsgi-apps")
    }

    /// `/var/log/uwsgi/emperor.log`: the log of the Emperor of the
    /// emperor engine (its vassals log where every instance does).
    pub fn emperor_log(&self) -> PathBuf {
        self.under_root("var/log/uwsgi/emperor.log")
    }

    /// `/var/log/uwsgi/NS`
    pub fn log_dir(&self, ns: &Namespace) -> PathBuf {
        self.under_root("var/log/uwsgi").join(ns.as_os_str())
    }

    /// `/var/log/uwsgi/NS/NAME.log`
    pub fn log_file(&self, spec: &Confspec) -> PathBuf {
        let mut file = spec.name.clone();
        file.push(".log");
        self.log_dir(&spec.namespace).join(file)
    }

    /// `/var/lib/uwsgi/NS`
    pub fn state_dir(&self, ns: &Namespace) -> PathBuf {
        self.under_root("var/lib/uwsgi").join(ns.as_os_str())
    }

    /// `/var/lib/uwsgi/NS/<kind>/NAME`
    pub fn marker(&self, ns: &Namespace, kind: MarkerKind, name: &OsStr) -> PathBuf {
        self.state_dir(ns).join(kind.dir_name()).join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_moves_under_the_root() {
        let l = Layout::new("/tmp/r", "/usr/bin/uwsgi");
        let app = Namespace::app();
        let spec = Confspec::new(app.clone(), "hello").unwrap();
        assert_eq!(
            l.available_dir(&app),
            Path::new("/tmp/r/etc/uwsgi/apps-available")
        );
        assert_eq!(
            l.enabled_dir(&app),
            Path::new("/tmp/r/etc/uwsgi/apps-enabled")
        );
        assert_eq!(l.settings_file(), Path::new("/tmp/r/etc/default/uwsgi"));
        assert_eq!(
            l.default_inherited_config(),
            Path::new("/tmp/r/usr/share/uwsgi/conf/default.ini")
        );
        assert_eq!(
            l.pidfile(&spec),
            Path::new("/tmp/r/run/uwsgi/app/hello/pid")
        );
        assert_eq!(
            l.log_file(&spec),
            Path::new("/tmp/r/var/log/uwsgi/app/hello.log")
        );
        assert_eq!(
            l.marker(
                &app,
                MarkerKind {
                    enabled: false,
                    by: Actor::Maint
                },
                OsStr::new("hello")
            ),
            Path::new("/tmp/r/var/lib/uwsgi/app/disabled_by_maint/hello")
        );
        assert_eq!(l.under_root("/etc/x.ini"), Path::new("/tmp/r/etc/x.ini"));
        assert_eq!(l.daemon(), Path::new("/usr/bin/uwsgi"));
    }

    #[test]
    fn a_long_name_gets_a_short_stable_notify_socket() {
        let l = Layout::system();
        let short = Confspec::new(Namespace::app(), "hello").unwrap();
        assert_eq!(
            l.notify_socket(&short),
            Path::new("/run/uwsgi/app/hello/notify")
        );
        let long = Confspec::new(Namespace::app(), "n".repeat(100)).unwrap();
        let path = l.notify_socket(&long);
        assert!(path.as_os_str().len() <= MAX_SOCKET_PATH, "{path:?}");
        assert!(
            path.to_string_lossy()
                .starts_with("/run/uwsgi/app/.notify-"),
            "{path:?}"
        );
        assert_eq!(path, l.notify_socket(&long));
        let other = Confspec::new(Namespace::app(), "m".repeat(100)).unwrap();
        assert_ne!(path, l.notify_socket(&other));
    }

    #[test]
    fn the_system_layout_is_rooted_at_slash() {
        let l = Layout::system();
        assert_eq!(
            l.enabled_dir(&Namespace::app()),
            Path::new("/etc/uwsgi/apps-enabled")
        );
    }
}
