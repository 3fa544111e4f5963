//! The SQLite uid/gid reader on any file content: the bytes are written to
//! a scratch file and read back as a database, since that is how a config
//! reaches the reader. A database that is not one, or lacks the `uwsgi`
//! table, is an error, never a panic; `run_as` on it never fails for the
//! content (an unreadable config counts as not setting uid/gid).
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use uwsgi_apps::config::{self, sqlite};
use uwsgi_apps::name::Format;

fuzz_target!(|data: &[u8]| {
    let Ok((path, mut file)) = tempfile_in_tmp() else { return };
    if file.write_all(data).is_err() {
        let _ = std::fs::remove_file(&path);
        return;
    }
    drop(file);
    let _ = sqlite::read(&path);
    if let Ok(run_as) = config::run_as(&path, Format::Sqlite, None) {
        let _ = run_as.uid;
    }
    let _ = std::fs::remove_file(&path);
});

/// A fresh file in the fuzzer's scratch space (no extra dependency).
fn tempfile_in_tmp() -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("uwsgi-apps-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("c{}.sqlite", N.fetch_add(1, Ordering::Relaxed)));
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}
