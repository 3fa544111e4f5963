//! `uwsgi-apps complete-names KIND`: the app names the shell completions
//! offer, one per line, read from the tree under `--root`.
//!
//! It runs on every TAB, so it does one directory walk per namespace and
//! opens no file. Names are printed as a command line takes them: `NAME` in
//! namespace `app`, `NS/NAME` in any other.

use std::collections::BTreeSet;
use std::fs;
use std::io;

use crate::cli::{CompleteNamesArgs, NameKind};
use crate::discovery;
use crate::display::shows_as_is;
use crate::error::{Error, IoContext, Result};
use crate::layout::Layout;
use crate::name::{Format, Namespace};

pub fn complete_names(layout: &Layout, args: &CompleteNamesArgs) -> Result<i32> {
    for name in names(layout, args.kind)? {
        crate::outln!("{name}");
    }
    Ok(0)
}

/// The names of `kind`, sorted, each once.
pub fn names(layout: &Layout, kind: NameKind) -> Result<BTreeSet<String>> {
    let mut all = BTreeSet::new();
    for ns in discovery::namespaces(layout)? {
        let confnames: Vec<std::ffi::OsString> = match kind {
            NameKind::Available => discovery::available(layout, &ns)?
                .into_iter()
                .map(|app| app.confname)
                .collect(),
            NameKind::Enabled => enabled_entries(layout, &ns)?,
            NameKind::Confnames => discovery::enabled(layout, &ns)?
                .instances
                .into_iter()
                .map(|c| c.spec.name)
                .collect(),
        };
        for confname in confnames {
            let mut word = std::ffi::OsString::new();
            if !ns.is_default() {
                word.push(ns.as_os_str());
                word.push("/");
            }
            word.push(&confname);
            // A name a shell cannot take back as one line (a newline, any
            // control character, bytes that are not UTF-8), in the name or
            // its namespace, is left out rather than offered garbled.
            if let Some(word) = word.to_str().filter(|w| shows_as_is(w.as_ref())) {
                all.insert(word.to_owned());
            }
        }
    }
    Ok(all)
}

/// The confnames of the entries directly in `NSs-enabled`, whatever they
/// point to: what `uwsgi-disapp` can remove (a dangling link included).
fn enabled_entries(layout: &Layout, ns: &Namespace) -> Result<Vec<std::ffi::OsString>> {
    let dir = layout.enabled_dir(ns);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read directory", dir, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.at("read directory", &dir)?;
        let file_name = entry.file_name();
        if let Some((confname, _)) = Format::split_file_name(&file_name) {
            found.push(confname.to_owned());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;

    #[test]
    fn each_kind_lists_its_names_with_their_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path(), "/usr/bin/uwsgi");
        let etc = dir.path().join("etc/uwsgi");
        for d in [
            "apps-available",
            "apps-enabled/sub",
            "vassals-available",
            "vassals-enabled",
        ] {
            fs::create_dir_all(etc.join(d)).unwrap();
        }
        for f in [
            "blog.ini",
            "blog.yaml",
            "shop.xml",
            "README",
            "bad\nname.ini",
        ] {
            fs::write(etc.join("apps-available").join(f), "[uwsgi]\n").unwrap();
        }
        fs::write(etc.join("vassals-available/mail.ini"), "").unwrap();
        // A namespace that is not UTF-8, or holds a control character.
        for ns in [&b"caf\xe9s-available"[..], b"t\x1bs-available"] {
            let dir = etc.join(std::ffi::OsStr::from_bytes(ns));
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("x.ini"), "").unwrap();
        }
        symlink(
            "../apps-available/blog.ini",
            etc.join("apps-enabled/blog.ini"),
        )
        .unwrap();
        symlink(
            "../apps-available/gone.ini",
            etc.join("apps-enabled/gone.ini"),
        )
        .unwrap();
        fs::write(etc.join("apps-enabled/sub/deep.ini"), "").unwrap();
        symlink(
            "../vassals-available/mail.ini",
            etc.join("vassals-enabled/mail.ini"),
        )
        .unwrap();

        let list = |kind| {
            names(&layout, kind)
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>()
        };
        assert_eq!(list(NameKind::Available), ["blog", "shop", "vassal/mail"]);
        assert_eq!(list(NameKind::Enabled), ["blog", "gone", "vassal/mail"]);
        assert_eq!(list(NameKind::Confnames), ["blog", "deep", "vassal/mail"]);
    }

    #[test]
    fn a_missing_tree_has_no_names() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path(), "/usr/bin/uwsgi");
        assert!(names(&layout, NameKind::Confnames).unwrap().is_empty());
    }
}
