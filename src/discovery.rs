//! Finding apps on disk.
//!
//! `apps-enabled` is searched recursively, as Debian's init script does
//! (`find` without following directory links, keeping entries whose target
//! is a regular file). It is one directory walk: the cost grows linearly
//! with the number of entries, and no file is opened here.
//!
//! When one confname appears more than once (`x.ini` and `x.yaml`, or
//! `x.ini` and `sub/x.ini`) exactly one is used: the shallowest path first,
//! then the extension earliest in `Format::ALL`, then the path's bytes, so
//! the choice never depends on the order the kernel lists entries in.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::name::{Confspec, DirKind, Format, Namespace};

/// A config file that the front end will run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnabledConfig {
    pub spec: Confspec,
    /// The path inside `apps-enabled` (what uWSGI is given, as Debian does).
    pub path: PathBuf,
    pub format: Format,
    /// 1 for a file directly in `apps-enabled`, 2 one directory down, …
    pub depth: usize,
}

impl EnabledConfig {
    /// The order that picks the winner of a clash.
    fn precedence(&self) -> (usize, Format, &Path) {
        (self.depth, self.format, &self.path)
    }
}

/// Several files for one confname; `winner` is the one used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    pub spec: Confspec,
    pub winner: PathBuf,
    pub losers: Vec<PathBuf>,
}

/// Why an entry of `apps-enabled` that looks like a config is not used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum IgnoredReason {
    /// A link whose target does not exist (or cannot be reached).
    Dangling,
    /// Its target is a directory, FIFO, socket or device.
    NotARegularFile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub path: PathBuf,
    pub reason: IgnoredReason,
}

/// What a walk of one namespace's `apps-enabled` found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// One per confname, sorted by name.
    pub instances: Vec<EnabledConfig>,
    pub clashes: Vec<Clash>,
    pub ignored: Vec<Ignored>,
    /// Parts of the tree that could not be read (a sub-directory without
    /// permission, a symlink loop); the rest of the walk still counts.
    pub errors: Vec<Error>,
}

impl Discovery {
    pub fn find(&self, name: &OsStr) -> Option<&EnabledConfig> {
        self.instances
            .binary_search_by(|c| c.spec.name.as_os_str().cmp(name))
            .ok()
            .map(|i| &self.instances[i])
    }
}

/// One entry of `NSs-enabled`, as the walk meets it (links not followed).
#[derive(Debug)]
pub struct WalkEntry {
    pub path: PathBuf,
    pub file_name: OsString,
    /// 1 directly in `NSs-enabled`, 2 one directory down, …
    pub depth: usize,
    /// What the entry itself is (a link is a link).
    pub file_type: fs::FileType,
}

impl WalkEntry {
    /// Its confname and format, when its name is a config file's.
    pub fn config_name(&self) -> Option<(&OsStr, Format)> {
        Format::split_file_name(&self.file_name)
    }
}

/// How deep `walk_enabled` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Every level, as the front end searches (Debian's `find`).
    All,
    /// The entries directly in `NSs-enabled`, where uwsgi-enapp makes its
    /// links.
    Top,
}

/// The one walk of `NSs-enabled`, for discovery, the registry, `list` and
/// `doctor`: every entry below it (directories included, never entered
/// through a link), by file name within each directory, handed to `each`
/// as it comes. A part of the tree that cannot be read is handed as an
/// error and the walk goes on. A missing directory has no entries; one
/// that cannot be read at all is the error returned.
pub fn walk_enabled(
    layout: &Layout,
    ns: &Namespace,
    depth: Depth,
    each: &mut dyn FnMut(std::result::Result<WalkEntry, Error>),
) -> Result<()> {
    let dir = layout.enabled_dir(ns);
    let mut walk = walkdir::WalkDir::new(&dir)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name();
    if depth == Depth::Top {
        walk = walk.max_depth(1);
    }
    for entry in walk {
        match entry {
            Ok(entry) => each(Ok(WalkEntry {
                file_name: entry.file_name().to_owned(),
                depth: entry.depth(),
                file_type: entry.file_type(),
                path: entry.into_path(),
            })),
            Err(e) => {
                let is_root = e.depth() == 0;
                let path = e.path().unwrap_or(&dir).to_path_buf();
                let io = e
                    .into_io_error()
                    .unwrap_or_else(|| io::Error::other("file system loop"));
                if is_root && io.kind() == io::ErrorKind::NotFound {
                    return Ok(());
                }
                if is_root {
                    return Err(Error::io("read directory", path, io));
                }
                each(Err(Error::io("read directory", path, io)));
            }
        }
    }
    Ok(())
}

/// The entries directly in `NSs-enabled` (`walk_enabled` at the top
/// level), or the first error.
pub fn enabled_top(layout: &Layout, ns: &Namespace) -> Result<Vec<WalkEntry>> {
    let mut entries = Vec::new();
    let mut error = None;
    walk_enabled(layout, ns, Depth::Top, &mut |entry| match entry {
        Ok(entry) => entries.push(entry),
        Err(e) => error = error.take().or(Some(e)),
    })?;
    match error {
        Some(e) => Err(e),
        None => Ok(entries),
    }
}

/// Walk `NSs-enabled` for the configs the front end runs. A missing
/// directory is an empty result (no app is enabled); an unreadable one is
/// an error.
pub fn enabled(layout: &Layout, ns: &Namespace) -> Result<Discovery> {
    let mut found = Discovery::default();
    let mut by_name: BTreeMap<OsString, Vec<EnabledConfig>> = BTreeMap::new();

    walk_enabled(layout, ns, Depth::All, &mut |entry| {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => return found.errors.push(e),
        };
        let Some((confname, format)) = entry.config_name() else {
            return;
        };
        let file_type = entry.file_type;
        if file_type.is_dir() {
            return;
        }
        let reason = if file_type.is_symlink() {
            // Only here is a stat needed: the target decides.
            match fs::metadata(&entry.path) {
                Ok(meta) if meta.is_file() => None,
                Ok(_) => Some(IgnoredReason::NotARegularFile),
                Err(_) => Some(IgnoredReason::Dangling),
            }
        } else if !file_type.is_file() {
            Some(IgnoredReason::NotARegularFile)
        } else {
            None
        };
        if let Some(reason) = reason {
            return found.ignored.push(Ignored {
                path: entry.path,
                reason,
            });
        }
        // A file name can never hold '/', so every confname is a valid name
        // except the empty one, which split_file_name already refuses.
        let Ok(spec) = Confspec::new(ns.clone(), confname) else {
            return;
        };
        by_name
            .entry(confname.to_owned())
            .or_default()
            .push(EnabledConfig {
                spec,
                format,
                depth: entry.depth,
                path: entry.path,
            });
    })?;

    for (_, mut candidates) in by_name {
        candidates.sort_by(|a, b| a.precedence().cmp(&b.precedence()));
        let mut candidates = candidates.into_iter();
        let Some(winner) = candidates.next() else {
            continue;
        };
        let losers: Vec<PathBuf> = candidates.map(|c| c.path).collect();
        if !losers.is_empty() {
            found.clashes.push(Clash {
                spec: winner.spec.clone(),
                winner: winner.path.clone(),
                losers,
            });
        }
        found.instances.push(winner);
    }
    Ok(found)
}

/// What kind of entry an app of `apps-available` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    /// A symbolic link whose target is a regular file.
    LinkToFile,
    /// Anything else: a dangling link, a directory, a FIFO…
    Other,
}

/// A config file in `apps-available` (top level only, as `a2ensite` sees
/// sites: an app to enable is one file in that directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailableApp {
    pub confname: OsString,
    /// The file name, with its extension as written (`Site.INI`).
    pub file_name: OsString,
    pub format: Format,
    pub kind: EntryKind,
}

/// The apps of `NSs-available`, sorted by confname then format. A missing
/// directory is an empty list.
pub fn available(layout: &Layout, ns: &Namespace) -> Result<Vec<AvailableApp>> {
    let dir = layout.available_dir(ns);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read directory", dir, e)),
    };
    let mut apps = Vec::new();
    for entry in entries {
        let entry = entry.at("read directory", &dir)?;
        let file_name = entry.file_name();
        let Some((confname, format)) = Format::split_file_name(&file_name) else {
            continue;
        };
        let file_type = entry.file_type().at("stat", entry.path())?;
        let kind = if file_type.is_file() {
            EntryKind::File
        } else if file_type.is_symlink() {
            match fs::metadata(entry.path()) {
                Ok(meta) if meta.is_file() => EntryKind::LinkToFile,
                _ => EntryKind::Other,
            }
        } else {
            EntryKind::Other
        };
        apps.push(AvailableApp {
            confname: confname.to_owned(),
            file_name: file_name.clone(),
            format,
            kind,
        });
    }
    apps.sort_by(|a, b| (&a.confname, a.format).cmp(&(&b.confname, b.format)));
    Ok(apps)
}

/// Every namespace that has an available or enabled directory in
/// `/etc/uwsgi`, sorted, with `app` always present (it is the default one,
/// even before its directories exist).
pub fn namespaces(layout: &Layout) -> Result<Vec<Namespace>> {
    let dir = layout.config_dir();
    let mut found = vec![Namespace::app()];
    match fs::read_dir(&dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.at("read directory", &dir)?;
                if let Some((ns, DirKind::Available | DirKind::Enabled)) =
                    Namespace::from_dir_name(&entry.file_name())
                {
                    found.push(ns);
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("read directory", dir, e)),
    }
    found.sort();
    found.dedup();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, Layout) {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path(), "/usr/bin/uwsgi");
        fs::create_dir_all(layout.enabled_dir(&Namespace::app())).unwrap();
        fs::create_dir_all(layout.available_dir(&Namespace::app())).unwrap();
        (dir, layout)
    }

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "[uwsgi]\n").unwrap();
    }

    #[test]
    fn missing_directories_mean_no_apps() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path(), "/usr/bin/uwsgi");
        assert!(enabled(&layout, &Namespace::app())
            .unwrap()
            .instances
            .is_empty());
        assert!(available(&layout, &Namespace::app()).unwrap().is_empty());
        assert_eq!(namespaces(&layout).unwrap(), vec![Namespace::app()]);
    }

    #[test]
    fn clashes_pick_shallowest_then_earliest_extension() {
        let (_d, layout) = tree();
        let en = layout.enabled_dir(&Namespace::app());
        touch(&en.join("a.yaml"));
        touch(&en.join("a.ini"));
        touch(&en.join("sub/a.db"));
        touch(&en.join("sub/b.ini"));
        touch(&en.join("deep/er/b.xml"));
        touch(&en.join("README"));
        let found = enabled(&layout, &Namespace::app()).unwrap();
        let names: Vec<_> = found
            .instances
            .iter()
            .map(|c| c.spec.name.clone())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(found.find(OsStr::new("a")).unwrap().path, en.join("a.ini"));
        assert_eq!(
            found.find(OsStr::new("b")).unwrap().path,
            en.join("sub/b.ini")
        );
        assert_eq!(found.clashes.len(), 2);
        assert_eq!(
            found.clashes[0].losers,
            vec![en.join("a.yaml"), en.join("sub/a.db")]
        );
        assert_eq!(found.clashes[1].losers, vec![en.join("deep/er/b.xml")]);
    }

    #[test]
    fn same_depth_and_extension_is_decided_by_path() {
        let (_d, layout) = tree();
        let en = layout.enabled_dir(&Namespace::app());
        touch(&en.join("z/x.ini"));
        touch(&en.join("m/x.ini"));
        let found = enabled(&layout, &Namespace::app()).unwrap();
        assert_eq!(found.instances[0].path, en.join("m/x.ini"));
    }

    #[test]
    fn links_count_by_their_target_and_directory_links_are_not_followed() {
        let (_d, layout) = tree();
        let ns = Namespace::app();
        let en = layout.enabled_dir(&ns);
        let av = layout.available_dir(&ns);
        touch(&av.join("good.ini"));
        symlink("../apps-available/good.ini", en.join("good.ini")).unwrap();
        symlink("../apps-available/gone.ini", en.join("gone.ini")).unwrap();
        fs::create_dir(en.join("dir.ini")).unwrap();
        symlink("/", en.join("root.ini")).unwrap();
        // A loop through a directory link must not be walked into.
        symlink(".", en.join("loop")).unwrap();
        let found = enabled(&layout, &ns).unwrap();
        let names: Vec<_> = found
            .instances
            .iter()
            .map(|c| c.spec.name.clone())
            .collect();
        assert_eq!(names, ["good"]);
        let mut ignored: Vec<_> = found
            .ignored
            .iter()
            .map(|i| (i.path.file_name().unwrap().to_owned(), i.reason.clone()))
            .collect();
        ignored.sort();
        assert_eq!(
            ignored,
            vec![
                ("gone.ini".into(), IgnoredReason::Dangling),
                ("root.ini".into(), IgnoredReason::NotARegularFile),
            ]
        );
        assert!(found.errors.is_empty());
    }

    #[test]
    fn available_apps_are_top_level_config_files() {
        let (_d, layout) = tree();
        let ns = Namespace::app();
        let av = layout.available_dir(&ns);
        touch(&av.join("b.ini"));
        touch(&av.join("a.YAML"));
        touch(&av.join("a.ini"));
        touch(&av.join("notes.txt"));
        touch(&av.join("sub/c.ini"));
        symlink("b.ini", av.join("l.ini")).unwrap();
        symlink("nowhere", av.join("d.ini")).unwrap();
        let apps = available(&layout, &ns).unwrap();
        let got: Vec<_> = apps
            .iter()
            .map(|a| (a.file_name.to_str().unwrap(), a.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("a.ini", EntryKind::File),
                ("a.YAML", EntryKind::File),
                ("b.ini", EntryKind::File),
                ("d.ini", EntryKind::Other),
                ("l.ini", EntryKind::LinkToFile),
            ]
        );
    }

    #[test]
    fn namespaces_come_from_directory_names() {
        let (_d, layout) = tree();
        fs::create_dir_all(layout.config_dir().join("vassals-enabled")).unwrap();
        fs::create_dir_all(layout.config_dir().join("other")).unwrap();
        let ns = namespaces(&layout).unwrap();
        assert_eq!(
            ns,
            vec![Namespace::app(), Namespace::new("vassal").unwrap()]
        );
    }
}
