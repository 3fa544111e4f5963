//! The link that enables an app: `NSs-enabled/FILE -> ../NSs-available/FILE`.
//!
//! What stands under the link's name decides what enabling and disabling
//! may do, so it is inspected first (`LinkState`), then changed with single
//! atomic directory operations:
//! * a missing link is made with one `symlink(2)`: the entry appears whole
//!   or not at all, and it never replaces anything that appeared meanwhile;
//! * a link that must be replaced (dangling, or foreign with `--force`) is
//!   made under a temporary name in the same directory and `rename(2)`d over
//!   the old one, so the name always holds either the old or the new link.
//!
//! The temporary name is `.uwsgi-apps-tmp.PID.N`: short (a long app name
//! plus a suffix could exceed NAME_MAX), hidden, and without a config
//! extension, so neither discovery nor a glob ever takes it for an app. It
//! exists only while the registry lock is held, so any such entry seen
//! under the lock was left by a killed run and is removed (`sweep_stale`).

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::discovery;
use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::name::{Format, Namespace};

const TEMP_PREFIX: &[u8] = b".uwsgi-apps-tmp.";

/// What stands under an enabled link's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Missing,
    /// A link that reaches the app's file in apps-available.
    Ok,
    /// A link that reaches nothing: its target does not exist, or
    /// (`loops`) following it leads round in a circle (ELOOP).
    Dangling {
        target: PathBuf,
        loops: bool,
    },
    /// A link that reaches some other file or directory.
    Foreign {
        target: PathBuf,
    },
    /// Not a symbolic link at all: never touched.
    NotALink {
        what: &'static str,
    },
}

impl LinkState {
    /// The word `list` and JSON use for it.
    pub fn health(&self) -> &'static str {
        match self {
            LinkState::Missing => "missing",
            LinkState::Ok => "ok",
            LinkState::Dangling { .. } => "dangling",
            LinkState::Foreign { .. } => "foreign",
            LinkState::NotALink { what: REGULAR_FILE } => "regular-file",
            LinkState::NotALink { .. } => "not-a-link",
        }
    }
}

const REGULAR_FILE: &str = "a regular file";

fn kind_of(file_type: fs::FileType) -> &'static str {
    if file_type.is_file() {
        REGULAR_FILE
    } else if file_type.is_dir() {
        "a directory"
    } else {
        "not a symbolic link"
    }
}

/// The enabled link of one app file.
#[derive(Debug, Clone)]
pub struct EnabledLink {
    /// `NSs-enabled/FILE`
    pub path: PathBuf,
    /// `../NSs-available/FILE`, what the link holds.
    pub target: PathBuf,
    /// `NSs-available/FILE`, the file it must reach.
    pub available: PathBuf,
}

impl EnabledLink {
    pub fn new(layout: &Layout, ns: &Namespace, file_name: &OsStr) -> EnabledLink {
        let target = Path::new("..")
            .join(ns.available_dir_name())
            .join(file_name);
        EnabledLink {
            path: layout.enabled_dir(ns).join(file_name),
            target,
            available: layout.available_dir(ns).join(file_name),
        }
    }

    pub fn inspect(&self) -> Result<LinkState> {
        let meta = match fs::symlink_metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(LinkState::Missing),
            Err(e) => return Err(Error::io("inspect", &self.path, e)),
        };
        if !meta.file_type().is_symlink() {
            return Ok(LinkState::NotALink {
                what: kind_of(meta.file_type()),
            });
        }
        let target = fs::read_link(&self.path).at("read link", &self.path)?;
        let reached = match fs::metadata(&self.path) {
            Ok(reached) => reached,
            Err(e) if is_dangling(&e) => {
                let loops = e.raw_os_error() == Some(libc::ELOOP);
                return Ok(LinkState::Dangling { target, loops });
            }
            Err(e) => return Err(Error::io("follow link", &self.path, e)),
        };
        if target == self.target {
            return Ok(LinkState::Ok);
        }
        // Another spelling of the same file (an absolute link, say) is as
        // good as ours: a2ensite compares the resolved paths, too.
        let same = fs::metadata(&self.available)
            .is_ok_and(|a| a.dev() == reached.dev() && a.ino() == reached.ino());
        Ok(if same {
            LinkState::Ok
        } else {
            LinkState::Foreign { target }
        })
    }

    /// Make the missing link (one `symlink(2)`, atomic by itself). A
    /// missing `NSs-enabled` is made first: a namespace may ship only its
    /// available directory.
    pub fn create(&self) -> Result<()> {
        match symlink(&self.target, &self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(dir) = self.path.parent() {
                    fs::create_dir_all(dir).at("create directory", dir)?;
                }
                symlink(&self.target, &self.path).at("create link", &self.path)
            }
            other => other.at("create link", &self.path),
        }
    }

    /// Put the link in place of whatever link stands there now, atomically.
    pub fn replace(&self) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let temp = dir.join(temp_name());
        symlink(&self.target, &temp).at("create link", &temp)?;
        if let Err(e) = fs::rename(&temp, &self.path) {
            // Leave nothing behind: the temporary link goes whatever happens.
            let _ = fs::remove_file(&temp);
            return Err(Error::io("replace link", &self.path, e));
        }
        Ok(())
    }

    /// Remove the link (the caller has checked it is one).
    pub fn remove(&self) -> Result<()> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove link", &self.path, e)),
        }
    }
}

/// ENOENT (the target is missing), ENOTDIR (a path component of the target
/// is a file) and ELOOP (the link leads back to itself) all mean the link
/// reaches nothing: it is dangling, and safe to replace or remove.
fn is_dangling(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
    )
}

fn temp_name() -> OsString {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = OsStr::from_bytes(TEMP_PREFIX).to_owned();
    name.push(format!("{}.{n}", std::process::id()));
    name
}

pub fn is_temp_name(name: &OsStr) -> bool {
    name.as_bytes().starts_with(TEMP_PREFIX)
}

/// An entry directly in `NSs-enabled` whose name is a config file's.
#[derive(Debug, Clone)]
pub struct EnabledEntry {
    pub confname: OsString,
    pub file_name: OsString,
    pub format: Format,
}

/// The top-level entries of `NSs-enabled`, whatever they are (links,
/// dangling links, files), sorted by confname then format, and the stale
/// temporary links found there. A missing directory has none.
pub fn enabled_entries(
    layout: &Layout,
    ns: &Namespace,
) -> Result<(Vec<EnabledEntry>, Vec<PathBuf>)> {
    let mut found = Vec::new();
    let mut stale = Vec::new();
    for entry in discovery::enabled_top(layout, ns)? {
        if is_temp_name(&entry.file_name) {
            stale.push(entry.path);
        } else if let Some((confname, format)) = entry.config_name() {
            found.push(EnabledEntry {
                confname: confname.to_owned(),
                file_name: entry.file_name.clone(),
                format,
            });
        }
    }
    found.sort_by(|a, b| (&a.confname, a.format).cmp(&(&b.confname, b.format)));
    Ok((found, stale))
}

/// Remove temporary links left by killed runs. Call only under the lock.
pub fn sweep_stale(stale: &[PathBuf]) -> Result<()> {
    for path in stale {
        match fs::symlink_metadata(path) {
            // Only ever our own symlinks: anything else under such a name
            // was not made by us and is not ours to delete.
            Ok(meta) if meta.file_type().is_symlink() => match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove stale temporary link", path, e)),
            },
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Layout, Namespace) {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path(), "/usr/bin/uwsgi");
        let ns = Namespace::app();
        fs::create_dir_all(layout.enabled_dir(&ns)).unwrap();
        fs::create_dir_all(layout.available_dir(&ns)).unwrap();
        fs::write(layout.available_dir(&ns).join("x.ini"), "[uwsgi]\n").unwrap();
        (dir, layout, ns)
    }

    #[test]
    fn states_of_a_link() {
        let (_d, layout, ns) = setup();
        let link = EnabledLink::new(&layout, &ns, OsStr::new("x.ini"));
        assert_eq!(link.target, Path::new("../apps-available/x.ini"));
        assert_eq!(link.inspect().unwrap(), LinkState::Missing);
        link.create().unwrap();
        assert_eq!(link.inspect().unwrap(), LinkState::Ok);
        assert_eq!(fs::read_link(&link.path).unwrap(), link.target);

        link.remove().unwrap();
        symlink(&link.available, &link.path).unwrap();
        assert_eq!(link.inspect().unwrap(), LinkState::Ok, "absolute link");

        link.remove().unwrap();
        symlink("/etc/hostname", &link.path).unwrap();
        assert!(matches!(link.inspect().unwrap(), LinkState::Foreign { .. }));
        link.replace().unwrap();
        assert_eq!(link.inspect().unwrap(), LinkState::Ok);

        link.remove().unwrap();
        symlink("x.ini", &link.path).unwrap();
        assert!(
            matches!(
                link.inspect().unwrap(),
                LinkState::Dangling { loops: true, .. }
            ),
            "a link to itself loops"
        );
        link.remove().unwrap();
        symlink("gone.ini", &link.path).unwrap();
        assert!(matches!(
            link.inspect().unwrap(),
            LinkState::Dangling { loops: false, .. }
        ));

        link.remove().unwrap();
        fs::write(&link.path, "").unwrap();
        assert_eq!(link.inspect().unwrap().health(), "regular-file");
        fs::remove_file(&link.path).unwrap();
        fs::create_dir(&link.path).unwrap();
        assert_eq!(link.inspect().unwrap().health(), "not-a-link");
    }

    #[test]
    fn replace_leaves_no_temporary_link_even_when_it_fails() {
        let (_d, layout, ns) = setup();
        let link = EnabledLink::new(&layout, &ns, OsStr::new("x.ini"));
        // rename(2) of a link over a non-empty directory fails.
        fs::create_dir(&link.path).unwrap();
        fs::write(link.path.join("inside"), "").unwrap();
        assert!(link.replace().is_err());
        let (_, stale) = enabled_entries(&layout, &ns).unwrap();
        assert!(stale.is_empty(), "{stale:?}");
    }

    #[test]
    fn stale_temporary_links_are_found_and_swept() {
        let (_d, layout, ns) = setup();
        let dir = layout.enabled_dir(&ns);
        symlink("../apps-available/x.ini", dir.join(".uwsgi-apps-tmp.1.0")).unwrap();
        fs::write(dir.join("y.ini"), "").unwrap();
        let (entries, stale) = enabled_entries(&layout, &ns).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(stale, vec![dir.join(".uwsgi-apps-tmp.1.0")]);
        sweep_stale(&stale).unwrap();
        assert!(fs::symlink_metadata(dir.join(".uwsgi-apps-tmp.1.0")).is_err());
    }
}
