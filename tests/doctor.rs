//! `uwsgi-apps doctor` through the real binary, in temporary roots, with
//! real uWSGI processes (and a real Emperor in Tyrant mode).
//!
//! Needs root: it creates a group, chowns files to www-data and starts
//! uWSGI as www-data. Every process and group it creates is removed by a
//! Drop guard, also when an assertion fails.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{chown, symlink, PermissionsExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::Root;

const WWW_DATA: u32 = 33;

/// A root as a real system has it: the inherited config the package
/// installs (without it no instance can start, which doctor reports), and
/// reachable by www-data, to which uWSGI drops.
fn new_root() -> Root {
    let root = Root::new();
    root.reachable();
    root.inherited("[uwsgi]\nmaster = true\n");
    root
}

/// `doctor --json ARGS`: exit status, the document, stderr.
fn doctor(root: &Root, args: &[&str]) -> (i32, Value, String) {
    let out = root.run("uwsgi-apps", &[&["doctor", "--json"], args].concat());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// `doctor ARGS`: exit status and the lines for people.
fn doctor_human(root: &Root, args: &[&str]) -> (i32, String) {
    let out = root.run("uwsgi-apps", &[&["doctor"], args].concat());
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Findings of one check (and, when given, about one path) in doctor's JSON.
fn findings<'a>(json: &'a Value, check: &str) -> Vec<&'a Value> {
    json["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["check"] == check).collect())
        .unwrap_or_default()
}

fn about<'a>(found: &[&'a Value], path: &Path) -> Option<&'a Value> {
    found
        .iter()
        .copied()
        .find(|f| f["path"].as_str() == path.to_str())
}

#[test]
fn a_missing_inherited_config_is_an_error() {
    let root = new_root();
    fs::remove_file(root.path("usr/share/uwsgi/conf/default.ini")).unwrap();
    root.write_app("hello.ini", "[uwsgi]\n");
    root.enable("hello.ini");
    let (code, json, _) = doctor(&root, &[]);
    assert_eq!(code, 1, "{json:#}");
    let f = findings(&json, "inherited-config-missing");
    assert_eq!(f.len(), 1, "{json:#}");
    assert_eq!(f[0]["severity"], "error");
}

#[test]
fn a_healthy_enabled_app_has_no_layout_findings() {
    let root = new_root();
    root.write_app("hello.ini", "[uwsgi]\nplugins = python3\nmodule = hello\n");
    root.enable("hello.ini");
    let (code, json, _) = doctor(&root, &[]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["errors"], 0, "{json:#}");
    // It is enabled but does not run: that, and only that, is said of it.
    let app: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["app"] == "app/hello")
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert_eq!(app, ["enabled-not-running"], "{json:#}");
}

#[test]
fn layout_problems_are_named_with_a_hint() {
    let root = new_root();
    let en = root.enabled();
    root.write_app("abs.ini", "[uwsgi]\n");
    symlink(root.available().join("abs.ini"), en.join("abs.ini")).unwrap();
    symlink("../apps-available/gone.ini", en.join("gone.ini")).unwrap();
    fs::write(en.join("plain.ini"), "[uwsgi]\n").unwrap();
    fs::write(root.path("elsewhere.ini"), "[uwsgi]\n").unwrap();
    symlink("../../../elsewhere.ini", en.join("out.ini")).unwrap();
    symlink("loop2.ini", en.join("loop1.ini")).unwrap();
    symlink("loop1.ini", en.join("loop2.ini")).unwrap();
    root.write_app("twice.ini", "[uwsgi]\n");
    root.write_app("twice.yaml", "uwsgi: {}\n");
    root.enable("twice.ini");
    root.enable("twice.yaml");

    let (code, json, stderr) = doctor(&root, &[]);
    assert_eq!(code, 1, "{json:#} {stderr}");

    let f = about(&findings(&json, "dangling-link"), &en.join("gone.ini")).unwrap();
    assert_eq!(f["severity"], "error");
    assert!(f["hint"].as_str().unwrap().contains("uwsgi-disapp gone"));

    let f = about(&findings(&json, "absolute-link"), &en.join("abs.ini")).unwrap();
    assert_eq!(f["severity"], "info");
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains("ln -sfn ../apps-available/abs.ini"),
        "{f:#}"
    );

    let f = about(&findings(&json, "regular-file"), &en.join("plain.ini")).unwrap();
    assert_eq!(f["severity"], "info");

    let f = about(
        &findings(&json, "link-outside-available"),
        &en.join("out.ini"),
    )
    .unwrap();
    assert_eq!(f["severity"], "warning");

    let f = about(&findings(&json, "link-loop"), &en.join("loop1.ini")).unwrap();
    assert_eq!(f["severity"], "error");

    let f = about(&findings(&json, "confname-clash"), &en.join("twice.ini")).unwrap();
    assert_eq!(f["severity"], "warning");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("twice.ini wins over") && msg.contains("twice.yaml"),
        "{msg}"
    );

    // Doctor changes nothing.
    assert!(en.join("gone.ini").symlink_metadata().is_ok());
    assert_eq!(
        fs::read_link(en.join("abs.ini")).unwrap(),
        root.available().join("abs.ini")
    );

    // The human form says the same, with hints.
    let (code, text) = doctor_human(&root, &[]);
    assert_eq!(code, 1);
    assert!(
        text.contains("error: ") && text.contains("gone.ini: is a dangling link"),
        "{text}"
    );
    assert!(text.contains("    hint: "), "{text}");
}

#[test]
fn configs_that_others_can_write_are_errors() {
    let root = new_root();
    root.write_app("mine.ini", "[uwsgi]\n");
    root.enable("mine.ini");
    chown(root.available().join("mine.ini"), Some(WWW_DATA), None).unwrap();
    root.write_app("ok.ini", "[uwsgi]\n");
    root.enable("ok.ini");
    let (code, json, _) = doctor(&root, &[]);
    assert_eq!(code, 1, "{json:#}");
    let unsafe_ = findings(&json, "unsafe-permissions");
    assert_eq!(unsafe_.len(), 1, "{json:#}");
    let f = unsafe_[0];
    assert_eq!(f["app"], "app/mine");
    assert_eq!(
        f["path"],
        root.available().join("mine.ini").to_str().unwrap()
    );
    assert!(f["message"].as_str().unwrap().contains("www-data"), "{f:#}");

    // A world-writable apps-enabled makes every app unsafe.
    fs::set_permissions(root.enabled(), fs::Permissions::from_mode(0o777)).unwrap();
    let (_, json, _) = doctor(&root, &["ok"]);
    let f = about(&findings(&json, "unsafe-permissions"), &root.enabled()).unwrap();
    assert_eq!(f["app"], "app/ok");
}

#[test]
fn stale_and_symlinked_pidfiles() {
    let root = new_root();
    // A PID that is certainly dead: a child we waited for.
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    fs::create_dir_all(root.run_dir("dead")).unwrap();
    fs::write(root.run_dir("dead").join("pid"), format!("{dead}\n")).unwrap();
    // A live process that is not uWSGI: this test.
    fs::create_dir_all(root.run_dir("reused")).unwrap();
    fs::write(
        root.run_dir("reused").join("pid"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    // A pidfile that is a link to another file: never followed.
    let victim = root.path("victim");
    fs::write(&victim, "precious\n").unwrap();
    fs::create_dir_all(root.run_dir("linked")).unwrap();
    symlink(&victim, root.run_dir("linked").join("pid")).unwrap();
    fs::create_dir_all(root.run_dir("empty")).unwrap();

    let (code, json, _) = doctor(&root, &[]);
    assert_eq!(code, 1, "{json:#}");
    let stale = findings(&json, "stale-pidfile");
    let f = about(&stale, &root.run_dir("dead").join("pid")).unwrap();
    assert!(
        f["message"].as_str().unwrap().contains("does not exist"),
        "{f:#}"
    );
    let f = about(&stale, &root.run_dir("reused").join("pid")).unwrap();
    assert!(
        f["message"].as_str().unwrap().contains("not uWSGI"),
        "{f:#}"
    );
    let f = about(
        &findings(&json, "pidfile-is-link"),
        &root.run_dir("linked").join("pid"),
    )
    .unwrap();
    assert_eq!(f["severity"], "error");
    assert!(about(
        &findings(&json, "leftover-runtime-dir"),
        &root.run_dir("empty")
    )
    .is_some());
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
}

/// A uWSGI master started by the test (not daemonized, so the test reaps
/// it), stopped with SIGINT on drop.
struct Uwsgi {
    child: Child,
}

impl Uwsgi {
    fn spawn(args: &[&OsStr]) -> Uwsgi {
        Uwsgi::spawn_env(args, &[])
    }
    /// As the front end (and Debian's script) starts instance `app/NAME`:
    /// with the environment that names it, which the identity rule checks.
    fn instance(name: &str, args: &[&OsStr]) -> Uwsgi {
        Uwsgi::spawn_env(
            args,
            &[
                ("UWSGI_DEB_CONFNAMESPACE", "app"),
                ("UWSGI_DEB_CONFNAME", name),
            ],
        )
    }
    /// Instance `app/NAME` with this config and pidfile, once the pidfile
    /// names it.
    fn instance_with_pidfile(name: &str, conf: &Path, pidfile: &Path) -> Uwsgi {
        let uwsgi = Uwsgi::instance(
            name,
            &[
                OsStr::new("--ini"),
                conf.as_os_str(),
                OsStr::new("--pidfile"),
                pidfile.as_os_str(),
            ],
        );
        wait_for("the pidfile", || {
            fs::read_to_string(pidfile).is_ok_and(|s| !s.trim().is_empty())
        });
        uwsgi
    }
    fn spawn_env(args: &[&OsStr], env: &[(&str, &str)]) -> Uwsgi {
        let child = Command::new("/usr/bin/uwsgi")
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Uwsgi { child }
    }
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Uwsgi {
    fn drop(&mut self) {
        stop_tree(&mut self.child);
    }
}

/// Every PID whose parent is `pid`.
fn children_of(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(status) = fs::read_to_string(format!("/proc/{p}/status")) else {
            continue;
        };
        let ppid = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|v| v.trim().parse::<i32>().ok());
        if ppid == Some(pid) {
            found.push(p);
        }
    }
    found
}

fn descendants(pid: i32) -> Vec<i32> {
    let mut all = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in children_of(p) {
            all.push(c);
            todo.push(c);
        }
    }
    all
}

/// SIGINT (uWSGI's stop), wait up to 15 s, then SIGKILL the whole tree so
/// that nothing is left behind even when uWSGI does not stop.
fn stop_tree(child: &mut Child) {
    let pid = child.id() as i32;
    let tree = descendants(pid);
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
        let _ = child.wait();
    }
    for p in tree {
        // Only processes that still run uWSGI: the PID may be reused.
        let exe = fs::read_link(format!("/proc/{p}/exe")).unwrap_or_default();
        if exe.to_string_lossy().contains("uwsgi") {
            unsafe {
                libc::kill(p, libc::SIGKILL);
            }
        }
    }
}

fn wait_for(what: &str, ok: impl FnMut() -> bool) {
    wait_for_with(|| what.to_string(), ok)
}

fn wait_for_with(what: impl Fn() -> String, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {}",
            what()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// doctor judges a pidfile by the front end's own probe: a uWSGI master
/// that is not this instance's (its environment names another) is stale
/// for doctor exactly as it is "dead, pidfile exists" for `status`.
#[test]
fn doctor_and_status_agree_on_whose_master_a_pidfile_names() {
    let root = new_root();
    let run = root.run_dir("imp");
    fs::create_dir_all(&run).unwrap();
    root.write_app(
        "imp.ini",
        &format!(
            "[uwsgi]\nmaster = true\nprocesses = 1\nsocket = {}\n",
            run.join("socket").display()
        ),
    );
    root.enable("imp.ini");
    let pidfile = run.join("pid");
    let conf = root.available().join("imp.ini");
    let other = Uwsgi::instance_with_pidfile("other", &conf, &pidfile);
    let (_, json, _) = doctor(&root, &[]);
    let f = findings(&json, "stale-pidfile");
    assert_eq!(f.len(), 1, "{json:#}");
    assert_eq!(f[0]["app"], "app/imp");
    assert!(
        f[0]["message"].as_str().unwrap().contains(&format!(
            "process {} is uWSGI but not this instance's master",
            other.pid()
        )),
        "{json:#}"
    );
    assert_eq!(findings(&json, "enabled-not-running").len(), 1, "{json:#}");
    let status = root.run("uwsgi-apps", &["status", "imp"]);
    assert_eq!(status.status.code(), Some(1), "dead, pidfile exists");
}

#[test]
fn running_instances_against_what_is_enabled() {
    let root = new_root();
    for name in ["on", "off"] {
        let run = root.run_dir(name);
        fs::create_dir_all(&run).unwrap();
        root.write_app(
            &format!("{name}.ini"),
            &format!(
                "[uwsgi]\nmaster = true\nprocesses = 1\nsocket = {}\nchmod-socket = 660\n",
                run.join("socket").display()
            ),
        );
    }
    root.enable("on.ini");
    let mut procs = Vec::new();
    for name in ["on", "off"] {
        let run = root.run_dir(name);
        let conf = root.available().join(format!("{name}.ini"));
        let pidfile = run.join("pid");
        procs.push(Uwsgi::instance_with_pidfile(name, &conf, &pidfile));
    }
    let (_, json, _) = doctor(&root, &[]);
    let f = findings(&json, "running-not-enabled");
    assert_eq!(f.len(), 1, "{json:#}");
    assert_eq!(f[0]["app"], "app/off");
    assert_eq!(f[0]["pid"], procs[1].pid());
    assert!(
        findings(&json, "enabled-not-running").is_empty(),
        "{json:#}"
    );
    assert!(findings(&json, "stale-pidfile").is_empty(), "{json:#}");
    assert!(findings(&json, "socket-permissions").is_empty(), "{json:#}");

    // A socket whose mode differs from chmod-socket is named.
    let sock = root.run_dir("on").join("socket");
    assert_eq!(
        fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o660
    );
    fs::set_permissions(&sock, fs::Permissions::from_mode(0o600)).unwrap();
    let (_, json, _) = doctor(&root, &[]);
    let f = findings(&json, "socket-permissions");
    assert_eq!(f.len(), 1, "{json:#}");
    assert_eq!(f[0]["path"], sock.to_str().unwrap());
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .contains("mode 0600 instead of 0660"));

    // Stopped, the enabled one is "enabled but not running", and its
    // pidfile (uWSGI removes it only with vacuum) is stale or gone.
    drop(procs);
    let (_, json, _) = doctor(&root, &[]);
    let f = findings(&json, "enabled-not-running");
    assert_eq!(f.len(), 1, "{json:#}");
    assert_eq!(f[0]["app"], "app/on");
    assert!(
        findings(&json, "running-not-enabled").is_empty(),
        "{json:#}"
    );
}

#[test]
fn names_select_apps_and_bad_names_fail() {
    let root = new_root();
    symlink("../apps-available/a.ini", root.enabled().join("a.ini")).unwrap();
    symlink("../apps-available/b.ini", root.enabled().join("b.ini")).unwrap();
    let (code, json, _) = doctor(&root, &["a"]);
    assert_eq!(code, 1);
    let apps: Vec<_> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["app"].as_str().unwrap_or("-").to_string())
        .collect();
    assert!(apps.iter().all(|a| a == "app/a"), "{json:#}");
    assert_eq!(findings(&json, "dangling-link").len(), 1);

    let (code, json, _) = doctor(&root, &["nope"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&json, "unknown-app").len(), 1, "{json:#}");

    let (code, _, stderr) = doctor(&root, &["../etc"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("invalid confspec"), "{stderr}");
}

// --- The Emperor "Tyrant mode" pitfall, with a real Emperor -------------

/// A group created for the test, with www-data in it; deleted on drop.
struct TestGroup {
    name: String,
    gid: u32,
}

impl TestGroup {
    fn create() -> TestGroup {
        let name = format!("uwa-t{}", std::process::id());
        let ok = Command::new("groupadd").arg(&name).status().unwrap();
        assert!(ok.success(), "groupadd {name}");
        // From here on, Drop removes the group even if something fails.
        let mut group = TestGroup { name, gid: 0 };
        let ok = Command::new("gpasswd")
            .args(["-a", "www-data", &group.name])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "gpasswd -a www-data {}", group.name);
        let g = nix::unistd::Group::from_name(&group.name).unwrap().unwrap();
        group.gid = g.gid.as_raw();
        group
    }
}

impl Drop for TestGroup {
    fn drop(&mut self) {
        let _ = Command::new("groupdel").arg(&self.name).status();
    }
}

#[test]
fn tyrant_mode_vassals_missing_groups_are_found() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (groupadd, a Tyrant-mode Emperor)"
    );
    // uWSGI opens /dev/null after dropping privileges; a /dev/null that
    // some tool replaced by a root-owned file makes every vassal die.
    use std::os::unix::fs::FileTypeExt;
    assert!(
        fs::metadata("/dev/null").unwrap().file_type().is_char_device(),
        "/dev/null is not a character device on this machine: restore it (mknod -m 666 /dev/null c 1 3)"
    );
    let group = TestGroup::create();
    let root = new_root();
    let vassals = root.path("vassals");
    let run = root.path("vrun");
    fs::create_dir_all(&vassals).unwrap();
    fs::create_dir_all(&run).unwrap();
    chown(&run, Some(WWW_DATA), Some(WWW_DATA)).unwrap();

    // v1 is the pitfall: a Tyrant-mode vassal. v2 is the fix: an Emperor
    // without Tyrant mode, whose vassal sets uid/gid (uWSGI then calls
    // initgroups); it must not be reported.
    let tyrant_dir = vassals.join("tyrant");
    let plain_dir = vassals.join("plain");
    fs::create_dir_all(&tyrant_dir).unwrap();
    fs::create_dir_all(&plain_dir).unwrap();
    let base = |name: &str| {
        format!(
            "[uwsgi]\nmaster = true\nprocesses = 1\nsocket = {}/{name}.sock\n",
            run.display()
        )
    };
    let v1 = tyrant_dir.join("v1.ini");
    let v2 = plain_dir.join("v2.ini");
    fs::write(&v1, base("v1")).unwrap();
    fs::write(
        &v2,
        format!("{}uid = www-data\ngid = www-data\n", base("v2")),
    )
    .unwrap();
    // Tyrant mode runs each vassal as the owner of its file.
    chown(&v1, Some(WWW_DATA), Some(WWW_DATA)).unwrap();
    let log1 = root.path("tyrant.log");
    let log2 = root.path("plain.log");
    let emperor = Uwsgi::spawn(&[
        OsStr::new("--emperor"),
        tyrant_dir.as_os_str(),
        OsStr::new("--emperor-tyrant"),
        OsStr::new("--logto"),
        log1.as_os_str(),
    ]);
    let plain_emperor = Uwsgi::spawn(&[
        OsStr::new("--emperor"),
        plain_dir.as_os_str(),
        OsStr::new("--logto"),
        log2.as_os_str(),
    ]);
    let logs = || {
        format!(
            "both vassals to be ready; tyrant log:\n{}\nplain log:\n{}",
            fs::read_to_string(&log1).unwrap_or_default(),
            fs::read_to_string(&log2).unwrap_or_default()
        )
    };
    wait_for_with(logs, || {
        fs::read_to_string(&log1).is_ok_and(|t| t.contains("vassal v1.ini is ready"))
            && fs::read_to_string(&log2).is_ok_and(|t| t.contains("vassal v2.ini is ready"))
    });

    // Find the vassals' masters (children of their Emperor) by config.
    let master = |emperor: &Uwsgi, v: &str| {
        let kids = children_of(emperor.pid());
        kids.iter()
            .copied()
            .find(|p| {
                let cmd = fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                String::from_utf8_lossy(&cmd).contains(v)
            })
            .unwrap_or_else(|| panic!("no vassal {v} among {kids:?}"))
    };
    let (m1, m2) = (master(&emperor, "v1.ini"), master(&plain_emperor, "v2.ini"));
    // The pitfall is real: the kernel shows v1 without the group, v2 with.
    let groups_of = |pid: i32| {
        fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("Groups:").map(str::to_string))
            .unwrap()
    };
    let has_group = |pid| {
        groups_of(pid)
            .split_whitespace()
            .any(|g| g == group.gid.to_string())
    };
    assert!(!has_group(m1), "v1 unexpectedly has the group");
    assert!(has_group(m2), "v2 should have the group through initgroups");

    let (_, json, stderr) = doctor(&root, &[]);
    let missing = findings(&json, "missing-groups");
    let f = missing
        .iter()
        .find(|f| f["pid"] == m1)
        .unwrap_or_else(|| panic!("vassal {m1} not reported: {json:#} {stderr}"));
    eprintln!("{f:#}");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["path"], v1.to_str().unwrap(), "{f:#}");
    let msg = f["message"].as_str().unwrap();
    assert!(msg.contains(&group.name), "{msg}");
    assert!(msg.contains("www-data"), "{msg}");
    assert!(msg.contains("Tyrant mode"), "{msg}");
    assert!(
        msg.contains(&format!("Emperor (pid {})", emperor.pid())),
        "{msg}"
    );
    let hint = f["hint"].as_str().unwrap();
    assert!(hint.contains("--emperor-tyrant"), "{hint}");
    assert!(hint.contains("uid = www-data"), "{hint}");
    assert!(hint.contains(&format!("add-gid = {}", group.gid)), "{hint}");
    assert!(hint.contains("emperor-tyrant-initgroups"), "{hint}");
    // One finding for the vassal, not one per worker; none for the fixed one.
    for worker in descendants(m1) {
        assert!(!missing.iter().any(|f| f["pid"] == worker), "{json:#}");
    }
    assert!(
        !missing
            .iter()
            .any(|f| f["pid"] == m2 || descendants(m2).iter().any(|w| f["pid"] == *w)),
        "{json:#}"
    );

    drop(emperor);
    drop(plain_emperor);
    drop(group);
}

#[test]
fn configs_that_cannot_be_read_or_parsed() {
    let root = new_root();
    root.write_app("broken.json", "{\"uwsgi\": {\"uid\": ");
    root.enable("broken.json");
    root.write_app("tags.xml", "<uwsgi><uid>33</uwsgi>");
    root.enable("tags.xml");
    root.write_app("colon.ini", "[uwsgi]\nmaster = true\nuid: www-data\n");
    root.enable("colon.ini");
    root.write_app("nobody.ini", "[uwsgi]\nuid = no-such-user-uwa\n");
    root.enable("nobody.ini");
    // A FIFO and a huge sparse file behind enabled links: clear errors,
    // and doctor neither hangs nor reads 100 MB.
    nix::unistd::mkfifo(
        &root.available().join("fifo.ini"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    root.enable("fifo.ini");
    let big = fs::File::create(root.available().join("big.ini")).unwrap();
    big.set_len(100 * 1024 * 1024).unwrap();
    root.enable("big.ini");

    let (code, json, _) = doctor(&root, &[]);
    assert_eq!(code, 1);
    let unreadable = findings(&json, "unreadable-config");
    for app in ["app/broken", "app/tags", "app/big"] {
        assert!(
            unreadable.iter().any(|f| f["app"] == app),
            "{app} not reported: {json:#}"
        );
    }
    assert!(
        findings(&json, "link-not-a-file")
            .iter()
            .any(|f| f["app"] == "app/fifo"),
        "{json:#}"
    );
    let big = unreadable.iter().find(|f| f["app"] == "app/big").unwrap();
    assert!(
        big["message"].as_str().unwrap().contains("larger"),
        "{big:#}"
    );
    let note = findings(&json, "config-note")
        .into_iter()
        .find(|f| f["app"] == "app/colon")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert!(
        note["message"].as_str().unwrap().contains("line 3"),
        "{note:#}"
    );
    let f = findings(&json, "unknown-account");
    assert_eq!(f.len(), 1, "{json:#}");
    assert_eq!(f[0]["app"], "app/nobody");
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .contains("no-such-user-uwa"));
}

#[test]
fn settings_and_the_permission_switch() {
    let root = new_root();
    root.write_app("mine.ini", "[uwsgi]\n");
    root.enable("mine.ini");
    chown(root.available().join("mine.ini"), Some(WWW_DATA), None).unwrap();
    fs::create_dir_all(root.path("etc/default")).unwrap();
    fs::write(
        root.path("etc/default/uwsgi"),
        "CHECK_CONFIG_PERMISSIONS=no\nVERBOSE=perhaps\n",
    )
    .unwrap();
    let (code, json, _) = doctor(&root, &[]);
    // Unsafe, but start runs it anyway: a warning, not an error.
    assert_eq!(code, 0, "{json:#}");
    let f = findings(&json, "unsafe-permissions");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "warning");
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .contains("CHECK_CONFIG_PERMISSIONS=no"));
    let s = findings(&json, "settings");
    assert_eq!(s.len(), 1, "{json:#}");
    assert!(s[0]["message"].as_str().unwrap().contains("line 2"));
}

/// SPEC §4 step 2: an instance's run dir is root's, 0755; the front end
/// refuses one that another user owns or that others can write (the app's
/// user could plant links where uWSGI's root part writes). Doctor says so
/// before a start fails: an error for an app that does not run.
#[test]
fn runtime_dirs_of_another_user() {
    let root = new_root();
    root.write_app("w.ini", "[uwsgi]\nuid = www-data\ngid = www-data\n");
    root.enable("w.ini");
    let run = root.run_dir("w");
    fs::create_dir_all(&run).unwrap();
    // Root's, 0755: right, although the instance runs as www-data.
    let (_, json, _) = doctor(&root, &[]);
    assert!(findings(&json, "runtime-dir-owner").is_empty(), "{json:#}");
    // The app's user's, as Debian's script makes it: refused by start.
    chown(&run, Some(WWW_DATA), Some(WWW_DATA)).unwrap();
    let (code, json, _) = doctor(&root, &[]);
    assert_eq!(code, 1, "{json:#}");
    let f = findings(&json, "runtime-dir-owner");
    assert_eq!(f.len(), 1, "{json:#}");
    assert_eq!(f[0]["severity"], "error");
    let message = f[0]["message"].as_str().unwrap();
    assert!(
        message.contains("www-data") && message.contains("0755"),
        "{message}"
    );
    // Root's but writable by everyone (sticky or not).
    chown(&run, Some(0), Some(0)).unwrap();
    for mode in [0o777, 0o1777] {
        fs::set_permissions(&run, fs::Permissions::from_mode(mode)).unwrap();
        let (_, json, _) = doctor(&root, &[]);
        assert_eq!(findings(&json, "runtime-dir-owner").len(), 1, "{json:#}");
    }
}

// --- What uWSGI creates after dropping privileges -----------------------

/// Debian's default.ini, with its paths moved into `root`.
fn debian_inherited(root: &Root, chown_socket: bool) {
    let run = root.path("run/uwsgi");
    let text = format!(
        "[uwsgi]\ndeclare-option = deb-confnamespace=$1\ndeclare-option = deb-confname=$1\n\
         master = true\nprocesses = 1\n\
         pidfile = {0}/%(deb-confnamespace)/%(deb-confname)/pid\n\
         socket = {0}/%(deb-confnamespace)/%(deb-confname)/socket\n{1}\
         chmod-socket = 660\nuid = www-data\ngid = www-data\n",
        run.display(),
        if chown_socket {
            "chown-socket = www-data\n"
        } else {
            ""
        }
    );
    fs::write(root.path("usr/share/uwsgi/conf/default.ini"), text).unwrap();
}

/// The apps doctor says will fail (error) because of a file uWSGI creates
/// in the run dir after dropping privileges.
fn failing_after_drop(json: &Value) -> Vec<String> {
    let mut apps: Vec<String> = findings(json, "created-after-drop")
        .into_iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| {
            f["app"]
                .as_str()
                .unwrap()
                .trim_start_matches("app/")
                .to_owned()
        })
        .collect();
    apps.sort();
    apps.dedup();
    apps
}

/// Run the real uWSGI the way the front end does (inherited config, then
/// the app's, in /, with the instance's names in the environment) as
/// www-data, in a root-owned 0755 run dir, for each app at once; give the
/// apps whose uWSGI exited with an error within a few seconds.
fn failing_for_real(root: &Root, apps: &[&str]) -> Vec<String> {
    let inherited = root.path("usr/share/uwsgi/conf/default.ini");
    let mut running: Vec<(String, Uwsgi)> = Vec::new();
    for app in apps {
        let run = root.run_dir(app);
        fs::create_dir_all(&run).unwrap();
        fs::set_permissions(&run, fs::Permissions::from_mode(0o755)).unwrap();
        let conf = root.enabled().join(format!("{app}.ini"));
        let child = Command::new("/usr/bin/uwsgi")
            .arg("--ini")
            .arg(&inherited)
            .arg("--ini")
            .arg(&conf)
            .env_clear()
            .env("UWSGI_DEB_CONFNAMESPACE", "app")
            .env("UWSGI_DEB_CONFNAME", app)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(root.path(format!("{app}.log"))).unwrap())
            .spawn()
            .unwrap();
        running.push((app.to_string(), Uwsgi { child }));
    }
    // A failure to create a file stops uWSGI within a fraction of a second.
    std::thread::sleep(Duration::from_secs(3));
    let mut failed = Vec::new();
    for (app, u) in &mut running {
        if let Ok(Some(status)) = u.child.try_wait() {
            assert!(!status.success(), "{app} exited with success");
            let log = fs::read_to_string(root.path(format!("{app}.log"))).unwrap();
            assert!(log.contains("Permission denied"), "{app}: {log}");
            failed.push(app.clone());
        }
    }
    failed.sort();
    failed
}

/// The run dir is root's (SPEC §4). Doctor says which apps' uWSGI creates
/// something there after dropping privileges, and its verdict is checked
/// against the real uWSGI, run as the front end runs it: exactly the apps
/// it calls errors fail to start.
#[test]
fn files_created_after_the_privilege_drop_fail_in_the_root_owned_run_dir() {
    // Debian's default config: the socket is bound as root (chown-socket).
    let root = new_root();
    debian_inherited(&root, true);
    let run = |name: &str| root.run_dir(name).display().to_string();
    let inc = root.path("stats.ini");
    fs::write(
        &inc,
        "[uwsgi]\nstats = /RUN/%(deb-confnamespace)/%(deb-confname)/stats.sock\n"
            .replace("/RUN", &root.path("run/uwsgi").display().to_string()),
    )
    .unwrap();
    let apps = [
        ("plain", String::new()),
        ("pid2", format!("pidfile2 = {}/pid2\n", run("pid2"))),
        ("stats", format!("stats = {}/stats.sock\n", run("stats"))),
        ("fifo", format!("master-fifo = {}/fifo\n", run("fifo"))),
        ("spid", format!("safe-pidfile = {}/spid\n", run("spid"))),
        ("viainc", format!("ini = {}\n", inc.display())),
        ("tcpstats", "stats = 127.0.0.1:0\n".to_string()),
    ];
    for (name, extra) in &apps {
        root.write_app(&format!("{name}.ini"), &format!("[uwsgi]\n{extra}"));
        root.enable(&format!("{name}.ini"));
    }
    let (_, json, _) = doctor(&root, &[]);
    let predicted = failing_after_drop(&json);
    assert_eq!(predicted, ["fifo", "spid", "stats", "viainc"], "{json:#}");
    let names: Vec<&str> = apps.iter().map(|(n, _)| *n).collect();
    assert_eq!(failing_for_real(&root, &names), predicted);
    let f = findings(&json, "created-after-drop");
    let stats = f.iter().find(|f| f["app"] == "app/stats").unwrap();
    let message = stats["message"].as_str().unwrap();
    assert!(
        message.contains("`stats = ") && message.contains("belongs to root"),
        "{message}"
    );
    assert!(
        stats["hint"].as_str().unwrap().contains("TCP address"),
        "{stats:#}"
    );
    // The included file is named as where the option is.
    let via = f.iter().find(|f| f["app"] == "app/viainc").unwrap();
    assert_eq!(via["path"], inc.to_str().unwrap());

    // Without chown-socket the socket itself is bound after the drop,
    // unless drop-after-apps delays it.
    let root = new_root();
    debian_inherited(&root, false);
    for (name, extra) in [("nochown", ""), ("late", "drop-after-apps = true\n")] {
        root.write_app(&format!("{name}.ini"), &format!("[uwsgi]\n{extra}"));
        root.enable(&format!("{name}.ini"));
    }
    let (_, json, _) = doctor(&root, &[]);
    let predicted = failing_after_drop(&json);
    assert_eq!(predicted, ["nochown"], "{json:#}");
    assert_eq!(failing_for_real(&root, &["nochown", "late"]), predicted);
    let f = findings(&json, "created-after-drop");
    assert!(
        f[0]["hint"].as_str().unwrap().contains("chown-socket"),
        "{json:#}"
    );
}

// --- Apps that load nothing ---------------------------------------------

/// What the real uWSGI makes of `key` in `file` (`--get` prints the value
/// and exits without starting), with what it logged.
fn uwsgi_get(file: &Path, key: &str) -> (String, String) {
    let out = Command::new("/usr/bin/uwsgi")
        .arg("--ini")
        .arg(file)
        .arg("--get")
        .arg(key)
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A header without its `]`, a file without any section, or a plugin that
/// does not exist: uWSGI starts, loads no app ("no app loaded. going in
/// full dynamic mode") and nothing listens. Each is an error, and the real
/// uWSGI confirms what doctor says of the file.
#[test]
fn configs_from_which_uwsgi_loads_nothing_are_errors() {
    let root = new_root();
    root.write_app("header.ini", "[uwsgi\nplugins = python3\nmodule = hello\n");
    root.write_app("nosection.ini", "plugins = python3\nmodule = hello\n");
    root.write_app("empty.ini", "[uwsgi]\n; nothing yet\n");
    root.write_app(
        "plugin.ini",
        "[uwsgi]\nplugins = python3, nosuchplugin\nmodule = hello\n",
    );
    root.write_app(
        "needed.ini",
        "[uwsgi]\nneed-plugin = /nonexistent/x_plugin.so\nmodule = hello\n",
    );
    root.write_app("fine.ini", "[uwsgi]\nplugin = 0:python3\nmodule = hello\n");
    for app in ["header", "nosection", "empty", "plugin", "needed", "fine"] {
        root.enable(&format!("{app}.ini"));
    }
    let (code, json, _) = doctor(&root, &[]);
    assert_eq!(code, 1, "{json:#}");
    let of = |check: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = findings(&json, check)
            .into_iter()
            .map(|f| {
                (
                    f["app"].as_str().unwrap().to_owned(),
                    f["severity"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let pair = |a: &str, s: &str| (format!("app/{a}"), s.to_owned());
    assert_eq!(
        of("no-options"),
        [
            pair("empty", "warning"),
            pair("header", "error"),
            pair("nosection", "error")
        ]
    );
    assert_eq!(
        of("unknown-plugin"),
        [pair("needed", "error"), pair("plugin", "error")]
    );
    let plugin = findings(&json, "unknown-plugin")
        .into_iter()
        .find(|f| f["app"] == "app/plugin")
        .unwrap();
    let message = plugin["message"].as_str().unwrap();
    assert!(
        message.contains("\"nosuchplugin\"")
            && message.contains("/usr/lib/uwsgi/plugins/nosuchplugin_plugin.so"),
        "{message}"
    );

    // The real uWSGI agrees: nothing from the first two files, the option
    // from the one with a good header, and the plugin that is not there.
    for app in ["header", "nosection"] {
        let (value, log) = uwsgi_get(&root.available().join(format!("{app}.ini")), "module");
        assert_eq!(value, "", "{app}");
        assert!(log.contains("Can't find section \"uwsgi\""), "{app}: {log}");
    }
    // The inherited config with such a header: no instance gets its uid.
    let other = new_root();
    fs::write(
        other.path("usr/share/uwsgi/conf/default.ini"),
        "[uwsgi\nuid = www-data\n",
    )
    .unwrap();
    let (code, json, _) = doctor(&other, &[]);
    assert_eq!(code, 1, "{json:#}");
    let f = findings(&json, "no-options");
    assert_eq!(f.len(), 1, "{json:#}");
    assert_eq!(f[0]["app"], Value::Null);
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .contains("inherited config"));

    let (value, log) = uwsgi_get(&root.available().join("plugin.ini"), "module");
    assert_eq!(value, "hello");
    assert!(
        log.contains("UNABLE to load uWSGI plugin")
            && log.contains("nosuchplugin_plugin.so")
            && !log.contains("python3_plugin.so"),
        "{log}"
    );
}

/// The uwsgi package ships `apps-enabled/README`; the front end ignores
/// any entry without a config extension, and so does doctor.
#[test]
fn entries_without_a_config_extension_are_not_findings() {
    let root = new_root();
    fs::write(
        root.enabled().join("README"),
        "Put links to enabled apps here.\n",
    )
    .unwrap();
    fs::write(root.enabled().join("site.ini~"), "[uwsgi]\n").unwrap();
    fs::write(root.available().join("notes.txt"), "x\n").unwrap();
    symlink("../apps-available/notes.txt", root.enabled().join("notes")).unwrap();
    let (code, json, _) = doctor(&root, &[]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["findings"], serde_json::json!([]), "{json:#}");
    let (_, text) = doctor_human(&root, &[]);
    assert_eq!(text, "No problems found.\n");
}

// --- Includes ------------------------------------------------------------

/// Doctor follows what a config pulls in: a missing include stops uWSGI
/// (error), a missing `for-readline` file does not (warning), an
/// `exec://` include cannot be checked (warning), and a problem in what
/// the inherited config pulls in is said once, not once per app.
#[test]
fn includes_that_are_missing_unresolved_or_unsafe() {
    let root = new_root();
    let shared = root.path("srv/shared.ini");
    fs::create_dir_all(shared.parent().unwrap()).unwrap();
    fs::write(&shared, "[uwsgi]\nmaster = true\n").unwrap();
    chown(&shared, Some(WWW_DATA), Some(WWW_DATA)).unwrap();
    fs::write(
        root.path("usr/share/uwsgi/conf/default.ini"),
        format!("[uwsgi]\nini = {}\n", shared.display()),
    )
    .unwrap();
    let missing = root.path("srv/missing.ini");
    root.write_app(
        "a.ini",
        &format!(
            "[uwsgi]\nmodule = a\nini = {}\nfor-readline = {}/list\nendfor =\n\
             ini = exec://cat /etc/x.ini\n",
            missing.display(),
            root.path("srv").display()
        ),
    );
    root.write_app("b.ini", "[uwsgi]\nmodule = b\n");
    root.enable("a.ini");
    root.enable("b.ini");
    let (code, json, _) = doctor(&root, &[]);
    assert_eq!(code, 1, "{json:#}");
    let missing_found = findings(&json, "missing-include");
    let sev = |path: &Path| about(&missing_found, path).map(|f| f["severity"].clone());
    assert_eq!(sev(&missing), Some(Value::from("error")), "{json:#}");
    assert_eq!(
        sev(&root.path("srv/list")),
        Some(Value::from("warning")),
        "{json:#}"
    );
    let unresolved = findings(&json, "unresolved-include");
    assert_eq!(unresolved.len(), 1, "{json:#}");
    assert!(unresolved[0]["message"]
        .as_str()
        .unwrap()
        .contains("output of a command"));
    assert_eq!(unresolved[0]["app"], "app/a");
    // The inherited config's include belongs to www-data: one error, for
    // no app in particular, naming the option that pulls it in.
    let unsafe_ = findings(&json, "unsafe-permissions");
    assert_eq!(unsafe_.len(), 1, "{json:#}");
    assert_eq!(unsafe_[0]["app"], Value::Null);
    assert_eq!(unsafe_[0]["path"], shared.to_str().unwrap());
    let message = unsafe_[0]["message"].as_str().unwrap();
    assert!(
        message.contains("inherited config") && message.contains("`ini = "),
        "{message}"
    );
}
