//! App names, namespaces, confspecs and config formats. (How they are
//! shown is `display`'s.)
//!
//! Names are `OsString`s: a file name may hold any byte but `/` and NUL, and
//! the SPEC makes every such name legal (spaces, UTF-8, control characters,
//! even bytes that are not UTF-8). Only `/`, `.`, `..` and the empty name are
//! refused, because they would leave the directory they name an entry of.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::display::{display_name, sanitize};
use crate::error::{Error, Result};

/// The configuration formats uWSGI loads, in the SPEC's order. The order
/// matters: it breaks ties when one confname has several files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Db,
    Ini,
    Js,
    Json,
    Sqlite,
    Sqlite3,
    Xml,
    Yaml,
    Yml,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::Db,
        Format::Ini,
        Format::Js,
        Format::Json,
        Format::Sqlite,
        Format::Sqlite3,
        Format::Xml,
        Format::Yaml,
        Format::Yml,
    ];

    /// The extension, lower case, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Db => "db",
            Format::Ini => "ini",
            Format::Js => "js",
            Format::Json => "json",
            Format::Sqlite => "sqlite",
            Format::Sqlite3 => "sqlite3",
            Format::Xml => "xml",
            Format::Yaml => "yaml",
            Format::Yml => "yml",
        }
    }

    /// Recognise an extension, case-insensitively (`SITE.INI` is an ini).
    pub fn from_extension(ext: &OsStr) -> Option<Format> {
        let ext = ext.as_bytes();
        Format::ALL
            .into_iter()
            .find(|f| f.extension().as_bytes().eq_ignore_ascii_case(ext))
    }

    /// The uWSGI option that loads a file of this format.
    pub fn uwsgi_option(self) -> &'static str {
        match self {
            Format::Ini => "--ini",
            Format::Json | Format::Js => "--json",
            Format::Db | Format::Sqlite | Format::Sqlite3 => "--sqlite",
            Format::Xml => "--xmlconfig",
            Format::Yaml | Format::Yml => "--yaml",
        }
    }

    /// The extensions, in order, as one list for messages (`db ini js …`).
    pub fn extension_list() -> String {
        let exts: Vec<&str> = Format::ALL.iter().map(|f| f.extension()).collect();
        exts.join(" ")
    }

    /// Every uWSGI option that loads a config file of a given format
    /// (`--yml` is `--yaml`), without its dashes, and the format it reads.
    /// `uwsgi_option` is the one of these that this program passes.
    pub const LOADERS: [(&'static str, Format); 11] = [
        ("ini", Format::Ini),
        ("ini-paste", Format::Ini),
        ("ini-paste-logged", Format::Ini),
        ("yaml", Format::Yaml),
        ("yml", Format::Yaml),
        ("json", Format::Json),
        ("js", Format::Json),
        ("xml", Format::Xml),
        ("xmlconfig", Format::Xml),
        ("sqlite", Format::Sqlite),
        ("sqlite3", Format::Sqlite),
    ];

    /// The format the uWSGI option `key` (without dashes) loads a file
    /// as, when it is one of `LOADERS`.
    pub fn of_option(key: &str) -> Option<Format> {
        Format::LOADERS
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, f)| *f)
    }

    /// The family of the format, for the readers: formats that uWSGI reads
    /// with the same parser share one.
    pub fn family(self) -> &'static str {
        match self {
            Format::Ini => "ini",
            Format::Json | Format::Js => "json",
            Format::Db | Format::Sqlite | Format::Sqlite3 => "sqlite",
            Format::Xml => "xml",
            Format::Yaml | Format::Yml => "yaml",
        }
    }

    /// Split a file name into (confname, format) when it is a config file.
    /// `site.ini` → (`site`, Ini); `.ini` has no confname and is not one;
    /// `README` and `x.conf` are not config files.
    pub fn split_file_name(file_name: &OsStr) -> Option<(&OsStr, Format)> {
        let bytes = file_name.as_bytes();
        let dot = bytes.iter().rposition(|&b| b == b'.')?;
        if dot == 0 {
            return None;
        }
        let format = Format::from_extension(OsStr::from_bytes(&bytes[dot + 1..]))?;
        Some((OsStr::from_bytes(&bytes[..dot]), format))
    }

    pub fn of_path(path: &Path) -> Option<Format> {
        path.file_name()
            .and_then(Format::split_file_name)
            .map(|(_, f)| f)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// Why a name can never be an entry of a directory, or `None` when it can.
fn name_problem(name: &OsStr) -> Option<&'static str> {
    let b = name.as_bytes();
    if b.is_empty() {
        Some("a name cannot be empty")
    } else if b == b"." || b == b".." {
        Some("a name cannot be \".\" or \"..\"")
    } else if b.contains(&b'/') {
        Some("a name cannot contain \"/\"")
    } else if b.contains(&0) {
        Some("a name cannot contain a NUL byte")
    } else {
        None
    }
}

/// Check an app name (a confname, or a file name in the app directories).
pub fn validate_name(name: &OsStr) -> Result<()> {
    match name_problem(name) {
        None => Ok(()),
        Some(why) => Err(Error::InvalidName {
            what: "app name",
            value: name.to_owned(),
            why,
        }),
    }
}

/// A namespace: `app` for `apps-available`/`apps-enabled`, `NS` for
/// `NSs-available`/`NSs-enabled`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Namespace(OsString);

impl Namespace {
    pub const DEFAULT: &'static str = "app";

    pub fn new(ns: impl Into<OsString>) -> Result<Namespace> {
        let ns = ns.into();
        match name_problem(&ns) {
            None => Ok(Namespace(ns)),
            Some(why) => Err(Error::InvalidName {
                what: "namespace",
                value: ns,
                why,
            }),
        }
    }

    pub fn app() -> Namespace {
        Namespace(OsString::from(Namespace::DEFAULT))
    }

    pub fn as_os_str(&self) -> &OsStr {
        &self.0
    }

    pub fn is_default(&self) -> bool {
        self.0 == Namespace::DEFAULT
    }

    /// `apps-available` for `app`.
    pub fn available_dir_name(&self) -> OsString {
        let mut s = self.0.clone();
        s.push("s-available");
        s
    }

    /// `apps-enabled` for `app`.
    pub fn enabled_dir_name(&self) -> OsString {
        let mut s = self.0.clone();
        s.push("s-enabled");
        s
    }

    /// The namespace whose available or enabled directory this is:
    /// `apps-enabled` → `app`. Used to find every namespace in `/etc/uwsgi`.
    pub fn from_dir_name(dir: &OsStr) -> Option<(Namespace, DirKind)> {
        let b = dir.as_bytes();
        for (suffix, kind) in [
            (&b"s-available"[..], DirKind::Available),
            (&b"s-enabled"[..], DirKind::Enabled),
        ] {
            if let Some(ns) = b.strip_suffix(suffix) {
                if !ns.is_empty() {
                    return Namespace::new(OsStr::from_bytes(ns))
                        .ok()
                        .map(|n| (n, kind));
                }
            }
        }
        None
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&sanitize(&self.0))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirKind {
    Available,
    Enabled,
}

/// A confspec from the command line: `NAME` (namespace `app`) or `NS/NAME`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Confspec {
    pub namespace: Namespace,
    pub name: OsString,
}

impl Confspec {
    pub fn new(namespace: Namespace, name: impl Into<OsString>) -> Result<Confspec> {
        let name = name.into();
        validate_name(&name)?;
        Ok(Confspec { namespace, name })
    }

    /// Parse `NAME` or `NS/NAME`. Anything with more than one `/`, or an
    /// empty part, is refused: it could only be an attempt to leave the
    /// configuration tree (`../x`, `/etc/passwd`).
    pub fn parse(spec: &OsStr) -> Result<Confspec> {
        let b = spec.as_bytes();
        let invalid = |why| Error::InvalidName {
            what: "confspec",
            value: spec.to_owned(),
            why,
        };
        match b.iter().position(|&c| c == b'/') {
            None => Confspec::new(Namespace::app(), spec),
            Some(slash) => {
                let (ns, name) = (&b[..slash], &b[slash + 1..]);
                if name.contains(&b'/') {
                    return Err(invalid("a confspec is NAME or NAMESPACE/NAME"));
                }
                let ns = Namespace::new(OsStr::from_bytes(ns))
                    .map_err(|_| invalid("the namespace part is not a valid name"))?;
                Confspec::new(ns, OsStr::from_bytes(name))
                    .map_err(|_| invalid("the name part is not a valid name"))
            }
        }
    }
}

impl Confspec {
    /// `NS/NAME` as a command-line confspec (what `parse` reads back).
    pub fn to_arg(&self) -> OsString {
        let mut s = self.namespace.as_os_str().to_owned();
        s.push("/");
        s.push(&self.name);
        s
    }
}

impl fmt::Display for Confspec {
    /// `NS/NAME`, always with the namespace (Debian's init output shows
    /// `app/nope?` for a bare `nope`), sanitised and quoted as a whole when
    /// it holds white space (`'app/my site'`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut whole = self.namespace.as_os_str().to_owned();
        whole.push("/");
        whole.push(&self.name);
        f.write_str(&display_name(&whole))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn formats_and_their_options() {
        assert_eq!(Format::from_extension(os("INI")), Some(Format::Ini));
        assert_eq!(Format::from_extension(os("Yml")), Some(Format::Yml));
        assert_eq!(Format::from_extension(os("conf")), None);
        assert_eq!(Format::from_extension(os("")), None);
        assert_eq!(Format::Js.uwsgi_option(), "--json");
        assert_eq!(Format::Sqlite3.uwsgi_option(), "--sqlite");
        assert_eq!(Format::Db.uwsgi_option(), "--sqlite");
        assert_eq!(Format::Xml.uwsgi_option(), "--xmlconfig");
        assert_eq!(Format::Yml.uwsgi_option(), "--yaml");
        let exts: Vec<_> = Format::ALL.iter().map(|f| f.extension()).collect();
        assert_eq!(
            exts,
            ["db", "ini", "js", "json", "sqlite", "sqlite3", "xml", "yaml", "yml"]
        );
        assert_eq!(
            Format::extension_list(),
            "db ini js json sqlite sqlite3 xml yaml yml"
        );
        // The option this program passes loads the format itself.
        for f in Format::ALL {
            let option = f.uwsgi_option().trim_start_matches("--");
            assert_eq!(
                Format::of_option(option).map(Format::family),
                Some(f.family())
            );
        }
        assert_eq!(Format::of_option("yml"), Some(Format::Yaml));
        assert_eq!(Format::of_option("include"), None);
    }

    #[test]
    fn file_names_split_into_confname_and_format() {
        assert_eq!(
            Format::split_file_name(os("site.ini")),
            Some((os("site"), Format::Ini))
        );
        assert_eq!(
            Format::split_file_name(os("a.b.XML")),
            Some((os("a.b"), Format::Xml))
        );
        assert_eq!(
            Format::split_file_name(os("my app.yaml")),
            Some((os("my app"), Format::Yaml))
        );
        assert_eq!(Format::split_file_name(os(".ini")), None);
        assert_eq!(Format::split_file_name(os("README")), None);
        assert_eq!(Format::split_file_name(os("x.ini.bak")), None);
        assert_eq!(Format::split_file_name(os("x.")), None);
    }

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        for bad in ["", ".", "..", "a/b", "../x", "/etc/passwd"] {
            assert!(validate_name(os(bad)).is_err(), "{bad:?} accepted");
        }
        for good in ["x", "my app", "süß", "a\nb", "...", ".hidden", "-rf"] {
            assert!(validate_name(os(good)).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn confspecs() {
        let c = Confspec::parse(os("hello")).unwrap();
        assert_eq!(c.namespace, Namespace::app());
        assert_eq!(c.name, "hello");
        assert_eq!(c.to_string(), "app/hello");
        let c = Confspec::parse(os("vassal/site")).unwrap();
        assert_eq!(c.namespace.as_os_str(), "vassal");
        assert_eq!(c.name, "site");
        let spaced = Confspec::parse(os("my site")).unwrap();
        assert_eq!(spaced.to_string(), "'app/my site'");
        // Shown sanitised, one mark per byte that is not UTF-8.
        assert_eq!(
            Confspec::parse(OsStr::from_bytes(b"v/\xff\xfe"))
                .unwrap()
                .to_string(),
            "v/??"
        );
        for bad in [
            "",
            "/x",
            "x/",
            "a/b/c",
            "../x",
            "/etc/passwd",
            "apps-available/../..",
            "./x",
            "x/..",
        ] {
            assert!(Confspec::parse(os(bad)).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn namespace_directories() {
        let ns = Namespace::app();
        assert_eq!(ns.available_dir_name(), "apps-available");
        assert_eq!(ns.enabled_dir_name(), "apps-enabled");
        assert_eq!(
            Namespace::from_dir_name(os("vassals-enabled")),
            Some((Namespace::new("vassal").unwrap(), DirKind::Enabled))
        );
        assert_eq!(Namespace::from_dir_name(os("s-enabled")), None);
        assert_eq!(Namespace::from_dir_name(os("apps")), None);
    }
}
