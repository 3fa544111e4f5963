//! The config readers agree with the real uWSGI.
//!
//! For each sample, `uwsgi --FORMAT FILE --get KEY` (which prints the first
//! value of KEY, expanded, and exits without starting anything) is compared
//! with `ConfigOptions::first(KEY)`. The samples avoid placeholders, whose
//! expansion is tested on its own in `config::tests`.

use std::path::Path;
use std::time::Duration;

use uwsgi_apps::config::read_options;
use uwsgi_apps::name::Format;

const UWSGI: &str = "/usr/bin/uwsgi";

/// What uWSGI says the first value of `key` is (`None`: not set).
fn uwsgi_get(file: &Path, format: Format, key: &str) -> Option<String> {
    let out = assert_cmd::Command::new(UWSGI)
        .arg(format.uwsgi_option())
        .arg(file)
        .arg("--get")
        .arg(key)
        .timeout(Duration::from_secs(10))
        .output()
        .expect("run uwsgi");
    assert!(
        out.status.success(),
        "uwsgi failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 from uwsgi");
    if text.is_empty() {
        None
    } else {
        Some(text.strip_suffix('\n').unwrap_or(&text).to_owned())
    }
}

fn check(name: &str, content: &str, keys: &[&str]) {
    if !Path::new(UWSGI).exists() {
        eprintln!("{UWSGI} is not installed: cannot compare with the real uWSGI");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(name);
    std::fs::write(&file, content).expect("write sample");
    let format = Format::of_path(&file).expect("a config extension");
    let ours = read_options(&file, format).expect("our reader accepts it");
    for key in keys {
        assert_eq!(
            ours.first(key).map(str::to_owned),
            uwsgi_get(&file, format, key),
            "option {key:?} of {name}:\n{content}"
        );
    }
    // Sanity: the comparison is not vacuous.
    assert!(!ours.is_empty(), "{name} gave no option at all");
}

#[test]
fn ini_like_debian_packages_write_it() {
    check(
        "radicale.ini",
        "before = x\n[uwsgi]\n# comment\nplugins = python3\nuid = radicale\ngid = www-data\n\
         umask 027\n  ; indented comment\nenv = A=1\nenv = B=2\nsocket = 127.0.0.1:0\r\n\
         chdir = /srv # not a comment\nempty =\n[other]\nuid = root\nmaster = true\n\
         [uwsgi]\nlate = yes\n[ uwsgi ]\nlater = no\n",
        &[
            "before", "plugins", "uid", "gid", "env", "socket", "chdir", "empty", "master", "late",
            "later",
        ],
    );
}

/// The deliberate differences: a line without `=` is, to uWSGI, an
/// option named after the whole line with an empty value; the reader leaves
/// it out (the SPEC's rule) and reports it instead; `key: value` is read
/// as the SPEC says, though uWSGI 2.0 ignores it.
#[test]
fn lines_without_equals_sign_are_reported_not_kept() {
    if !Path::new(UWSGI).exists() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("x.ini");
    std::fs::write(&file, "[uwsgi]\numask 027\ngid: www-data\n").expect("write");
    assert_eq!(
        uwsgi_get(&file, Format::Ini, "umask 027").as_deref(),
        Some("")
    );
    assert_eq!(
        uwsgi_get(&file, Format::Ini, "gid: www-data").as_deref(),
        Some("")
    );
    // The SPEC's dialect reads `key: value`; uWSGI 2.0.21 does not, so the
    // line is kept and also reported.
    let ours = read_options(&file, Format::Ini).expect("read");
    assert_eq!(ours.options, [("gid".to_string(), "www-data".to_string())]);
    let lines: Vec<_> = ours.diagnostics.iter().map(|d| d.line).collect();
    assert_eq!(lines, [Some(2), Some(3)]);
}

#[test]
fn yaml_as_libyaml_uwsgi_reads_it() {
    check(
        "app.yaml",
        "# comment\n---\nother:\n  uid: 1\nuwsgi:\n  gid: \"www-data\"   # trailing\n  env:\n\
         \x20   - A=1\n    - 'B=2'\n  uid: 33\n  master:\n  socket: 127.0.0.1:0 # c\n  hash: a#b\n\
         \x20 nested:\n    inner: 1\n  flow: {k: v}\n  list: [x, 'y z']\n  q: 'it''s'\n\
         after:\n  late: 1\n",
        &[
            "gid", "env", "uid", "master", "socket", "hash", "nested", "inner", "k", "list", "q",
            "late", "other",
        ],
    );
    check(
        "stop.yml",
        "uwsgi:\n  socket: 127.0.0.1:0\n  uid: !!str 33\n  gid: 44\n",
        &["socket", "uid", "gid"],
    );
}

#[test]
fn xml_as_libxml2_uwsgi_reads_it() {
    check(
        "app.xml",
        "<?xml version=\"1.0\"?>\n<uwsgi id=\"x\">\n  <!-- c -->\n  <uid> www-data </uid>\n  \
         <env>A=1</env>\n  <env>B=2</env>\n  <master/>\n  <vacuum></vacuum>\n  \
         <socket>127.0.0.1:0</socket>\n  <amp>a &amp; b</amp>\n  \
         <app mountpoint=\"/x\">x.wsgi</app>\n</uwsgi>\n",
        &[
            "uid", "env", "master", "vacuum", "socket", "amp", "mount", "app",
        ],
    );
    check(
        "nested.xml",
        "<config><other><uid>1</uid></other><uwsgi><uid>2</uid><socket>127.0.0.1:0</socket>\
         </uwsgi></config>",
        &["uid", "socket"],
    );
}
