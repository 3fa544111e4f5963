//! The committed man pages and completions match the CLI definitions, and
//! the files the package installs pass their linters (mandoc, shellcheck).
//!
//! When `generated_files_are_up_to_date` fails, run `scripts/regen-assets`
//! and commit the result.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::Command as BinCommand;

fn source_tree() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool from Debian's packages (scripts/deps.sh installs them); a missing
/// one is a failure, not a skip, so CI cannot pass without the check.
fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(found, "{name} is not installed (run scripts/deps.sh)");
    Command::new(name)
}

#[test]
fn generated_files_are_up_to_date() {
    BinCommand::cargo_bin("uwsgi-apps")
        .unwrap()
        .env_remove("UWSGI_APPS_ROOT")
        .args(["generate", "--check", "--out"])
        .arg(source_tree())
        .assert()
        .success();
}

#[test]
fn generate_check_fails_on_a_stale_tree() {
    let dir = tempfile::tempdir().unwrap();
    BinCommand::cargo_bin("uwsgi-apps")
        .unwrap()
        .args(["generate", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    BinCommand::cargo_bin("uwsgi-apps")
        .unwrap()
        .args(["generate", "--check", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    std::fs::write(dir.path().join("man/uwsgi-query.8"), ".TH OLD 8\n").unwrap();
    std::fs::write(dir.path().join("completions/fish/old.fish"), "").unwrap();
    BinCommand::cargo_bin("uwsgi-apps")
        .unwrap()
        .args(["generate", "--check", "--out"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("uwsgi-query.8 is stale"))
        .stderr(predicates::str::contains("old.fish is not generated"));
}

#[test]
fn man_pages_are_mandoc_lint_clean_and_have_the_sections() {
    for page in ["uwsgi-apps", "uwsgi-enapp", "uwsgi-disapp", "uwsgi-query"] {
        let path = source_tree().join("man").join(format!("{page}.8"));
        let out = tool("mandoc").arg("-Tlint").arg(&path).output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && report.trim().is_empty(),
            "{}:\n{report}",
            path.display()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH \"EXIT STATUS\"",
            ".SH FILES",
            ".SH ENVIRONMENT",
            ".SH EXAMPLES",
        ] {
            assert!(text.contains(section), "{page}.8 lacks {section}");
        }
    }
}

fn shellcheck(shell: &str, files: &[&Path]) {
    let out = tool("shellcheck")
        .args(["-s", shell])
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn shell_scripts_pass_shellcheck() {
    let t = source_tree();
    shellcheck(
        "sh",
        &[
            &t.join("debian/uwsgi-apps.uwsgi.init"),
            &t.join("debian/uwsgi-apps.preinst"),
            &t.join("debian/uwsgi-apps.postinst"),
            &t.join("debian/uwsgi-apps.prerm"),
            &t.join("debian/uwsgi-apps.postrm"),
            &t.join("debian/maintscript-helper/uwsgi-apps-maintscript-helper"),
            &t.join("scripts/build-deb"),
            &t.join("scripts/regen-assets"),
            &t.join("scripts/demo.sh"),
            &t.join("scripts/deps.sh"),
            &t.join("scripts/fuzz.sh"),
            &t.join("scripts/test.sh"),
            &t.join(".ci/run"),
            &t.join("bench/registry.sh"),
            &t.join("bench/engines.sh"),
            &t.join("tests/package/e2e.sh"),
            &t.join("ansible/tests/run.sh"),
            &t.join("ansible/tests/lint.sh"),
        ],
    );
    shellcheck(
        "bash",
        &[
            &t.join("completions/bash/uwsgi-apps"),
            &t.join("completions/bash/uwsgi-apps-service"),
            &t.join("bench/service.sh"),
        ],
    );
}

#[test]
fn each_maintainer_script_has_the_debhelper_token_once() {
    // Twice (say, in a comment) would make debhelper insert its snippets
    // twice: update-rc.d called twice, which lintian rejects.
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        let path = source_tree().join(format!("debian/uwsgi-apps.{script}"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("#DEBHELPER#").count(), 1, "{script}");
        assert!(text.starts_with("#!/bin/sh\nset -e\n"), "{script}");
    }
}

#[test]
fn the_init_script_has_a_complete_lsb_header() {
    let script =
        std::fs::read_to_string(source_tree().join("debian/uwsgi-apps.uwsgi.init")).unwrap();
    assert!(script.starts_with("#!/bin/sh\n"));
    for field in [
        "### BEGIN INIT INFO",
        "# Provides:          uwsgi",
        "# Required-Start:",
        "# Required-Stop:",
        "# Default-Start:     2 3 4 5",
        "# Default-Stop:      0 1 6",
        "# Short-Description:",
        "# Description:",
        "### END INIT INFO",
    ] {
        assert!(script.contains(field), "missing {field}");
    }
    assert!(script.contains("exec /usr/sbin/uwsgi-apps initd \"$@\""));
}
