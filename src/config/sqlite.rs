//! SQLite configs (`.db`, `.sqlite`, `.sqlite3`), read the way uWSGI 2.0
//! reads them (core/sqlite3.c): `SELECT * FROM uwsgi`, the first column of
//! each row is the option and the second its value, as text.
//!
//! The database is opened read-only, after checking that it is a regular
//! file (SQLite would block opening a FIFO), with a short busy timeout so a
//! database locked by a writer cannot stall the front end. Rows whose option
//! or value is NULL are skipped (uWSGI would crash on them) and reported.
//! The result is bounded like the text formats: at most `MAX_ROWS` rows and
//! `MAX_CONFIG_SIZE` bytes of text.
//!
//! Any failure is an error; the SPEC asks callers to treat a database that
//! cannot be read as setting nothing, which `run_as` does.
//!
//! Note: Debian's uwsgi-core 2.0.21 is built without SQLite support: it
//! refuses `--sqlite` ("unrecognized option").

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

use super::{open_regular, ConfigOptions, Diagnostic, MAX_CONFIG_SIZE};
use crate::display::display_path;
use crate::error::{Error, Result};

/// How long to wait for a writer's lock before giving up.
const BUSY_TIMEOUT_MS: i64 = 2000;

/// Far more options than any configuration has.
pub const MAX_ROWS: usize = 100_000;

/// The text SQLite gives a value in `sqlite3_exec`, or `None` for NULL.
/// Text is a C string to uWSGI, so it ends at the first NUL byte.
fn as_text(v: ValueRef<'_>) -> Option<String> {
    let c_string = |b: &[u8]| {
        let b = b.split(|&c| c == 0).next().unwrap_or_default();
        String::from_utf8_lossy(b).into_owned()
    };
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        // SQLite prints a whole real with ".0" (`33.0`), others shortest.
        ValueRef::Real(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => {
            Some(format!("{f:.1}"))
        }
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) => Some(c_string(t)),
        ValueRef::Blob(b) => Some(c_string(b)),
    }
}

fn failed(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Failed(format!(
        "cannot read the SQLite configuration {}: {why}",
        display_path(path)
    ))
}

/// Read the options of the SQLite database `path`.
pub fn read(path: &Path) -> Result<ConfigOptions> {
    // Only a check: the descriptor is closed before SQLite opens the path.
    // Its size is not capped, since SQLite reads only the pages it needs.
    drop(open_regular(path, u64::MAX)?);
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| failed(path, e))?;
    // A pragma rather than `Connection::busy_timeout`: that method makes
    // rusqlite call `sqlite3_set_clientdata`, which Debian 12's SQLite
    // (3.40) lacks, and the program would not link.
    conn.pragma_update(None, "busy_timeout", BUSY_TIMEOUT_MS)
        .map_err(|e| failed(path, e))?;
    let mut stmt = conn
        .prepare("SELECT * FROM uwsgi")
        .map_err(|e| failed(path, e))?;
    if stmt.column_count() < 2 {
        return Err(failed(
            path,
            "its table \"uwsgi\" has fewer than two columns (option and value)",
        ));
    }
    let mut rows = stmt.query([]).map_err(|e| failed(path, e))?;
    let mut out = ConfigOptions::default();
    let mut bytes = 0usize;
    let mut number = 0usize;
    while let Some(row) = rows.next().map_err(|e| failed(path, e))? {
        number += 1;
        if number > MAX_ROWS {
            return Err(failed(
                path,
                format!("its table \"uwsgi\" has more than {MAX_ROWS} rows"),
            ));
        }
        let key = row.get_ref(0).map(as_text).map_err(|e| failed(path, e))?;
        let value = row.get_ref(1).map(as_text).map_err(|e| failed(path, e))?;
        match (key, value) {
            (Some(k), Some(v)) => {
                bytes = bytes.saturating_add(k.len() + v.len());
                if bytes as u64 > MAX_CONFIG_SIZE {
                    return Err(failed(path, "its options hold more than 16 MiB of text"));
                }
                out.push(k, v);
            }
            _ => out.note(Diagnostic::file(format!(
                "row {number} of table \"uwsgi\" has a NULL option or value and is skipped"
            ))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make_db(path: &Path, sql: &str) {
        let c = Connection::open(path).unwrap();
        c.execute_batch(sql).unwrap();
    }

    #[test]
    fn options_in_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.sqlite");
        make_db(
            &p,
            "CREATE TABLE uwsgi (option TEXT, value TEXT, comment TEXT);
             INSERT INTO uwsgi VALUES ('uid', 'www-data', 'who');
             INSERT INTO uwsgi VALUES ('env', 'A=1', NULL);
             INSERT INTO uwsgi VALUES ('env', 'B=2', NULL);
             INSERT INTO uwsgi VALUES ('gid', 33, NULL);
             INSERT INTO uwsgi VALUES ('x', NULL, NULL);
             CREATE TABLE other (a, b); INSERT INTO other VALUES ('uid', 'root');",
        );
        let before = std::fs::read(&p).unwrap();
        let o = read(&p).unwrap();
        assert_eq!(o.first("uid"), Some("www-data"));
        assert_eq!(o.all("env").collect::<Vec<_>>(), ["A=1", "B=2"]);
        assert_eq!(o.first("gid"), Some("33"));
        assert_eq!(o.options.len(), 4);
        assert_eq!(o.diagnostics.len(), 1);
        // Read-only: the file is unchanged and no journal is left.
        assert_eq!(std::fs::read(&p).unwrap(), before);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn typed_values_become_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.db");
        make_db(
            &p,
            "CREATE TABLE uwsgi (k, v);
             INSERT INTO uwsgi VALUES ('a', 2.0), ('b', 0.5), ('c', x'61620063');",
        );
        let o = read(&p).unwrap();
        assert_eq!(o.first("a"), Some("2.0"));
        assert_eq!(o.first("b"), Some("0.5"));
        assert_eq!(o.first("c"), Some("ab"));
    }

    #[test]
    fn unreadable_databases_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let no_table = dir.path().join("n.db");
        make_db(&no_table, "CREATE TABLE config (k, v);");
        let e = read(&no_table).unwrap_err().to_string();
        assert!(e.contains("n.db"), "{e}");
        assert!(e.contains("no such table"), "{e}");

        let one_col = dir.path().join("o.db");
        make_db(&one_col, "CREATE TABLE uwsgi (k);");
        assert!(read(&one_col)
            .unwrap_err()
            .to_string()
            .contains("fewer than two columns"));

        let garbage = dir.path().join("g.sqlite3");
        std::fs::write(
            &garbage,
            "this is not a database, just some text\n".repeat(100),
        )
        .unwrap();
        assert!(read(&garbage).is_err());

        // A missing file is never created.
        let missing = dir.path().join("missing.db");
        assert!(read(&missing).is_err());
        assert!(!missing.exists());
    }
}
