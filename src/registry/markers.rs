//! State markers: who enabled or disabled an app, as Apache's tools keep
//! them (`/var/lib/uwsgi/NS/{enabled,disabled}_by_{admin,maint}/NAME`, one
//! empty file per name, at most one of the four at a time).
//!
//! They let a package's maintainer script respect the administrator's
//! choice: an app the admin disabled is not enabled again on upgrade.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;

use crate::error::{Error, IoContext, Result};
use crate::layout::{Actor, Layout, MarkerKind};
use crate::name::Namespace;

/// Make sure the directory of this marker kind exists, so that a change
/// can fail *before* it touches the link rather than after.
pub fn prepare(layout: &Layout, ns: &Namespace, kind: MarkerKind) -> Result<()> {
    let dir = layout.state_dir(ns).join(kind.dir_name());
    fs::create_dir_all(&dir).at("create directory", dir)
}

/// Record `kind` as the state of `name`, and drop every other marker of it.
///
/// The usual change (enabled → disabled and back) *moves* the old marker
/// with one `rename(2)`: the name has exactly one marker at every moment,
/// even for a run killed midway, and no new inode is written (which is
/// what costs on ext4). A new file is made only when there was no marker.
pub fn record(layout: &Layout, ns: &Namespace, name: &OsStr, kind: MarkerKind) -> Result<()> {
    let path = layout.marker(ns, kind, name);
    let mut have = false;
    for other in MarkerKind::ALL.into_iter().filter(|k| *k != kind) {
        let old = layout.marker(ns, other, name);
        if have {
            remove(layout, ns, name, other)?;
            continue;
        }
        match fs::rename(&old, &path) {
            Ok(()) => have = true,
            Err(e) if e.kind() == io::ErrorKind::NotFound && old.symlink_metadata().is_err() => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // The old marker is there, the new directory is not.
                prepare(layout, ns, kind)?;
                fs::rename(&old, &path).at("move marker", &old)?;
                have = true;
            }
            Err(e) => return Err(Error::io("move marker", old, e)),
        }
    }
    if !have {
        let create = || {
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
        };
        if let Err(e) = create() {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(Error::io("create marker", path, e));
            }
            prepare(layout, ns, kind)?;
            create().at("create marker", &path)?;
        }
    }
    Ok(())
}

/// Remove every marker of `name`; true when there was one.
pub fn purge(layout: &Layout, ns: &Namespace, name: &OsStr) -> Result<bool> {
    let mut removed = false;
    for kind in MarkerKind::ALL {
        removed |= remove(layout, ns, name, kind)?;
    }
    Ok(removed)
}

fn remove(layout: &Layout, ns: &Namespace, name: &OsStr, kind: MarkerKind) -> Result<bool> {
    let path = layout.marker(ns, kind, name);
    match fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove marker", path, e)),
    }
}

/// The markers of `name`, in `MarkerKind::ALL` order.
pub fn of(layout: &Layout, ns: &Namespace, name: &OsStr) -> Vec<MarkerKind> {
    MarkerKind::ALL
        .into_iter()
        .filter(|k| layout.marker(ns, *k, name).symlink_metadata().is_ok())
        .collect()
}

/// Who enabled (or disabled) `name`, by the markers: the administrator
/// wins over a maintainer script when, against the rules, both exist.
pub fn who(markers: &[MarkerKind], enabled: bool) -> Option<Actor> {
    [Actor::Admin, Actor::Maint]
        .into_iter()
        .find(|by| markers.contains(&MarkerKind { enabled, by: *by }))
}

/// Every marker of a namespace, read with one directory listing per kind,
/// for commands that look at thousands of apps at once.
#[derive(Debug, Default)]
pub struct MarkerIndex {
    sets: [HashSet<OsString>; 4],
}

impl MarkerIndex {
    pub fn read(layout: &Layout, ns: &Namespace) -> Result<MarkerIndex> {
        let mut index = MarkerIndex::default();
        for (i, kind) in MarkerKind::ALL.into_iter().enumerate() {
            let dir = layout.state_dir(ns).join(kind.dir_name());
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io("read directory", dir, e)),
            };
            for entry in entries {
                let entry = entry.at("read directory", &dir)?;
                index.sets[i].insert(entry.file_name());
            }
        }
        Ok(index)
    }

    pub fn of(&self, name: &OsStr) -> Vec<MarkerKind> {
        MarkerKind::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| self.sets[*i].contains(name))
            .map(|(_, k)| k)
            .collect()
    }

    /// Every name that has a marker, sorted (for `--purge` with a glob).
    pub fn names(&self) -> Vec<&OsStr> {
        let mut names: Vec<&OsStr> = self
            .sets
            .iter()
            .flat_map(|s| s.iter().map(OsString::as_os_str))
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENABLED_ADMIN: MarkerKind = MarkerKind {
        enabled: true,
        by: Actor::Admin,
    };
    const DISABLED_MAINT: MarkerKind = MarkerKind {
        enabled: false,
        by: Actor::Maint,
    };

    #[test]
    fn one_marker_per_name() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path(), "/usr/bin/uwsgi");
        let ns = Namespace::app();
        let x = OsStr::new("x");
        record(&layout, &ns, x, ENABLED_ADMIN).unwrap();
        assert_eq!(of(&layout, &ns, x), vec![ENABLED_ADMIN]);
        record(&layout, &ns, x, DISABLED_MAINT).unwrap();
        assert_eq!(of(&layout, &ns, x), vec![DISABLED_MAINT]);
        assert!(layout.state_dir(&ns).join("disabled_by_maint/x").is_file());
        assert_eq!(who(&of(&layout, &ns, x), false), Some(Actor::Maint));
        assert_eq!(who(&of(&layout, &ns, x), true), None);
        let index = MarkerIndex::read(&layout, &ns).unwrap();
        assert_eq!(index.of(x), vec![DISABLED_MAINT]);
        assert_eq!(index.names(), vec![x]);
        assert!(purge(&layout, &ns, x).unwrap());
        assert!(of(&layout, &ns, x).is_empty());
        assert!(!purge(&layout, &ns, x).unwrap());
    }
}
