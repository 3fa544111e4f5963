//! Enabling, disabling, querying and listing apps, through the real binary
//! under each applet name, in temporary roots.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{code, stderr, stdout, Root};

const ENAPP: &str = "uwsgi-enapp";
const DISAPP: &str = "uwsgi-disapp";
const QUERY: &str = "uwsgi-query";
const APPS: &str = "uwsgi-apps";

fn rel(target: &str) -> Option<PathBuf> {
    Some(PathBuf::from(target))
}

fn markers_of(r: &Root, name: &str) -> Vec<&'static str> {
    [
        "enabled_by_admin",
        "enabled_by_maint",
        "disabled_by_admin",
        "disabled_by_maint",
    ]
    .into_iter()
    .filter(|k| r.marker(k, name).exists())
    .collect()
}

// ---------------------------------------------------------------- enable

#[test]
fn enable_makes_a_relative_link_a_marker_and_prints_the_hint() {
    let r = Root::new();
    r.add_app("hello.ini");
    let o = r.run(ENAPP, &["hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Enabling app hello.\nTo activate the new configuration, you need to run:\n  service uwsgi start hello\n"
    );
    assert_eq!(
        r.link_target("hello.ini"),
        rel("../apps-available/hello.ini")
    );
    assert_eq!(markers_of(&r, "hello"), ["enabled_by_admin"]);
    // The link really reaches the file.
    assert_eq!(
        fs::read_to_string(r.enabled().join("hello.ini")).unwrap(),
        "[uwsgi]\nmaster = true\n"
    );

    let again = r.run(ENAPP, &["hello"]);
    assert_eq!(code(&again), 0);
    assert_eq!(stdout(&again), "App hello already enabled\n");
}

#[test]
fn the_main_program_takes_the_same_commands() {
    let r = Root::new();
    r.add_app("hello.ini");
    let o = r.run(APPS, &["enable", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        r.link_target("hello.ini"),
        rel("../apps-available/hello.ini")
    );
    assert_eq!(code(&r.run(APPS, &["query", "hello"])), 0);
    let o = r.run(APPS, &["disable", "hello"]);
    assert_eq!(code(&o), 0);
    assert_eq!(r.link_target("hello.ini"), None);
    // --root on the command line works as well as the variable.
    let mut cmd = r.cmd(ENAPP);
    cmd.env_remove("UWSGI_APPS_ROOT")
        .arg("--root")
        .arg(&r.root)
        .arg("hello");
    let o = cmd.output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(r.enabled().join("hello.ini").exists());
}

#[test]
fn names_with_or_without_extension_in_any_case() {
    let r = Root::new();
    r.add_app("a.ini");
    r.add_app("b.yaml");
    r.add_app("C.XML");
    let o = r.run(ENAPP, &["a.ini", "b.YAML", "C"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(r.link_target("a.ini"), rel("../apps-available/a.ini"));
    assert_eq!(r.link_target("b.yaml"), rel("../apps-available/b.yaml"));
    assert_eq!(r.link_target("C.XML"), rel("../apps-available/C.XML"));
    let o = r.run(DISAPP, &["a", "b.yaml", "C.xml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(fs::read_dir(r.enabled()).unwrap().next().is_none());
}

#[test]
fn every_format_is_recognised_and_nothing_else() {
    let r = Root::new();
    let formats = [
        "db", "ini", "js", "json", "sqlite", "sqlite3", "xml", "yaml", "yml",
    ];
    for ext in formats {
        r.add_app(&format!("f-{ext}.{ext}"));
        r.add_app(&format!("u-{ext}.{}", ext.to_uppercase()));
    }
    for not_a_format in ["conf", "txt", "ini.bak", "yamlx", "sqlite2", "cfg"] {
        r.add_app(&format!(
            "n-{}.{not_a_format}",
            not_a_format.replace('.', "-")
        ));
    }
    for ext in formats {
        for name in [format!("f-{ext}"), format!("u-{ext}")] {
            let o = r.run(ENAPP, &[&name]);
            assert_eq!(code(&o), 0, "{name}: {}", stderr(&o));
        }
    }
    for not_a_format in ["conf", "txt", "ini.bak", "yamlx", "sqlite2", "cfg"] {
        let name = format!("n-{}", not_a_format.replace('.', "-"));
        let o = r.run(ENAPP, &[&name]);
        assert_eq!(code(&o), 1, "{name} was taken for an app");
        assert!(stderr(&o).contains(&format!("ERROR: App {name} does not exist!")));
    }
    assert_eq!(fs::read_dir(r.enabled()).unwrap().count(), 18);
}

#[test]
fn shell_globs_match_available_apps_on_enable_and_enabled_on_disable() {
    let r = Root::new();
    for f in ["searx.ini", "search.yaml", "hello.ini", ".hidden.ini"] {
        r.add_app(f);
    }
    let o = r.run(ENAPP, &["sea*"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("Enabling app search.\nEnabling app searx.\n"));
    assert!(r.link_target("searx.ini").is_some());
    assert!(r.link_target("search.yaml").is_some());
    assert!(r.link_target("hello.ini").is_none());

    let o = r.run(ENAPP, &["*.ini"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(r.link_target("hello.ini").is_some());
    // Like the shell, '*' does not match a leading dot.
    assert!(r.link_target(".hidden.ini").is_none());

    let o = r.run(DISAPP, &["s?ar[cx]*"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(r.link_target("searx.ini").is_none());
    assert!(r.link_target("search.yaml").is_none());
    assert!(r.link_target("hello.ini").is_some());

    let o = r.run(ENAPP, &["zz*"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("App zz* does not exist!"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn two_formats_of_one_name_are_ambiguous_unless_the_extension_is_given() {
    let r = Root::new();
    r.add_app("x.ini");
    r.add_app("x.yaml");
    r.add_app("hello.ini");
    // One bad NAME never stops the others; the status says one failed.
    let o = r.run(ENAPP, &["x", "hello"]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains("uwsgi-enapp: ERROR: App x is ambiguous"),
        "{err}"
    );
    assert!(err.contains("x.ini") && err.contains("x.yaml"), "{err}");
    assert!(r.link_target("x.ini").is_none() && r.link_target("x.yaml").is_none());
    assert!(r.link_target("hello.ini").is_some());

    let o = r.run(ENAPP, &["x.yaml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(r.link_target("x.yaml"), rel("../apps-available/x.yaml"));
    // Enabling the other format too would make a clash: refused.
    let o = r.run(ENAPP, &["x.ini"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("already enabled as"), "{}", stderr(&o));
    assert!(r.link_target("x.ini").is_none());
}

#[test]
fn an_app_that_does_not_exist_is_an_error() {
    let r = Root::new();
    r.add_app("hello.ini");
    let o = r.run(ENAPP, &["nope", "hello"]);
    assert_eq!(code(&o), 1);
    assert_eq!(stderr(&o), "uwsgi-enapp: ERROR: App nope does not exist!\n");
    assert!(r.link_target("hello.ini").is_some());
    assert!(!r.marker("enabled_by_admin", "nope").exists());
}

#[test]
fn names_with_spaces_and_utf8() {
    let r = Root::new();
    r.add_app("my app.yaml");
    r.add_app("süß.json");
    r.add_app("it's.ini");
    let o = r.run(ENAPP, &["my app", "süß", "it's"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Enabling app 'my app'.\n"), "{out}");
    assert!(out.contains("Enabling app süß.\n"), "{out}");
    // The hint is a shell command that runs as printed.
    assert!(
        out.contains("  service uwsgi start 'my app' süß 'it'\\''s'\n"),
        "{out}"
    );
    assert_eq!(
        r.link_target("my app.yaml"),
        rel("../apps-available/my app.yaml")
    );
    assert_eq!(r.link_target("süß.json"), rel("../apps-available/süß.json"));
    assert!(r.marker("enabled_by_admin", "my app").exists());
    assert!(r.marker("enabled_by_admin", "süß").exists());
    let q = r.run(QUERY, &["my app"]);
    assert_eq!(code(&q), 0);
    assert_eq!(stdout(&q), "'my app' (enabled by site administrator)\n");
    let o = r.run(DISAPP, &["my app", "süß.json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(r.link_target("my app.yaml").is_none());
    assert!(r.link_target("süß.json").is_none());
}

#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let r = Root::new();
    r.add_app("evil\u{1b}[2J\nx.ini");
    let o = r.run(ENAPP, &["evil\u{1b}[2J\nx"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(r.link_target("evil\u{1b}[2J\nx.ini").is_some());
    let out = stdout(&o);
    assert!(out.starts_with("Enabling app evil?[2J?x.\n"), "{out:?}");
    assert!(!out.contains('\u{1b}'), "{out:?}");
    let list = stdout(&r.run(APPS, &["list"]));
    assert_eq!(list, "evil?[2J?x\tini\tenabled\tadmin\tok\t-\t-\n");
    let o = r.run(ENAPP, &["nope\u{1b}]0;x"]);
    assert!(!stderr(&o).contains('\u{1b}'), "{:?}", stderr(&o));
}

#[test]
fn bytes_that_are_not_utf8_are_shown_like_control_characters() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let r = Root::new();
    // Neither the raw bytes nor U+FFFD: one `?` per byte, as for a control
    // character, in every message that shows the name or its path.
    let o = r
        .cmd(ENAPP)
        .arg(OsStr::from_bytes(b"\xff\xfe"))
        .arg(OsStr::from_bytes(b"a\x01b"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
    // (Lossy here only to read: raw bytes would show as U+FFFD and fail.)
    assert_eq!(
        stderr(&o),
        "uwsgi-enapp: ERROR: App ?? does not exist!\nuwsgi-enapp: ERROR: App a?b does not exist!\n"
    );

    fs::write(
        r.available().join(OsStr::from_bytes(b"caf\xe9\x07.ini")),
        "",
    )
    .unwrap();
    let o = r
        .cmd(ENAPP)
        .arg(OsStr::from_bytes(b"caf\xe9\x07"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("Enabling app caf??.\n"),
        "{:?}",
        stdout(&o)
    );
    let q = r
        .cmd(QUERY)
        .arg(OsStr::from_bytes(b"caf\xe9\x07"))
        .output()
        .unwrap();
    assert_eq!(stdout(&q), "caf?? (enabled by site administrator)\n");
    let list = r.run(APPS, &["list"]);
    assert_eq!(stdout(&list), "caf??\tini\tenabled\tadmin\tok\t-\t-\n");
    // A path in an error message: the link under that name is a directory.
    fs::remove_file(r.enabled().join(OsStr::from_bytes(b"caf\xe9\x07.ini"))).unwrap();
    fs::create_dir(r.enabled().join(OsStr::from_bytes(b"caf\xe9\x07.ini"))).unwrap();
    let o = r
        .cmd(ENAPP)
        .arg(OsStr::from_bytes(b"caf\xe9\x07"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains("/etc/uwsgi/apps-enabled/caf??.ini is a directory"),
        "{err}"
    );
    // JSON carries control characters exactly and each stray byte as U+FFFD.
    let o = r.run(APPS, &["list", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["apps"][0]["name"], "caf\u{fffd}\u{7}");
}

#[test]
fn a_dangling_link_is_replaced_on_enable_and_removed_on_disable() {
    let r = Root::new();
    r.add_app("hello.ini");
    symlink(
        "../apps-available/old-hello.ini",
        r.enabled().join("hello.ini"),
    )
    .unwrap();
    let o = r.run(ENAPP, &["hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("Enabling app hello."));
    assert_eq!(
        r.link_target("hello.ini"),
        rel("../apps-available/hello.ini")
    );

    // A link that loops on itself reaches nothing either.
    fs::remove_file(r.enabled().join("hello.ini")).unwrap();
    symlink("hello.ini", r.enabled().join("hello.ini")).unwrap();
    let o = r.run(ENAPP, &["hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        r.link_target("hello.ini"),
        rel("../apps-available/hello.ini")
    );

    // The dangling link of an app that is gone is removed on disable.
    symlink("../apps-available/gone.ini", r.enabled().join("gone.ini")).unwrap();
    let o = r.run(DISAPP, &["gone"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Removing dangling link"),
        "{}",
        stdout(&o)
    );
    assert!(fs::symlink_metadata(r.enabled().join("gone.ini")).is_err());
}

#[test]
fn a_foreign_link_is_an_error_unless_forced() {
    let r = Root::new();
    r.add_app("hello.ini");
    let elsewhere = r.path("srv/hello.ini");
    fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    fs::write(&elsewhere, "[uwsgi]\n").unwrap();
    symlink(&elsewhere, r.enabled().join("hello.ini")).unwrap();

    let o = r.run(ENAPP, &["hello"]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains(&elsewhere.display().to_string()), "{err}");
    assert!(err.contains("apps-available/hello.ini"), "{err}");
    assert_eq!(r.link_target("hello.ini"), Some(elsewhere.clone()));

    let o = r.run(ENAPP, &["-f", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        r.link_target("hello.ini"),
        rel("../apps-available/hello.ini")
    );
    assert!(elsewhere.exists(), "the foreign target is never touched");
}

#[test]
fn a_regular_file_or_directory_is_never_touched() {
    let r = Root::new();
    r.add_app("hello.ini");
    r.add_app("dir.ini");
    let local = r.enabled().join("hello.ini");
    fs::write(&local, "local edits\n").unwrap();
    fs::create_dir(r.enabled().join("dir.ini")).unwrap();
    fs::create_dir(r.available().join("adir.ini")).unwrap();
    let before = Root::snapshot(&r.root);

    for args in [
        &[ENAPP, "hello"][..],
        &[ENAPP, "-f", "hello"],
        &[DISAPP, "hello"],
        &[ENAPP, "-f", "dir"],
        &[DISAPP, "dir"],
        &[ENAPP, "adir"],
    ] {
        let o = r.run(args[0], &args[1..]);
        assert_eq!(code(&o), 1, "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains("not touching it") || err.contains("is a directory, not a config file"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(Root::snapshot(&r.root), before);
    assert_eq!(fs::read_to_string(&local).unwrap(), "local edits\n");
}

// ---------------------------------------------------------------- disable

#[test]
fn disable_removes_the_link_and_records_who() {
    let r = Root::new();
    r.add_app("hello.ini");
    r.run(ENAPP, &["hello"]);
    let o = r.run(DISAPP, &["hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "App hello disabled.\nTo activate the new configuration, you need to run:\n  service uwsgi stop hello\n"
    );
    assert!(fs::symlink_metadata(r.enabled().join("hello.ini")).is_err());
    assert!(r.available().join("hello.ini").exists());
    assert_eq!(markers_of(&r, "hello"), ["disabled_by_admin"]);

    let o = r.run(DISAPP, &["hello"]);
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o), "App hello already disabled\n");
    let o = r.run(DISAPP, &["nope"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("ERROR: App nope does not exist!"));
}

#[test]
fn quiet_prints_nothing_but_errors() {
    let r = Root::new();
    r.add_app("hello.ini");
    let o = r.run(ENAPP, &["-q", "hello", "nope"]);
    assert_eq!(code(&o), 1);
    assert_eq!(stdout(&o), "");
    assert!(stderr(&o).contains("nope"));
    assert!(r.link_target("hello.ini").is_some());
    let o = r.run(DISAPP, &["-q", "hello"]);
    assert_eq!((code(&o), stdout(&o)), (0, String::new()));
}

// ---------------------------------------------------------------- markers

#[test]
fn maintainer_mode_respects_the_administrators_choice() {
    let r = Root::new();
    r.add_app("hello.ini");
    let o = r.run(ENAPP, &["-m", "hello"]);
    assert_eq!(code(&o), 0);
    assert_eq!(markers_of(&r, "hello"), ["enabled_by_maint"]);
    assert_eq!(
        stdout(&r.run(QUERY, &["hello"])),
        "hello (enabled by maintainer script)\n"
    );

    r.run(DISAPP, &["hello"]);
    assert_eq!(markers_of(&r, "hello"), ["disabled_by_admin"]);
    let o = r.run(ENAPP, &["--maintmode", "hello"]);
    assert_eq!(code(&o), 0, "the admin's choice is not an error");
    assert!(
        stdout(&o).contains("disabled by the site administrator"),
        "{}",
        stdout(&o)
    );
    assert!(
        !stdout(&o).contains("service uwsgi"),
        "nothing changed, no hint"
    );
    assert!(r.link_target("hello.ini").is_none());
    assert_eq!(markers_of(&r, "hello"), ["disabled_by_admin"]);

    // A maintainer script's disable does not bind the maintainer script.
    r.run(ENAPP, &["hello"]);
    r.run(DISAPP, &["-m", "hello"]);
    assert_eq!(markers_of(&r, "hello"), ["disabled_by_maint"]);
    let o = r.run(ENAPP, &["-m", "hello"]);
    assert_eq!(code(&o), 0);
    assert!(r.link_target("hello.ini").is_some());
    // The admin can always enable.
    r.run(DISAPP, &["hello"]);
    r.run(ENAPP, &["hello"]);
    assert!(r.link_target("hello.ini").is_some());
    assert_eq!(markers_of(&r, "hello"), ["enabled_by_admin"]);
}

#[test]
fn purge_removes_every_marker_even_of_a_name_whose_file_is_gone() {
    let r = Root::new();
    r.add_app("hello.ini");
    r.run(ENAPP, &["hello"]);
    let o = r.run(DISAPP, &["-p", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(r.link_target("hello.ini").is_none());
    assert!(markers_of(&r, "hello").is_empty());

    // Disabled by a maintainer script, then the package removed the file.
    r.run(ENAPP, &["hello"]);
    r.run(DISAPP, &["-m", "hello"]);
    fs::remove_file(r.available().join("hello.ini")).unwrap();
    assert_eq!(markers_of(&r, "hello"), ["disabled_by_maint"]);
    let o = r.run(DISAPP, &["hello"]);
    assert_eq!(code(&o), 1, "without --purge a missing app is an error");
    let o = r.run(DISAPP, &["--purge", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(markers_of(&r, "hello").is_empty());
    // Purging what has no marker at all is fine too.
    assert_eq!(code(&r.run(DISAPP, &["-p", "never-was"])), 0);
    // A glob purges the markers of every gone name it matches.
    for name in ["gone1", "gone2", "kept"] {
        let m = r.marker("disabled_by_admin", name);
        fs::create_dir_all(m.parent().unwrap()).unwrap();
        fs::write(&m, "").unwrap();
    }
    assert_eq!(code(&r.run(DISAPP, &["-p", "gone*"])), 0);
    assert!(markers_of(&r, "gone1").is_empty() && markers_of(&r, "gone2").is_empty());
    assert_eq!(markers_of(&r, "kept"), ["disabled_by_admin"]);
}

#[test]
fn names_that_are_not_utf8_work_and_go_out_lossy_in_json() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let r = Root::new();
    fs::write(r.available().join(OsStr::from_bytes(b"caf\xe9.ini")), "").unwrap();
    let o = r
        .cmd(ENAPP)
        .arg("--json")
        .arg(OsStr::from_bytes(b"caf\xe9"))
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["results"][0]["name"], "caf\u{fffd}");
    assert_eq!(
        fs::read_link(r.enabled().join(OsStr::from_bytes(b"caf\xe9.ini"))).unwrap(),
        Path::new(OsStr::from_bytes(b"../apps-available/caf\xe9.ini"))
    );
    let o = r.run(APPS, &["list", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["apps"][0]["file"], "caf\u{fffd}.ini");
}

// ---------------------------------------------------------------- query

#[test]
fn query_has_a2querys_exit_codes() {
    let r = Root::new();
    for f in ["a.ini", "b.ini", "c.ini", "d.ini"] {
        r.add_app(f);
    }
    r.run(ENAPP, &["a"]);
    r.run(ENAPP, &["b", "c"]);
    r.run(DISAPP, &["b"]);
    r.run(DISAPP, &["-m", "c"]);

    let q = r.run(QUERY, &["a"]);
    assert_eq!(
        (code(&q), stdout(&q)),
        (0, "a (enabled by site administrator)\n".into())
    );
    assert_eq!(code(&r.run(QUERY, &["a.ini"])), 0);
    let q = r.run(QUERY, &["b"]);
    assert_eq!(code(&q), 32);
    assert!(stderr(&q).contains("disabled by site administrator"));
    assert_eq!(code(&r.run(QUERY, &["c"])), 33);
    assert_eq!(code(&r.run(QUERY, &["d"])), 1, "available, never enabled");
    assert_eq!(code(&r.run(QUERY, &["nope"])), 1);
    let q = r.run(QUERY, &["-q", "b"]);
    assert_eq!(
        (code(&q), stdout(&q), stderr(&q)),
        (32, String::new(), String::new())
    );
    // A dangling link is not an enabled app.
    symlink("../apps-available/gone.ini", r.enabled().join("gone.ini")).unwrap();
    assert_eq!(code(&r.run(QUERY, &["gone"])), 1);

    let all = r.run(QUERY, &[]);
    assert_eq!(code(&all), 0);
    assert_eq!(stdout(&all), "a (enabled by site administrator)\n");
    r.run(DISAPP, &["a"]);
    assert_eq!(code(&r.run(QUERY, &[])), 1, "none enabled, as a2query -s");
}

// ---------------------------------------------------------------- list

#[test]
fn list_shows_format_state_who_and_link_health() {
    let r = Root::new();
    for f in ["a.ini", "b.yaml", "c.ini", "my app.xml"] {
        r.add_app(f);
    }
    r.run(ENAPP, &["a"]);
    r.run(ENAPP, &["-m", "my app"]);
    symlink("../apps-available/gone.ini", r.enabled().join("gone.ini")).unwrap();
    symlink("/etc/hostname", r.enabled().join("c.ini")).unwrap();
    fs::write(r.enabled().join("local.json"), "{}").unwrap();
    fs::create_dir_all(r.path("etc/uwsgi/vassals-available")).unwrap();
    fs::write(r.path("etc/uwsgi/vassals-available/v.ini"), "").unwrap();
    r.run(ENAPP, &["vassal/v"]);

    let o = r.run(APPS, &["list"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "a\tini\tenabled\tadmin\tok\t-\t-\n\
         b\tyaml\tdisabled\t-\t-\t-\t-\n\
         c\tini\tenabled\t-\tforeign\t-\t-\n\
         gone\tini\tbroken\t-\tdangling\t-\t-\n\
         local\tjson\tenabled\t-\tregular-file\t-\t-\n\
         my app\txml\tenabled\tmaint\tok\t-\t-\n\
         vassal/v\tini\tenabled\tadmin\tok\t-\t-\n"
    );
    assert!(!stdout(&o).contains('\u{1b}'), "no colour when piped");

    let o = r.run(APPS, &["list", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let apps = doc["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 7);
    assert_eq!(apps[0]["name"], "a");
    assert_eq!(apps[0]["enabled_by"], "admin");
    assert_eq!(apps[2]["link"], "foreign");
    assert_eq!(apps[2]["link_target"], "/etc/hostname");
    assert_eq!(apps[3]["link"], "dangling");
    assert_eq!(apps[3]["available"], false);
    assert_eq!(apps[6]["namespace"], "vassal");
}

/// Run a command line on a pseudo-terminal (`script` from util-linux), so
/// the program sees a terminal on standard input and output.
fn on_terminal(r: &Root, command: &str, input: &str, extra_env: &[(&str, &str)]) -> String {
    let mut cmd = assert_cmd::Command::new("script");
    r.clean_env(&mut cmd);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let o = cmd
        .args(["-qec", command, "/dev/null"])
        .write_stdin(input)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn list_is_a_table_on_a_terminal_coloured_unless_no_color() {
    let r = Root::new();
    r.add_app("hello.ini");
    r.add_app("other.ini");
    r.run(ENAPP, &["hello"]);
    let list = format!("{} list", r.applet(APPS).display());
    let coloured = on_terminal(&r, &list, "", &[]);
    assert!(coloured.contains("APP"), "{coloured:?}");
    assert!(coloured.contains('\u{1b}'), "{coloured:?}");
    let plain = on_terminal(&r, &list, "", &[("NO_COLOR", "1")]);
    assert!(plain.contains("APP"), "{plain:?}");
    assert!(plain.contains("hello  "), "{plain:?}");
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
}

// ---------------------------------------------------------------- no NAME

#[test]
fn without_a_name_ask_on_a_terminal_and_refuse_otherwise() {
    let r = Root::new();
    r.add_app("hello.ini");
    r.add_app("other.ini");
    let o = r.cmd(ENAPP).write_stdin("hello\n").output().unwrap();
    assert_eq!(code(&o), 2, "not a terminal: usage error");
    assert!(r.link_target("hello.ini").is_none());

    let out = on_terminal(&r, &r.applet(ENAPP).display().to_string(), "hello\n", &[]);
    assert!(out.contains("Your choices are: hello other"), "{out}");
    assert!(
        out.contains("Which app(s) do you want to enable (wildcards ok)?"),
        "{out}"
    );
    assert!(out.contains("Enabling app hello."), "{out}");
    assert_eq!(
        r.link_target("hello.ini"),
        rel("../apps-available/hello.ini")
    );

    let out = on_terminal(&r, &r.applet(DISAPP).display().to_string(), "h*\n", &[]);
    assert!(out.contains("Your choices are: hello\r\n"), "{out:?}");
    assert!(r.link_target("hello.ini").is_none());
}

// ---------------------------------------------------------------- options

#[test]
fn dry_run_says_what_would_change_and_changes_nothing() {
    let r = Root::new();
    r.add_app("hello.ini");
    r.add_app("other.ini");
    r.run(ENAPP, &["other"]);
    let before = Root::snapshot(&r.root);
    let o = r.run(ENAPP, &["-n", "hello", "other"]);
    assert_eq!(code(&o), 0);
    assert_eq!(
        stdout(&o),
        "Would enable app hello.\nApp other already enabled\n"
    );
    let o = r.run(DISAPP, &["--dry-run", "other"]);
    assert_eq!(stdout(&o), "Would disable app other.\n");
    let o = r.run(DISAPP, &["-n", "-p", "other"]);
    assert_eq!(code(&o), 0);
    assert_eq!(Root::snapshot(&r.root), before);
}

#[test]
fn json_reports_every_result() {
    let r = Root::new();
    r.add_app("hello.ini");
    r.add_app("x.ini");
    r.add_app("x.yaml");
    let o = r.run(ENAPP, &["--json", "hello", "nope", "x"]);
    assert_eq!(code(&o), 1);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["command"], "enable");
    assert_eq!(doc["exit_status"], 1);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["result"], "enabled");
    assert_eq!(results[0]["file"], "hello.ini");
    assert_eq!(results[1]["result"], "error");
    assert_eq!(results[1]["argument"], "nope");
    assert_eq!(results[2]["result"], "error");
    assert!(results[2]["error"].as_str().unwrap().contains("ambiguous"));
    let o = r.run(DISAPP, &["--json", "hello"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["results"][0]["result"], "disabled");
    assert_eq!(code(&o), 0);
}

/// `changed` of each result of `APPLET --json ARGS`, in order.
fn changed(r: &Root, applet: &str, args: &[&str]) -> Vec<bool> {
    let o = r.run(applet, &[&["--json"], args].concat());
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: no JSON ({e}): {}", stderr(&o)));
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v["changed"]
                .as_bool()
                .unwrap_or_else(|| panic!("{args:?}: no boolean changed in {v}"))
        })
        .collect()
}

// Automation (an Ansible module) reports "changed" from this field: it is
// true exactly when a link or a marker was (or, dry, would be) made,
// replaced or removed.
#[test]
fn json_changed_is_exact() {
    let r = Root::new();
    r.add_app("hello.ini");
    r.add_app("other.ini");
    // Enable twice: the first changes, the second does not.
    assert_eq!(changed(&r, ENAPP, &["-n", "hello"]), [true]);
    assert!(r.link_target("hello.ini").is_none());
    assert_eq!(changed(&r, ENAPP, &["hello"]), [true]);
    assert_eq!(changed(&r, ENAPP, &["hello"]), [false]);
    assert_eq!(changed(&r, ENAPP, &["-n", "hello"]), [false]);
    // Not found, and a failure: nothing changed.
    assert_eq!(changed(&r, ENAPP, &["nope"]), [false]);
    assert_eq!(changed(&r, DISAPP, &["nope"]), [false]);
    // Disable: once, then already.
    assert_eq!(changed(&r, DISAPP, &["-n", "hello"]), [true]);
    assert_eq!(changed(&r, DISAPP, &["hello"]), [true]);
    assert_eq!(changed(&r, DISAPP, &["hello"]), [false]);
    // The admin disabled it: maintainer mode keeps it so, and changes
    // nothing.
    assert_eq!(changed(&r, ENAPP, &["-m", "hello"]), [false]);
    assert!(r.link_target("hello.ini").is_none());
    assert_eq!(markers_of(&r, "hello"), ["disabled_by_admin"]);
    // --purge of a disabled app with markers removes them (a change),
    // then there is nothing left to remove.
    assert_eq!(changed(&r, DISAPP, &["-n", "-p", "hello"]), [true]);
    assert_eq!(markers_of(&r, "hello"), ["disabled_by_admin"]);
    assert_eq!(changed(&r, DISAPP, &["-p", "hello"]), [true]);
    assert!(markers_of(&r, "hello").is_empty());
    assert_eq!(changed(&r, DISAPP, &["-p", "hello"]), [false]);
    assert_eq!(changed(&r, DISAPP, &["-n", "-p", "hello"]), [false]);
    // A disabled app without markers is already disabled: no change.
    assert_eq!(changed(&r, DISAPP, &["other"]), [false]);
    // --purge of a name whose file is gone: its markers.
    assert_eq!(changed(&r, ENAPP, &["other"]), [true]);
    assert_eq!(changed(&r, DISAPP, &["other"]), [true]);
    fs::remove_file(r.available().join("other.ini")).unwrap();
    assert_eq!(changed(&r, DISAPP, &["-n", "-p", "other"]), [true]);
    assert_eq!(changed(&r, DISAPP, &["-p", "other"]), [true]);
    assert!(markers_of(&r, "other").is_empty());
    // A dangling link is replaced on enable and removed on disable.
    r.add_app("d.ini");
    symlink("../apps-available/gone.ini", r.enabled().join("d.ini")).unwrap();
    assert_eq!(changed(&r, ENAPP, &["d"]), [true]);
    symlink("../apps-available/gone.ini", r.enabled().join("gone.ini")).unwrap();
    assert_eq!(changed(&r, DISAPP, &["gone"]), [true]);
    assert_eq!(r.link_target("gone.ini"), None);
    // Several NAMEs: one result each.
    assert_eq!(
        changed(&r, ENAPP, &["hello", "d", "nope"]),
        [true, false, false]
    );
}

#[test]
fn now_with_dry_run_changes_nothing_and_starts_nothing() {
    // --now itself runs real uWSGI instances: tests/initd_contract.rs covers it.
    let r = Root::new();
    r.add_app("hello.ini");
    let o = r.run(ENAPP, &["--now", "--dry-run", "hello"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(r.link_target("hello.ini").is_none());
    assert!(!r.path("run/uwsgi/app/hello").exists());
}

#[test]
fn other_namespaces() {
    let r = Root::new();
    fs::create_dir_all(r.path("etc/uwsgi/vassals-available")).unwrap();
    fs::write(r.path("etc/uwsgi/vassals-available/site.ini"), "").unwrap();
    let o = r.run(ENAPP, &["vassal/site"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("Enabling app vassal/site."));
    assert!(stdout(&o).contains("service uwsgi start vassal/site"));
    assert_eq!(
        fs::read_link(r.path("etc/uwsgi/vassals-enabled/site.ini")).unwrap(),
        Path::new("../vassals-available/site.ini")
    );
    assert!(r
        .path("var/lib/uwsgi/vassal/enabled_by_admin/site")
        .exists());
    assert_eq!(code(&r.run(QUERY, &["vassal/site"])), 0);
    assert_eq!(code(&r.run(QUERY, &["site"])), 1, "not in namespace app");
    assert_eq!(code(&r.run(DISAPP, &["vassal/site"])), 0);
    assert!(!r.path("etc/uwsgi/vassals-enabled/site.ini").exists());
}

// ---------------------------------------------------------------- safety

#[test]
fn path_traversal_is_refused_and_nothing_outside_the_tree_changes() {
    let r = Root::new();
    r.add_app("hello.ini");
    // Decoys that a traversal would reach.
    fs::write(r.path("etc/uwsgi/x.ini"), "").unwrap();
    fs::write(r.path("x.ini"), "").unwrap();
    fs::write(r.tmp.path().join("x.ini"), "").unwrap();
    r.run(ENAPP, &["hello"]);
    let before = Root::snapshot(r.tmp.path());
    for bad in [
        "../x",
        "../x.ini",
        "/etc/passwd",
        "apps-available/../..",
        "..",
        ".",
        "",
        "a/b/c",
        "../../../../../../x",
        "app/../hello",
    ] {
        for applet in [ENAPP, DISAPP] {
            for extra in [&[][..], &["-p", "-f"][..]] {
                let extra: Vec<&str> = extra
                    .iter()
                    .copied()
                    .filter(|a| applet == ENAPP && *a == "-f" || applet == DISAPP && *a == "-p")
                    .collect();
                let mut args = extra.clone();
                args.push(bad);
                let o = r.run(applet, &args);
                assert_eq!(code(&o), 1, "{applet} {bad:?}: {}", stderr(&o));
                assert!(
                    stderr(&o).contains("ERROR"),
                    "{applet} {bad:?}: {}",
                    stderr(&o)
                );
            }
        }
        assert_eq!(code(&r.run(QUERY, &[bad])), 1, "query {bad:?}");
    }
    assert_eq!(Root::snapshot(r.tmp.path()), before);
}

#[test]
fn a_symlink_loop_in_the_layout_is_a_clear_error() {
    let r = Root::new();
    r.add_app("hello.ini");
    fs::remove_dir(r.enabled()).unwrap();
    symlink("apps-enabled", r.enabled()).unwrap();
    let o = r.run(ENAPP, &["hello"]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.starts_with("uwsgi-enapp: "), "{err}");
    assert!(err.contains("apps-enabled"), "{err}");
    assert!(err.contains("Too many levels of symbolic links"), "{err}");
    assert_eq!(code(&r.run(APPS, &["list"])), 1);
    assert!(!r.marker("enabled_by_admin", "hello").exists());
}

#[test]
fn a_link_that_loops_is_said_to_loop() {
    let r = Root::new();
    // An available "app" that is a link to itself, and one that loops
    // through apps-enabled and back.
    symlink("x.ini", r.available().join("x.ini")).unwrap();
    symlink("../apps-enabled/y.ini", r.available().join("y.ini")).unwrap();
    symlink("../apps-available/y.ini", r.enabled().join("y.ini")).unwrap();
    let o = r.run(ENAPP, &["x", "y"]);
    assert_eq!(code(&o), 1);
    let root = r.root.display();
    assert_eq!(
        stderr(&o),
        format!(
            "uwsgi-enapp: ERROR: {root}/etc/uwsgi/apps-available/x.ini is a symbolic link that \
             loops (too many levels of symbolic links); it cannot be enabled\n\
             uwsgi-enapp: ERROR: {root}/etc/uwsgi/apps-available/y.ini is a symbolic link that \
             loops (too many levels of symbolic links); it cannot be enabled\n"
        )
    );
    assert_eq!(r.link_target("x.ini"), None);
    assert!(!r.marker("enabled_by_admin", "x").exists());
    // A dangling one is said to dangle.
    symlink("gone.ini", r.available().join("d.ini")).unwrap();
    let o = r.run(ENAPP, &["d"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).ends_with(
            "apps-available/d.ini is a dangling link (to gone.ini); it cannot be enabled\n"
        ),
        "{}",
        stderr(&o)
    );

    // A looping entry in apps-enabled is replaced on enable and removed on
    // disable, as a dangling one is, and the message says it looped.
    r.add_app("z.ini");
    symlink("z.ini", r.enabled().join("z.ini")).unwrap();
    let o = r.run(ENAPP, &["-n", "z"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(&format!(
            "Would replace looping link {root}/etc/uwsgi/apps-enabled/z.ini (to z.ini).\n"
        )),
        "{}",
        stdout(&o)
    );
    let o = r.run(ENAPP, &["z"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with(&format!(
            "Replacing looping link {root}/etc/uwsgi/apps-enabled/z.ini (to z.ini).\nEnabling app z.\n"
        )),
        "{}",
        stdout(&o)
    );
    assert_eq!(r.link_target("z.ini"), rel("../apps-available/z.ini"));
    symlink("w.ini", r.enabled().join("w.ini")).unwrap();
    let o = r.run(DISAPP, &["w"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("Removing looping link {root}/etc/uwsgi/apps-enabled/w.ini.\n")
    );
    assert!(fs::symlink_metadata(r.enabled().join("w.ini")).is_err());
}

/// Run an applet as the unprivileged user `nobody` (root ignores file
/// permissions, so that is the only way to meet a real EACCES).
fn as_nobody(r: &Root, applet: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::new("setpriv");
    r.clean_env(&mut cmd);
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(r.applet(applet))
        .args(args)
        .output()
        .unwrap()
}

fn open_up(r: &Root) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(r.tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn permission_errors_say_what_where_and_why_and_leave_nothing_half_done() {
    let r = Root::new();
    open_up(&r);
    r.add_app("hello.ini");
    r.add_app("other.ini");
    let before = Root::snapshot(&r.root);
    let o = as_nobody(&r, ENAPP, &["hello", "other"]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("Permission denied"), "{err}");
    assert!(err.starts_with("uwsgi-enapp: "), "{err}");
    assert_eq!(
        err.lines().count(),
        2,
        "each NAME reports its own error: {err}"
    );
    assert_eq!(Root::snapshot(&r.root), before);

    // apps-enabled writable, the state directory not: the link must not
    // be made without its marker.
    std::os::unix::fs::chown(r.enabled(), Some(65534), Some(65534)).unwrap();
    fs::create_dir_all(r.path("var/lib/uwsgi")).unwrap();
    let o = as_nobody(&r, ENAPP, &["hello"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("var/lib/uwsgi/app"), "{}", stderr(&o));
    assert!(fs::symlink_metadata(r.enabled().join("hello.ini")).is_err());

    // Disable as nobody of a link in a directory nobody cannot write.
    std::os::unix::fs::chown(r.enabled(), Some(0), Some(0)).unwrap();
    assert_eq!(code(&r.run(ENAPP, &["hello"])), 0);
    let o = as_nobody(&r, DISAPP, &["hello"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("Permission denied"), "{}", stderr(&o));
    assert!(r.link_target("hello.ini").is_some());
    assert_eq!(markers_of(&r, "hello"), ["enabled_by_admin"]);
}

// ---------------------------------------------------------------- concurrency

fn temp_leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("uwsgi-apps-tmp"))
        .collect()
}

#[test]
fn concurrent_runs_end_as_if_run_one_after_another() {
    let r = Root::new();
    let names = ["a", "b", "c"];
    for n in names {
        r.add_app(&format!("{n}.ini"));
    }
    // Foreign links make the runs replace links (temp + rename) as well.
    symlink("/etc/hostname", r.enabled().join("c.ini")).unwrap();
    let children: Vec<_> = (0..64)
        .map(|i| {
            let (applet, mut args): (&str, Vec<&str>) = match i % 4 {
                0 => (ENAPP, vec!["-f"]),
                1 => (DISAPP, vec![]),
                2 => (ENAPP, vec!["-m", "-f"]),
                _ => (DISAPP, vec!["-m"]),
            };
            args.extend(names);
            let mut cmd = Command::new(r.applet(applet));
            cmd.env_clear()
                .env("UWSGI_APPS_ROOT", &r.root)
                .args(&args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert_eq!(temp_leftovers(&r.enabled()), Vec::<String>::new());
    for n in names {
        let file = format!("{n}.ini");
        let m = markers_of(&r, n);
        assert_eq!(m.len(), 1, "{n}: one marker at a time, got {m:?}");
        match r.link_target(&file) {
            Some(t) => {
                assert_eq!(t, Path::new("../apps-available").join(&file));
                assert!(m[0].starts_with("enabled"), "{n}: link but {m:?}");
            }
            None => assert!(m[0].starts_with("disabled"), "{n}: no link but {m:?}"),
        }
    }
}

#[test]
fn a_killed_run_leaves_no_temporary_link_behind() {
    let r = Root::new();
    r.add_app("a.ini");
    // What a run killed between symlink and rename leaves.
    symlink(
        "../apps-available/a.ini",
        r.enabled().join(".uwsgi-apps-tmp.99999.0"),
    )
    .unwrap();
    // Never confused with an app by anyone meanwhile.
    assert_eq!(
        stdout(&r.run(APPS, &["list"])),
        "a\tini\tdisabled\t-\t-\t-\t-\n"
    );
    let o = r.run(ENAPP, &["a"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(temp_leftovers(&r.enabled()), Vec::<String>::new());

    // Real kills at arbitrary moments of runs that replace links.
    for round in 0..40u64 {
        symlink("/etc/hostname", r.enabled().join("b.ini")).ok();
        r.add_app("b.ini");
        let mut child = Command::new(r.applet(ENAPP))
            .env_clear()
            .env("UWSGI_APPS_ROOT", &r.root)
            .args(["-q", "-f", "b"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(round * 50));
        let _ = child.kill();
        let _ = child.wait();
        fs::remove_file(r.enabled().join("b.ini")).ok();
    }
    let o = r.run(ENAPP, &["-f", "a", "b"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(temp_leftovers(&r.enabled()), Vec::<String>::new());
    assert_eq!(r.link_target("b.ini"), rel("../apps-available/b.ini"));
}

// ---------------------------------------------------------------- a2ensite

/// Debian's `a2ensite`/`a2dissite` on a temporary Apache tree, beside our
/// tools on a temporary uWSGI tree: after every step, the same exit status,
/// the same links, the same markers, and the same messages (with "site"
/// read as "app" and the service command of the hint aside).
struct Apache {
    conf: PathBuf,
    state: PathBuf,
}

impl Apache {
    fn new(r: &Root) -> Apache {
        let base = r.tmp.path().join("apache");
        let conf = base.join("etc/apache2");
        fs::create_dir_all(conf.join("sites-available")).unwrap();
        fs::create_dir_all(conf.join("sites-enabled")).unwrap();
        Apache {
            conf,
            state: base.join("var/lib/apache2"),
        }
    }

    fn run(&self, tool: &str, args: &[&str]) -> std::process::Output {
        Command::new(format!("/usr/sbin/{tool}"))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("APACHE_CONFDIR", &self.conf)
            .env("APACHE_STATE_DIRECTORY", &self.state)
            .args(args)
            .output()
            .unwrap()
    }

    /// `NAME -> TARGET` of every link, in uWSGI terms.
    fn links(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.conf.join("sites-enabled"))
            .unwrap()
            .flatten()
            .map(|e| {
                format!(
                    "{} -> {}",
                    e.file_name().to_string_lossy(),
                    fs::read_link(e.path()).unwrap().display()
                )
                .replace(".conf", ".ini")
                .replace("sites-available", "apps-available")
            })
            .collect();
        v.sort();
        v
    }

    fn markers(&self) -> Vec<String> {
        markers_under(&self.state.join("site"))
    }
}

fn markers_under(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for kind in fs::read_dir(dir).into_iter().flatten().flatten() {
        for m in fs::read_dir(kind.path()).unwrap().flatten() {
            v.push(format!(
                "{}/{}",
                kind.file_name().to_string_lossy(),
                m.file_name().to_string_lossy()
            ));
        }
    }
    v.sort();
    v
}

fn our_links(r: &Root) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(r.enabled())
        .unwrap()
        .flatten()
        .map(|e| {
            format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                fs::read_link(e.path()).unwrap().display()
            )
        })
        .collect();
    v.sort();
    v
}

/// Messages in common terms: stdout and stderr lines, without our program
/// prefix, Apache's words mapped to ours, the service command aside.
fn messages(o: &std::process::Output, apache: bool) -> Vec<String> {
    let text = format!("{}{}", stdout(o), stderr(o));
    text.lines()
        .filter(|l| !l.starts_with("  service ") && !l.starts_with("  systemctl "))
        .map(|l| {
            let l = l
                .trim_start_matches("uwsgi-enapp: ")
                .trim_start_matches("uwsgi-disapp: ");
            if apache {
                l.replace("Site ", "App ")
                    .replace(" site ", " app ")
                    .replace(".conf", ".ini")
            } else {
                l.to_string()
            }
        })
        .collect()
}

#[test]
fn same_links_markers_exit_codes_and_messages_as_a2ensite() {
    if !Path::new("/usr/sbin/a2ensite").exists() {
        panic!("Debian's apache2 package (a2ensite) is needed for this test");
    }
    let r = Root::new();
    let apache = Apache::new(&r);
    for name in ["one", "two", "three"] {
        r.add_app(&format!("{name}.ini"));
        fs::write(
            apache.conf.join(format!("sites-available/{name}.conf")),
            "# site\n",
        )
        .unwrap();
    }
    // (a2 tool, our applet, arguments with ".conf" for Apache)
    let steps: &[(&str, &str, &[&str])] = &[
        ("a2ensite", ENAPP, &["one"]),
        ("a2ensite", ENAPP, &["one"]),
        ("a2ensite", ENAPP, &["one.conf"]),
        ("a2ensite", ENAPP, &["nope"]),
        ("a2ensite", ENAPP, &["-m", "two"]),
        ("a2ensite", ENAPP, &["t*"]),
        ("a2ensite", ENAPP, &["-q", "one", "two"]),
        ("a2dissite", DISAPP, &["one"]),
        ("a2dissite", DISAPP, &["-m", "two.conf"]),
        ("a2ensite", ENAPP, &["one", "two"]),
        ("a2dissite", DISAPP, &["-p", "one"]),
        ("a2dissite", DISAPP, &["--purge", "three"]),
        ("a2dissite", DISAPP, &["-q", "two"]),
        ("a2ensite", ENAPP, &["--maintmode", "three", "one"]),
    ];
    for (tool, applet, args) in steps {
        let theirs = apache.run(tool, args);
        let ours_args: Vec<String> = args.iter().map(|a| a.replace(".conf", ".ini")).collect();
        let ours_args: Vec<&str> = ours_args.iter().map(String::as_str).collect();
        let ours = r.run(applet, &ours_args);
        let step = format!("{tool} {args:?}");
        assert_eq!(code(&ours), code(&theirs), "{step}: exit status");
        assert_eq!(our_links(&r), apache.links(), "{step}: links");
        assert_eq!(
            markers_under(&r.path("var/lib/uwsgi/app")),
            apache.markers(),
            "{step}: markers"
        );
        if args.contains(&"-q") {
            // Deliberate difference: a2ensite -q still prints "Enabling
            // site X." and "Site X disabled."; -q here prints only errors.
            assert_eq!(stdout(&ours), "", "{step}: quiet");
        } else {
            assert_eq!(
                messages(&ours, false),
                messages(&theirs, true),
                "{step}: messages"
            );
        }
    }

    // A dangling link of a site that is gone: removed, no marker, 0.
    symlink(
        "../sites-available/gone.conf",
        apache.conf.join("sites-enabled/gone.conf"),
    )
    .unwrap();
    symlink("../apps-available/gone.ini", r.enabled().join("gone.ini")).unwrap();
    let theirs = apache.run("a2dissite", &["gone"]);
    let ours = r.run(DISAPP, &["gone"]);
    assert_eq!(code(&ours), code(&theirs));
    assert_eq!(our_links(&r), apache.links());
    assert_eq!(
        markers_under(&r.path("var/lib/uwsgi/app")),
        apache.markers()
    );

    // Deliberate difference (SPEC §3): disabling what is not enabled
    // succeeds here ("already disabled"); a2dissite fails with "No site
    // found". And a name that exists nowhere fails in both.
    let theirs = apache.run("a2dissite", &["nope"]);
    let ours = r.run(DISAPP, &["nope"]);
    assert_eq!((code(&ours), code(&theirs)), (1, 1));
}

#[test]
fn a_read_only_file_system_is_a_clear_error_and_nothing_changes() {
    if !nix_is_root() {
        eprintln!("skipped: needs root to make a read-only bind mount");
        return;
    }
    let r = Root::new();
    r.add_app("hello.ini");
    r.add_app("other.ini");
    assert_eq!(code(&r.run(ENAPP, &["other"])), 0);
    let before = Root::snapshot(&r.path("etc"));
    let etc = r.path("etc/uwsgi");
    let script = format!(
        "mount --bind -o ro '{0}' '{0}' && '{1}' hello; echo \"enapp=$?\" >&2; '{2}' other; echo \"disapp=$?\" >&2",
        etc.display(),
        r.applet(ENAPP).display(),
        r.applet(DISAPP).display()
    );
    let mut cmd = assert_cmd::Command::new("unshare");
    r.clean_env(&mut cmd);
    let o = cmd.args(["-m", "sh", "-c", &script]).output().unwrap();
    let err = stderr(&o);
    assert!(err.contains("enapp=1") && err.contains("disapp=1"), "{err}");
    assert!(
        err.contains("uwsgi-enapp: ERROR: cannot create link ")
            && err.contains("apps-enabled/hello.ini: Read-only file system"),
        "{err}"
    );
    assert!(
        err.contains("uwsgi-disapp: ERROR: cannot remove link "),
        "{err}"
    );
    assert_eq!(Root::snapshot(&r.path("etc")), before);
    assert_eq!(markers_of(&r, "other"), ["enabled_by_admin"]);
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// An empty UWSGI_APPS_ROOT is "not set" (shell habit), not a usage error:
/// `--root` on the command line then decides.
#[test]
fn an_empty_root_variable_counts_as_unset() {
    let r = Root::new();
    r.add_app("hello.ini");
    let root = r.path("");
    let o = r
        .cmd(ENAPP)
        .env("UWSGI_APPS_ROOT", "")
        .env("UWSGI_APPS_DAEMON", "")
        .arg("--root")
        .arg(&root)
        .arg("hello")
        .output()
        .expect("run the binary");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        r.link_target("hello.ini"),
        Some(PathBuf::from("../apps-available/hello.ini"))
    );
}

/// uwsgi-query never runs uWSGI: it takes no --daemon (and ignores
/// UWSGI_APPS_DAEMON); uwsgi-enapp --now starts the instance with the
/// program --daemon or UWSGI_APPS_DAEMON names, and its help says that
/// this is what the option is for.
#[test]
fn daemon_is_an_option_only_where_uwsgi_is_run() {
    let r = Root::new();
    r.add_app("hello.ini");
    assert_eq!(code(&r.run(ENAPP, &["-q", "hello"])), 0);

    let o = r.run(QUERY, &["--daemon", "/usr/bin/uwsgi", "hello"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("unexpected argument '--daemon'"),
        "{}",
        stderr(&o)
    );
    let o = r
        .cmd(QUERY)
        .env("UWSGI_APPS_DAEMON", "/nonexistent/uwsgi")
        .arg("hello")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stdout(&r.run(QUERY, &["--help"])).contains("--daemon"));

    let help = stdout(&r.run(ENAPP, &["--help"]));
    assert!(help.contains("--daemon <PATH>  With --now: "), "{help}");
    let help = stdout(&r.run(DISAPP, &["--help"]));
    assert!(
        help.contains(
            "--daemon <PATH>  The uWSGI program the instances run (to stop one with --now"
        ),
        "{help}"
    );

    // The variable still reaches the start that --now makes.
    let conf = r.path("usr/share/uwsgi/conf");
    fs::create_dir_all(&conf).unwrap();
    fs::write(conf.join("default.ini"), "[uwsgi]\n").unwrap();
    assert_eq!(code(&r.run(DISAPP, &["-q", "hello"])), 0);
    let o = r
        .cmd(ENAPP)
        .env("UWSGI_APPS_DAEMON", "/nonexistent/uwsgi")
        .args(["--now", "hello"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("cannot run /nonexistent/uwsgi"),
        "{}",
        stderr(&o)
    );
}
