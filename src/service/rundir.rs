//! An instance's runtime directory, `/run/uwsgi/NS/NAME/`: made root's,
//! refused when anyone else can change it, removed after a stop.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{lchown, DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;

use crate::display::display_path;
use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::name::Confspec;
use crate::safety::{UnsafePath, WritableBy};

/// Make the runtime dirs of an instance — `/run/uwsgi`, `/run/uwsgi/NS`
/// and `/run/uwsgi/NS/NAME`, all root:root 0755 — and check each. `true`
/// when the instance's own dir was made now.
///
/// The instance's dir is root's, never the app user's: uWSGI's root phase
/// works there (it binds and chowns its sockets, `chown-socket`, and
/// writes the pidfile), so whoever can change the dir could swap in links
/// to any file between a `bind()` and the `chown()` after it — a root
/// compromise that Debian's script allows by giving the dir to the app's
/// user (`install -d -o UID`). An existing dir is checked, never taken
/// over.
pub fn make_run_dirs(layout: &Layout, spec: &Confspec) -> Result<bool> {
    let ns_run = layout.run_namespace_dir(&spec.namespace);
    make_dirs_root(&ns_run)?;
    if let Some(base) = ns_run.parent() {
        check_run_dir(base)?;
    }
    check_run_dir(&ns_run)?;
    let run_dir = layout.run_dir(spec);
    let created = make_dir(&run_dir, 0o755, Some((0, 0)))?;
    check_run_dir(&run_dir)?;
    Ok(created)
}

/// The run-dir rule alone, making nothing: each of `/run/uwsgi`,
/// `/run/uwsgi/NS` and `/run/uwsgi/NS/NAME` that exists must pass
/// `check_run_dir` (one that does not exist yet is made by a start).
pub fn check_existing_run_dirs(layout: &Layout, spec: &Confspec) -> Result<()> {
    let ns_run = layout.run_namespace_dir(&spec.namespace);
    let dirs = [
        ns_run.parent().map(Path::to_path_buf),
        Some(ns_run.clone()),
        Some(layout.run_dir(spec)),
    ];
    for dir in dirs.into_iter().flatten() {
        if fs::symlink_metadata(&dir).is_ok() {
            check_run_dir(&dir)?;
        }
    }
    Ok(())
}

/// Create a directory with an exact mode and owner; `Ok(true)` when it
/// was created now.
fn make_dir(path: &Path, mode: u32, owner: Option<(u32, u32)>) -> Result<bool> {
    match DirBuilder::new().mode(mode).create(path) {
        Ok(()) => {
            // The umask may have taken bits away.
            fs::set_permissions(path, fs::Permissions::from_mode(mode))
                .at("change the mode of directory", path)?;
            if let Some((uid, gid)) = owner {
                lchown(path, Some(uid), Some(gid)).at("change the owner of directory", path)?;
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if fs::metadata(path).at("inspect directory", path)?.is_dir() {
                Ok(false)
            } else {
                Err(Error::io(
                    "create directory",
                    path,
                    io::Error::from_raw_os_error(libc::ENOTDIR),
                ))
            }
        }
        Err(e) => Err(Error::io("create directory", path, e)),
    }
}

/// Make `path` and its missing parents, root:root 0755.
pub fn make_dirs_root(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        make_dirs_root(parent)?;
    }
    make_dir(path, 0o755, Some((0, 0))).map(|_| ())
}

/// Refuse a runtime directory that someone other than root can change
/// (see `make_run_dirs`): not root's, writable by everyone, or writable by
/// a group other than root's.
pub fn check_run_dir(path: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(path).at("inspect directory", path)?;
    if !meta.is_dir() {
        return Err(Error::Failed(format!(
            "refusing to use runtime directory {}: it is not a directory (a symbolic link?); \
             remove it, start recreates it",
            display_path(path)
        )));
    }
    let (uid, gid, mode) = (meta.uid(), meta.gid(), meta.mode() & 0o7777);
    let why = if uid != 0 {
        WritableBy::Owner
    } else if mode & 0o002 != 0 {
        WritableBy::Everyone
    } else if mode & 0o020 != 0 && gid != 0 {
        WritableBy::Group
    } else {
        return Ok(());
    };
    let unsafe_dir = UnsafePath {
        path: path.to_path_buf(),
        uid,
        gid,
        mode,
        is_dir: true,
        why,
    };
    Err(Error::Failed(format!(
        "refusing to use the runtime directory: {}; remove it, start recreates it",
        unsafe_dir.describe()
    )))
}

/// Remove an instance's runtime dir as `remove_run_dir` does, but only
/// one that the run-dir rule accepts: root removes nothing inside a
/// directory that another user controls (a start refused it and made
/// nothing; it stays for the administrator). Gone already is fine; a
/// refused one is the refusal.
pub fn remove_own_run_dir(layout: &Layout, spec: &Confspec) -> Result<()> {
    let dir = layout.run_dir(spec);
    if fs::symlink_metadata(&dir).is_ok() {
        check_run_dir(&dir)?;
    }
    remove_run_dir(layout, spec)
}

/// Remove an instance's runtime dir (and a long name's readiness socket
/// beside it). Gone already is fine.
pub fn remove_run_dir(layout: &Layout, spec: &Confspec) -> Result<()> {
    let dir = layout.run_dir(spec);
    let notify = layout.notify_socket(spec);
    if !notify.starts_with(&dir) {
        match fs::remove_file(&notify) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove notify socket", notify, e)),
        }
    }
    match fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove runtime directory", dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Namespace;

    #[test]
    fn run_dirs_are_roots_and_foreign_ones_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path(), "/usr/bin/uwsgi");
        let spec = Confspec::new(Namespace::app(), "hello").unwrap();
        assert!(make_run_dirs(&layout, &spec).unwrap());
        assert!(!make_run_dirs(&layout, &spec).unwrap(), "made once");
        let dir = layout.run_dir(&spec);
        let meta = fs::metadata(&dir).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o755));

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let err = make_run_dirs(&layout, &spec).unwrap_err().to_string();
        assert!(err.contains("writable by everyone"), "{err}");

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        lchown(&dir, Some(65534), None).unwrap();
        let err = make_run_dirs(&layout, &spec).unwrap_err().to_string();
        assert!(err.contains("refusing"), "{err}");

        remove_run_dir(&layout, &spec).unwrap();
        assert!(!dir.exists());
        remove_run_dir(&layout, &spec).unwrap();
    }
}
