//! The safety check of configs before a start (SPEC §4 "Safety of
//! configs"): uWSGI runs options as root before it drops privileges, so a
//! config that anyone but root can change is a way to root.

use std::fs::{self, Metadata};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::name::display_path;

/// Whether someone other than root can change what is at this path.
/// A world-writable directory with the sticky bit (like /tmp) lets others
/// add entries but not replace root's, so it is not counted.
pub fn writable_by_non_root(meta: &Metadata) -> bool {
    let mode = meta.permissions().mode();
    let sticky_dir = meta.is_dir() && mode & 0o1000 != 0;
    (meta.uid() != 0 && mode & 0o200 != 0)
        || (meta.gid() != 0 && mode & 0o020 != 0)
        || (mode & 0o002 != 0 && !sticky_dir)
}

fn owner_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}

fn refuse(path: &Path, meta: &Metadata) -> String {
    format!(
        "refusing to start: {} is writable by others than root (owner {}, mode {:04o}); \
         make it writable by root only, or set CHECK_CONFIG_PERMISSIONS=no in /etc/default/uwsgi",
        display_path(path),
        owner_name(meta.uid()),
        meta.permissions().mode() & 0o7777
    )
}

/// `path` and its ancestors up to and including `stop` (when `path` is
/// under `stop`), or up to but excluding the file system root.
fn chain(path: &Path, stop: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut cur = Some(path);
    while let Some(p) = cur {
        if p.parent().is_none() {
            break;
        }
        out.push(p.to_path_buf());
        if p == stop {
            break;
        }
        cur = p.parent();
    }
    out
}

/// Check the config at `config` (a path in apps-enabled, maybe a link):
/// the entry and every directory up to the configuration directory, then
/// the file it resolves to and its directories.
pub fn check(config: &Path, config_dir: &Path) -> Result<(), String> {
    for p in chain(config, config_dir) {
        let meta = fs::symlink_metadata(&p)
            .map_err(|e| format!("cannot check {}: {e}", display_path(&p)))?;
        // A symbolic link has no permissions of its own: who may replace
        // it is decided by its directory, which is checked too.
        if !meta.file_type().is_symlink() && writable_by_non_root(&meta) {
            return Err(refuse(&p, &meta));
        }
    }
    let target = fs::canonicalize(config)
        .map_err(|e| format!("cannot resolve {}: {e}", display_path(config)))?;
    let real_config_dir = fs::canonicalize(config_dir).unwrap_or_else(|_| config_dir.into());
    for p in chain(&target, &real_config_dir) {
        let meta =
            fs::metadata(&p).map_err(|e| format!("cannot check {}: {e}", display_path(&p)))?;
        if writable_by_non_root(&meta) {
            return Err(refuse(&p, &meta));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn set_mode(p: &Path, mode: u32) {
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn group_or_world_writable_configs_and_dirs_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let etc = root.path().join("etc/uwsgi");
        let avail = etc.join("apps-available");
        let enabled = etc.join("apps-enabled");
        fs::create_dir_all(&avail).unwrap();
        fs::create_dir_all(&enabled).unwrap();
        for d in [&etc, &avail, &enabled] {
            set_mode(d, 0o755);
        }
        let file = avail.join("x.ini");
        fs::write(&file, "[uwsgi]\n").unwrap();
        set_mode(&file, 0o644);
        let link = enabled.join("x.ini");
        symlink("../apps-available/x.ini", &link).unwrap();
        assert_eq!(check(&link, &etc), Ok(()));

        set_mode(&file, 0o666);
        let err = check(&link, &etc).unwrap_err();
        assert!(err.contains("x.ini"), "{err}");
        assert!(err.contains("mode 0666"), "{err}");
        assert!(err.contains("owner root"), "{err}");
        set_mode(&file, 0o644);

        set_mode(&avail, 0o777);
        let err = check(&link, &etc).unwrap_err();
        assert!(err.contains("apps-available"), "{err}");
        set_mode(&avail, 0o755);

        set_mode(&enabled, 0o775);
        nix::unistd::chown(&enabled, None, Some(nix::unistd::Gid::from_raw(33))).unwrap();
        let err = check(&link, &etc).unwrap_err();
        assert!(err.contains("apps-enabled"), "{err}");
        // Group root may write: that is root's business.
        nix::unistd::chown(&enabled, None, Some(nix::unistd::Gid::from_raw(0))).unwrap();
        assert_eq!(check(&link, &etc), Ok(()));

        nix::unistd::chown(&file, Some(nix::unistd::Uid::from_raw(33)), None).unwrap();
        let err = check(&link, &etc).unwrap_err();
        assert!(
            err.contains("owner www-data") || err.contains("owner 33"),
            "{err}"
        );
    }
}
