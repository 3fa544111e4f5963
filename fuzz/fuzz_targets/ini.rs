//! uWSGI's INI dialect: any bytes. The reader never refuses a file (uWSGI
//! does not), so every input must give options and diagnostics, never a
//! panic; every diagnostic line number must be a line of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_apps::config::ini;

fuzz_target!(|data: &[u8]| {
    let opts = ini::parse(data);
    let lines = data.split(|&b| b == b'\n').count();
    for d in &opts.diagnostics {
        if let Some(n) = d.line {
            assert!(n >= 1 && n <= lines, "line {n} of {lines}");
        }
    }
    let _ = opts.first("uid");
    let _ = opts.last("gid");
});
