//! Layout checks: what stands in `NSs-enabled` and `NSs-available`.
//!
//! The front end quietly ignores what it cannot run (as Debian's script
//! does); doctor is where each such entry is named, with what to do. An
//! entry without a config extension is not an app at all (the package's
//! own `README`, an editor's backup): it is no finding.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use super::{Finding, NamespaceFacts, Severity};
use crate::discovery::{self, Depth};
use crate::display::{display_name, display_path};
use crate::layout::Layout;
use crate::name::{Confspec, Format, Namespace};

/// Directories that tools expect to be real directories.
pub fn check_config_dir(layout: &Layout, findings: &mut Vec<Finding>) {
    check_is_real_dir(&layout.config_dir(), findings);
}

fn check_is_real_dir(dir: &Path, findings: &mut Vec<Finding>) {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return;
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(dir)
            .map(|t| display_path(&t))
            .unwrap_or_else(|_| "?".into());
        findings.push(Finding::path(
            Severity::Warning,
            "directory-is-link",
            dir,
            None,
            format!("is a symbolic link to {target}, not a directory"),
            "replace the link with a real directory: the safety of every config depends on \
             who can change the directories on its path, and a link moves that elsewhere",
        ));
    } else if !meta.is_dir() {
        findings.push(Finding::path(
            Severity::Error,
            "not-a-directory",
            dir,
            None,
            "is not a directory",
            "move it away and create the directory",
        ));
    }
}

fn spec_of(ns: &Namespace, file_name: &OsStr) -> Option<Confspec> {
    let (confname, _) = Format::split_file_name(file_name)?;
    Confspec::new(ns.clone(), confname).ok()
}

/// Every check of one namespace's directories.
pub fn check(layout: &Layout, facts: &NamespaceFacts, findings: &mut Vec<Finding>) {
    let ns = &facts.ns;
    let enabled_dir = layout.enabled_dir(ns);
    let available_dir = layout.available_dir(ns);
    check_is_real_dir(&available_dir, findings);
    check_is_real_dir(&enabled_dir, findings);
    check_enabled_entries(layout, ns, findings);
    check_available_entries(&available_dir, ns, findings);

    for clash in &facts.discovery.clashes {
        let losers: Vec<String> = clash.losers.iter().map(|p| display_path(p)).collect();
        findings.push(Finding::path(
            Severity::Warning,
            "confname-clash",
            &clash.winner,
            Some(clash.spec.clone()),
            format!(
                "confname {} is defined {} times; {} wins over {}",
                display_name(&clash.spec.name),
                clash.losers.len() + 1,
                display_path(&clash.winner),
                losers.join(", ")
            ),
            format!(
                "keep one file per confname: disable or rename the others \
                 (the shallowest path wins, then the extension first in {})",
                Format::extension_list()
            ),
        ));
    }
    for e in &facts.discovery.errors {
        findings.push(Finding::path(
            Severity::Error,
            "unreadable-directory",
            &enabled_dir,
            None,
            e.to_string(),
            "fix or remove that part of the tree: the apps under it are not started",
        ));
    }
}

/// What a symbolic link in `NSs-enabled` leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkHealth {
    /// A regular file inside `NSs-available`; `relative` is the form the
    /// link should have (`../apps-available/x.ini`).
    Ok {
        target: PathBuf,
        resolved: PathBuf,
        relative: PathBuf,
    },
    Dangling {
        target: PathBuf,
    },
    Loop {
        target: PathBuf,
    },
    /// A regular file outside `NSs-available`.
    Outside {
        target: PathBuf,
        resolved: PathBuf,
    },
    /// A directory, FIFO, device…
    NotAFile {
        target: PathBuf,
    },
    Unreadable(String),
}

/// Inspect a link of `NSs-enabled` (at `depth` 1 when directly in it).
pub fn link_health(link: &Path, depth: usize, available_dir: &Path) -> LinkHealth {
    let target = match fs::read_link(link) {
        Ok(t) => t,
        Err(e) => return LinkHealth::Unreadable(e.to_string()),
    };
    match fs::metadata(link) {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => LinkHealth::Loop { target },
        Err(_) => LinkHealth::Dangling { target },
        Ok(m) if !m.is_file() => LinkHealth::NotAFile { target },
        Ok(_) => {
            let resolved = match fs::canonicalize(link) {
                Ok(r) => r,
                Err(e) => return LinkHealth::Unreadable(e.to_string()),
            };
            let canon_available = fs::canonicalize(available_dir).ok();
            match canon_available
                .as_deref()
                .and_then(|av| resolved.strip_prefix(av).ok())
            {
                Some(inside) => {
                    let mut relative = PathBuf::new();
                    for _ in 0..depth.max(1) {
                        relative.push("..");
                    }
                    if let Some(name) = available_dir.file_name() {
                        relative.push(name);
                    }
                    relative.push(inside);
                    LinkHealth::Ok {
                        target,
                        resolved,
                        relative,
                    }
                }
                None => LinkHealth::Outside { target, resolved },
            }
        }
    }
}

fn check_enabled_entries(layout: &Layout, ns: &Namespace, findings: &mut Vec<Finding>) {
    let available_dir = layout.available_dir(ns);
    let en_name = display_name(&ns.enabled_dir_name());
    let av_name = display_name(&ns.available_dir_name());
    let mut entries = Vec::new();
    // Errors of the walk are discovery's errors, reported in `check`.
    let _ = discovery::walk_enabled(layout, ns, Depth::All, &mut |entry| {
        entries.extend(entry.ok())
    });
    for entry in entries {
        let path = entry.path.as_path();
        let file_type = entry.file_type;
        if file_type.is_dir() {
            continue;
        }
        // Without a config extension the front end ignores an entry, as
        // Debian's script does, and so does doctor: the uwsgi package ships
        // apps-enabled/README, and editors leave `x.ini~` and `x.ini.swp`.
        let Some(spec) = spec_of(ns, &entry.file_name) else {
            continue;
        };
        let name = display_name(&spec.name);
        if file_type.is_file() {
            findings.push(Finding::path(
                Severity::Info,
                "regular-file",
                path,
                Some(spec.clone()),
                "is a regular file, not a link to an available app; it runs, but cannot be \
                 disabled with uwsgi-disapp",
                format!("move it to {av_name}/ and enable it with `uwsgi-enapp {name}`"),
            ));
            continue;
        }
        if !file_type.is_symlink() {
            findings.push(Finding::path(
                Severity::Warning,
                "not-a-regular-file",
                path,
                Some(spec.clone()),
                format!("is a {}; the front end ignores it", kind_of(&file_type)),
                format!("remove it from {en_name}"),
            ));
            continue;
        }
        match link_health(path, entry.depth, &available_dir) {
            LinkHealth::Dangling { target } => findings.push(Finding::path(
                Severity::Error,
                "dangling-link",
                path,
                Some(spec.clone()),
                format!(
                    "is a dangling link to {}: app {name} is enabled but cannot start",
                    display_path(&target)
                ),
                format!(
                    "restore {} or remove the link with `uwsgi-disapp {name}`",
                    display_path(&target)
                ),
            )),
            LinkHealth::Loop { target } => findings.push(Finding::path(
                Severity::Error,
                "link-loop",
                path,
                Some(spec.clone()),
                format!(
                    "is a link to {} that loops (too many levels of symbolic links)",
                    display_path(&target)
                ),
                format!("remove it with `uwsgi-disapp {name}` and enable the app again"),
            )),
            LinkHealth::NotAFile { target } => findings.push(Finding::path(
                Severity::Warning,
                "link-not-a-file",
                path,
                Some(spec.clone()),
                format!(
                    "is a link to {}, which is not a regular file; the front end ignores it",
                    display_path(&target)
                ),
                format!("remove it with `uwsgi-disapp {name}`"),
            )),
            LinkHealth::Outside { target, resolved } => findings.push(Finding::path(
                Severity::Warning,
                "link-outside-available",
                path,
                Some(spec.clone()),
                format!(
                    "is a link to {}, outside {av_name} (it resolves to {})",
                    display_path(&target),
                    display_path(&resolved)
                ),
                format!(
                    "move the config into {av_name}/ and enable it with `uwsgi-enapp {name}`, \
                     so that every app lives in one reviewed place"
                ),
            )),
            LinkHealth::Unreadable(e) => findings.push(Finding::path(
                Severity::Error,
                "unreadable-link",
                path,
                Some(spec.clone()),
                format!("cannot be read: {e}"),
                "fix the permissions of the link's directory",
            )),
            LinkHealth::Ok {
                target,
                resolved,
                relative,
            } => {
                if target.is_absolute() {
                    findings.push(Finding::path(
                        Severity::Info,
                        "absolute-link",
                        path,
                        Some(spec.clone()),
                        format!(
                            "is an absolute link to {}; enabled apps are relative links",
                            display_path(&target)
                        ),
                        format!(
                            "make it relative: `ln -sfn {} {}`",
                            display_path(&relative),
                            display_path(path)
                        ),
                    ));
                }
                if resolved.file_name() != path.file_name() {
                    findings.push(Finding::path(
                        Severity::Info,
                        "renamed-link",
                        path,
                        Some(spec.clone()),
                        format!(
                            "is named {name} here but links to {}: the two names may \
                             confuse uwsgi-enapp and uwsgi-disapp",
                            display_path(&resolved)
                        ),
                        "give the link the file name of its target".to_string(),
                    ));
                }
            }
        }
    }
}

fn kind_of(ft: &fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

fn check_available_entries(available_dir: &Path, ns: &Namespace, findings: &mut Vec<Finding>) {
    let Ok(entries) = fs::read_dir(available_dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let file_name = entry.file_name();
        let Some(spec) = spec_of(ns, &file_name) else {
            continue;
        };
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_file() || ft.is_dir() {
            continue;
        }
        let (check, what) = if ft.is_symlink() {
            match fs::metadata(&path) {
                Ok(m) if m.is_file() => continue,
                Ok(_) => (
                    "link-not-a-file",
                    "is a link to something that is not a regular file".to_string(),
                ),
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    ("link-loop", "is a symbolic link that loops".to_string())
                }
                Err(_) => (
                    "dangling-link",
                    format!(
                        "is a dangling link to {}",
                        fs::read_link(&path)
                            .map(|t| display_path(&t))
                            .unwrap_or_else(|_| "?".into())
                    ),
                ),
            }
        } else {
            ("not-a-regular-file", format!("is a {}", kind_of(&ft)))
        };
        findings.push(Finding::path(
            Severity::Warning,
            check,
            &path,
            Some(spec),
            format!("{what}; it cannot be enabled or run"),
            "fix or remove it",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn link_health_classifies() {
        let dir = tempfile::tempdir().unwrap();
        let av = dir.path().join("apps-available");
        let en = dir.path().join("apps-enabled");
        fs::create_dir_all(&av).unwrap();
        fs::create_dir_all(en.join("sub")).unwrap();
        fs::write(av.join("a.ini"), "").unwrap();
        fs::write(dir.path().join("out.ini"), "").unwrap();
        symlink(av.join("a.ini"), en.join("abs.ini")).unwrap();
        symlink("../../apps-available/a.ini", en.join("sub/a.ini")).unwrap();
        symlink("../out.ini", en.join("out.ini")).unwrap();
        symlink("../apps-available/nope.ini", en.join("d.ini")).unwrap();
        symlink("l2.ini", en.join("l1.ini")).unwrap();
        symlink("l1.ini", en.join("l2.ini")).unwrap();
        symlink("../apps-available", en.join("dir.ini")).unwrap();

        match link_health(&en.join("abs.ini"), 1, &av) {
            LinkHealth::Ok { relative, .. } => {
                assert_eq!(relative, Path::new("../apps-available/a.ini"))
            }
            other => panic!("{other:?}"),
        }
        match link_health(&en.join("sub/a.ini"), 2, &av) {
            LinkHealth::Ok { relative, .. } => {
                assert_eq!(relative, Path::new("../../apps-available/a.ini"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            link_health(&en.join("out.ini"), 1, &av),
            LinkHealth::Outside { .. }
        ));
        assert!(matches!(
            link_health(&en.join("d.ini"), 1, &av),
            LinkHealth::Dangling { .. }
        ));
        assert!(matches!(
            link_health(&en.join("l1.ini"), 1, &av),
            LinkHealth::Loop { .. }
        ));
        assert!(matches!(
            link_health(&en.join("dir.ini"), 1, &av),
            LinkHealth::NotAFile { .. }
        ));
    }
}
