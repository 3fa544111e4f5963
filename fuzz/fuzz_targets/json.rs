//! The json reader on any bytes: options or a parse error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_apps::config::json;

fuzz_target!(|data: &[u8]| {
    if let Ok(opts) = json::parse(data) {
        let _ = opts.last("uid");
    }
});
