//! JSON configs (`.json`, `.js`), read the way uWSGI 2.0 reads them
//! (core/json.c, with jansson).
//!
//! The document must be an object with an object member `uwsgi`; each of
//! its members is an option: a string as it is, `true` as `1`, `false` and
//! `null` as `0`, an integer in decimal, an array as the option repeated
//! once per element (with the same conversions). uWSGI silently skips
//! floating-point numbers, objects, and arrays inside arrays; this reader
//! skips them too and reports each one.
//!
//! Deviation: the options come out in the order of their keys sorted, not
//! in the file's order (serde_json's map is sorted without its
//! `preserve_order` feature). Within one key the order of an array is kept,
//! and a key that appears twice keeps its last value, as in jansson.
//!
//! Note: Debian's uwsgi-core 2.0.21 is built without jansson: it accepts
//! `--json FILE` and then loads no option from it at all.

use serde_json::Value;

use super::{ConfigOptions, Diagnostic};

/// The text uWSGI gives a scalar, or `None` for what it skips.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(true) => Some("1".to_owned()),
        Value::Bool(false) | Value::Null => Some("0".to_owned()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Number(_) => "a floating-point number",
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        _ => "a value",
    }
}

/// Parse a JSON config. An error is a sentence saying why uWSGI would
/// refuse the file too.
pub fn parse(bytes: &[u8]) -> Result<ConfigOptions, String> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let Some(config) = root.get("uwsgi") else {
        return Err("there is no object named \"uwsgi\" at the top of this JSON file".to_owned());
    };
    let Value::Object(config) = config else {
        return Err("\"uwsgi\" in this JSON file is not an object".to_owned());
    };
    let mut out = ConfigOptions::default();
    for (key, value) in config {
        match value {
            Value::Array(items) => {
                for item in items {
                    match scalar(item) {
                        Some(v) => out.push(key.clone(), v),
                        None => out.note(Diagnostic::file(format!(
                            "an element of option \"{key}\" is {}, which uWSGI skips",
                            kind(item)
                        ))),
                    }
                }
            }
            other => match scalar(other) {
                Some(v) => out.push(key.clone(), v),
                None => out.note(Diagnostic::file(format!(
                    "option \"{key}\" is {}, which uWSGI skips",
                    kind(other)
                ))),
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_arrays_and_skipped_values() {
        let o = parse(
            br#"{"other": {"uid": "x"},
                "uwsgi": {"uid": "www-data", "env": ["A=1", "B=2", 3, true, null, 1.5, ["n"]],
                          "processes": 2, "master": true, "vacuum": false, "harakiri": null,
                          "ratio": 0.5, "nested": {"a": 1}, "socket": "/run/x.sock"}}"#,
        )
        .unwrap();
        assert_eq!(o.first("uid"), Some("www-data"));
        assert_eq!(
            o.all("env").collect::<Vec<_>>(),
            ["A=1", "B=2", "3", "1", "0"]
        );
        assert_eq!(o.first("processes"), Some("2"));
        assert_eq!(o.first("master"), Some("1"));
        assert_eq!(o.first("vacuum"), Some("0"));
        assert_eq!(o.first("harakiri"), Some("0"));
        assert_eq!(o.first("ratio"), None);
        assert_eq!(o.first("nested"), None);
        assert_eq!(o.first("socket"), Some("/run/x.sock"));
        assert_eq!(o.diagnostics.len(), 4, "{:?}", o.diagnostics);
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let o = parse(br#"{"uwsgi": {"uid": "a", "uid": "b"}}"#).unwrap();
        assert_eq!(o.all("uid").collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn files_uwsgi_refuses() {
        for bad in [
            &br#"{"uwsgi": "#[..],
            br#"[1, 2]"#,
            br#"{"uWSGI": {}}"#,
            br#"{"uwsgi": [1]}"#,
            b"",
            b"\xff\xfe",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let e = parse(br#"{"app": {}}"#).unwrap_err();
        assert!(e.contains("no object named \"uwsgi\""), "{e}");
    }
}
