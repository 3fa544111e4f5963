//! Names and confspecs as typed on a command line or found on disk:
//! any bytes. Nothing may panic; an accepted confspec must never hold a
//! path separator, and what is shown never a control character.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use libfuzzer_sys::fuzz_target;
use uwsgi_apps::display::{display_name, sanitize};
use uwsgi_apps::name::{validate_name, Confspec, Format, Namespace};

fuzz_target!(|data: &[u8]| {
    let s = OsStr::from_bytes(data);
    if let Ok(c) = Confspec::parse(s) {
        assert!(!c.name.as_bytes().contains(&b'/'));
        assert!(c.name != "." && c.name != ".." && !c.name.is_empty());
        assert!(!c.to_string().chars().any(char::is_control));
    }
    let _ = validate_name(s);
    let _ = Namespace::from_dir_name(s);
    if let Some((confname, _)) = Format::split_file_name(s) {
        assert!(!confname.is_empty());
    }
    assert!(!sanitize(s).chars().any(char::is_control));
    assert!(!display_name(s).chars().any(char::is_control));
});
