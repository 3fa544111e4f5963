//! uWSGI's INI dialect, read the way uWSGI 2.0 reads it (core/ini.c).
//!
//! What uWSGI does, and so what this reader does:
//!
//! * The file is split at `\n`; spaces, tabs and `\r` are trimmed from both
//!   ends of each line (so CRLF files work). A line is a C string to uWSGI:
//!   a NUL byte ends it.
//! * A line starting with `[` opens a section; its name is the rest of the
//!   line minus its last character (normally the `]`). Only options in
//!   sections named exactly `uwsgi` count; a file may open `[uwsgi]` more
//!   than once, and every such part counts. Lines before the first section
//!   belong to no section and are ignored.
//! * A line starting with `;` or `#` is a comment. There are no trailing
//!   comments: in `chdir = /srv # app` the value is `/srv # app`.
//! * Otherwise the key is everything before the first `=` and the value
//!   everything after it, both trimmed. Repeated keys keep every value in
//!   order.
//! * `key: value` (a line with no `=` but a `:`) is taken as key and value,
//!   because the SPEC names it part of the dialect and configs in the wild
//!   use it. uWSGI 2.0.21 itself does not: it reads `uid: www-data` as an
//!   option named "uid: www-data" with an empty value (checked with
//!   `--show-config`) and ignores it. So every such line is also reported,
//!   with the `key = value` form that both read alike.
//! * A line without `=` (Debian's radicale.ini has one) is, to uWSGI, an
//!   option named after the whole line with an empty value. Unknown option
//!   names are ignored by uWSGI, so such a line has no effect unless it is a
//!   real option name: a bare `uid` line really sets an empty uid and uWSGI
//!   then fails with "user  not found". This reader leaves such lines out
//!   of the options (the SPEC's rule) and reports each one.
//! * `%(name)` references, `@(file)` and the magic variables (`%n`, `%d`…)
//!   are left as they are.
//!
//! Bytes that are not UTF-8 are replaced (lossy), never refused.

use super::{ConfigOptions, Diagnostic};

const SECTION: &[u8] = b"uwsgi";

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\r'
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_blank(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_blank(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Shown in diagnostics: the line as uWSGI sees it, control characters
/// replaced, cut short if long.
fn shown(b: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(b)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// Parse the bytes of an INI file into the options of its `[uwsgi]`
/// sections.
pub fn parse(bytes: &[u8]) -> ConfigOptions {
    parse_section(bytes, SECTION)
}

/// Parse the options of the sections named `section`: what uWSGI reads for
/// `ini = FILE:SECTION` (an include may name another section than
/// `uwsgi`).
pub fn parse_section(bytes: &[u8], section: &[u8]) -> ConfigOptions {
    let mut out = ConfigOptions::default();
    let mut in_uwsgi = false;
    let mut saw_uwsgi = false;
    let mut segments = bytes.split(|&b| b == b'\n').peekable();
    let mut number = 0;
    while let Some(raw) = segments.next() {
        number += 1;
        // `split` yields an empty piece after a final newline; it is not a
        // line of the file.
        if raw.is_empty() && segments.peek().is_none() {
            break;
        }
        let raw = raw.split(|&b| b == 0).next().unwrap_or_default();
        let line = trim(raw);
        match line.first() {
            None => {}
            Some(b'[') => {
                let name = &line[1..line.len().saturating_sub(1).max(1)];
                in_uwsgi = name == section;
                if in_uwsgi {
                    saw_uwsgi = true;
                }
                if line.last() != Some(&b']') || line.len() < 2 {
                    out.note(Diagnostic::at(
                        number,
                        format!(
                            "section header \"{}\" does not end with \"]\"; \
                             uWSGI reads it as section \"{}\"",
                            shown(line),
                            shown(name)
                        ),
                    ));
                } else if !in_uwsgi && trim(name).eq_ignore_ascii_case(section) {
                    out.note(Diagnostic::at(
                        number,
                        format!(
                            "section \"{}\" is not \"[{}]\" (uWSGI compares the name \
                             exactly), so uWSGI ignores the options in it",
                            shown(line),
                            shown(section)
                        ),
                    ));
                }
            }
            Some(b';') | Some(b'#') => {}
            Some(_) if !in_uwsgi => {}
            Some(_) => match line.iter().position(|&b| b == b'=') {
                None => match line.iter().position(|&b| b == b':') {
                    Some(c) if c > 0 && !trim(&line[..c]).is_empty() => {
                        let (key, value) = (trim(&line[..c]), trim(&line[c + 1..]));
                        out.push(text(key), text(value));
                        out.note(Diagnostic::at(
                            number,
                            format!(
                                "\"{}\" uses \":\", which uWSGI 2.0 does not read as a \
                                 separator (it ignores the line); write \"{} = {}\"",
                                shown(line),
                                shown(key),
                                shown(value)
                            ),
                        ));
                    }
                    _ => out.note(Diagnostic::at(
                        number,
                        format!("\"{}\" has no \"=\" and is ignored", shown(line)),
                    )),
                },
                Some(eq) => {
                    let key = trim(&line[..eq]);
                    let value = trim(&line[eq + 1..]);
                    if key.is_empty() {
                        out.note(Diagnostic::at(
                            number,
                            format!("\"{}\" has no option name and is ignored", shown(line)),
                        ));
                    } else {
                        out.push(text(key), text(value));
                    }
                }
            },
        }
    }
    if !saw_uwsgi {
        out.section_missing = true;
        out.note(Diagnostic::file(format!(
            "there is no [{}] section, so uWSGI reads no option from this file",
            shown(section)
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(text: &str) -> Vec<(String, String)> {
        parse(text.as_bytes()).options
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // In the style of the uWSGI configs Debian packages ship for Radicale.
    const RADICALE: &str = "\
[uwsgi]
# Let the init script place the socket; run as the radicale user.
plugins = python3
uid = radicale
gid = radicale
umask 027
; the application
module = radicale
env = RADICALE_CONFIG=/etc/radicale/config
env = HOME=/var/lib/radicale
socket = /run/uwsgi/app/radicale/socket
chmod-socket = 660
chown-socket = radicale:www-data
";

    // In the style of SearXNG's uWSGI config.
    const SEARX: &str = "\
# SearXNG under uWSGI

[uwsgi]
uid = searxng
gid = searxng

# Number of workers (usually CPU count)
workers = %k
threads = 4

# The right granted on the created socket
chmod-socket = 666

single-interpreter = true
master = true
plugin = python3
lazy-apps = true
enable-threads = true

module = searx.webapp
virtualenv = /usr/local/searxng/searx-pyenv
pythonpath = /usr/local/searxng/searxng-src
chdir = /usr/local/searxng/searxng-src/searx

env = LANG=C.UTF-8
env = LANGUAGE=C.UTF-8
env = LC_ALL=C.UTF-8

if-not-exists = /etc/searxng/limiter.toml
  exec-as-root = touch /etc/searxng/limiter.toml
endif =

buffer-size = 8192
disable-logging = true
static-map = /static=/usr/local/searxng/searxng-src/searx/static
static-expires = /* 86400
static-gzip-all = True
offload-threads = %k

[searx]
uid = root
";

    #[test]
    fn radicale_style() {
        let o = parse(RADICALE.as_bytes());
        assert_eq!(o.first("uid"), Some("radicale"));
        assert_eq!(o.first("gid"), Some("radicale"));
        assert_eq!(
            o.all("env").collect::<Vec<_>>(),
            [
                "RADICALE_CONFIG=/etc/radicale/config",
                "HOME=/var/lib/radicale"
            ]
        );
        assert_eq!(o.first("chown-socket"), Some("radicale:www-data"));
        assert_eq!(o.first("umask 027"), None);
        assert_eq!(o.options.len(), 9);
        assert_eq!(o.diagnostics.len(), 1);
        assert_eq!(o.diagnostics[0].line, Some(6));
        assert_eq!(
            o.diagnostics[0].to_string(),
            "line 6: \"umask 027\" has no \"=\" and is ignored"
        );
    }

    #[test]
    fn searx_style() {
        let o = parse(SEARX.as_bytes());
        assert!(o.diagnostics.is_empty(), "{:?}", o.diagnostics);
        assert_eq!(o.all("uid").collect::<Vec<_>>(), ["searxng"]);
        assert_eq!(o.first("workers"), Some("%k"));
        assert_eq!(o.all("env").count(), 3);
        assert_eq!(o.first("if-not-exists"), Some("/etc/searxng/limiter.toml"));
        assert_eq!(
            o.first("exec-as-root"),
            Some("touch /etc/searxng/limiter.toml")
        );
        assert_eq!(o.first("endif"), Some(""));
        assert_eq!(o.first("static-expires"), Some("/* 86400"));
        // Order is the file's order.
        let keys: Vec<_> = o.options.iter().map(|(k, _)| k.as_str()).collect();
        let pos = |k| keys.iter().position(|x| *x == k).unwrap();
        assert!(pos("if-not-exists") < pos("exec-as-root"));
        assert!(pos("exec-as-root") < pos("endif"));
    }

    #[test]
    fn only_uwsgi_sections_count_and_they_may_reopen() {
        let o =
            opts("uid = before\n[other]\nuid = 1\n[uwsgi]\na = 1\n[x]\nb = 2\n[uwsgi]\nc = 3\n");
        assert_eq!(o, pairs(&[("a", "1"), ("c", "3")]));
    }

    #[test]
    fn separators_whitespace_and_comments() {
        let o = opts(
            "[uwsgi]\n  key=value  \n\tk2 =\tv = w\t\nempty =\n; c\n  # c\nchdir = /x # not a comment\n",
        );
        assert_eq!(
            o,
            pairs(&[
                ("key", "value"),
                ("k2", "v = w"),
                ("empty", ""),
                ("chdir", "/x # not a comment"),
            ])
        );
    }

    #[test]
    fn colon_is_read_as_a_separator_and_reported() {
        let o = parse(b"[uwsgi]\nuid: www-data\nsocket = 127.0.0.1:8000\n: x\n");
        assert_eq!(
            o.options,
            pairs(&[("uid", "www-data"), ("socket", "127.0.0.1:8000")])
        );
        assert_eq!(o.diagnostics.len(), 2);
        let d = o.diagnostics[0].to_string();
        assert!(d.starts_with("line 2: \"uid: www-data\" uses \":\""), "{d}");
        assert!(d.contains("write \"uid = www-data\""), "{d}");
        assert!(o.diagnostics[1].to_string().contains("has no \"=\""));
    }

    #[test]
    fn crlf_no_final_newline_nul_and_bad_utf8() {
        let o = opts("[uwsgi]\r\nuid = a\r\ngid = b");
        assert_eq!(o, pairs(&[("uid", "a"), ("gid", "b")]));
        let o = parse(b"[uwsgi]\nname = caf\xe9\nuid = x\0junk\n");
        assert_eq!(o.options, pairs(&[("name", "caf\u{fffd}"), ("uid", "x")]));
    }

    #[test]
    fn placeholders_are_left_alone() {
        let o = opts("[uwsgi]\nbase = /srv\nchdir = %(base)/app\nlogto = %(deb-confname).log\n");
        assert_eq!(o[1].1, "%(base)/app");
        assert_eq!(o[2].1, "%(deb-confname).log");
    }

    #[test]
    fn odd_section_headers() {
        let o = parse(b"[uwsgi\nuid = a\n[ uwsgi ]\nuid = b\n[UWSGI]\nuid = c\n[\nuid = d\n");
        assert!(o.options.is_empty(), "{:?}", o.options);
        let lines: Vec<_> = o.diagnostics.iter().map(|d| d.line).collect();
        assert_eq!(lines, [Some(1), Some(3), Some(5), Some(7), None]);
        assert!(o.diagnostics[0].message.contains("section \"uwsg\""));
        assert!(o.diagnostics[4].message.contains("no [uwsgi] section"));
    }

    #[test]
    fn an_empty_key_is_reported() {
        let o = parse(b"[uwsgi]\n= x\n");
        assert!(o.options.is_empty());
        assert_eq!(o.diagnostics.len(), 1);
    }

    #[test]
    fn never_panics_on_any_bytes() {
        use proptest::prelude::*;
        proptest!(|(data in proptest::collection::vec(any::<u8>(), 0..512))| {
            let _ = parse(&data);
        });
        // And on a few hand-picked ones.
        for b in [
            &b""[..],
            b"[",
            b"[]",
            b"=",
            b"\n\n",
            b"[uwsgi]\n=",
            b"\r",
            b"[uwsgi]\n\0=\0",
        ] {
            let _ = parse(b);
        }
    }
}
