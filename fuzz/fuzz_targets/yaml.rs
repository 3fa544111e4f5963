//! The YAML reader (uWSGI's own token walk, never refusing a file) on any
//! bytes: options and diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_apps::config::yaml;

fuzz_target!(|data: &[u8]| {
    let opts = yaml::parse(data);
    let _ = opts.last("uid");
});
