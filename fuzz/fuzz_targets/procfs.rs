//! What doctor reads from /proc and from pidfiles: /proc/PID/status text,
//! a NUL-separated command line, and pidfile contents. A pidfile is
//! written by whoever controls the runtime directory, so it is hostile
//! input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_apps::doctor::{procfs, runtime};

fuzz_target!(|data: &[u8]| {
    let _ = procfs::parse_status(&String::from_utf8_lossy(data));
    let args = procfs::split_cmdline(data);
    let _ = procfs::config_argument(&args);
    if let Some(pid) = runtime::parse_pid(data) {
        assert!(pid > 0);
    }
});
