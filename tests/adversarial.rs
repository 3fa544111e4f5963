//! Hostile trees and names, through the real binary. Each case must end
//! with a clear message (or a clean report), never a panic or a hang, and
//! must change nothing it should not.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

mod common;

use common::Root;

/// A root as doctor expects a real system: with the inherited config
/// (without it doctor reports an error for every tree).
fn new_root() -> Root {
    let root = Root::new();
    root.inherited("[uwsgi]\n");
    root
}

fn doctor_json(root: &Root, names: &[&OsStr]) -> (i32, Value) {
    let mut args = vec![OsStr::new("doctor"), OsStr::new("--json")];
    args.extend_from_slice(names);
    let out = root.apps_os(&args);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json printed no JSON ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn doctor_text(root: &Root) -> (i32, String) {
    let out = root.apps_os(&[OsStr::new("doctor")]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("human output is UTF-8"),
    )
}

fn checks(json: &Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

/// Every line of human output is a finding, a hint, or the summary: a
/// hostile name can neither inject a line nor a control sequence.
fn assert_clean_lines(text: &str) {
    for line in text.lines() {
        assert!(
            !line.chars().any(char::is_control),
            "control character in {line:?}"
        );
        assert!(
            ["error: ", "warning: ", "info: ", "    hint: "]
                .iter()
                .any(|p| line.starts_with(p))
                || line.ends_with("info(s).")
                || line == "No problems found.",
            "unexpected line {line:?} in:\n{text}"
        );
    }
}

#[test]
fn names_with_newlines_and_control_characters() {
    let root = new_root();
    let evil = OsStr::from_bytes(b"a\nerror: forged\x1b[2J\r\x07.ini");
    symlink("../apps-available/none.ini", root.enabled().join(evil)).unwrap();
    fs::write(
        root.available().join(OsStr::from_bytes(b"tab\there.ini")),
        "",
    )
    .unwrap();
    symlink(
        "../apps-available/tab\there.ini",
        root.enabled().join("tab\there.ini"),
    )
    .unwrap();
    let (code, text) = doctor_text(&root);
    assert_eq!(code, 1);
    assert_clean_lines(&text);
    assert!(text.contains("a?error: forged?[2J??.ini"), "{text}");
    // The JSON keeps the name (escaped by JSON), so scripts can act on it.
    let (_, json) = doctor_json(&root, &[]);
    let paths: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(paths
        .iter()
        .any(|p| p.ends_with("a\nerror: forged\x1b[2J\r\x07.ini")));
    // Asking about the hostile name itself works too.
    let (code, json) = doctor_json(
        &root,
        &[OsStr::from_bytes(b"a\nerror: forged\x1b[2J\r\x07")],
    );
    assert_eq!(code, 1);
    assert!(
        checks(&json).contains(&"dangling-link".to_string()),
        "{json:#}"
    );
}

#[test]
fn names_that_are_not_utf8() {
    let root = new_root();
    let name = OsStr::from_bytes(b"caf\xe9.ini");
    fs::write(root.available().join(name), "[uwsgi]\n").unwrap();
    fs::write(root.enabled().join(name), "[uwsgi]\n").unwrap();
    let (code, text) = doctor_text(&root);
    assert_eq!(code, 0, "{text}");
    assert_clean_lines(&text);
    // Shown as a control character is: one `?` per byte that is not UTF-8.
    assert!(text.contains("caf?.ini"), "{text}");
    let (_, json) = doctor_json(&root, &[OsStr::from_bytes(b"caf\xe9")]);
    assert!(
        checks(&json).contains(&"regular-file".to_string()),
        "{json:#}"
    );
}

#[test]
fn names_of_255_bytes_and_longer() {
    let root = new_root();
    // The longest file name Linux allows: 251 bytes and ".ini".
    let long = format!("{}.ini", "n".repeat(251));
    symlink(
        format!("../apps-available/{long}"),
        root.enabled().join(&long),
    )
    .unwrap();
    let (code, json) = doctor_json(&root, &[]);
    assert_eq!(code, 1);
    assert!(checks(&json).contains(&"dangling-link".to_string()));
    // Longer than any file name: asked about, it is simply not found.
    let longer = "x".repeat(300);
    let (code, json) = doctor_json(&root, &[OsStr::new(&longer)]);
    assert_eq!(code, 1);
    assert_eq!(checks(&json), ["unknown-app"], "{json:#}");
    let huge = "y".repeat(100_000);
    let (code, json) = doctor_json(&root, &[OsStr::new(&huge)]);
    assert_eq!(code, 1);
    assert_eq!(checks(&json), ["unknown-app"]);
}

#[test]
fn symlink_loops_in_apps_available_and_enabled() {
    let root = new_root();
    symlink("self.ini", root.available().join("self.ini")).unwrap();
    symlink("b.ini", root.available().join("a.ini")).unwrap();
    symlink("a.ini", root.available().join("b.ini")).unwrap();
    symlink(
        "../apps-available/self.ini",
        root.enabled().join("self.ini"),
    )
    .unwrap();
    // A directory loop: must not be walked forever.
    symlink("..", root.enabled().join("up")).unwrap();
    fs::create_dir(root.enabled().join("sub")).unwrap();
    symlink("../sub", root.enabled().join("sub/again")).unwrap();
    let (code, json) = doctor_json(&root, &[]);
    assert_eq!(code, 1);
    let loops = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "link-loop")
        .count();
    // self.ini in both directories, a.ini and b.ini in apps-available.
    assert_eq!(loops, 4, "{json:#}");
}

#[test]
fn apps_enabled_replaced_by_a_link_elsewhere() {
    let root = new_root();
    let elsewhere = root.path("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::write(root.available().join("x.ini"), "[uwsgi]\n").unwrap();
    fs::remove_dir(root.enabled()).unwrap();
    symlink(&elsewhere, root.enabled()).unwrap();
    let (_, json) = doctor_json(&root, &[]);
    let f = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "directory-is-link")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(f["path"], root.enabled().to_str().unwrap());
    assert_eq!(f["severity"], "warning");
    // And it is shown when asking about one app, since it concerns all.
    let (_, json) = doctor_json(&root, &[OsStr::new("x")]);
    assert!(checks(&json).contains(&"directory-is-link".to_string()));
}

#[test]
fn special_files_are_never_opened() {
    let root = new_root();
    let fifo = root.enabled().join("fifo.ini");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    symlink("/dev/zero", root.enabled().join("zero.ini")).unwrap();
    fs::create_dir(root.enabled().join("dir.ini")).unwrap();
    // A pidfile that is a FIFO (opening it would block) and one that is a
    // link to /dev/zero (reading it would never end).
    let run = root.path("run/uwsgi/app");
    fs::create_dir_all(run.join("f")).unwrap();
    nix::unistd::mkfifo(
        &run.join("f/pid"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    fs::create_dir_all(run.join("z")).unwrap();
    symlink("/dev/zero", run.join("z/pid")).unwrap();
    let (code, json) = doctor_json(&root, &[]);
    assert_eq!(code, 1, "{json:#}");
    let c = checks(&json);
    assert!(c.contains(&"not-a-regular-file".to_string()), "{json:#}");
    assert!(c.contains(&"link-not-a-file".to_string()), "{json:#}");
    assert!(c.contains(&"stale-pidfile".to_string()), "{json:#}");
    assert!(c.contains(&"pidfile-is-link".to_string()), "{json:#}");
}

#[test]
fn doctor_changes_nothing() {
    let root = new_root();
    symlink(
        "../apps-available/gone.ini",
        root.enabled().join("gone.ini"),
    )
    .unwrap();
    let run = root.path("run/uwsgi/app/old");
    fs::create_dir_all(&run).unwrap();
    fs::write(run.join("pid"), "999999999\n").unwrap();
    let before = snapshot(&root.root);
    let _ = doctor_json(&root, &[]);
    let _ = doctor_text(&root);
    assert_eq!(snapshot(&root.root), before);
}

/// Every path with its type, mode, owner, size and mtime.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u32, u32, u64, i64)> {
    let mut all: Vec<_> = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .flatten()
        .map(|e| {
            let m = e.path().symlink_metadata().unwrap();
            (
                e.path().to_path_buf(),
                m.mode(),
                m.uid(),
                m.size(),
                m.mtime(),
            )
        })
        .collect();
    all.sort();
    all
}

// --- The registry (uwsgi-enapp / uwsgi-disapp) ------------------------------

fn applet(root: &Root, args: &[&OsStr]) -> Output {
    root.apps_os(args)
}

#[test]
fn names_of_255_bytes_enable_and_disable_and_longer_ones_are_refused_cleanly() {
    let root = new_root();
    let stem = "n".repeat(251);
    let file = format!("{stem}.ini");
    fs::write(root.available().join(&file), "[uwsgi]\n").unwrap();
    let out = applet(&root, &[OsStr::new("enable"), OsStr::new(&stem)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_link(root.enabled().join(&file)).unwrap(),
        Path::new("../apps-available").join(&file)
    );
    let out = applet(&root, &[OsStr::new("disable"), OsStr::new(&stem)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(root.enabled().join(&file).symlink_metadata().is_err());

    let before = snapshot(&root.root);
    for cmd in ["enable", "disable"] {
        let longer = "y".repeat(300);
        let out = applet(&root, &[OsStr::new(cmd), OsStr::new(&longer)]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("does not exist") || err.contains("too long"),
            "{err}"
        );
    }
    assert_eq!(snapshot(&root.root), before);
}

#[test]
fn enable_refuses_an_apps_enabled_that_is_a_link_elsewhere() {
    let root = new_root();
    let elsewhere = root.path("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::write(root.available().join("x.ini"), "[uwsgi]\n").unwrap();
    fs::remove_dir(root.enabled()).unwrap();
    symlink(&elsewhere, root.enabled()).unwrap();
    let out = applet(&root, &[OsStr::new("enable"), OsStr::new("x")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("apps-enabled"), "{err}");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
}

// --- The service front end, with the real uWSGI -----------------------------
//
// These run `uwsgi-apps initd start|stop NAME` and `uwsgi-apps status` on a
// root prepared by `common::live::Live`, whose Drop kills every master the
// test started, whatever happens.

use common::live::{self, Live};
use common::show;

/// How long an app may take to answer after a start that said "done".
const HTTP_LIMIT: Duration = Duration::from_secs(30);

/// Content, owner and mode of a file, not following a final link.
fn file_state(path: &Path) -> (Vec<u8>, (u32, u32, u32)) {
    (fs::read(path).unwrap(), live::owner_mode(path))
}

#[test]
fn service_a_pidfile_linked_to_another_file_is_never_followed() {
    let live = Live::new();
    let port = live.app("hello", "");
    let victim = live.write_file("victim", "hello", 0o600);
    let before = file_state(&victim);
    assert_eq!(before.1, (0, 0, 0o600));
    fs::create_dir_all(live.rundir("hello")).unwrap();
    symlink(&victim, live.pidfile("hello")).unwrap();

    let out = live.initd(&["start", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello hello");
    let pid = live.master("hello");
    // The planted link was replaced, not written through: the pidfile is
    // a plain file of root's, and the victim is untouched.
    let pidfile = live.pidfile("hello");
    assert!(fs::symlink_metadata(&pidfile).unwrap().is_file());
    assert_eq!(live::owner_mode(&pidfile), (0, 0, 0o644));
    assert_eq!(file_state(&victim), before, "start changed the victim");

    let out = live.initd(&["stop", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(live::wait_gone(pid, Duration::from_secs(10)));
    assert_eq!(file_state(&victim), before, "stop changed the victim");
}

#[test]
fn service_a_pidfile_linked_to_the_pid_of_a_foreign_process_is_never_signalled() {
    let live = Live::new();
    live.app("hello", "");
    let sleep = live.spawn_sleep();
    let other = live.write_file("other-pid", &format!("{sleep}\n"), 0o644);
    let before = file_state(&other);
    fs::create_dir_all(live.rundir("hello")).unwrap();
    symlink(&other, live.pidfile("hello")).unwrap();

    let out = live.initd(&["status", "hello"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "dead, pidfile exists: {}",
        show(&out)
    );
    let out = live.apps(&["status", "hello"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "dead, pidfile exists: {}",
        show(&out)
    );
    let out = live.initd(&["stop", "hello"]);
    assert_eq!(out.status.code(), Some(0), "not running: {}", show(&out));
    // Stop cleans the stale runtime dir: the link goes, not its target.
    assert!(fs::symlink_metadata(live.pidfile("hello")).is_err());
    let out = live.apps(&["stop", "hello"]);
    assert_eq!(out.status.code(), Some(0), "not running: {}", show(&out));

    // Give a signal, had one been sent, time to land.
    std::thread::sleep(Duration::from_millis(200));
    assert!(live::alive(sleep), "the unrelated sleep was killed");
    assert_eq!(file_state(&other), before);
    assert!(live.masters().is_empty());
}

/// `start` with a runtime dir of the instance (or of its namespace) that
/// already exists and belongs to `nobody`: a user other than root and the
/// instance's own could then plant links where the root-run front end and
/// uWSGI's root part write the pidfile and sockets. SPEC §4 step 2 chowns
/// only a dir created now, so an existing foreign one is refused, naming
/// the path and its owner, and nothing is started.
#[test]
fn service_runtime_dirs_owned_by_a_foreign_user_are_refused() {
    const NOBODY: u32 = 65534;
    for (which, mode) in [("app/hello", 0o777), ("app/hello", 0o755), ("app", 0o755)] {
        let live = Live::new();
        let port = live.app("hello", "");
        let dir = live.r.path("run/uwsgi").join(which);
        fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
        live::chmod(&dir, mode);

        let out = live.initd(&["start", "hello"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{which}: {}", show(&out));
        assert!(
            err.contains(&dir.display().to_string()) && err.contains("nobody"),
            "{which}: the message names the dir and its owner: {err}"
        );
        assert!(live.masters().is_empty(), "{which}: a master runs");
        assert!(live::http_get(port).is_err());
        assert!(!live.pidfile("hello").exists());
        assert_eq!(live::owner_mode(&dir), (NOBODY, NOBODY, mode), "{which}");
    }

    // The instance's runtime dir planted as a link to a dir of nobody's.
    let live = Live::new();
    live.app("hello", "");
    let elsewhere = live.r.path("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::chown(&elsewhere, Some(NOBODY), Some(NOBODY)).unwrap();
    fs::create_dir_all(live.r.path("run/uwsgi/app")).unwrap();
    symlink(&elsewhere, live.rundir("hello")).unwrap();
    let out = live.initd(&["start", "hello"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        err.contains(&live.rundir("hello").display().to_string()),
        "{err}"
    );
    assert!(live.masters().is_empty());
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert_eq!(live::owner_mode(&elsewhere).0, NOBODY);
}

#[test]
fn service_start_gives_uwsgi_the_apps_enabled_path_it_checked() {
    let live = Live::new();
    let port = live.app("hello", "");
    let out = live.initd(&["start", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello hello");
    let pid = live.master("hello");
    let args = live::cmdline(pid);
    let conf = live.conffile("hello");
    let at = args
        .iter()
        .rposition(|a| a == "--ini")
        .unwrap_or_else(|| panic!("no --ini in {args:?}"));
    assert_eq!(Path::new(&args[at + 1]), conf, "{args:?}");
    let available = live.r.available().join("hello.ini");
    assert!(
        !args.iter().any(|a| Path::new(a) == available),
        "the resolved path was given: {args:?}"
    );
    let out = live.initd(&["stop", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(live::wait_gone(pid, Duration::from_secs(10)));
}

#[test]
fn service_a_config_swapped_for_a_world_writable_one_is_refused() {
    let live = Live::new();
    let port = live.app("hello", "");
    // Swap the file behind the link right before start: a new inode, 0666.
    let target = live.r.available().join("hello.ini");
    let text = fs::read_to_string(&target).unwrap();
    let swap = live.write_file("etc/uwsgi/apps-available/.swap", &text, 0o666);
    fs::rename(&swap, &target).unwrap();

    let out = live.initd(&["start", "hello"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        err.contains(&target.display().to_string()) && err.contains("root") && err.contains("0666"),
        "the message names path, owner and mode: {err}"
    );
    assert!(live.masters().is_empty(), "a master runs");
    assert!(live::http_get(port).is_err());
    assert!(!live.pidfile("hello").exists());
}

/// A real unprivileged user made for one test (`useradd`), removed on drop
/// (`userdel`), also when an assertion fails.
struct TestUser {
    name: String,
    uid: u32,
}

impl TestUser {
    fn create(tag: &str) -> TestUser {
        let name = format!("uwa-{tag}{}", std::process::id());
        let ok = std::process::Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .arg(&name)
            .status()
            .expect("run useradd");
        assert!(ok.success(), "useradd {name}");
        let mut user = TestUser { name, uid: 0 };
        user.uid = nix::unistd::User::from_name(&user.name)
            .unwrap()
            .expect("the new user exists")
            .uid
            .as_raw();
        user
    }

    /// Make `path` belong to this user (the attacker).
    fn own(&self, path: &Path) {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.uid)).unwrap();
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = std::process::Command::new("userdel")
            .arg(&self.name)
            .status();
    }
}

/// SPEC §4 "Safety of configs" reaches every file a root-owned config pulls
/// in. A user who owns a file that an app's config loads as root (`ini =`,
/// `@(file)`, `for-readline`, a file in a directory they own, one they could
/// create, or one the inherited config loads) writes `exec-as-root = id >
/// proof`; the real uWSGI would run it as root. `start` must refuse each
/// such app (init mode `!`, a message naming the path, its owner and its
/// mode), the proof must never appear, and doctor must call each an error.
/// A root-owned include still starts and serves (no false alarm).
#[test]
fn service_files_pulled_in_by_a_config_follow_the_permission_rule() {
    let evil = TestUser::create("inc");
    let live = Live::new();
    let root = live.r.root.clone();
    let proof = |tag: &str| root.join(format!("proof-{tag}"));
    let attack = |tag: &str| format!("[uwsgi]\nexec-as-root = id > {}\n", proof(tag).display());

    // The file an `ini =` loads belongs to the user.
    let inc = live.write_file("srv/extra.ini", &attack("ini"), 0o644);
    evil.own(&inc);
    live.app("viaini", &format!("ini = {}\n", inc.display()));
    // `exec-as-root = @(file)`: the command is the file's content.
    let cmd = live.write_file(
        "srv/cmd.txt",
        &format!("id > {}", proof("at").display()),
        0o644,
    );
    evil.own(&cmd);
    live.app("viaat", &format!("exec-as-root = @({})\n", cmd.display()));
    // Each line of a `for-readline` file becomes a command.
    let lines = live.write_file(
        "srv/lines.txt",
        &format!("id > {}\n", proof("lines").display()),
        0o644,
    );
    evil.own(&lines);
    live.app(
        "vialines",
        &format!(
            "for-readline = {}\nexec-as-root = %(_)\nendfor =\n",
            lines.display()
        ),
    );
    // A root-owned file in a directory the user owns: they can swap it.
    let swap = live.write_file("home/evil/inc.ini", &attack("dir"), 0o644);
    evil.own(swap.parent().unwrap());
    live.app("viadir", &format!("ini = {}\n", swap.display()));
    // A missing include in that directory: they can create it.
    live.app(
        "viamissing",
        &format!("ini = {}\n", root.join("home/evil/later.ini").display()),
    );
    // Through a second level of includes, and a file name in `%d` form.
    live.write_file("srv/level1.ini", "[uwsgi]\nini = %dextra.ini\n", 0o644);
    live.app(
        "vianested",
        &format!("ini = {}\n", root.join("srv/level1.ini").display()),
    );

    for (name, path, mode) in [
        ("viaini", inc.clone(), "0644"),
        ("viaat", cmd.clone(), "0644"),
        ("vialines", lines.clone(), "0644"),
        ("viadir", swap.parent().unwrap().to_path_buf(), "0755"),
        ("viamissing", swap.parent().unwrap().to_path_buf(), "0755"),
        ("vianested", inc.clone(), "0644"),
    ] {
        let out = live.initd(&["start", name]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", show(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "Starting app server(s): uwsgi -> ! failed!\n",
            "{name}"
        );
        assert!(
            err.contains(&path.display().to_string())
                && err.contains(&evil.name)
                && err.contains(mode),
            "{name}: the message names path, owner and mode: {err}"
        );
        assert!(live.masters().is_empty(), "{name}: a master runs");
    }
    for tag in ["ini", "at", "lines", "dir"] {
        assert!(!proof(tag).exists(), "{tag}: the attack ran as root");
    }

    // doctor: an error for each, naming the file and the option.
    let out = live.apps(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unsafe_apps: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "unsafe-permissions" && f["severity"] == "error")
        .filter_map(|f| f["app"].as_str())
        .collect();
    for name in [
        "viaini",
        "viaat",
        "vialines",
        "viadir",
        "viamissing",
        "vianested",
    ] {
        assert!(
            unsafe_apps.contains(&format!("app/{name}").as_str()),
            "{name} not reported: {json:#}"
        );
    }

    // The inherited config pulls in the user's file: every app is refused.
    let live2 = Live::new();
    let port = live2.app("plain", "");
    let inh_inc = live2.write_file("srv/common.ini", &attack("inherited"), 0o644);
    evil.own(&inh_inc);
    let mut inherited = fs::read_to_string(live2.inherited()).unwrap();
    inherited.push_str(&format!("ini = {}\n", inh_inc.display()));
    fs::write(live2.inherited(), inherited).unwrap();
    let out = live2.initd(&["start", "plain"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        err.contains(&inh_inc.display().to_string()) && err.contains(&evil.name),
        "{err}"
    );
    assert!(!live2.r.root.join("proof-inherited").exists());
    assert!(live::http_get(port).is_err());

    // A root-owned include is fine: the app starts and uWSGI really reads it.
    let live3 = Live::new();
    let safe = live3.write_file(
        "srv/safe.ini",
        &format!(
            "[uwsgi]\nexec-as-root = touch {}\n",
            live3.r.root.join("included-ran").display()
        ),
        0o644,
    );
    let port = live3.app("fine", &format!("ini = {}\n", safe.display()));
    let out = live3.initd(&["start", "fine"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(live::http_wait(port, HTTP_LIMIT), "hello fine");
    assert!(live3.r.root.join("included-ran").exists());
    let out = live3.initd(&["stop", "fine"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}
