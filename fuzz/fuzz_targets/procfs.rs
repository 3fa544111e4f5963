//! The small parsers of doctor: /proc/PID/status text, a NUL-separated
//! command line, pidfile contents (written by whoever controls the runtime
//! directory, so hostile), `chmod-socket` values, and socket paths with
//! Debian's placeholders.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use libfuzzer_sys::fuzz_target;
use uwsgi_apps::doctor::{procfs, sockets};
use uwsgi_apps::process::pidfile;
use uwsgi_apps::name::Confspec;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = procfs::parse_status(&text);
    let args = procfs::split_cmdline(data);
    let _ = procfs::config_argument(&args);
    if let Some(pid) = pidfile::parse(data).pid() {
        assert!(pid > 0);
    }
    if let Some(mode) = sockets::wanted_mode(&text) {
        assert!(mode <= 0o7777);
    }
    // Split the input into a confspec and a socket value.
    let cut = data.iter().position(|&b| b == b'|').unwrap_or(data.len());
    if let Ok(spec) = Confspec::parse(OsStr::from_bytes(&data[..cut])) {
        let value = String::from_utf8_lossy(data.get(cut + 1..).unwrap_or_default());
        if let Some(path) = sockets::expand(&value, &spec) {
            assert!(!path.contains('%'));
        }
    }
});
