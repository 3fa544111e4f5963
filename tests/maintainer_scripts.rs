//! The package's own maintainer scripts (debian/uwsgi-apps.{preinst,
//! postinst,postrm}), run by sh as dpkg runs them, under `DPKG_ROOT` (as
//! `dpkg --root` sets it): they then act on the files under that root and
//! leave the host's services alone (no update-rc.d, no invoke-rc.d). The
//! end-to-end package test (tests/package/e2e.sh) runs them for real, over
//! Debian's uwsgi package, with apt-get and dpkg.
//!
//! What is tested here is the rule for the mode of /etc/init.d/uwsgi:
//! executable bits that Debian's uwsgi package cleared when it was removed
//! to make room for ours come back; an administrator's `chmod -x` stays.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("debian/uwsgi-apps.{name}"))
}

/// Debian's script: anything that is not ours.
const FOREIGN: &str = "#!/bin/sh\n# Debian's /etc/init.d/uwsgi\nexit 0\n";

struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc/init.d")).unwrap();
        Root { dir }
    }

    fn init_script(&self) -> PathBuf {
        self.dir.path().join("etc/init.d/uwsgi")
    }

    fn note_dir(&self) -> PathBuf {
        self.dir.path().join("var/lib/uwsgi-apps")
    }

    /// Put a script with this content and mode at /etc/init.d/uwsgi.
    fn put(&self, content: &str, mode: u32) {
        fs::write(self.init_script(), content).unwrap();
        fs::set_permissions(self.init_script(), fs::Permissions::from_mode(mode)).unwrap();
    }

    /// What dpkg does to the conffile between preinst and postinst: our
    /// version replaces the file, in the mode the file had.
    fn dpkg_installs_ours(&self) {
        let mode = fs::metadata(self.init_script())
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        let ours = fs::read_to_string(script("uwsgi.init")).unwrap();
        self.put(&ours, mode);
    }

    fn mode(&self) -> u32 {
        fs::metadata(self.init_script())
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    /// Run a maintainer script with its arguments; it must succeed.
    fn run(&self, name: &str, args: &[&str]) -> String {
        let out = Command::new("sh")
            .arg(script(name))
            .args(args)
            .env("DPKG_ROOT", self.dir.path())
            .env("DPKG_MAINTSCRIPT_NAME", name)
            .env("DPKG_MAINTSCRIPT_PACKAGE", "uwsgi-apps")
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{name} {args:?}: {stderr}");
        stderr
    }
}

#[test]
fn installed_over_debians_package_removed_first_the_script_is_executable() {
    // apt-get: Debian's uwsgi is removed first; its postrm cleared the bits.
    let r = Root::new();
    r.put(FOREIGN, 0o644);
    r.run("preinst", &["install"]);
    r.dpkg_installs_ours();
    assert_eq!(r.mode(), 0o644, "dpkg keeps the mode");
    let said = r.run("postinst", &["configure", ""]);
    assert_eq!(r.mode(), 0o755);
    assert!(
        said.contains("made /etc/init.d/uwsgi executable again"),
        "{said}"
    );
    assert!(!r.note_dir().exists(), "the preinst's note is gone");
}

#[test]
fn installed_over_debians_package_removed_after_unpacking_the_script_is_executable() {
    // dpkg -i with Debian's uwsgi installed: it is removed (its postrm
    // clears the bits) after our preinst and unpack, before our postinst.
    let r = Root::new();
    r.put(FOREIGN, 0o755);
    r.run("preinst", &["install"]);
    r.put(FOREIGN, 0o644);
    r.dpkg_installs_ours();
    r.run("postinst", &["configure", ""]);
    assert_eq!(r.mode(), 0o755);
}

#[test]
fn reinstalled_over_debians_package_after_being_removed_for_it() {
    // uwsgi-apps 0.1.1 removed (config-files), Debian's uwsgi installed in
    // its place, then uwsgi-apps installed again.
    let r = Root::new();
    r.put(FOREIGN, 0o644);
    r.run("preinst", &["install", "0.1.1"]);
    r.dpkg_installs_ours();
    r.run("postinst", &["configure", "0.1.1"]);
    assert_eq!(r.mode(), 0o755);
}

#[test]
fn an_upgrade_from_0_1_0_repairs_the_mode_it_left() {
    let r = Root::new();
    let ours = fs::read_to_string(script("uwsgi.init")).unwrap();
    r.put(&ours, 0o644);
    r.run("preinst", &["upgrade", "0.1.0"]);
    r.run("postinst", &["configure", "0.1.0"]);
    assert_eq!(r.mode(), 0o755);
}

#[test]
fn the_administrators_chmod_stays() {
    let r = Root::new();
    let ours = fs::read_to_string(script("uwsgi.init")).unwrap();
    r.put(&ours, 0o644);
    // An upgrade, a reinstall, and a reinstall after a removal.
    for (pre, post) in [
        (["upgrade", "0.1.1"], ["configure", "0.1.1"]),
        (["upgrade", "0.1.1"], ["configure", "0.1.1"]),
        (["install", "0.1.1"], ["configure", "0.1.1"]),
    ] {
        r.run("preinst", &pre);
        r.run("postinst", &post);
        assert_eq!(r.mode(), 0o644, "{pre:?}");
    }
    // A fresh install over nothing leaves nothing to restore.
    let r = Root::new();
    r.run("preinst", &["install"]);
    assert!(!r.note_dir().exists());
}

#[test]
fn removal_keeps_the_bits_and_an_aborted_install_forgets_its_note() {
    let r = Root::new();
    let ours = fs::read_to_string(script("uwsgi.init")).unwrap();
    r.put(&ours, 0o755);
    r.run("postrm", &["remove"]);
    assert_eq!(r.mode(), 0o755, "left for whichever package comes next");

    r.put(FOREIGN, 0o644);
    r.run("preinst", &["install"]);
    assert!(r.note_dir().exists());
    r.run("postrm", &["abort-install"]);
    assert!(!r.note_dir().exists());
}

#[test]
fn purge_removes_the_state_markers_under_the_root() {
    let r = Root::new();
    let marker = r.dir.path().join("var/lib/uwsgi/app/enabled_by_admin/blog");
    fs::create_dir_all(marker.parent().unwrap()).unwrap();
    fs::write(&marker, "").unwrap();
    let kept = r.dir.path().join("var/lib/uwsgi/other");
    fs::write(&kept, "").unwrap();
    r.run("postrm", &["purge"]);
    assert!(!marker.exists());
    assert!(!r.dir.path().join("var/lib/uwsgi/app").exists());
    assert!(kept.exists(), "not ours");
}
