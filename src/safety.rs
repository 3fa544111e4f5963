//! Is a configuration file safe to run as root?
//!
//! uWSGI runs every option before its privilege drop as root, and
//! `exec-as-root` runs commands as root: whoever can change a config file,
//! the file its link points at, or a directory on the way to either (and so
//! swap the file), can run code as root. The same goes for every file the
//! config pulls in (`ini = other.ini`, `@(file)`, `for-readline`, a plugin
//! given by path…, see `config::tree`) and for the inherited config and
//! what it pulls in. `start` refuses such a config (`refuse_unsafe`) and
//! `doctor` reports it; both use `check_tree`, so the rule is one rule.
//!
//! "WritableBy by anyone but root" means: owned by a user other than root
//! (whatever the mode says: an owner may always chmod), or writable by a
//! group other than root's, or writable by everyone. A world-writable
//! directory with the sticky bit (`/tmp`) lets others add entries but not
//! rename or remove root's, so it does not make a root-owned path on the
//! way unsafe.

use std::fmt;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub use crate::config::normalize_lexically;
use crate::config::tree::{self, ConfigTree, PullKind, Pulled};
use crate::discovery::EnabledConfig;
use crate::display::display_path;
use crate::error::{Error, Result};
use crate::layout::Layout;

/// One path on the way to a config that someone other than root can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafePath {
    pub path: PathBuf,
    pub uid: u32,
    pub gid: u32,
    /// The permission bits (`mode & 0o7777`).
    pub mode: u32,
    pub is_dir: bool,
    pub why: WritableBy,
}

/// Who, other than root, can write the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritableBy {
    /// Its owner is not root.
    Owner,
    /// Its group is not root's and has write permission.
    Group,
    /// Everyone may write it.
    Everyone,
}

impl UnsafePath {
    /// The reason in words, with owner and mode, for messages.
    pub fn describe(&self) -> String {
        let owner = user_name(self.uid);
        let group = group_name(self.gid);
        let what = if self.is_dir { "directory" } else { "file" };
        let who = match self.why {
            WritableBy::Owner => format!("its owner {owner}"),
            WritableBy::Group => format!("group {group}"),
            WritableBy::Everyone => "everyone".to_string(),
        };
        format!(
            "{what} {} (owner {owner}:{group}, mode {:04o}) is writable by {who}, not only by root",
            display_path(&self.path),
            self.mode
        )
    }
}

impl fmt::Display for UnsafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => crate::display::display_name(std::ffi::OsStr::new(&u.name)),
        _ => uid.to_string(),
    }
}

fn group_name(gid: u32) -> String {
    match nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)) {
        Ok(Some(g)) => crate::display::display_name(std::ffi::OsStr::new(&g.name)),
        _ => gid.to_string(),
    }
}

/// Who other than root can write a file (or directory, `is_dir`) with this
/// owner, group and mode.
pub fn writable_by_others(uid: u32, gid: u32, mode: u32, is_dir: bool) -> Option<WritableBy> {
    let sticky_dir = is_dir && mode & 0o1000 != 0;
    if uid != 0 {
        Some(WritableBy::Owner)
    } else if mode & 0o002 != 0 && !sticky_dir {
        Some(WritableBy::Everyone)
    } else if mode & 0o020 != 0 && gid != 0 {
        Some(WritableBy::Group)
    } else {
        None
    }
}

fn inspect(path: &Path, meta: &fs::Metadata) -> Option<UnsafePath> {
    let mode = meta.mode() & 0o7777;
    writable_by_others(meta.uid(), meta.gid(), mode, meta.is_dir()).map(|why| UnsafePath {
        path: path.to_path_buf(),
        uid: meta.uid(),
        gid: meta.gid(),
        mode,
        is_dir: meta.is_dir(),
        why,
    })
}

/// The directories above `path` up to and including `stop` (when `path`
/// is under it), else up to and including the layout's root.
fn ancestors_up_to<'a>(path: &'a Path, stop: &'a Path, root: &'a Path) -> Vec<&'a Path> {
    let limit = if path.starts_with(stop) { stop } else { root };
    let mut dirs = Vec::new();
    for dir in path.ancestors().skip(1) {
        if dir.as_os_str().is_empty() {
            break;
        }
        dirs.push(dir);
        if dir == limit || !dir.starts_with(limit) {
            break;
        }
    }
    dirs
}

/// Every path on the way to `config` that someone other than root can
/// write: the file itself, the file its link points at, and the
/// directories between each and the configuration directory (for a target
/// outside it: up to the root of the layout). An empty list means safe.
///
/// `config` is the path as found in `NSs-enabled`. An error means a path
/// could not be inspected, which the caller must treat as unsafe.
pub fn check_config(layout: &Layout, config: &Path) -> Result<Vec<UnsafePath>> {
    let config_dir = layout.config_dir();
    let root = layout.root();
    let mut found = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut look = |path: &Path, follow: bool, found: &mut Vec<UnsafePath>| -> Result<()> {
        if seen.iter().any(|p| p == path) {
            return Ok(());
        }
        seen.push(path.to_path_buf());
        let meta = if follow {
            fs::metadata(path)
        } else {
            fs::symlink_metadata(path)
        };
        let meta = meta.map_err(|e| Error::io("inspect", path, e))?;
        // The permissions of a symbolic link itself mean nothing (they are
        // always 0777); whoever owns its directory decides, and that is
        // checked below.
        if !meta.file_type().is_symlink() {
            if let Some(u) = inspect(path, &meta) {
                found.push(u);
            }
        }
        Ok(())
    };

    look(config, false, &mut found)?;
    for dir in ancestors_up_to(config, &config_dir, root) {
        look(dir, false, &mut found)?;
    }
    let is_link = fs::symlink_metadata(config)
        .map(|m| m.file_type().is_symlink())
        .map_err(|e| Error::io("inspect", config, e))?;
    if is_link {
        let target = fs::canonicalize(config).map_err(|e| Error::io("resolve link", config, e))?;
        let canon_config_dir = fs::canonicalize(&config_dir).unwrap_or(config_dir.clone());
        let canon_root = fs::canonicalize(root).unwrap_or(root.to_path_buf());
        look(&target, true, &mut found)?;
        for dir in ancestors_up_to(&target, &canon_config_dir, &canon_root) {
            look(dir, false, &mut found)?;
        }
    }
    Ok(found)
}

/// Why a path that others can write matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// It is on the way to this config file, one uWSGI is given (the
    /// app's config or the inherited config).
    Config(PathBuf),
    /// It is, or is on the way to, a file that an option pulls in.
    Pulled(Pulled),
}

/// A path that someone other than root can write, and why it matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeUse {
    pub path: UnsafePath,
    pub reach: Reach,
}

impl UnsafeUse {
    /// The whole reason, one sentence without a final period: the path
    /// with owner and mode, and, for a pulled file, the option that pulls
    /// it in.
    pub fn describe(&self) -> String {
        match &self.reach {
            Reach::Config(_) => self.path.describe(),
            Reach::Pulled(p) => {
                let what = if p.path == self.path.path {
                    "uWSGI reads it".to_string()
                } else {
                    format!("it leads to {}, which uWSGI reads", display_path(&p.path))
                };
                format!(
                    "{}; {what} as root, as {} ({})",
                    self.path.describe(),
                    p.kind.noun(),
                    p.by.describe()
                )
            }
        }
    }
}

/// Every path that someone other than root can write among: the config
/// files `tops` (each as `check_config` sees it) and every file `tree`
/// pulls in, with the directories on the way and the links it goes
/// through. Each unsafe path is listed once, for the first reason found.
///
/// What the tree could not resolve (`tree.unresolved`) is not checked:
/// the caller decides what to say about it.
pub fn check_tree(layout: &Layout, tops: &[&Path], tree: &ConfigTree) -> Result<Vec<UnsafeUse>> {
    let mut found: Vec<UnsafeUse> = Vec::new();
    let add = |path: UnsafePath, reach: Reach, found: &mut Vec<UnsafeUse>| {
        if !found.iter().any(|f| f.path.path == path.path) {
            found.push(UnsafeUse { path, reach });
        }
    };
    for top in tops {
        for u in check_config(layout, top)? {
            add(u, Reach::Config(top.to_path_buf()), &mut found);
        }
    }
    for p in &tree.pulled {
        for u in check_pulled(layout, &p.path, p.kind)? {
            add(u, Reach::Pulled(p.clone()), &mut found);
        }
    }
    Ok(found)
}

/// Links followed before a path counts as a loop (the kernel's limit).
const MAX_LINKS: usize = 40;

/// The directories above `path` up to and including `limit`, or `/` when
/// `path` is not under `limit`.
fn dirs_up_to(path: &Path, limit: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in path.ancestors().skip(1) {
        if dir.as_os_str().is_empty() {
            break;
        }
        out.push(dir.to_path_buf());
        if dir == limit {
            break;
        }
    }
    out
}

/// Where the directories that matter for `path` end: the configuration
/// directory for a path in it (as for the configs themselves), else the
/// root of the layout, else `/`.
fn limit_for(path: &Path, config_dir: &Path, root: &Path) -> PathBuf {
    if path.starts_with(config_dir) {
        config_dir.to_path_buf()
    } else if path.starts_with(root) {
        root.to_path_buf()
    } else {
        PathBuf::from("/")
    }
}

/// The safety of one pulled-in path: the path as written, each link it
/// goes through, its real location, and the directories on the way to
/// each. A missing file is unsafe when someone else can create it: its
/// nearest existing directory counts, sticky bit or not. So does a
/// directory whose entries uWSGI loads (`plugins-dir`, a glob): in `/tmp`
/// anyone may add a `x_plugin.so`.
fn check_pulled(layout: &Layout, path: &Path, kind: PullKind) -> Result<Vec<UnsafePath>> {
    let config_dir = layout.config_dir();
    let root = layout.root().to_path_buf();
    let mut found: Vec<UnsafePath> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    // Inspect `p` (never following a link: a link's own mode means
    // nothing; who can replace it is its directory's business).
    let mut look = |p: &Path, entries_matter: bool, found: &mut Vec<UnsafePath>| -> Result<bool> {
        let meta = match fs::symlink_metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io("inspect", p, e)),
        };
        if seen.iter().any(|s| s == p) || meta.file_type().is_symlink() {
            return Ok(true);
        }
        seen.push(p.to_path_buf());
        let mode = meta.mode() & 0o7777;
        let effective = if entries_matter { mode & !0o1000 } else { mode };
        if let Some(why) = writable_by_others(meta.uid(), meta.gid(), effective, meta.is_dir()) {
            found.push(UnsafePath {
                path: p.to_path_buf(),
                uid: meta.uid(),
                gid: meta.gid(),
                mode,
                is_dir: meta.is_dir(),
                why,
            });
        }
        Ok(true)
    };
    let entries_matter = kind == PullKind::Directory;

    // The path as written, then each link it leads through.
    let mut hop = normalize_lexically(path);
    for _ in 0..MAX_LINKS {
        let meta = match fs::symlink_metadata(&hop) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("inspect", &hop, e)),
        };
        let limit = limit_for(&hop, &config_dir, &root);
        match meta {
            Some(m) if m.file_type().is_symlink() => {
                for dir in dirs_up_to(&hop, &limit) {
                    look(&dir, false, &mut found)?;
                }
                let target = fs::read_link(&hop).map_err(|e| Error::io("read link", &hop, e))?;
                let parent = hop.parent().unwrap_or(Path::new("/")).to_path_buf();
                hop = normalize_lexically(&parent.join(target));
            }
            Some(_) => {
                look(&hop, entries_matter, &mut found)?;
                for dir in dirs_up_to(&hop, &limit) {
                    look(&dir, false, &mut found)?;
                }
                break;
            }
            None => {
                // Whoever can write the nearest existing directory can
                // create what is missing.
                let mut nearest = true;
                for dir in dirs_up_to(&hop, &limit) {
                    if look(&dir, nearest, &mut found)? {
                        nearest = false;
                    }
                }
                break;
            }
        }
    }

    // Where it really is: a directory on the way may be a link elsewhere.
    let existing = path.ancestors().find(|p| p.symlink_metadata().is_ok());
    if let Some(canon) = existing.and_then(|p| fs::canonicalize(p).ok()) {
        let canon_config_dir = fs::canonicalize(&config_dir).unwrap_or(config_dir.clone());
        let canon_root = fs::canonicalize(&root).unwrap_or(root.clone());
        let limit = limit_for(&canon, &canon_config_dir, &canon_root);
        // For a missing path, `canon` is the directory it would be made in.
        let is_target = existing == Some(path);
        look(&canon, !is_target || entries_matter, &mut found)?;
        for dir in dirs_up_to(&canon, &limit) {
            look(&dir, false, &mut found)?;
        }
    }
    Ok(found)
}

/// The check as `start` needs it: `Ok` when safe, else one error that names
/// the first unsafe path with its owner and mode, why it matters, and the
/// way out. It covers the app's config, the inherited config (when it
/// exists; a missing one fails the start on its own), and every file
/// either pulls in.
///
/// What cannot be resolved without running uWSGI (`exec://`, `http://`,
/// an environment variable only the instance knows…) does not stop the
/// start: those sources are written in root-owned files by the
/// administrator, so they are a choice, not a breach; refusing them would
/// stop configs that work, with nothing the admin could fix but to remove
/// them. `doctor` names each one for review.
pub fn refuse_unsafe(
    layout: &Layout,
    config: &EnabledConfig,
    inherited: Option<&Path>,
) -> Result<()> {
    let inherited = inherited.filter(|p| p.symlink_metadata().is_ok());
    let tree = tree::instance(&config.path, config.format, inherited, &config.spec);
    let mut tops: Vec<&Path> = inherited.into_iter().collect();
    tops.push(&config.path);
    let found = check_tree(layout, &tops, &tree)?;
    let Some(u) = found.first() else {
        return Ok(());
    };
    let whose = match &u.reach {
        Reach::Config(top) if top != &config.path => format!(
            " (on the way to the inherited config {}, which every instance runs as root)",
            display_path(top)
        ),
        _ => String::new(),
    };
    Err(Error::Failed(format!(
        "refusing to start {}: {}{whose}; make it writable by root only, or set \
         CHECK_CONFIG_PERMISSIONS=no in /etc/default/uwsgi",
        display_path(&config.path),
        u.describe()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{chown, symlink, PermissionsExt};
    use std::path::PathBuf;

    #[test]
    fn the_rule() {
        assert_eq!(writable_by_others(0, 0, 0o644, false), None);
        assert_eq!(writable_by_others(0, 0, 0o664, false), None);
        assert_eq!(writable_by_others(0, 33, 0o644, false), None);
        assert_eq!(
            writable_by_others(0, 33, 0o664, false),
            Some(WritableBy::Group)
        );
        assert_eq!(
            writable_by_others(0, 0, 0o646, false),
            Some(WritableBy::Everyone)
        );
        assert_eq!(
            writable_by_others(0, 0, 0o777, true),
            Some(WritableBy::Everyone)
        );
        // /tmp: others may add entries, not replace root's.
        assert_eq!(writable_by_others(0, 0, 0o1777, true), None);
        assert_eq!(
            writable_by_others(0, 0, 0o1666, false),
            Some(WritableBy::Everyone)
        );
        // An owner may chmod: read-only for them is no protection.
        assert_eq!(
            writable_by_others(33, 0, 0o444, false),
            Some(WritableBy::Owner)
        );
    }

    #[test]
    fn ancestors_stop_at_the_config_dir() {
        let p = Path::new("/r/etc/uwsgi/apps-enabled/sub/x.ini");
        let got = ancestors_up_to(p, Path::new("/r/etc/uwsgi"), Path::new("/r"));
        assert_eq!(
            got,
            [
                Path::new("/r/etc/uwsgi/apps-enabled/sub"),
                Path::new("/r/etc/uwsgi/apps-enabled"),
                Path::new("/r/etc/uwsgi"),
            ]
        );
        let outside = Path::new("/r/srv/app/x.ini");
        let got = ancestors_up_to(outside, Path::new("/r/etc/uwsgi"), Path::new("/r"));
        assert_eq!(
            got,
            [
                Path::new("/r/srv/app"),
                Path::new("/r/srv"),
                Path::new("/r")
            ]
        );
    }

    #[test]
    fn normalizes() {
        assert_eq!(
            normalize_lexically(Path::new("/a/./b/../c")),
            Path::new("/a/c")
        );
        assert_eq!(normalize_lexically(Path::new("../x")), Path::new("../x"));
    }

    // Needs root (chown): the test suite runs as root on this project.
    #[test]
    fn finds_a_foreign_target_and_a_writable_directory() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path(), "/usr/bin/uwsgi");
        let ns = crate::name::Namespace::app();
        let av = layout.available_dir(&ns);
        let en = layout.enabled_dir(&ns);
        fs::create_dir_all(&av).unwrap();
        fs::create_dir_all(&en).unwrap();
        fs::write(av.join("ok.ini"), "[uwsgi]\n").unwrap();
        symlink("../apps-available/ok.ini", en.join("ok.ini")).unwrap();
        assert_eq!(check_config(&layout, &en.join("ok.ini")).unwrap(), []);

        fs::write(av.join("bad.ini"), "[uwsgi]\n").unwrap();
        chown(av.join("bad.ini"), Some(33), Some(33)).unwrap();
        symlink("../apps-available/bad.ini", en.join("bad.ini")).unwrap();
        let found = check_config(&layout, &en.join("bad.ini")).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].why, WritableBy::Owner);
        assert!(found[0].path.ends_with("apps-available/bad.ini"));

        fs::set_permissions(&en, fs::Permissions::from_mode(0o777)).unwrap();
        let found = check_config(&layout, &en.join("ok.ini")).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, en);
        assert_eq!(found[0].why, WritableBy::Everyone);
        assert!(found[0].describe().contains("mode 0777"));
        let enabled = EnabledConfig {
            spec: crate::name::Confspec::new(ns.clone(), "ok").unwrap(),
            path: en.join("ok.ini"),
            format: crate::name::Format::Ini,
            depth: 1,
        };
        let refused = refuse_unsafe(&layout, &enabled, None)
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("refusing to start") && refused.contains("0777"),
            "{refused}"
        );
    }

    // Needs root (chown).
    #[test]
    fn pulled_files_links_missing_files_and_directories() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let layout = Layout::new(&root, "/usr/bin/uwsgi");
        let srv = root.join("srv");
        let user = root.join("home/user");
        let sticky = root.join("tmp");
        for d in [&srv, &user, &sticky] {
            fs::create_dir_all(d).unwrap();
        }
        chown(&user, Some(33), Some(33)).unwrap();
        fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).unwrap();
        let paths =
            |v: Vec<UnsafePath>| -> Vec<PathBuf> { v.into_iter().map(|u| u.path).collect() };
        let check = |p: &Path, kind: PullKind| paths(check_pulled(&layout, p, kind).unwrap());

        // A root-owned file in a root-owned dir, and in a sticky dir: safe.
        fs::write(srv.join("ok.ini"), "").unwrap();
        fs::write(sticky.join("ok.ini"), "").unwrap();
        assert_eq!(
            check(&srv.join("ok.ini"), PullKind::Config),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            check(&sticky.join("ok.ini"), PullKind::Config),
            Vec::<PathBuf>::new()
        );
        // Missing: whoever can create it counts, sticky or not.
        assert_eq!(
            check(&srv.join("gone.ini"), PullKind::Config),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            check(&sticky.join("gone.ini"), PullKind::Config),
            vec![sticky.clone()]
        );
        assert_eq!(
            check(&user.join("a/b/gone.ini"), PullKind::Config),
            vec![user.clone()]
        );
        // A directory uWSGI loads from: a sticky one is no protection.
        assert_eq!(check(&sticky, PullKind::Directory), vec![sticky.clone()]);
        assert_eq!(check(&srv, PullKind::Directory), Vec::<PathBuf>::new());
        // A link in a root-owned dir to a file in the user's dir, and a
        // root-owned link whose target the user can replace.
        fs::write(user.join("real.ini"), "").unwrap();
        symlink(user.join("real.ini"), srv.join("link.ini")).unwrap();
        assert_eq!(
            check(&srv.join("link.ini"), PullKind::Config),
            vec![user.clone()]
        );
        // A directory on the way that is a link into the user's dir.
        symlink(&user, srv.join("dirlink")).unwrap();
        assert_eq!(
            check(&srv.join("dirlink/real.ini"), PullKind::Config),
            vec![user.clone()]
        );
        // The user's own file.
        chown(user.join("real.ini"), Some(33), None).unwrap();
        assert_eq!(
            check(&srv.join("link.ini"), PullKind::Config),
            vec![user.join("real.ini"), user.clone()]
        );
    }
}
