//! YAML configs (`.yaml`, `.yml`): a small line reader for the subset of
//! YAML that uWSGI configs use, not a YAML library.
//!
//! Debian's uwsgi-core reads YAML with libyaml's scanner and walks its
//! tokens (core/yaml.c, `UWSGI_LIBYAML`). What that does, checked with
//! uWSGI 2.0.21 `--show-config`, and how this reader follows it:
//!
//! * The options are the mapping under the first key `uwsgi:` that opens a
//!   block (its lines are indented more than the key). Reading stops where
//!   that block ends; everything else in the file is ignored.
//! * `key: value` is an option. Values are taken as text, never typed
//!   (`yes` stays `yes`): plain values are trimmed and end at a ` #`
//!   comment; `'single'` and `"double"` quoted values are unquoted (`''`
//!   and the usual backslash escapes). A key with no value (`master:`) sets
//!   nothing, as in uWSGI.
//! * Lists repeat the option: a block list (`env:` followed by `- A=1`
//!   lines, indented or not) or a flow list (`env: [A=1, "B=2"]`).
//! * Keys of a nested mapping (`foo:` then indented `bar: 1`) and of a flow
//!   mapping (`foo: {bar: 1}`) become options of their own, as in uWSGI.
//! * A tag, anchor or alias (`!!str`, `&a`, `*a`) as a value makes uWSGI
//!   stop reading the section there ("unsupported YAML token"); so does
//!   this reader, and it says so.
//!
//! Not supported, reported as diagnostics and skipped: block scalars
//! (`key: |`), plain or quoted values continued on the next line, lists of
//! mappings, and lines that are not YAML at all. libyaml refuses tabs used
//! for indentation and some malformed lines (uWSGI then does not start);
//! this reader is tolerant and reports them instead.
//!
//! Bytes that are not UTF-8 are replaced (lossy).

use super::{ConfigOptions, Diagnostic};

/// A `key: value` line split up; `value` is the raw rest of the line.
struct KeyLine {
    key: String,
    value: String,
}

/// A value as written after `key:`.
enum Value {
    Empty,
    Scalar(String),
    FlowList(Vec<String>),
    FlowMap(Vec<(String, String)>),
    /// A tag, anchor or alias: uWSGI stops reading there.
    Stop(char),
    /// A block scalar indicator: `|` or `>`.
    Block,
    Bad(String),
}

fn indentation(line: &str) -> (usize, bool) {
    let mut n = 0;
    let mut tab = false;
    for c in line.chars() {
        match c {
            ' ' => n += 1,
            '\t' => {
                n += 1;
                tab = true;
            }
            _ => break,
        }
    }
    (n, tab)
}

/// Parse a quoted scalar at the start of `s`; returns its text and the rest
/// of `s` after the closing quote.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let mut chars = s.char_indices();
    let Some((_, q)) = chars.next() else {
        return Err("empty value".into());
    };
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        if q == '\'' {
            if c == '\'' {
                if s[i + 1..].starts_with('\'') {
                    out.push('\'');
                    chars.next();
                    continue;
                }
                return Ok((out, &s[i + 1..]));
            }
            out.push(c);
        } else if c == '"' {
            return Ok((out, &s[i + 1..]));
        } else if c == '\\' {
            let Some((_, e)) = chars.next() else {
                break;
            };
            let hex = |n: usize, chars: &mut std::str::CharIndices<'_>| {
                let digits: String = chars.by_ref().take(n).map(|(_, c)| c).collect();
                u32::from_str_radix(&digits, 16)
                    .ok()
                    .filter(|_| digits.len() == n)
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("invalid escape \"\\{e}{digits}\""))
            };
            out.push(match e {
                '0' => '\0',
                'a' => '\x07',
                'b' => '\x08',
                't' | '\t' => '\t',
                'n' => '\n',
                'v' => '\x0b',
                'f' => '\x0c',
                'r' => '\r',
                'e' => '\x1b',
                ' ' => ' ',
                '"' => '"',
                '/' => '/',
                '\\' => '\\',
                'N' => '\u{85}',
                '_' => '\u{a0}',
                'L' => '\u{2028}',
                'P' => '\u{2029}',
                'x' => hex(2, &mut chars)?,
                'u' => hex(4, &mut chars)?,
                'U' => hex(8, &mut chars)?,
                other => return Err(format!("unknown escape \"\\{other}\"")),
            });
        } else {
            out.push(c);
        }
    }
    Err(format!(
        "the {} quote is not closed on this line (values continued on the next line are not \
         supported)",
        if q == '"' { "double" } else { "single" }
    ))
}

/// A plain scalar: up to a ` #` comment, trimmed.
fn plain(s: &str) -> String {
    let mut end = s.len();
    let mut prev_blank = true;
    for (i, c) in s.char_indices() {
        if c == '#' && prev_blank {
            end = i;
            break;
        }
        prev_blank = c == ' ' || c == '\t';
    }
    s[..end].trim_matches([' ', '\t']).to_owned()
}

/// Only white space or a comment may follow a quoted scalar or a flow
/// collection.
fn check_tail(tail: &str) -> Result<(), String> {
    let t = tail.trim_start_matches([' ', '\t']);
    if t.is_empty() || (t.starts_with('#') && t.len() < tail.len()) {
        Ok(())
    } else if t.starts_with('#') {
        Err("a comment must be separated from the value by a space".into())
    } else {
        Err(format!("unexpected text after the value: \"{t}\""))
    }
}

/// A scalar inside a flow collection: quoted, or plain up to `,` or the
/// closing bracket. Returns it and the rest.
fn flow_scalar(s: &str, close: char) -> Result<(String, &str), String> {
    let s = s.trim_start_matches([' ', '\t']);
    if s.starts_with(['\'', '"']) {
        let (v, rest) = quoted(s)?;
        return Ok((v, rest.trim_start_matches([' ', '\t'])));
    }
    let end = s
        .find(|c| c == ',' || c == close || (close == '}' && c == ':'))
        .unwrap_or(s.len());
    Ok((s[..end].trim_matches([' ', '\t']).to_owned(), &s[end..]))
}

/// `[a, 'b', "c"]` (one line). Nested collections are not supported.
fn flow_list(s: &str) -> Result<Vec<String>, String> {
    let mut rest = &s[1..];
    let mut items = Vec::new();
    loop {
        let t = rest.trim_start_matches([' ', '\t']);
        if let Some(after) = t.strip_prefix(']') {
            check_tail(after)?;
            return Ok(items);
        }
        if t.starts_with(['[', '{']) {
            return Err("nested collections are not supported".into());
        }
        let (item, after) = flow_scalar(t, ']')?;
        items.push(item);
        match after.chars().next() {
            Some(',') => rest = &after[1..],
            Some(']') => rest = after,
            _ => return Err("the list is not closed with \"]\" on this line".into()),
        }
    }
}

/// `{a: 1, b: "2"}` (one line).
fn flow_map(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut rest = &s[1..];
    let mut pairs = Vec::new();
    loop {
        let t = rest.trim_start_matches([' ', '\t']);
        if let Some(after) = t.strip_prefix('}') {
            check_tail(after)?;
            return Ok(pairs);
        }
        let (key, after) = flow_scalar(t, '}')?;
        let Some(after) = after.strip_prefix(':') else {
            return Err("a flow mapping entry without \":\"".into());
        };
        if after
            .trim_start_matches([' ', '\t'])
            .starts_with(['[', '{'])
        {
            return Err("nested collections are not supported".into());
        }
        let (value, after) = flow_scalar(after, '}')?;
        pairs.push((key, value));
        match after.chars().next() {
            Some(',') => rest = &after[1..],
            Some('}') => rest = after,
            _ => return Err("the mapping is not closed with \"}\" on this line".into()),
        }
    }
}

fn value(raw: &str) -> Value {
    let s = raw.trim_start_matches([' ', '\t']);
    match s.chars().next() {
        None | Some('#') => Value::Empty,
        Some(c @ ('!' | '&' | '*')) => Value::Stop(c),
        Some('|' | '>') => Value::Block,
        Some('\'' | '"') => match quoted(s).and_then(|(v, tail)| check_tail(tail).map(|_| v)) {
            Ok(v) => Value::Scalar(v),
            Err(e) => Value::Bad(e),
        },
        Some('[') => flow_list(s).map_or_else(Value::Bad, Value::FlowList),
        Some('{') => flow_map(s).map_or_else(Value::Bad, Value::FlowMap),
        Some(_) => Value::Scalar(plain(s)),
    }
}

/// Split `key: value` (the line without its indentation). The key may be
/// quoted; a plain key ends at the first `: ` (or a final `:`).
fn key_line(content: &str) -> Option<KeyLine> {
    let (key, rest) = if content.starts_with(['\'', '"']) {
        let (k, rest) = quoted(content).ok()?;
        (k, rest.trim_start_matches([' ', '\t']).strip_prefix(':')?)
    } else {
        let b = content.as_bytes();
        let colon = (0..b.len()).find(|&i| {
            b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' ' || b[i + 1] == b'\t')
        })?;
        let key = content[..colon].trim_end_matches([' ', '\t']);
        if key.is_empty() || key.contains(" #") {
            return None;
        }
        (key.to_owned(), &content[colon + 1..])
    };
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some(KeyLine {
        key,
        value: rest.to_owned(),
    })
}

/// Parse a YAML config into the options of its `uwsgi:` block.
pub fn parse(bytes: &[u8]) -> ConfigOptions {
    let text = String::from_utf8_lossy(bytes);
    let mut out = ConfigOptions::default();
    // Indentation of the `uwsgi:` key, once found.
    let mut section: Option<usize> = None;
    // A key whose value is a block below it (a list, or a nested mapping).
    let mut open_key: Option<String> = None;
    // Skip lines indented deeper than this (the body of a block scalar).
    let mut skip_deeper: Option<usize> = None;
    let mut found = false;
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let (indent, tab) = indentation(line);
        let content = &line[line.len() - line.trim_start_matches([' ', '\t']).len()..];
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(limit) = skip_deeper {
            if indent > limit {
                continue;
            }
            skip_deeper = None;
        }
        let Some(base) = section else {
            if let Some(kl) = key_line(content) {
                if kl.key == "uwsgi" && matches!(value(&kl.value), Value::Empty) {
                    section = Some(indent);
                    found = true;
                } else if kl.key == "uwsgi" {
                    out.note(Diagnostic::at(
                        number,
                        "\"uwsgi\" is not followed by an indented block of options, so \
                         uWSGI does not read it",
                    ));
                }
            }
            continue;
        };
        if indent <= base {
            // The end of the uwsgi block: uWSGI stops reading here.
            break;
        }
        if tab {
            out.note(Diagnostic::at(
                number,
                "a tab in the indentation: uWSGI's YAML parser refuses this file",
            ));
        }
        if let Some(item) = content
            .strip_prefix('-')
            .filter(|r| r.is_empty() || r.starts_with([' ', '\t']))
        {
            let Some(key) = &open_key else {
                out.note(Diagnostic::at(
                    number,
                    "a list element that belongs to no option is ignored",
                ));
                continue;
            };
            match value(item) {
                Value::Scalar(v) => out.push(key.clone(), v),
                Value::Empty => {}
                Value::Stop(c) => {
                    out.note(stop(number, c));
                    return out;
                }
                _ => out.note(Diagnostic::at(
                    number,
                    format!(
                        "this element of \"{key}\" is not a plain or quoted value, which \
                         this reader does not support; it is ignored"
                    ),
                )),
            }
            continue;
        }
        let Some(kl) = key_line(content) else {
            out.note(Diagnostic::at(
                number,
                "a line that is not \"key: value\" is ignored (uWSGI's YAML parser may refuse \
                 it)",
            ));
            continue;
        };
        open_key = None;
        match value(&kl.value) {
            Value::Empty => open_key = Some(kl.key),
            Value::Scalar(v) => out.push(kl.key, v),
            Value::FlowList(items) => {
                for v in items {
                    out.push(kl.key.clone(), v);
                }
            }
            Value::FlowMap(pairs) => {
                for (k, v) in pairs {
                    out.push(k, v);
                }
            }
            Value::Stop(c) => {
                out.note(stop(number, c));
                return out;
            }
            Value::Block => {
                out.note(Diagnostic::at(
                    number,
                    format!(
                        "block scalars (\"|\", \">\") are not supported by this reader; \
                         option \"{}\" is ignored",
                        kl.key
                    ),
                ));
                skip_deeper = Some(indent);
            }
            Value::Bad(why) => out.note(Diagnostic::at(
                number,
                format!("option \"{}\" is ignored: {why}", kl.key),
            )),
        }
    }
    if !found {
        out.section_missing = true;
        out.note(Diagnostic::file(
            "there is no \"uwsgi:\" block, so uWSGI reads no option from this file",
        ));
    }
    out
}

fn stop(number: usize, c: char) -> Diagnostic {
    let what = match c {
        '!' => "a tag",
        '&' => "an anchor",
        _ => "an alias",
    };
    Diagnostic::at(
        number,
        format!("{what} (\"{c}\"): uWSGI stops reading its options here, and so does this reader"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn opts(s: &str) -> Vec<(String, String)> {
        parse(s.as_bytes()).options
    }

    #[test]
    fn the_uwsgi_block_with_lists_and_comments() {
        // Checked against uWSGI 2.0.21 --show-config.
        let o = parse(
            b"# comment\nother:\n  uid: 1\nuwsgi:\n  gid: \"www-data\"   # trailing comment\n  \
              env:\n    - A=1\n    - B=2\n  uid: 33\n  master:\n  socket: :8000 # c\n\
              after:\n  uid: 2\n",
        );
        assert_eq!(
            o.options,
            pairs(&[
                ("gid", "www-data"),
                ("env", "A=1"),
                ("env", "B=2"),
                ("uid", "33"),
                ("socket", ":8000"),
            ])
        );
        assert!(o.diagnostics.is_empty(), "{:?}", o.diagnostics);
    }

    #[test]
    fn indentless_and_flow_lists() {
        assert_eq!(
            opts("uwsgi:\n  env:\n  - A=1\n  - 'B=2'\n  uid: 33\n"),
            pairs(&[("env", "A=1"), ("env", "B=2"), ("uid", "33")])
        );
        assert_eq!(
            opts("uwsgi:\n  env: [A=1, 'B=2', \"C=3\"]\n  uid: 33\n"),
            pairs(&[
                ("env", "A=1"),
                ("env", "B=2"),
                ("env", "C=3"),
                ("uid", "33")
            ])
        );
    }

    #[test]
    fn nested_and_flow_mappings_give_their_keys() {
        // uWSGI 2.0.21: `inner = 1`, `k = v`.
        assert_eq!(
            opts(
                "---\nuwsgi:\n  uid: 'www-data'\n  hash: a#b\n  nested:\n    inner: 1\n  \
                 flow: {k: v}\n  after: yes\nother:\n  x: 1\n"
            ),
            pairs(&[
                ("uid", "www-data"),
                ("hash", "a#b"),
                ("inner", "1"),
                ("k", "v"),
                ("after", "yes"),
            ])
        );
    }

    #[test]
    fn a_tag_stops_the_reading() {
        let o = parse(b"uwsgi:\n  socket: :8000\n  uid: !!str 33\n  gid: 44\n");
        assert_eq!(o.options, pairs(&[("socket", ":8000")]));
        assert_eq!(o.diagnostics[0].line, Some(3));
    }

    #[test]
    fn quoting() {
        assert_eq!(
            opts("uwsgi:\n  a: 'it''s # here'\n  b: \"x\\ty\\\"z\\u00e9\"\n  c: it's # c\n  \"d\": 1\n  'e f': 2\n"),
            pairs(&[
                ("a", "it's # here"),
                ("b", "x\ty\"z\u{e9}"),
                ("c", "it's"),
                ("d", "1"),
                ("e f", "2"),
            ])
        );
    }

    #[test]
    fn unsupported_things_are_reported() {
        let o = parse(
            b"uwsgi:\n  a: |\n    line one\n    line two\n  b: 'open\n  c: 1\n  just text\n  \
              d: [x, [y]]\n",
        );
        assert_eq!(o.options, pairs(&[("c", "1")]));
        let lines: Vec<_> = o.diagnostics.iter().map(|d| d.line).collect();
        assert_eq!(lines, [Some(2), Some(5), Some(7), Some(8)]);
    }

    #[test]
    fn no_uwsgi_block() {
        let o = parse(b"app:\n  uid: 1\n");
        assert!(o.options.is_empty());
        assert_eq!(o.diagnostics.len(), 1);
        let o = parse(b"uwsgi: {uid: 1}\n");
        assert!(o.options.is_empty());
        assert_eq!(o.diagnostics.len(), 2);
    }

    #[test]
    fn crlf_tabs_and_bad_bytes() {
        let o = parse(b"uwsgi:\r\n  uid: 3\r\n\tgid: caf\xe9\r\n");
        assert_eq!(o.options, pairs(&[("uid", "3"), ("gid", "caf\u{fffd}")]));
        assert_eq!(o.diagnostics.len(), 1);
    }

    #[test]
    fn never_panics_on_any_bytes() {
        use proptest::prelude::*;
        proptest!(|(data in proptest::collection::vec(any::<u8>(), 0..512))| {
            let _ = parse(&data);
        });
        proptest!(|(s in "(uwsgi:\n|  |- |[a-z]+|: |['\"\\[\\]{},#!&*|>\\\\]|x|\n| )*")| {
            let _ = parse(s.as_bytes());
        });
    }
}
