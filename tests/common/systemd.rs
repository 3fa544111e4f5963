//! A real systemd, booted as PID 1 of its own namespaces, for tests of the
//! systemd engine (`uwsgi@.service`, `uwsgi.service`, driven by
//! `uwsgi-apps`) on machines whose own PID 1 is not systemd.
//!
//! ```ignore
//! let Some(sd) = Systemd::builder()
//!     .unit("hello.service", HELLO)
//!     .bind(env!("CARGO_BIN_EXE_uwsgi-apps"), "/usr/sbin/uwsgi-apps")
//!     .bind(etc_tree, "/etc/uwsgi")
//!     .env("UWSGI_APPS_X", "1")
//!     .boot()
//! else {
//!     return; // a developer's unprivileged run; never in CI
//! };
//! sd.systemctl(&["start", "hello.service"]);
//! ```
//!
//! # How it works
//!
//! 1. A child cgroup of the unified (cgroup2) hierarchy is made for the
//!    manager — wherever cgroup2 is mounted: `/sys/fs/cgroup` on a unified
//!    host, `/sys/fs/cgroup/unified` on a hybrid one like the test machines.
//!    The spawned `unshare` joins it before it execs, so the new cgroup
//!    namespace is rooted there: systemd creates `init.scope` and
//!    `system.slice` inside it and nowhere else, and teardown can prove the
//!    cgroup empty and remove it.
//! 2. `unshare --pid --fork --kill-child --mount --uts --ipc --net --cgroup
//!    --mount-proc --propagation private` runs a generated `sh` script as
//!    PID 1 of the new namespaces. Why each:
//!    * pid: systemd must be PID 1 to act as the system manager, and when
//!      PID 1 of a PID namespace dies the kernel kills everything in it —
//!      that is the whole teardown.
//!    * mount, private propagation: every mount below happens in a copy of
//!      the host's mount table and dies with it; nothing propagates back.
//!    * uts: systemd sets the hostname at boot.
//!    * ipc: services' SysV IPC and `RemoveIPC=` stay inside.
//!    * net: 127.0.0.1 inside is private (ports never collide with the host
//!      or with other tests); systemd brings `lo` up itself at boot, and its
//!      `net.unix.max_dgram_qlen` bump lands in this namespace.
//!    * cgroup: systemd sees its cgroup as `/` (see 1.).
//!    * `--kill-child`: if `unshare` dies, the kernel SIGKILLs its child,
//!      the namespace's PID 1.
//! 3. The script sets the namespace up (step by step, traced with `set -x`
//!    into the boot log), then `exec`s `/lib/systemd/systemd
//!    --unit=harness.target`:
//!    * a tmpfs on `/run`: systemd creates `/run/systemd/system` (what tools
//!      test for "booted with systemd") and its sockets there. The host's
//!      `/run/systemd/system` must never exist — every test on this machine
//!      would then believe systemd runs the host. The harness keeps its own
//!      files in `/run/uwsgi-apps-harness` (unit dir, staged binds, overlay
//!      layers).
//!    * every bind source is first bind-mounted ("staged") under that dir,
//!      while the host's `/tmp` (where test temp dirs live) is still
//!      visible; later it is moved (`mount --move`) to its target.
//!    * the host's root is remounted read-only (for this namespace only), as
//!      are `/sys` and `/proc/sys` (except `/proc/sys/net`, which belongs to
//!      the private network namespace) and `/proc/sysrq-trigger`: systemd as
//!      PID 1 writes global sysctls (`fs.file-max`, `fs.nr_open`), and a
//!      unit under test must not be able to write the host's `/etc` or
//!      `/var` by mistake: whatever a test wants writable it binds.
//!    * a target that does not exist on the host (`/usr/sbin/uwsgi-apps`,
//!      `/etc/uwsgi` on a machine without the package) needs a mount point,
//!      which may not be created on the host: its deepest existing ancestor
//!      gets an overlayfs whose upper layer is a tmpfs of the namespace, and
//!      the mount point is made there. (An overlay does not show mounts
//!      below its lower directory; none of the paths this is for has any.)
//!    * tmpfs on `/tmp` and `/var/tmp`: `PrivateTmp=` makes directories
//!      there, which a SIGKILLed manager would never remove.
//!    * a private `/dev` (tmpfs with the usual nodes, a new devpts, a
//!      `/dev/shm`): the host's `/dev` is a devtmpfs shared with every
//!      namespace, and journald's socket unit creates the `/dev/log` link in
//!      it — on the host, dangling, where the host's syslog() calls go.
//!    * a regular file on `/dev/console`: systemd as PID 1 opens the
//!      console, makes it its controlling terminal and writes its status
//!      lines there; this way they land in a file of the test
//!      ([`Systemd::console`]) instead of on the machine's console.
//!    * `cgroup2` on `/sys/fs/cgroup`: systemd detects the cgroup layout by
//!      what is mounted there. On the hybrid host that is a tmpfs of v1
//!      hierarchies, which it would then manage — shared with the host.
//!      `nsdelegate` is what systemd itself mounts with; the kernel ignores
//!      it outside the initial cgroup namespace (delegation comes from the
//!      namespace root of 1.), so it is there for systemd's sake only.
//!    * a tmpfs on `/var/log/journal` (if it exists): journald makes the
//!      journal persistent there.
//!    * the environment: `container=uwsgi-apps-test`, which makes systemd
//!      skip what only a real machine's PID 1 does (loading kernel modules,
//!      …), and `SYSTEMD_UNIT_PATH` set to the harness's unit dir only —
//!      NEVER the host's unit path (nor a trailing `:`, which appends it):
//!      the host's `sysinit.target` would start its services, and its
//!      `systemd-tmpfiles-setup.service` would clean the host's `/tmp` of
//!      every other test's files. The unit dir holds the test's units, stub
//!      targets (`DefaultDependencies=no`, empty) for the standard targets
//!      that units with default dependencies need, `harness.target` (the
//!      boot target, which only pulls in journald), and copies of the
//!      host's journald units so that `journalctl -u` works.
//!      `SYSTEMD_GENERATOR_PATH` and `SYSTEMD_ENVIRONMENT_GENERATOR_PATH`
//!      point at an empty dir: the host's generators (fstab, sysv, getty, …)
//!      have nothing to say here and cost boot time.
//! 4. The harness finds PID 1 (the child of `unshare`), waits until it is
//!    systemd and its private bus socket exists, then runs `systemctl
//!    is-system-running --wait` inside: the manager is up in about 0.25 s.
//!    The test's environment goes to the manager with `systemctl
//!    set-environment` (every unit started later has it; not as
//!    `systemd.setenv=` arguments, which systemd splits at blanks), and to
//!    every command run inside.
//! 5. Commands run inside with `nsenter -t PID1 -m -u -i -n -p -C` in a
//!    clean environment, in their own process group, which is SIGKILLed
//!    when they outlive their time limit.
//!
//! Teardown (on drop, also when the test panics): SIGKILL to the
//! namespace's PID 1 — the kernel kills everything else in the namespace —,
//! reap `unshare`, wait for the cgroup to empty, remove it depth first. The
//! mounts die with the last process of the mount namespace. `unshare` is
//! spawned with `PR_SET_PDEATHSIG` = SIGKILL, so even a test process killed
//! outright takes its managers with it; note that this signal follows the
//! *thread* that booted the fixture: keep a fixture on that thread. An
//! emptied cgroup such a crash leaves behind is removed by the next boot
//! (the cgroup's name holds the PID of the process that made it).
//!
//! Needs root with CAP_SYS_ADMIN. Without it a developer's run skips with a
//! loud message; with `CI` set in the environment it fails instead.

use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::live;

/// The manager every fixture boots.
const SYSTEMD_BIN: &str = "/lib/systemd/systemd";

/// The host's unit dir: only read, to copy journald's units.
const HOST_UNIT_DIR: &str = "/lib/systemd/system";

/// The harness's own directory inside the namespace (on its private /run).
pub const HARNESS_DIR: &str = "/run/uwsgi-apps-harness";

/// `SYSTEMD_UNIT_PATH` inside: the only place units are loaded from.
pub const UNIT_DIR: &str = "/run/uwsgi-apps-harness/units";

/// The target the manager boots into.
pub const BOOT_TARGET: &str = "harness.target";

/// The tmpfs mounts every namespace gets before the test's binds (a bind
/// target below them needs no overlay: its mount point is made in the
/// tmpfs). `/run` is first and holds [`HARNESS_DIR`].
const FRESH_TMPFS: [&str; 4] = ["/run", "/tmp", "/var/tmp", "/dev"];

/// The standard targets a unit with default dependencies (or a usual
/// `After=`/`WantedBy=`) refers to, as empty stubs.
const STUB_TARGETS: [&str; 15] = [
    "sysinit.target",
    "basic.target",
    "shutdown.target",
    "multi-user.target",
    "network.target",
    "network-online.target",
    "network-pre.target",
    "local-fs.target",
    "remote-fs.target",
    "sockets.target",
    "paths.target",
    "timers.target",
    "nss-lookup.target",
    "nss-user-lookup.target",
    "time-sync.target",
];

/// The host's journald units, copied so that the journal works inside.
const JOURNALD_UNITS: [&str; 4] = [
    "systemd-journald.service",
    "systemd-journald.socket",
    "systemd-journald-dev-log.socket",
    "systemd-journald-audit.socket",
];

/// Prefix of the cgroups the harness makes: `PREFIX.PID.N`.
const CGROUP_PREFIX: &str = "uwsgi-apps-test";

/// How long one command inside may take by default.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

/// How long each boot phase may take (the machine has 2 cores and other
/// test binaries run at the same time).
const BOOT_LIMIT: Duration = Duration::from_secs(60);

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A host path bind-mounted onto a path inside the namespace.
#[derive(Clone, Debug)]
pub struct Bind {
    pub source: PathBuf,
    pub target: PathBuf,
    pub read_only: bool,
}

/// What to boot: units, binds, environment.
#[derive(Default)]
pub struct SystemdBuilder {
    units: Vec<(String, Vec<u8>)>,
    binds: Vec<Bind>,
    env: Vec<(String, String)>,
}

impl SystemdBuilder {
    /// A unit file with this name and text.
    pub fn unit(mut self, name: &str, text: &str) -> Self {
        self.units
            .push((name.to_string(), text.as_bytes().to_vec()));
        self
    }

    /// A copy of this unit file (as it is now), under its own name.
    pub fn unit_file(mut self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let name = path
            .file_name()
            .and_then(OsStr::to_str)
            .unwrap_or_else(|| panic!("unit file {} has no UTF-8 name", path.display()))
            .to_string();
        let text =
            fs::read(path).unwrap_or_else(|e| panic!("read unit file {}: {e}", path.display()));
        self.units.push((name, text));
        self
    }

    /// A copy of this unit file (as it is now), under the name `name`: a
    /// package's `debian/PKG.uwsgi@.service` is installed as
    /// `uwsgi@.service`.
    pub fn unit_file_as(mut self, path: impl AsRef<Path>, name: &str) -> Self {
        let path = path.as_ref();
        let text =
            fs::read(path).unwrap_or_else(|e| panic!("read unit file {}: {e}", path.display()));
        self.units.push((name.to_string(), text));
        self
    }

    /// Bind-mount host path `source` (a file or a directory) onto
    /// `target` inside, read-write: what a unit writes there lands in
    /// `source`.
    pub fn bind(self, source: impl AsRef<Path>, target: impl AsRef<Path>) -> Self {
        self.bind_with(source, target, false)
    }

    /// The same, read-only inside.
    pub fn bind_ro(self, source: impl AsRef<Path>, target: impl AsRef<Path>) -> Self {
        self.bind_with(source, target, true)
    }

    fn bind_with(mut self, source: impl AsRef<Path>, target: impl AsRef<Path>, ro: bool) -> Self {
        self.binds.push(Bind {
            source: source.as_ref().to_path_buf(),
            target: target.as_ref().to_path_buf(),
            read_only: ro,
        });
        self
    }

    /// An environment variable for the manager (so every unit has it) and
    /// every command run inside.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Boot the manager and wait until it runs. `None` only when the
    /// process lacks root (or CAP_SYS_ADMIN) and `CI` is unset: the
    /// caller returns (the test is skipped, loudly). Panics with the boot
    /// log, the console and the journal when the boot fails.
    pub fn boot(self) -> Option<Systemd> {
        if let Err(why) = privileged() {
            if in_ci() {
                panic!(
                    "the systemd harness needs root with CAP_SYS_ADMIN: {why}; CI is set, so this \
                     is a failure, not a skip"
                );
            }
            // Straight to the stderr handle: libtest captures eprintln!
            // of a passing test, and this must be seen.
            let _ = writeln!(
                io::stderr(),
                "\n!!!!! SKIPPED: the systemd harness needs root with CAP_SYS_ADMIN ({why}); run \
                 the tests as root to test the systemd engine !!!!!\n"
            );
            return None;
        }
        if let Err(why) = tools_present() {
            panic!("the systemd harness cannot run on this machine: {why}");
        }
        Some(Systemd::boot(self))
    }
}

/// A booted manager. Dropping it kills the namespace and removes its
/// cgroup.
pub struct Systemd {
    tmp: tempfile::TempDir,
    unshare: Option<Child>,
    pid1: i32,
    cgroup: PathBuf,
    env: Vec<(String, String)>,
    boot_time: Duration,
}

impl Systemd {
    pub fn builder() -> SystemdBuilder {
        SystemdBuilder::default()
    }

    fn boot(spec: SystemdBuilder) -> Systemd {
        let started = Instant::now();
        let tmp = tempfile::tempdir().expect("temporary directory");
        let script = write_tree(tmp.path(), &spec).unwrap_or_else(|e| panic!("{e}"));
        fs::write(tmp.path().join("boot.sh"), &script).expect("write boot.sh");
        let log = fs::File::create(tmp.path().join("boot.log")).expect("create boot.log");

        let cgroup = make_cgroup();
        let procs = CString::new(cgroup.join("cgroup.procs").as_os_str().as_bytes())
            .expect("a cgroup path has no NUL");
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--pid",
            "--fork",
            "--kill-child",
            "--mount",
            "--uts",
            "--ipc",
            "--net",
            "--cgroup",
            "--mount-proc",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
        ])
        .arg(&script)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup boot.log"))
        .stderr(log);
        // SAFETY: between fork and exec only async-signal-safe calls
        // (open, write, close, prctl) on data prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                join_cgroup(&procs)?;
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let unshare = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                remove_cgroup(&cgroup);
                panic!("spawn unshare: {e}");
            }
        };
        let mut sd = Systemd {
            tmp,
            unshare: Some(unshare),
            pid1: 0,
            cgroup,
            env: spec.env,
            boot_time: Duration::ZERO,
        };
        sd.wait_manager();
        sd.set_environment();
        sd.boot_time = started.elapsed();
        sd
    }

    /// Find PID 1, wait until it is systemd with its bus up, then until
    /// the boot is over and the system runs.
    fn wait_manager(&mut self) {
        let end = Instant::now() + BOOT_LIMIT;
        let systemd = fs::canonicalize(SYSTEMD_BIN).expect("systemd is installed");
        let unshare_pid = self.unshare.as_ref().map_or(0, |c| c.id() as i32);
        loop {
            if let Some(status) = self.unshare_exited() {
                self.boot_failed(&format!("the namespace ended during boot ({status})"));
            }
            if self.pid1 == 0 {
                self.pid1 = child_of(unshare_pid).unwrap_or(0);
            }
            if self.pid1 != 0
                && live::exe(self.pid1).as_ref() == Some(&systemd)
                && self.inside_path("/run/systemd/private").exists()
            {
                break;
            }
            if Instant::now() >= end {
                self.boot_failed("systemd did not open its bus socket in time");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let out = self.try_run(BOOT_LIMIT, &["systemctl", "is-system-running", "--wait"]);
        match out {
            Ok(out) if super::stdout(&out).trim() == "running" => {}
            Ok(out) => self.boot_failed(&format!(
                "`systemctl is-system-running --wait` said {:?} (exit {}){}",
                super::stdout(&out).trim(),
                super::code(&out),
                super::stderr(&out)
            )),
            Err(e) => self.boot_failed(&e),
        }
    }

    /// Give the test's environment to the manager, for every unit started
    /// from now on (the boot target starts only journald). Not as
    /// `systemd.setenv=` arguments: systemd splits those like a kernel
    /// command line, at blanks.
    fn set_environment(&mut self) {
        if self.env.is_empty() {
            return;
        }
        let mut args = vec!["systemctl".to_string(), "set-environment".to_string()];
        args.extend(self.env.iter().map(|(k, v)| format!("{k}={v}")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match self.try_run(BOOT_LIMIT, &args) {
            Ok(out) if out.status.success() => {}
            Ok(out) => self.boot_failed(&format!(
                "systemctl set-environment {:?}: {}",
                self.env,
                super::stderr(&out)
            )),
            Err(e) => self.boot_failed(&e),
        }
    }

    fn unshare_exited(&mut self) -> Option<ExitStatus> {
        self.unshare.as_mut()?.try_wait().ok().flatten()
    }

    fn boot_failed(&mut self, why: &str) -> ! {
        let report = self.diagnostics();
        panic!("systemd did not boot: {why}\n{report}");
    }

    /// The host PID of the namespace's PID 1 (the manager).
    pub fn pid1(&self) -> i32 {
        self.pid1
    }

    /// The cgroup the namespace lives in (removed on drop).
    pub fn cgroup(&self) -> &Path {
        &self.cgroup
    }

    /// From the start of the boot (writing the unit dir) to a running
    /// manager with the test's environment.
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }

    /// The host's view of a path inside the namespace (through
    /// `/proc/PID1/root`), for reading what the manager wrote. An absolute
    /// symlink in there (`/dev/log`) resolves against the host's root:
    /// check such paths inside, with [`Systemd::run`].
    pub fn inside_path(&self, path: &str) -> PathBuf {
        Path::new(&format!("/proc/{}/root", self.pid1)).join(path.trim_start_matches('/'))
    }

    /// Where the manager's console is written (a file of the test).
    pub fn console(&self) -> PathBuf {
        self.tmp.path().join("console")
    }

    /// The unit dir on the host side (it is bind-mounted as [`UNIT_DIR`]):
    /// a unit written here is seen after [`Systemd::daemon_reload`].
    pub fn unit_dir(&self) -> PathBuf {
        self.tmp.path().join("units")
    }

    /// Add or replace a unit file and make the manager reload.
    pub fn install_unit(&self, name: &str, text: &str) {
        fs::write(self.unit_dir().join(name), text)
            .unwrap_or_else(|e| panic!("write unit {name}: {e}"));
        self.daemon_reload();
    }

    pub fn daemon_reload(&self) {
        let out = self.systemctl(&["daemon-reload"]);
        assert!(
            out.status.success(),
            "daemon-reload: {}",
            super::stderr(&out)
        );
    }

    /// The environment of every command run inside.
    fn inside_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            ("LANG", "C.UTF-8"),
            ("SYSTEMD_UNIT_PATH", UNIT_DIR),
            ("SYSTEMD_PAGER", "cat"),
            ("SYSTEMD_COLORS", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.extend(self.env.iter().cloned());
        env
    }

    /// Run a program inside the namespaces (PID, mount, network, …) with
    /// [`RUN_LIMIT`]; panics if it takes longer.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_within(RUN_LIMIT, args)
    }

    /// Run a program inside, SIGKILLed (with everything it started in its
    /// process group) after `limit`; panics then, with what it printed.
    pub fn run_within(&self, limit: Duration, args: &[&str]) -> Output {
        self.try_run(limit, args).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_run(&self, limit: Duration, args: &[&str]) -> Result<Output, String> {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.pid1.to_string())
            .args(["-m", "-u", "-i", "-n", "-p", "-C", "--wd=/", "--"])
            .args(args)
            .env_clear()
            .envs(self.inside_env());
        run_limited(cmd, limit).map_err(|e| format!("inside the namespace: {args:?}: {e}"))
    }

    /// `systemctl ARGS…` inside.
    pub fn systemctl(&self, args: &[&str]) -> Output {
        let mut all = vec!["systemctl", "--no-pager"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// What `systemctl is-active UNIT` prints (`active`, `inactive`,
    /// `failed`, `activating`, …).
    pub fn is_active(&self, unit: &str) -> String {
        super::stdout(&self.systemctl(&["is-active", unit]))
            .trim()
            .to_string()
    }

    /// One property of a unit (`systemctl show -P NAME UNIT`).
    pub fn property(&self, unit: &str, name: &str) -> String {
        super::stdout(&self.systemctl(&["show", "-P", name, unit]))
            .trim()
            .to_string()
    }

    /// The journal of a unit (its own lines and the manager's about it),
    /// after journald has written everything it received.
    pub fn journal(&self, unit: &str) -> String {
        self.run(&["journalctl", "--sync"]);
        let out = self.run(&[
            "journalctl",
            "--no-pager",
            "-o",
            "short-precise",
            "-u",
            unit,
        ]);
        super::stdout(&out)
    }

    /// `systemd-analyze verify UNIT…` inside, for units of the unit dir
    /// (named, like `uwsgi@.service`) or paths inside. Inside, because
    /// verify checks that `ExecStart=` programs exist: the bind-mounted
    /// ones (`/usr/sbin/uwsgi-apps`) exist only there. It loads units from
    /// the manager's unit path (with the stub targets), never the host's.
    /// `--man=no`: a unit's `Documentation=man:` pages need not be
    /// installed for the unit to be right.
    pub fn verify(&self, units: &[&str]) -> Output {
        let mut args = vec![
            "systemd-analyze".to_string(),
            "verify".to_string(),
            "--man=no".to_string(),
        ];
        for unit in units {
            args.push(if unit.starts_with('/') {
                unit.to_string()
            } else {
                format!("{UNIT_DIR}/{unit}")
            });
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args)
    }

    /// Run `f` on a thread that has entered the namespace's network: its
    /// sockets reach the namespace's 127.0.0.1.
    pub fn in_netns<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let ns = fs::File::open(format!("/proc/{}/ns/net", self.pid1))
            .unwrap_or_else(|e| panic!("open the network namespace of PID {}: {e}", self.pid1));
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    use std::os::fd::AsRawFd;
                    // SAFETY: setns(2) on an open namespace fd; only this
                    // thread changes its network namespace, and it ends
                    // after `f`.
                    let r = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                    assert_eq!(r, 0, "setns: {}", io::Error::last_os_error());
                    f()
                })
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    /// One HTTP GET of `/` on the namespace's 127.0.0.1:PORT.
    pub fn http_get(&self, port: u16) -> Result<String, String> {
        self.in_netns(|| live::http_get(port))
    }

    /// Everything that explains a failed boot or a failed test: the boot
    /// script and its trace, the console, the failed units and the journal.
    pub fn diagnostics(&self) -> String {
        let read = |name: &str| {
            fs::read_to_string(self.tmp.path().join(name))
                .unwrap_or_else(|e| format!("(cannot read {name}: {e})"))
        };
        let mut report = format!(
            "--- boot script ---\n{}\n--- boot log (unshare, the script's trace) ---\n{}\n\
             --- console ---\n{}\n",
            read("boot.sh"),
            read("boot.log"),
            read("console")
        );
        if self.pid1 != 0 && live::alive(self.pid1) {
            let limit = Duration::from_secs(10);
            for args in [
                &["systemctl", "--no-pager", "--failed"][..],
                &["journalctl", "--no-pager", "-b", "-n", "200"][..],
            ] {
                let text = match self.try_run(limit, args) {
                    Ok(out) => format!("{}{}", super::stdout(&out), super::stderr(&out)),
                    Err(e) => e,
                };
                report.push_str(&format!("--- {} ---\n{text}\n", args.join(" ")));
            }
        }
        report
    }

    /// Kill the namespace and remove its cgroup; the problems found.
    fn teardown(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(mut unshare) = self.unshare.take() {
            let still_ours = self.pid1 != 0
                && unshare.try_wait().ok().flatten().is_none()
                && live::ppid(self.pid1) == Some(unshare.id() as i32);
            if still_ours {
                // SAFETY: kill(2) on the namespace's PID 1, proven to be
                // the child of our unreaped `unshare` just now.
                unsafe { libc::kill(self.pid1, libc::SIGKILL) };
            } else {
                // A boot that failed before PID 1 was known: --kill-child
                // takes the child along.
                let _ = unshare.kill();
            }
            let end = Instant::now() + Duration::from_secs(20);
            loop {
                match unshare.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < end => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    _ => {
                        problems.push("unshare did not end after PID 1 was killed".to_string());
                        // --kill-child takes PID 1 along.
                        let _ = unshare.kill();
                        let _ = unshare.wait();
                        break;
                    }
                }
            }
        }
        if !wait_cgroup_empty(&self.cgroup, Duration::from_secs(20)) {
            problems.push(format!(
                "cgroup {} still holds processes: {:?}",
                self.cgroup.display(),
                cgroup_pids(&self.cgroup)
            ));
        }
        if !remove_cgroup(&self.cgroup) {
            problems.push(format!("cannot remove cgroup {}", self.cgroup.display()));
        }
        problems
    }
}

impl Drop for Systemd {
    fn drop(&mut self) {
        let problems = self.teardown();
        if problems.is_empty() {
            return;
        }
        let msg = format!("systemd harness teardown: {}", problems.join("; "));
        // A second panic while unwinding would abort the whole test binary.
        if std::thread::panicking() {
            eprintln!("{msg}");
        } else {
            panic!("{msg}");
        }
    }
}

/// Whether a skip is forbidden: CI machines run as root, so a missing
/// privilege there is a broken machine, not a developer's laptop.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn privileged() -> Result<(), String> {
    // SAFETY: geteuid(2) cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Err(format!("running as uid {euid}, not root"));
    }
    let status = fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc: {e}"))?;
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .ok_or("no CapEff in /proc/self/status")?;
    // capability(7): CAP_SYS_ADMIN is bit 21.
    const CAP_SYS_ADMIN: u32 = 21;
    if caps & (1 << CAP_SYS_ADMIN) == 0 {
        return Err("CAP_SYS_ADMIN is not in the effective set".to_string());
    }
    Ok(())
}

fn tools_present() -> Result<(), String> {
    for tool in [
        SYSTEMD_BIN,
        "/usr/bin/unshare",
        "/usr/bin/nsenter",
        "/usr/bin/systemctl",
        "/usr/bin/journalctl",
        "/usr/bin/systemd-analyze",
        "/usr/bin/mount",
    ] {
        if !Path::new(tool).exists() {
            return Err(format!(
                "{tool} is missing (scripts/deps.sh installs systemd, util-linux, mount)"
            ));
        }
    }
    let fs_types = fs::read_to_string("/proc/filesystems").map_err(|e| e.to_string())?;
    for fs_type in ["cgroup2", "overlay", "tmpfs", "devpts"] {
        if !fs_types.split_whitespace().any(|t| t == fs_type) {
            return Err(format!("the kernel has no {fs_type} file system"));
        }
    }
    cgroup2_mount().map(|_| ())
}

/// Where the unified hierarchy is mounted on the host.
fn cgroup2_mount() -> Result<PathBuf, String> {
    let info = fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
    info.lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            if right.split_whitespace().next()? != "cgroup2" {
                return None;
            }
            Some(PathBuf::from(unescape_mountinfo(
                left.split_whitespace().nth(4)?,
            )))
        })
        .ok_or_else(|| "no cgroup2 (unified) hierarchy is mounted on the host".to_string())
}

fn unescape_mountinfo(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Make a fresh cgroup for one manager, next to the leftovers of dead
/// test processes (removed on the way).
fn make_cgroup() -> PathBuf {
    let mount = cgroup2_mount().unwrap_or_else(|e| panic!("{e}"));
    // Our own cgroup in the unified hierarchy ("0::/PATH"): the new one
    // is its child.
    let own = fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("0::").map(|p| p.trim().to_string()))
        })
        .unwrap_or_else(|| "/".to_string());
    let parent = mount.join(own.trim_start_matches('/'));
    sweep_stale_cgroups(&parent);
    let name = format!(
        "{CGROUP_PREFIX}.{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let cgroup = parent.join(name);
    fs::create_dir(&cgroup).unwrap_or_else(|e| panic!("create cgroup {}: {e}", cgroup.display()));
    cgroup
}

/// Remove the cgroups left by test processes that no longer exist.
fn sweep_stale_cgroups(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(CGROUP_PREFIX))
            .and_then(|n| n.strip_prefix('.'))
        else {
            continue;
        };
        let owner: Option<u32> = rest.split('.').next().and_then(|p| p.parse().ok());
        if let Some(owner) = owner {
            if !Path::new(&format!("/proc/{owner}")).exists() {
                remove_cgroup(&entry.path());
            }
        }
    }
}

/// Move the calling process into the cgroup: runs between fork and exec.
fn join_cgroup(procs: &CString) -> io::Result<()> {
    // SAFETY: open/write/close with a valid C string and buffer.
    unsafe {
        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let written = libc::write(fd, b"0".as_ptr().cast(), 1);
        let err = io::Error::last_os_error();
        libc::close(fd);
        if written != 1 {
            return Err(err);
        }
    }
    Ok(())
}

/// Every PID in the cgroup and below.
pub fn cgroup_pids(cgroup: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = fs::read_to_string(cgroup.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    for entry in fs::read_dir(cgroup).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            pids.extend(cgroup_pids(&entry.path()));
        }
    }
    pids
}

fn wait_cgroup_empty(cgroup: &Path, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    loop {
        if !cgroup.exists() || cgroup_pids(cgroup).is_empty() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// rmdir the cgroup and its children, deepest first; a cgroup whose last
/// process just died may be busy for a moment.
fn remove_cgroup(cgroup: &Path) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        remove_cgroup_once(cgroup);
        if !cgroup.exists() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn remove_cgroup_once(cgroup: &Path) {
    for entry in fs::read_dir(cgroup).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup_once(&entry.path());
        }
    }
    let _ = fs::remove_dir(cgroup);
}

/// The first child of `parent` found in /proc.
fn child_of(parent: i32) -> Option<i32> {
    fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .find(|&pid| live::ppid(pid) == Some(parent))
}

/// Run a command with a time limit, in its own process group, which is
/// SIGKILLed at the limit; the output so far goes into the error.
pub fn run_limited(mut cmd: Command, limit: Duration) -> Result<Output, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let out = Arc::new(Mutex::new(Vec::new()));
    let err = Arc::new(Mutex::new(Vec::new()));
    let readers = [
        drain(child.stdout.take(), Arc::clone(&out)),
        drain(child.stderr.take(), Arc::clone(&err)),
    ];
    let end = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(2)),
            Ok(None) => {
                timed_out = true;
                // SAFETY: killpg(2) of the group this child leads; it is
                // not reaped yet, so the group ID is still ours.
                unsafe { libc::killpg(child.id() as i32, libc::SIGKILL) };
                break child.wait().map_err(|e| format!("wait: {e}"))?;
            }
            Err(e) => return Err(format!("wait: {e}")),
        }
    };
    // The pipes close when the last process holding them ends; a daemon
    // that kept them open must not hang the test.
    let drained = Instant::now() + Duration::from_secs(5);
    while readers.iter().any(|r| !r.is_finished()) && Instant::now() < drained {
        std::thread::sleep(Duration::from_millis(2));
    }
    let take = |buf: &Arc<Mutex<Vec<u8>>>| buf.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let output = Output {
        status,
        stdout: take(&out),
        stderr: take(&err),
    };
    if timed_out {
        return Err(format!(
            "killed after {limit:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            super::stdout(&output),
            super::stderr(&output)
        ));
    }
    Ok(output)
}

fn drain(
    pipe: Option<impl Read + Send + 'static>,
    buf: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(&chunk[..n]);
        }
    })
}

/// Lay out the host side of a namespace under `dir` (units, console, an
/// empty dir) and give back the script PID 1 runs.
fn write_tree(dir: &Path, spec: &SystemdBuilder) -> Result<String, String> {
    let units = dir.join("units");
    let empty = dir.join("empty");
    for d in [&units, &empty] {
        fs::create_dir(d).map_err(|e| format!("create {}: {e}", d.display()))?;
    }
    // tempfile makes its dir 0700; units that drop privileges must still
    // reach what the test binds from here.
    for d in [dir, &units, &empty] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod {}: {e}", d.display()))?;
    }
    fs::write(dir.join("console"), "").map_err(|e| format!("create the console file: {e}"))?;
    for name in JOURNALD_UNITS {
        let from = Path::new(HOST_UNIT_DIR).join(name);
        fs::copy(&from, units.join(name))
            .map_err(|e| format!("copy {} into the unit dir: {e}", from.display()))?;
    }
    for name in STUB_TARGETS {
        fs::write(units.join(name), stub_target(name, ""))
            .map_err(|e| format!("write stub {name}: {e}"))?;
    }
    let journald = JOURNALD_UNITS[..3].join(" ");
    fs::write(
        units.join(BOOT_TARGET),
        stub_target(BOOT_TARGET, &format!("Wants={journald}\n")),
    )
    .map_err(|e| format!("write {BOOT_TARGET}: {e}"))?;
    for (name, text) in &spec.units {
        if name.contains('/') || name.is_empty() {
            return Err(format!("unit name {name:?} is not a file name"));
        }
        fs::write(units.join(name), text).map_err(|e| format!("write unit {name}: {e}"))?;
    }
    let mut binds = spec.binds.clone();
    for bind in &mut binds {
        bind.source = fs::canonicalize(&bind.source)
            .map_err(|e| format!("bind source {}: {e}", bind.source.display()))?;
    }
    let args = [
        format!("--unit={BOOT_TARGET}"),
        "--show-status=yes".to_string(),
        "--log-color=no".to_string(),
    ];
    mount_script(
        &binds,
        &units,
        &dir.join("console"),
        &empty,
        &args,
        &|p: &Path| p.exists(),
    )
}

fn stub_target(name: &str, extra: &str) -> String {
    format!(
        "# A stub of the systemd harness (tests/common/systemd.rs): nothing\n\
         # of the host's boot may start inside the test's namespace.\n\
         [Unit]\nDescription=Test harness stub {name}\nDefaultDependencies=no\n{extra}"
    )
}

/// Shell-quote one word.
fn sq(s: impl AsRef<OsStr>) -> String {
    let s = s.as_ref().to_string_lossy();
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `path` is absolute and plain (no `.`, `..`, `//`).
fn plain_absolute(path: &Path) -> bool {
    path.is_absolute()
        && path
            .components()
            .skip(1)
            .all(|c| matches!(c, Component::Normal(_)))
        && path.as_os_str().as_bytes().windows(2).all(|w| w != b"//")
}

/// Where the overlays go that give bind targets missing on the host a
/// mount point: for each such target (not below a fresh tmpfs, not below
/// another bind target), its deepest existing ancestor; then only the
/// outermost of those. Errors name a target the harness cannot make.
pub fn plan_overlays(
    targets: &[&Path],
    exists: &dyn Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, String> {
    let mut overlays: Vec<PathBuf> = Vec::new();
    for &target in targets {
        if !plain_absolute(target) {
            return Err(format!(
                "bind target {} is not a plain absolute path",
                target.display()
            ));
        }
        let forbidden = ["/proc", "/sys", HARNESS_DIR]
            .iter()
            .any(|f| target.starts_with(f))
            || ["/", "/run", "/dev", "/dev/console"]
                .iter()
                .any(|f| target == Path::new(f));
        if forbidden {
            return Err(format!(
                "bind target {} would hide what the namespace itself needs",
                target.display()
            ));
        }
        let below_tmpfs = FRESH_TMPFS.iter().any(|t| target.starts_with(t));
        let below_bind = targets
            .iter()
            .any(|&other| other != target && target.starts_with(other));
        if below_tmpfs || below_bind || exists(target) {
            continue;
        }
        let ancestor = target
            .ancestors()
            .skip(1)
            .find(|a| exists(a))
            .unwrap_or(Path::new("/"));
        if ancestor == Path::new("/") {
            return Err(format!(
                "bind target {}: no parent directory exists on the host, and an overlay of / \
                 would hide the namespace's own mounts; bind onto an existing directory",
                target.display()
            ));
        }
        let text = ancestor.as_os_str().as_bytes();
        if text.iter().any(|b| b",:\\\n".contains(b)) {
            return Err(format!(
                "{} cannot be an overlay's lower directory (',', ':' or '\\' in it)",
                ancestor.display()
            ));
        }
        overlays.push(ancestor.to_path_buf());
    }
    overlays.sort();
    overlays.dedup();
    let outermost: Vec<PathBuf> = overlays
        .iter()
        .filter(|o| !overlays.iter().any(|p| p != *o && o.starts_with(p)))
        .cloned()
        .collect();
    Ok(outermost)
}

/// The script PID 1 runs before it becomes systemd (see the module doc
/// for why each step).
pub fn mount_script(
    binds: &[Bind],
    units: &Path,
    console: &Path,
    empty: &Path,
    systemd_args: &[String],
    exists: &dyn Fn(&Path) -> bool,
) -> Result<String, String> {
    let mut binds = binds.to_vec();
    // Parents before children: a bind into another bind's tree comes after.
    binds.sort_by(|a, b| a.target.cmp(&b.target));
    for pair in binds.windows(2) {
        if pair[0].target == pair[1].target {
            return Err(format!("two binds onto {}", pair[0].target.display()));
        }
    }
    let targets: Vec<&Path> = binds.iter().map(|b| b.target.as_path()).collect();
    let overlays = plan_overlays(&targets, exists)?;
    let h = HARNESS_DIR;
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line("set -eux".into());
    line("# A private /run: systemd makes /run/systemd/system here.".into());
    line("mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run".into());
    line(format!(
        "mkdir -m 0755 {h} {h}/units {h}/empty && mkdir -m 0700 {h}/stage {h}/overlay"
    ));
    line("# Stage what comes from the host while its /tmp is still visible.".into());
    line(format!("mount --bind {} {h}/units", sq(units)));
    line(format!("mount --bind {} {h}/empty", sq(empty)));
    line(format!(
        "touch {h}/console && mount --bind {} {h}/console",
        sq(console)
    ));
    for (i, bind) in binds.iter().enumerate() {
        let make = if bind.source.is_dir() {
            format!("mkdir {h}/stage/{i}")
        } else {
            format!("touch {h}/stage/{i}")
        };
        line(format!(
            "{make} && mount --bind {} {h}/stage/{i}",
            sq(&bind.source)
        ));
    }
    line("# The host's root, /sys, /proc/sys: read-only in here.".into());
    line("mount -o remount,bind,ro /".into());
    line("mount -o remount,bind,ro /sys".into());
    line("mount --bind /proc/sys /proc/sys && mount --bind /proc/sys/net /proc/sys/net".into());
    line("mount -o remount,bind,ro /proc/sys".into());
    line(
        "if [ -e /proc/sysrq-trigger ]; then \
         mount --bind -o ro /proc/sysrq-trigger /proc/sysrq-trigger; fi"
            .into(),
    );
    line("# Writable layers (on the private /run) where mount points are missing.".into());
    for (i, dir) in overlays.iter().enumerate() {
        let o = format!("{h}/overlay/{i}");
        line(format!(
            "mkdir {o} {o}/upper {o}/work && mount -t overlay overlay -o {} {}",
            sq(format!(
                "lowerdir={},upperdir={o}/upper,workdir={o}/work",
                dir.display()
            )),
            sq(dir)
        ));
    }
    line("mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp".into());
    line("mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp".into());
    line("# A private /dev: the host's devtmpfs is shared with every namespace.".into());
    line("mount -t tmpfs -o mode=0755,nosuid tmpfs /dev".into());
    for (node, major, minor) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ] {
        line(format!("mknod -m 0666 /dev/{node} c {major} {minor}"));
    }
    line("mkdir -m 0755 /dev/pts && mkdir -m 1777 /dev/shm".into());
    line("mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts".into());
    line("mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm".into());
    line("ln -s pts/ptmx /dev/ptmx && ln -s /proc/self/fd /dev/fd".into());
    line("ln -s /proc/self/fd/0 /dev/stdin && ln -s /proc/self/fd/1 /dev/stdout".into());
    line("ln -s /proc/self/fd/2 /dev/stderr".into());
    line(format!(
        "touch /dev/console && mount --move {h}/console /dev/console"
    ));
    line("mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup".into());
    line("# The test's binds, parents first.".into());
    for (i, bind) in binds.iter().enumerate() {
        let t = sq(&bind.target);
        let make = if bind.source.is_dir() {
            format!("mkdir -p {t}")
        } else {
            let parent = bind.target.parent().unwrap_or(Path::new("/"));
            format!("mkdir -p {} && {{ [ -e {t} ] || touch {t}; }}", sq(parent))
        };
        line(format!("{make} && mount --move {h}/stage/{i} {t}"));
        if bind.read_only {
            line(format!("mount -o remount,bind,ro {t}"));
        }
    }
    line("# Last, so that no overlay of /var/log hides it.".into());
    line(
        "if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=2755 tmpfs /var/log/journal; fi"
            .into(),
    );
    let mut exec = format!(
        "exec env -i container=uwsgi-apps-test PATH=/usr/sbin:/usr/bin:/sbin:/bin \
         SYSTEMD_UNIT_PATH={UNIT_DIR} SYSTEMD_GENERATOR_PATH={h}/empty \
         SYSTEMD_ENVIRONMENT_GENERATOR_PATH={h}/empty {SYSTEMD_BIN}"
    );
    for arg in systemd_args {
        exec.push(' ');
        exec.push_str(&sq(arg));
    }
    line(exec);
    Ok(s)
}

/// Every process whose PID namespace is `ns` (a `pid:[…]` link text).
pub fn processes_in_pidns(ns: &OsString) -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|pid| {
                    fs::read_link(format!("/proc/{pid}/ns/pid"))
                        .is_ok_and(|l| l.as_os_str() == ns.as_os_str())
                })
                .collect()
        })
        .unwrap_or_default()
}
