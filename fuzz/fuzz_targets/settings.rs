//! /etc/default/uwsgi is read, not executed: any text gives settings and
//! warnings (sentences without control characters), never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use uwsgi_apps::layout::Layout;
use uwsgi_apps::settings::Settings;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let layout = Layout::new("/r", "/usr/bin/uwsgi");
    let (settings, warnings) = Settings::parse(&text, Path::new("/r/etc/default/uwsgi"), &layout);
    for w in &warnings {
        assert!(!w.chars().any(char::is_control), "{w:?}");
    }
    if let Some(p) = settings.inherited_config {
        // INHERITED_CONFIG is taken inside the root.
        assert!(p.starts_with("/r"), "{p:?}");
    }
});
