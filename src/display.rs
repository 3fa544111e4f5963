//! How names and paths are shown: to people (sanitised, quoted when they
//! hold white space) and in JSON.
//!
//! The bottom of the program: errors, names and every face print through
//! these, so it imports nothing of the crate.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Whether a character is shown as `?`: the C0 and C1 controls and DEL
/// (which move the cursor, clear the screen or end a line, and so could
/// forge output), and the Unicode bidirectional controls (which make a
/// terminal show the text around them in another order than it is).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// The text of a name or path for people: every unsafe character
/// (`is_unsafe`) and every byte that is not part of valid UTF-8 becomes one
/// `?`, the same mark for both, so that neither a control character nor a
/// stray byte reaches the terminal (`ls -q` does the same).
pub fn sanitize(s: &OsStr) -> Cow<'_, str> {
    match s.to_str() {
        Some(text) if !text.chars().any(is_unsafe) => Cow::Borrowed(text),
        _ => Cow::Owned(decode(s, '?', |c| if is_unsafe(c) { '?' } else { c })),
    }
}

/// Whether `sanitize` shows `s` exactly as it is (valid UTF-8, nothing
/// unsafe in it).
pub fn shows_as_is(s: &OsStr) -> bool {
    s.to_str().is_some_and(|text| !text.chars().any(is_unsafe))
}

/// A name or path as a JSON string. JSON escapes control characters itself,
/// so they are kept exactly; bytes that are not UTF-8 cannot be carried at
/// all and each becomes U+FFFD, the one lossy rule of every JSON document
/// this program prints (one mark per byte, as `sanitize` does for text).
pub fn json_text(s: &OsStr) -> String {
    match s.to_str() {
        Some(text) => text.to_owned(),
        None => decode(s, char::REPLACEMENT_CHARACTER, |c| c),
    }
}

/// Decode `s` as UTF-8, writing `invalid` for each byte that is not part of
/// a valid sequence and `map(c)` for each character.
fn decode(s: &OsStr, invalid: char, map: impl Fn(char) -> char) -> String {
    let mut out = String::with_capacity(s.len());
    for chunk in s.as_bytes().utf8_chunks() {
        out.extend(chunk.valid().chars().map(&map));
        out.extend(std::iter::repeat(invalid).take(chunk.invalid().len()));
    }
    out
}

/// How a name is shown to people: sanitised, and in single quotes when it
/// holds white space so that the reader sees where it begins and ends (the
/// way Debian's init script shows such names).
pub fn display_name(name: &OsStr) -> String {
    let clean = sanitize(name);
    if clean.chars().any(char::is_whitespace) {
        format!("'{clean}'")
    } else {
        clean.into_owned()
    }
}

/// How a path is shown in messages: sanitised, never quoted (paths in error
/// messages follow `cannot … PATH:` and are unambiguous up to the colon).
pub fn display_path(path: &Path) -> String {
    sanitize(path.as_os_str()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn display_never_shows_control_characters() {
        assert_eq!(display_name(os("plain")), "plain");
        assert_eq!(display_name(os("my app")), "'my app'");
        assert_eq!(display_name(os("a\nb")), "a?b");
        assert_eq!(display_name(os("a\x1b[2Jb")), "a?[2Jb");
        assert_eq!(display_name(os("a\u{7f}\u{9b}b")), "a??b");
        assert_eq!(display_name(os("süß")), "süß");
        // A right-to-left override makes a terminal show what follows it
        // backwards.
        assert_eq!(display_name(os("a\u{202e}b\u{2066}c")), "a?b?c");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_marked_like_control_characters() {
        let not_utf8 = OsStr::from_bytes(b"a\xffb");
        assert_eq!(display_name(not_utf8), "a?b");
        // One mark per byte, whatever the decoder would group.
        assert_eq!(display_name(OsStr::from_bytes(b"\xff\xfe")), "??");
        assert_eq!(display_name(OsStr::from_bytes(b"x\xe2\x82")), "x??");
        assert_eq!(
            display_name(OsStr::from_bytes(b"\xff\x01\xe2\x82\xac")),
            "??€"
        );
        assert_eq!(
            display_path(Path::new(OsStr::from_bytes(b"/etc/caf\xe9 \x1b.ini"))),
            "/etc/caf? ?.ini"
        );
        assert!(matches!(sanitize(os("plain")), Cow::Borrowed("plain")));
        assert!(shows_as_is(os("süß")));
        assert!(!shows_as_is(os("a\tb")));
        assert!(!shows_as_is(OsStr::from_bytes(b"caf\xe9")));
    }

    #[test]
    fn json_keeps_what_json_can_carry() {
        assert_eq!(json_text(os("a\nb\u{1b}")), "a\nb\u{1b}");
        assert_eq!(json_text(os("süß")), "süß");
        assert_eq!(json_text(OsStr::from_bytes(b"caf\xe9")), "caf\u{fffd}");
        assert_eq!(
            json_text(OsStr::from_bytes(b"x\xe2\x82y")),
            "x\u{fffd}\u{fffd}y"
        );
    }
}
