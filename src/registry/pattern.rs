//! Matching a NAME from the command line against the apps on disk.
//!
//! A NAME is a confname (`site`), a file name (`site.ini`, extension in any
//! case), or a shell glob over either (`'search*'`, `'*.yaml'`). Globs are
//! matched with the C library's `fnmatch`, byte-wise like the shell, and,
//! like the shell, a `*` does not match a leading dot (so hidden files and
//! our own temporary links never match by accident). A pattern that happens
//! to contain glob characters still matches a file of exactly that name, as
//! the shell leaves a glob that matches nothing as it is.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;

use crate::name::Format;

#[derive(Debug, Clone)]
pub struct NamePattern<'a> {
    raw: &'a OsStr,
    /// `site.INI` → (`site`, Ini): a pattern that names its format.
    with_format: Option<(&'a OsStr, Format)>,
    glob: Option<CString>,
}

impl<'a> NamePattern<'a> {
    pub fn new(raw: &'a OsStr) -> NamePattern<'a> {
        let bytes = raw.as_bytes();
        let is_glob = bytes.iter().any(|b| matches!(b, b'*' | b'?' | b'['));
        NamePattern {
            raw,
            with_format: Format::split_file_name(raw),
            // A NUL cannot come from argv or a file name; if it ever did,
            // the pattern simply matches nothing as a glob.
            glob: if is_glob {
                CString::new(bytes).ok()
            } else {
                None
            },
        }
    }

    pub fn as_os_str(&self) -> &'a OsStr {
        self.raw
    }

    /// Does the pattern designate the app file `file_name` (confname
    /// `confname`, format `format`)?
    pub fn matches(&self, confname: &OsStr, file_name: &OsStr, format: Format) -> bool {
        if self.raw == confname || self.raw == file_name {
            return true;
        }
        if let Some((stem, f)) = self.with_format {
            if f == format && stem == confname && self.glob.is_none() {
                return true;
            }
        }
        match &self.glob {
            Some(glob) => fnmatch(glob, confname) || fnmatch(glob, file_name),
            None => false,
        }
    }

    /// Does the pattern designate a bare name (a state marker's file name)?
    pub fn matches_name(&self, name: &OsStr) -> bool {
        self.raw == name
            || self.with_format.is_some_and(|(stem, _)| stem == name)
            || self.glob.as_ref().is_some_and(|g| fnmatch(g, name))
    }
}

fn fnmatch(pattern: &CString, name: &OsStr) -> bool {
    let Ok(name) = CString::new(name.as_bytes()) else {
        return false;
    };
    // SAFETY: both pointers are valid NUL-terminated strings that outlive
    // the call; fnmatch only reads them.
    unsafe { libc::fnmatch(pattern.as_ptr(), name.as_ptr(), libc::FNM_PERIOD) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, file: &str) -> bool {
        let (confname, format) = Format::split_file_name(OsStr::new(file)).unwrap();
        NamePattern::new(OsStr::new(pattern)).matches(confname, OsStr::new(file), format)
    }

    #[test]
    fn names_with_and_without_extension() {
        assert!(m("site", "site.ini"));
        assert!(m("site.ini", "site.ini"));
        assert!(m("site.INI", "site.ini"));
        assert!(m("site.ini", "site.INI"));
        assert!(!m("site.yaml", "site.ini"));
        assert!(!m("sit", "site.ini"));
        assert!(!m("site.in", "site.ini"));
        assert!(m("my app", "my app.yaml"));
        assert!(m("süß", "süß.ini"));
    }

    #[test]
    fn globs_match_confnames_and_file_names() {
        assert!(m("sear*", "searx.ini"));
        assert!(!m("search*", "searx.ini"));
        assert!(m("*.yaml", "a.yaml"));
        assert!(!m("*.yaml", "a.ini"));
        assert!(m("s?te", "site.ini"));
        assert!(m("[st]ite", "site.ini"));
        assert!(!m("[!s]ite", "site.ini"));
        assert!(m("*", "x.db"));
        // Like the shell: '*' does not match a leading dot.
        assert!(!m("*", ".hidden.ini"));
        assert!(m(".h*", ".hidden.ini"));
        // A name that merely contains glob characters still matches itself.
        assert!(m("a[1]", "a[1].ini"));
        // `x*` is a glob, `x` is not.
        assert!(NamePattern::new(OsStr::new("x*")).matches_name(OsStr::new("xy")));
        assert!(!NamePattern::new(OsStr::new("x")).matches_name(OsStr::new("xy")));
    }

    #[test]
    fn bare_names() {
        let p = NamePattern::new(OsStr::new("x.ini"));
        assert!(p.matches_name(OsStr::new("x")));
        assert!(p.matches_name(OsStr::new("x.ini")));
        assert!(!p.matches_name(OsStr::new("y")));
        assert!(NamePattern::new(OsStr::new("x*")).matches_name(OsStr::new("xy")));
    }
}
