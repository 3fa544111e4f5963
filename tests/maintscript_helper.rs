//! The maintainer-script helper other packages source
//! (debian/maintscript-helper/uwsgi-apps-maintscript-helper), run by sh the
//! way dpkg runs a maintainer script, against the real binary in a
//! temporary --root (UWSGI_APPS_ROOT, and UWSGI_APPS_SBIN for where the
//! programs are). The system's service layer is never touched from here:
//! where a test needs to see what the helper would start or stop, it
//! replaces the helper's service functions after sourcing it; the
//! end-to-end package test (tests/package/e2e.sh) covers starting and
//! stopping through the real invoke-rc.d and policy-rc.d.

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
        self.maintscript_with(script, args, "", command)
    }

    /// The same, with shell code run after sourcing the helper (to watch
    /// what it would ask of the service layer).
    fn maintscript_with(&self, script: &str, args: &[&str], code: &str, command: &str) -> Output {
        let body = format!(
            "set -e\n. {}\n{code}\nuwsgi_apps_invoke {command} myapp\n",
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

/// Shell code that makes the helper believe the service layer is there and
/// print what it would do instead of doing it.
const WATCH_SERVICE: &str = "uwsgi_apps_service_active() { return 0; }\n\
    uwsgi_apps_perform() { echo \"PERFORM $1 $2\" >&2; }";

/// Shell code that records every action the helper asks of the service
/// layer, whatever the policy, instead of doing it.
const WATCH_ACTIONS: &str = "uwsgi_apps_service() { echo \"SERVICE $1 $2\" >&2; }";

#[test]
fn purge_stops_nothing_whose_config_is_gone() {
    let s = sandbox();
    s.ok("postinst", &["configure", ""], "enapp");
    s.ok("prerm", &["remove"], "disapp");
    // dpkg removes the conffiles, then runs postrm purge: the front end
    // would only print "Stopping app server(s): uwsgi -> ? done.".
    fs::remove_file(s.root.join("etc/uwsgi/apps-available/myapp.ini")).unwrap();
    let out = s.maintscript_with("postrm", &["purge"], WATCH_ACTIONS, "disapp");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("SERVICE"), "{stderr}");
    assert_eq!(s.markers(), Vec::<String>::new());

    // An app still enabled at purge (its file survived) is stopped first.
    let s = sandbox();
    s.ok("postinst", &["configure", ""], "enapp");
    let out = s.maintscript_with("postrm", &["purge"], WATCH_ACTIONS, "disapp");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("SERVICE stop myapp"), "{stderr}");
    assert_eq!(s.link(), None);
}

/// A directory holding policy-rc.d at usr/sbin: invoke-rc.d asks
/// `$DPKG_ROOT/usr/sbin/policy-rc.d`, so a test can set a policy without
/// touching the system's.
fn policy_root(exit: i32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sbin = dir.path().join("usr/sbin");
    fs::create_dir_all(&sbin).unwrap();
    let policy = sbin.join("policy-rc.d");
    fs::write(&policy, format!("#!/bin/sh\nexit {exit}\n")).unwrap();
    fs::set_permissions(&policy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    dir
}

/// What the helper relies on, checked against Debian 12's real
/// invoke-rc.d: denied by policy-rc.d, it exits 0 unless asked with
/// --query (101) or --disclose-deny (101). (Denied, it runs nothing, so
/// this is safe on any machine.)
#[test]
fn invoke_rc_d_hides_a_denial_unless_asked() {
    let policy = policy_root(101);
    let run = |args: &[&str]| {
        Command::new("invoke-rc.d")
            .args(args)
            .env("DPKG_ROOT", policy.path())
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run(&["--quiet", "uwsgi", "start", "myapp"]), Some(0));
    assert_eq!(run(&["--quiet", "--query", "uwsgi", "start"]), Some(101));
    assert_eq!(
        run(&["--quiet", "--disclose-deny", "uwsgi", "start", "myapp"]),
        Some(101)
    );
}

#[test]
fn a_start_the_policy_forbids_is_not_reported_as_done() {
    let s = sandbox();
    let policy = policy_root(101);
    // The real invoke-rc.d, with a policy-rc.d that denies.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "set -e\n. {}\n{WATCH_SERVICE}\nuwsgi_apps_invoke enapp myapp\n",
            helper().display()
        ))
        .args(["myapp.postinst", "configure", ""])
        .env("DPKG_MAINTSCRIPT_NAME", "postinst")
        .env("UWSGI_APPS_ROOT", &s.root)
        .env("UWSGI_APPS_SBIN", &s.sbin)
        .env("DPKG_ROOT", policy.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("enabled app myapp"), "{stderr}");
    assert!(
        stderr.contains("not running 'start' of app myapp: forbidden by the local policy"),
        "{stderr}"
    );
    assert!(!stderr.contains("PERFORM"), "{stderr}");
    assert!(s.link().is_some(), "the link is made all the same");
}

/// invoke-rc.d --query's other answers. A stand-in invoke-rc.d (a shell
/// script that exits with the code under test) stands for the real one
/// here: the real one only says 104/105/106 with /etc/init.d/uwsgi
/// installed, which a unit test must not do to this machine.
#[test]
fn every_answer_of_the_policy_query_is_understood() {
    for (answer, performed, says) in [
        (104, true, ""),
        (105, true, ""),
        (101, false, "forbidden by the local policy"),
        (106, false, "proposes other actions"),
        (
            102,
            false,
            "'invoke-rc.d --query uwsgi start' failed (exit 102)",
        ),
    ] {
        let s = sandbox();
        let bin = s.root.join("stand-in-bin");
        fs::create_dir_all(&bin).unwrap();
        let stand_in = bin.join("invoke-rc.d");
        fs::write(
            &stand_in,
            format!(
                "#!/bin/sh\n# stand-in for invoke-rc.d: answers every --query with {answer}\n\
                 case \"$*\" in *--query*) exit {answer} ;; esac\nexit 0\n"
            ),
        )
        .unwrap();
        fs::set_permissions(
            &stand_in,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                ". {}\n{WATCH_SERVICE}\nuwsgi_apps_service start myapp\n",
                helper().display()
            ))
            .args(["myapp.postinst", "configure", ""])
            .env(
                "PATH",
                format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", bin.display()),
            )
            .env("DPKG_MAINTSCRIPT_NAME", "postinst")
            .env("UWSGI_APPS_SBIN", &s.sbin)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{answer}: {stderr}");
        assert_eq!(
            stderr.contains("PERFORM start myapp"),
            performed,
            "{answer}: {stderr}"
        );
        assert!(stderr.contains(says), "{answer}: {stderr}");
    }
}
