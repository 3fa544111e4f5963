//! Shared harness for the integration tests: every test gets its own
//! temporary root (`--root`, through `UWSGI_APPS_ROOT`) and runs the real
//! binary under each of its applet names, symlinked the way the package
//! installs them (as coreutils' tests do), so argv[0] dispatch is tested
//! too. The environment is cleared before every run, so a variable of the
//! developer's shell can never change a result.

#![allow(dead_code)]

pub mod live;
pub mod package_host;
pub mod systemd;
pub mod users;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;

/// What a run printed and how it ended, for an assertion's message.
pub fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub const APPLETS: [&str; 4] = ["uwsgi-apps", "uwsgi-enapp", "uwsgi-disapp", "uwsgi-query"];

pub struct Root {
    /// Holds everything; removed when the test ends.
    pub tmp: tempfile::TempDir,
    /// The tree the program sees as `/`.
    pub root: PathBuf,
    /// The applet links.
    pub bin: PathBuf,
}

impl Root {
    /// A root with empty `etc/uwsgi/apps-available` and `apps-enabled`.
    pub fn new() -> Root {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let root = tmp.path().join("root");
        let bin = tmp.path().join("bin");
        fs::create_dir_all(root.join("etc/uwsgi/apps-available")).unwrap();
        fs::create_dir_all(root.join("etc/uwsgi/apps-enabled")).unwrap();
        fs::create_dir_all(&bin).unwrap();
        for applet in APPLETS {
            symlink(env!("CARGO_BIN_EXE_uwsgi-apps"), bin.join(applet)).unwrap();
        }
        // The Emperor engine's wrapper for its vassals, found beside the
        // program that starts the Emperor (as the package installs it in
        // /usr/lib/uwsgi-apps).
        symlink(
            env!("CARGO_BIN_EXE_uwsgi-apps"),
            bin.join("uwsgi-apps-vassal"),
        )
        .unwrap();
        Root { tmp, root, bin }
    }

    /// A path inside the root: `r.path("etc/uwsgi")`.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    pub fn available(&self) -> PathBuf {
        self.path("etc/uwsgi/apps-available")
    }

    pub fn enabled(&self) -> PathBuf {
        self.path("etc/uwsgi/apps-enabled")
    }

    /// `var/lib/uwsgi/app/KIND/NAME`
    pub fn marker(&self, kind: &str, name: &str) -> PathBuf {
        self.path("var/lib/uwsgi/app").join(kind).join(name)
    }

    /// Add an app file to apps-available.
    pub fn add_app(&self, file_name: &str) -> PathBuf {
        self.write_app(file_name, "[uwsgi]\nmaster = true\n")
    }

    /// Add an app file with this text to apps-available.
    pub fn write_app(&self, file_name: &str, text: &str) -> PathBuf {
        let path = self.available().join(file_name);
        fs::write(&path, text).unwrap();
        path
    }

    /// Enable FILE of apps-available with the relative link uwsgi-enapp
    /// makes.
    pub fn enable(&self, file_name: &str) {
        symlink(
            Path::new("../apps-available").join(file_name),
            self.enabled().join(file_name),
        )
        .unwrap();
    }

    /// `run/uwsgi/app/NAME`
    pub fn run_dir(&self, name: &str) -> PathBuf {
        self.path("run/uwsgi/app").join(name)
    }

    /// The inherited config a real system has (the package installs it):
    /// without it no instance can start, which doctor reports.
    pub fn inherited(&self, text: &str) -> PathBuf {
        let conf = self.path("usr/share/uwsgi/conf");
        fs::create_dir_all(&conf).unwrap();
        fs::write(conf.join("default.ini"), text).unwrap();
        conf.join("default.ini")
    }

    /// Let every user reach the root (0755 down to it): uWSGI drops to
    /// www-data and must reach its files under it.
    pub fn reachable(&self) {
        use std::os::unix::fs::PermissionsExt;
        for dir in [self.tmp.path(), self.root.as_path()] {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    /// `uwsgi-apps ARGS…` (OS strings: names that are not UTF-8), where a
    /// hang is a failure, not a stuck test run.
    pub fn apps_os(&self, args: &[&std::ffi::OsStr]) -> Output {
        self.cmd("uwsgi-apps")
            .args(args)
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .expect("run the binary")
    }

    pub fn applet(&self, applet: &str) -> PathBuf {
        self.bin.join(applet)
    }

    /// The applet as a command, in a clean environment, rooted here.
    pub fn cmd(&self, applet: &str) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(self.applet(applet));
        self.clean_env(&mut cmd);
        cmd
    }

    pub fn clean_env(&self, cmd: &mut assert_cmd::Command) {
        cmd.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LANG", "C.UTF-8")
            .env("UWSGI_APPS_ROOT", &self.root);
    }

    /// Run an applet with arguments and give back its output.
    pub fn run(&self, applet: &str, args: &[&str]) -> Output {
        self.cmd(applet)
            .args(args)
            .output()
            .expect("run the binary")
    }

    /// The target of the link NAME in apps-enabled, if it is a link.
    pub fn link_target(&self, file_name: &str) -> Option<PathBuf> {
        fs::read_link(self.enabled().join(file_name)).ok()
    }

    /// Every entry under `dir`, recursively, with what it is, sorted: a
    /// snapshot to prove that a run changed nothing. The program's own
    /// lock files (`run/uwsgi-apps`) are left out: taking a lock is not a
    /// change.
    pub fn snapshot(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let locks = dir.join("run/uwsgi-apps");
        let run = dir.join("run");
        for entry in walkdir(dir) {
            if entry.starts_with(&locks) || (entry == run && only_locks_in(&run)) {
                continue;
            }
            let meta = fs::symlink_metadata(&entry).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("-> {}", fs::read_link(&entry).unwrap().display())
            } else if meta.is_dir() {
                "dir".to_string()
            } else {
                format!("file {:?}", fs::read(&entry).unwrap())
            };
            out.push(format!(
                "{} {what}",
                entry.strip_prefix(dir).unwrap().display()
            ));
        }
        out.sort();
        out
    }
}

/// Whether `run` holds nothing but the lock dir (then it was made only
/// for the locks).
fn only_locks_in(run: &Path) -> bool {
    fs::read_dir(run).is_ok_and(|entries| entries.flatten().all(|e| e.file_name() == "uwsgi-apps"))
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        out.push(path.clone());
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.extend(walkdir(&path));
        }
    }
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}
