//! Real unprivileged users for the attack tests: made with `useradd` when
//! a test begins and removed with `userdel` when it ends (even when it
//! fails), so that an attack runs with a uid the kernel really treats as
//! someone else's. Commands run as the user through `setpriv`, with no
//! supplementary groups and no capabilities.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl TestUser {
    /// A fresh system user (and its group) with no home and no shell.
    /// The name is unique per process and test so that tests may run in
    /// parallel.
    pub fn new(tag: &str) -> TestUser {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("uwa{}{tag}{n}", std::process::id() % 100_000);
        assert!(name.len() <= 32, "user name too long: {name}");
        let status = Command::new("useradd")
            .args(["--system", "--no-create-home", "--user-group"])
            .args(["--shell", "/usr/sbin/nologin", &name])
            .status()
            .expect("run useradd");
        assert!(status.success(), "useradd {name} failed");
        let id = |flag: &str| -> u32 {
            let out = Command::new("id")
                .args([flag, &name])
                .output()
                .expect("run id");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("id {flag} {name}"))
        };
        let (uid, gid) = (id("-u"), id("-g"));
        TestUser { name, uid, gid }
    }

    /// A command that runs `program` as this user.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg("--inh-caps=-all")
            .arg("--")
            .arg(program)
            .stdin(Stdio::null());
        cmd
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // Whatever the test left running as the user goes first, or
        // userdel refuses.
        let _ = Command::new("pkill")
            .args(["-KILL", "-U", &self.uid.to_string()])
            .status();
        let _ = Command::new("userdel").arg(&self.name).status();
        // userdel removes the user's own group with it; this is for the
        // case where it could not.
        let _ = Command::new("groupdel")
            .arg(&self.name)
            .stderr(Stdio::null())
            .status();
    }
}
