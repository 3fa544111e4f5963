//! The maintainer-script helper other packages source
//! (debian/maintscript-helper/uwsgi-apps-maintscript-helper), run by sh the
//! way dpkg runs a maintainer script, against the real binary in a
//! temporary --root (UWSGI_APPS_ROOT, and UWSGI_APPS_SBIN for where the
//! programs are). The service layer is never touched from here; the
//! end-to-end package test (tests/package/e2e.sh) covers starting and
//! stopping through invoke-rc.d.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Sandbox {
    _dir: tempfile::TempDir,
    root: PathBuf,
    sbin: PathBuf,
}

fn sandbox() -> Sandbox {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let available = root.join("etc/uwsgi/apps-available");
    fs::create_dir_all(&available).unwrap();
    fs::create_dir_all(root.join("etc/uwsgi/apps-enabled")).unwrap();
    fs::write(available.join("myapp.ini"), "[uwsgi]\n").unwrap();
    let sbin = dir.path().join("sbin");
    fs::create_dir(&sbin).unwrap();
    let exe = assert_cmd::cargo::cargo_bin("uwsgi-apps");
    for name in ["uwsgi-apps", "uwsgi-enapp", "uwsgi-disapp", "uwsgi-query"] {
        symlink(&exe, sbin.join(name)).unwrap();
    }
    Sandbox {
        _dir: dir,
        root,
        sbin,
    }
}

fn helper() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("debian/maintscript-helper/uwsgi-apps-maintscript-helper")
}

impl Sandbox {
    /// Run `SCRIPT ARGS…` (postinst configure OLD-VERSION, …) as dpkg
    /// would, where the script sources the helper and calls
    /// `uwsgi_apps_invoke COMMAND myapp`.
    fn maintscript(&self, script: &str, args: &[&str], command: &str) -> Output {
        let body = format!(
            "set -e\n. {}\nuwsgi_apps_invoke {command} myapp\n",
            helper().display()
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(body)
            .arg(format!("myapp.{script}"))
            .args(args)
            .env("DPKG_MAINTSCRIPT_NAME", script)
            .env("DPKG_MAINTSCRIPT_PACKAGE", "myapp")
            .env("UWSGI_APPS_ROOT", &self.root)
            .env("UWSGI_APPS_SBIN", &self.sbin)
            .env_remove("UWSGI_APPS_MAINTSCRIPT_NAME")
            .env_remove("UWSGI_APPS_MAINTSCRIPT_METHOD")
            .env_remove("UWSGI_APPS_MAINTSCRIPT_ARGUMENT")
            .output()
            .unwrap();
        out
    }

    fn ok(&self, script: &str, args: &[&str], command: &str) -> String {
        let out = self.maintscript(script, args, command);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "{script} {args:?} failed ({:?}): {stderr}",
            out.status
        );
        stderr
    }

    fn link(&self) -> Option<PathBuf> {
        fs::read_link(self.root.join("etc/uwsgi/apps-enabled/myapp.ini")).ok()
    }

    /// uwsgi-query's exit status for myapp.
    fn query(&self) -> i32 {
        Command::new(self.sbin.join("uwsgi-query"))
            .args(["-q", "myapp"])
            .env("UWSGI_APPS_ROOT", &self.root)
            .status()
            .unwrap()
            .code()
            .unwrap()
    }

    fn markers(&self) -> Vec<String> {
        let mut found = Vec::new();
        for kind in [
            "enabled_by_admin",
            "enabled_by_maint",
            "disabled_by_admin",
            "disabled_by_maint",
        ] {
            if self
                .root
                .join("var/lib/uwsgi/app")
                .join(kind)
                .join("myapp")
                .exists()
            {
                found.push(kind.to_owned());
            }
        }
        found
    }
}

#[test]
fn a_package_life_enable_remove_reinstall_purge() {
    let s = sandbox();
    s.ok("postinst", &["configure", ""], "enapp");
    assert_eq!(s.link(), Some(PathBuf::from("../apps-available/myapp.ini")));
    assert_eq!(s.markers(), ["enabled_by_maint"]);
    assert_eq!(s.query(), 0);

    // An upgrade of an enabled app changes nothing.
    s.ok("postinst", &["configure", "1.0"], "enapp");
    assert_eq!(s.markers(), ["enabled_by_maint"]);

    // prerm upgrade is not a removal.
    s.ok("prerm", &["upgrade", "1.1"], "disapp");
    assert!(s.link().is_some());

    s.ok("prerm", &["remove"], "disapp");
    assert_eq!(s.link(), None);
    assert_eq!(s.markers(), ["disabled_by_maint"]);
    assert_eq!(s.query(), 33);
    // postrm remove after prerm remove: nothing left to do, no failure.
    s.ok("postrm", &["remove"], "disapp");

    // Installed again: a maintainer script's disable does not stick.
    s.ok("postinst", &["configure", "1.0"], "enapp");
    assert!(s.link().is_some());
    assert_eq!(s.query(), 0);

    s.ok("prerm", &["remove"], "disapp");
    s.ok("postrm", &["purge"], "disapp");
    assert_eq!(s.markers(), Vec::<String>::new());
    assert_eq!(s.query(), 1);
}

#[test]
fn the_administrators_disable_survives_reinstall_and_upgrade() {
    let s = sandbox();
    s.ok("postinst", &["configure", ""], "enapp");
    let disapp = Command::new(s.sbin.join("uwsgi-disapp"))
        .args(["-q", "myapp"])
        .env("UWSGI_APPS_ROOT", &s.root)
        .status()
        .unwrap();
    assert!(disapp.success());
    assert_eq!(s.query(), 32);

    let stderr = s.ok("postinst", &["configure", "1.0"], "enapp");
    assert!(stderr.contains("disabled by the administrator"), "{stderr}");
    assert_eq!(s.link(), None);
    assert_eq!(s.markers(), ["disabled_by_admin"]);

    // Removal leaves the admin's marker; a reinstall still respects it.
    s.ok("prerm", &["remove"], "disapp");
    s.ok("postinst", &["configure", "1.0"], "enapp");
    assert_eq!(s.link(), None);
    assert_eq!(s.query(), 32);

    // Purge forgets even the administrator's choice, as Apache's does.
    s.ok("postrm", &["purge"], "disapp");
    assert_eq!(s.markers(), Vec::<String>::new());
}

#[test]
fn another_broken_app_does_not_fail_the_package() {
    let s = sandbox();
    let enabled = s.root.join("etc/uwsgi/apps-enabled");
    symlink("../apps-available/gone.ini", enabled.join("gone.ini")).unwrap();
    fs::write(enabled.join("stray.ini"), "not a link").unwrap();
    s.ok("postinst", &["configure", ""], "enapp");
    assert!(s.link().is_some());
    s.ok("prerm", &["remove"], "disapp");
    assert_eq!(s.link(), None);
    assert!(enabled.join("stray.ini").exists());
}

#[test]
fn other_scripts_and_misuse() {
    let s = sandbox();
    // enapp only acts in postinst configure.
    s.ok("preinst", &["install"], "enapp");
    s.ok("postinst", &["abort-upgrade", "1.0"], "enapp");
    assert_eq!(s.link(), None);
    assert_eq!(s.query(), 1);

    let out = s.maintscript("postinst", &["configure", ""], "frobnicate");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command"));

    // A NAME that does not exist is the caller's bug: reported, status 1.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            ". {}\nuwsgi_apps_invoke enapp nosuchapp",
            helper().display()
        ))
        .args(["myapp.postinst", "configure", ""])
        .env("DPKG_MAINTSCRIPT_NAME", "postinst")
        .env("UWSGI_APPS_ROOT", &s.root)
        .env("UWSGI_APPS_SBIN", &s.sbin)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not enable app nosuchapp"));
}

#[test]
fn without_uwsgi_apps_installed_it_does_nothing() {
    let s = sandbox();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "set -e\n. {}\nuwsgi_apps_invoke enapp myapp\nuwsgi_apps_invoke disapp myapp",
            helper().display()
        ))
        .args(["myapp.postinst", "configure", ""])
        .env("DPKG_MAINTSCRIPT_NAME", "postinst")
        .env("UWSGI_APPS_ROOT", &s.root)
        .env("UWSGI_APPS_SBIN", s.root.join("nowhere"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(s.link(), None);
}
