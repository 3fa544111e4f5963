//! Reading uWSGI configuration files: the options they set, in order.
//!
//! Each format has a reader that follows what uWSGI 2.0 itself does with the
//! file (see the module of each format for the details and the deviations),
//! because the front end must agree with the daemon about, say, the user an
//! instance runs as. The readers never execute anything and never follow
//! includes (`ini = other.ini`, `@file`): they report what this one file
//! says. `tree` follows includes, with the readers, the way uWSGI does.
//!
//! All text formats are read through `read_bounded`, which refuses anything
//! that is not a regular file (a FIFO would hang, `/dev/zero` would never
//! end) and anything larger than `MAX_CONFIG_SIZE`.
//!
//! `run_as` answers the question the init front end asks before it starts
//! an instance: which uid and gid will it run as?

pub(crate) mod after_drop;
pub mod ini;
pub mod json;
pub mod sqlite;
pub(crate) mod tree;
pub mod xml;
pub mod yaml;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use nix::unistd::{Gid, Group, Uid, User};

use crate::display::display_path;
use crate::error::{Error, IoContext, Result};
use crate::name::Format;

/// The largest configuration file the readers accept. Real configs are a
/// few kilobytes; the cap keeps a mistake (a log file named `x.ini`, a link
/// to a device) from eating the memory of the front end.
pub const MAX_CONFIG_SIZE: u64 = 16 * 1024 * 1024;

/// Something a reader noticed that does not stop it, for `doctor`: a line
/// uWSGI ignores, a value it skips, a construct the reader does not
/// understand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line number, when the finding is about one line.
    pub line: Option<usize>,
    /// A sentence without the file name (the caller knows it).
    pub message: String,
}

impl Diagnostic {
    pub fn at(line: usize, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            line: Some(line),
            message: message.into(),
        }
    }

    pub fn file(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(f, "line {n}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The options one configuration file sets, in the order uWSGI would see
/// them, with every repetition kept (`env` is often given many times).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigOptions {
    pub options: Vec<(String, String)>,
    pub diagnostics: Vec<Diagnostic>,
    /// The file has no section uWSGI reads options from (`[uwsgi]` in an
    /// ini file, `uwsgi:` in YAML): uWSGI reads no option from it at all,
    /// whatever else it holds.
    pub section_missing: bool,
}

impl ConfigOptions {
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.options.push((key.into(), value.into()));
    }

    pub fn note(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// The first value of `key` (what Debian's init script reads).
    pub fn first(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The last value of `key`: the one uWSGI uses for an option that takes
    /// a single value, such as `uid`, because each occurrence overrides the
    /// previous one.
    pub fn last(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .rfind(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.options
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }
}

/// Read the options of the configuration file `path` in `format`.
///
/// Errors: the file cannot be opened or read, is not a regular file, is
/// larger than `MAX_CONFIG_SIZE`, or is a JSON, XML or SQLite file that
/// uWSGI could not load either. INI and YAML files are never refused for
/// their content (uWSGI does not refuse them); what looks wrong is in
/// `diagnostics`.
pub fn read_options(path: &Path, format: Format) -> Result<ConfigOptions> {
    match format {
        Format::Ini => Ok(ini::parse(&read_bounded(path, MAX_CONFIG_SIZE)?)),
        Format::Json | Format::Js => {
            json::parse(&read_bounded(path, MAX_CONFIG_SIZE)?).map_err(|message| Error::Parse {
                path: path.to_owned(),
                message,
            })
        }
        Format::Xml => {
            xml::parse(&read_bounded(path, MAX_CONFIG_SIZE)?).map_err(|message| Error::Parse {
                path: path.to_owned(),
                message,
            })
        }
        Format::Yaml | Format::Yml => Ok(yaml::parse(&read_bounded(path, MAX_CONFIG_SIZE)?)),
        Format::Db | Format::Sqlite | Format::Sqlite3 => sqlite::read(path),
    }
}

/// What kind of file this is, for messages: "a directory", "a FIFO"…
fn file_kind(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Open `path` for reading without blocking, and check that it is a
/// regular file of at most `cap` bytes.
///
/// `O_NONBLOCK` makes opening a FIFO return at once instead of waiting for a
/// writer; `O_NOCTTY` keeps a terminal device from becoming our controlling
/// terminal; std adds `O_CLOEXEC` so the descriptor never leaks into the
/// uWSGI processes we start. Links are followed, as uWSGI follows them.
pub fn open_regular(path: &Path, cap: u64) -> Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .at("open", path)?;
    let meta = file.metadata().at("examine", path)?;
    if !meta.file_type().is_file() {
        return Err(Error::Failed(format!(
            "cannot read {}: it is {}, not a regular file",
            display_path(path),
            file_kind(meta.file_type())
        )));
    }
    if meta.len() > cap {
        return Err(too_big(path, cap));
    }
    Ok(file)
}

fn too_big(path: &Path, cap: u64) -> Error {
    Error::Failed(format!(
        "cannot read {}: it is larger than {} MiB, too large for a configuration file",
        display_path(path),
        cap / (1024 * 1024)
    ))
}

/// Read a whole regular file of at most `cap` bytes (see `open_regular`).
/// The read itself is bounded too, so a file that grows while we read it
/// cannot make us allocate more than `cap + 1` bytes.
pub fn read_bounded(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let file = open_regular(path, cap)?;
    let buf = read_at_most(file, cap.saturating_add(1)).at("read", path)?;
    if buf.len() as u64 > cap {
        return Err(too_big(path, cap));
    }
    Ok(buf)
}

/// Read at most `cap` bytes: the one bounded read of the program, so that
/// no file (a config, a pidfile, a /proc entry, which reports size 0 and
/// so must be bounded by the cap, not its size) costs more memory than
/// its caller allows. A caller that must tell "too long" asks one byte
/// more than it accepts.
pub fn read_at_most(file: File, cap: u64) -> std::io::Result<Vec<u8>> {
    let hint = file.metadata().map(|m| m.len()).unwrap_or(0).min(cap);
    let mut buf = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    file.take(cap).read_to_end(&mut buf)?;
    Ok(buf)
}

/// A user or group as a config names it: uWSGI takes a number as an id and
/// anything else as a name to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    Name(String),
    Id(u32),
}

impl Account {
    /// `33` is an id, `www-data` a name. A value of only digits that does
    /// not fit an id is kept as a name, so it fails the lookup with a clear
    /// message rather than wrapping around to some other id.
    pub fn parse(value: &str) -> Account {
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(id) = value.parse::<u32>() {
                return Account::Id(id);
            }
        }
        Account::Name(value.to_owned())
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Name(n) => write!(f, "{n:?}"),
            Account::Id(id) => write!(f, "{id}"),
        }
    }
}

/// The identity an instance will run as, resolved to numbers through the
/// host's user and group database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
    /// The user's name when the database knows it (for messages, and for
    /// the supplementary groups check of `doctor`).
    pub user: Option<String>,
    /// Configs that could not be read and were therefore taken as not
    /// setting `uid`/`gid`, one full sentence each, for the caller to warn.
    pub warnings: Vec<String>,
}

/// Where a `uid` or `gid` came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSetting {
    pub account: Account,
    pub source: PathBuf,
}

/// Which uid and gid the instance whose config is `app` (in `app_format`)
/// will run as, with `inherited` loaded before it.
///
/// The `uid` option of the app's config wins, else the inherited config's,
/// else root; the same for `gid`, independently; a file either includes
/// counts where the include stands (see `run_as_with_env`). Within one file the last
/// occurrence counts, because that is the one uWSGI applies (each `uid`
/// overrides the previous; checked with uWSGI 2.0.21: `uid = 65534` then
/// `uid = 33` runs as 33). Debian's init script takes the first one
/// instead; the two agree whenever the option appears once.
///
/// The value is expanded as uWSGI expands it (see `expand`), so
/// `uid = %(user)` and `uid = %n` work.
///
/// A config that cannot be read (missing, unreadable, garbage, a database
/// without a `uwsgi` table) counts as setting neither; the reason is kept in
/// `RunAs::warnings`. An unknown user or group name is an error.
pub fn run_as(app: &Path, app_format: Format, inherited: Option<&Path>) -> Result<RunAs> {
    run_as_with_env(app, app_format, inherited, &[])
}

/// `run_as` of instance `spec`, with the environment every instance gets
/// (`UWSGI_DEB_CONFNAMESPACE`, `UWSGI_DEB_CONFNAME`): what the front end
/// starts it as and what `doctor` checks, read the same way.
pub fn run_as_instance(
    app: &Path,
    app_format: Format,
    inherited: Option<&Path>,
    spec: &crate::name::Confspec,
) -> Result<RunAs> {
    let ns = spec.namespace.as_os_str().to_string_lossy();
    let name = spec.name.to_string_lossy();
    run_as_with_env(
        app,
        app_format,
        inherited,
        &[("deb-confnamespace", &ns), ("deb-confname", &name)],
    )
}

/// `run_as`, with the options uWSGI will also get from its environment
/// (`UWSGI_DEB_CONFNAME=x` is the option `deb-confname = x`), so that
/// placeholders such as `%(deb-confname)` resolve as they will in uWSGI.
///
/// The options of every file the configs include count too (`ini =
/// common.ini` that sets `uid`), in the order uWSGI applies them
/// (`tree::load`).
pub fn run_as_with_env(
    app: &Path,
    app_format: Format,
    inherited: Option<&Path>,
    env_options: &[(&str, &str)],
) -> Result<RunAs> {
    let mut tops: Vec<(&Path, Option<Format>)> = Vec::new();
    if let Some(i) = inherited {
        tops.push((i, Format::of_path(i)));
    }
    tops.push((app, Some(app_format)));
    let env = tree::Environment {
        options: env_options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        vars: Vec::new(),
    };
    let loaded = tree::load(&tops, &env);
    // Only the files given count as "not read": a missing include makes
    // uWSGI exit at start, which says so itself.
    let warnings = loaded
        .broken
        .iter()
        .filter(|b| b.by.is_none())
        .map(|b| format!("{}; its uid and gid options are taken as not set.", b.error))
        .collect();
    let all = loaded.sourced();
    let setting = |key: &str| {
        all.iter().rfind(|o| o.key == key).map(|o| AccountSetting {
            account: Account::parse(&expand(o.value, o.file, &all, 0)),
            source: o.file.unwrap_or(app).to_owned(),
        })
    };
    let uid = setting("uid");
    let gid = setting("gid");
    resolve(uid.as_ref(), gid.as_ref(), warnings)
}

/// One option and the file it was read from (`None`: the environment).
#[derive(Debug, Clone, Copy)]
pub struct SourcedOption<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub file: Option<&'a Path>,
}

/// Expand a value the way uWSGI does before it uses it:
///
/// * magic variables of the file the value was read from: `%n` (file name
///   without extension), `%s` (file name), `%e` (extension), `%p` (path),
///   `%d` (directory, with a final `/`), `%c` (name of the directory), `%%`;
///   other magic variables (`%k`, `%h`…) are left as they are;
/// * `%(name)`: the FIRST value of option `name` anywhere in `all` (uWSGI
///   2.0.21 resolves `%(u)` to the first `u` even when it is set after the
///   reference), itself expanded; an unknown name is left as it is.
///
/// Paths are taken as given (a link in `apps-enabled` is not resolved),
/// as uWSGI sees the path it is given.
pub fn expand(value: &str, file: Option<&Path>, all: &[SourcedOption<'_>], depth: u32) -> String {
    // Deep enough for any real chain, and an end to `a = %(a)` loops.
    const MAX_DEPTH: u32 = 8;
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pct) = rest.find('%') {
        out.push_str(&rest[..pct]);
        let after = &rest[pct + 1..];
        let mut chars = after.chars();
        let Some(c) = chars.next() else {
            out.push('%');
            rest = "";
            break;
        };
        if c == '(' {
            if let Some(close) = after.find(')') {
                let name = &after[1..close];
                let found = all.iter().find(|o| o.key == name);
                match found {
                    Some(o) if depth < MAX_DEPTH => {
                        out.push_str(&expand(o.value, o.file, all, depth + 1))
                    }
                    _ => out.push_str(&rest[pct..pct + 1 + close + 1]),
                }
                rest = &after[close + 1..];
                continue;
            }
        }
        match (c, magic(c, file)) {
            ('%', _) => out.push('%'),
            (_, Some(m)) => out.push_str(&m),
            _ => {
                out.push('%');
                out.push(c);
            }
        }
        rest = &after[c.len_utf8()..];
    }
    out.push_str(rest);
    out
}

fn magic(c: char, file: Option<&Path>) -> Option<String> {
    let file = file?;
    let lossy = |s: Option<&std::ffi::OsStr>| s.map(|s| s.to_string_lossy().into_owned());
    let dir = file.parent();
    match c {
        'n' => lossy(file.file_stem()),
        's' => lossy(file.file_name()),
        'e' => Some(lossy(file.extension()).unwrap_or_default()),
        'p' => Some(file.to_string_lossy().into_owned()),
        'd' => dir.map(|d| {
            let mut d = d.to_string_lossy().into_owned();
            if !d.ends_with('/') {
                d.push('/');
            }
            d
        }),
        'c' => lossy(dir.and_then(Path::file_name)),
        _ => None,
    }
}

/// Lexically clean a path (`a/./b/../c` → `a/c`) without touching the disk.
pub fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Resolve `uid`/`gid` settings (absent = root) through the host database.
pub fn resolve(
    uid: Option<&AccountSetting>,
    gid: Option<&AccountSetting>,
    warnings: Vec<String>,
) -> Result<RunAs> {
    let (uid, user) = match uid {
        None => (0, Some("root".to_owned())),
        Some(s) => match &s.account {
            Account::Id(id) => {
                let name = User::from_uid(Uid::from_raw(*id))
                    .ok()
                    .flatten()
                    .map(|u| u.name);
                (*id, name)
            }
            Account::Name(name) => {
                let user = lookup(User::from_name(name), "user", name, &s.source, "uid")?;
                (user.uid.as_raw(), Some(user.name))
            }
        },
    };
    let gid = match gid {
        None => 0,
        Some(s) => match &s.account {
            Account::Id(id) => *id,
            Account::Name(name) => lookup(Group::from_name(name), "group", name, &s.source, "gid")?
                .gid
                .as_raw(),
        },
    };
    Ok(RunAs {
        uid,
        gid,
        user,
        warnings,
    })
}

fn lookup<T>(
    found: nix::Result<Option<T>>,
    what: &str,
    name: &str,
    source: &Path,
    option: &str,
) -> Result<T> {
    let shown = crate::display::sanitize(std::ffi::OsStr::new(name));
    match found {
        Ok(Some(t)) => Ok(t),
        Ok(None) if name.is_empty() => Err(Error::Failed(format!(
            "empty {option} option in {}: uWSGI refuses it",
            display_path(source)
        ))),
        Ok(None) => Err(Error::Failed(format!(
            "unknown {what} \"{shown}\" in {} ({option} option)",
            display_path(source)
        ))),
        Err(errno) => Err(Error::os(
            format!(
                "look up {what} \"{shown}\" named in {} ({option} option)",
                display_path(source)
            ),
            std::io::Error::from(errno),
        )),
    }
}

/// The gid of a group name in the host database, for callers that resolve
/// groups themselves (`chown-socket`, doctor).
pub fn group_id(name: &str) -> Option<u32> {
    Group::from_name(name)
        .ok()
        .flatten()
        .map(|g| g.gid.as_raw())
}

/// The name of a gid in the host database.
pub fn group_name(gid: u32) -> Option<String> {
    Group::from_gid(Gid::from_raw(gid))
        .ok()
        .flatten()
        .map(|g| g.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::{Duration, Instant};

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn first_last_and_all_keep_order() {
        let mut o = ConfigOptions::default();
        o.push("env", "A=1");
        o.push("uid", "a");
        o.push("env", "B=2");
        o.push("uid", "b");
        assert_eq!(o.first("uid"), Some("a"));
        assert_eq!(o.last("uid"), Some("b"));
        assert_eq!(o.all("env").collect::<Vec<_>>(), ["A=1", "B=2"]);
        assert_eq!(o.first("gid"), None);
    }

    #[test]
    fn accounts_are_numbers_or_names() {
        assert_eq!(Account::parse("33"), Account::Id(33));
        assert_eq!(Account::parse("0"), Account::Id(0));
        assert_eq!(Account::parse("www-data"), Account::Name("www-data".into()));
        assert_eq!(Account::parse("33a"), Account::Name("33a".into()));
        assert_eq!(
            Account::parse("99999999999"),
            Account::Name("99999999999".into())
        );
        assert_eq!(Account::parse(""), Account::Name(String::new()));
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("app.ini");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        let t = Instant::now();
        let e = read_options(&fifo, Format::Ini).unwrap_err().to_string();
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(e.contains("a FIFO, not a regular file"), "{e}");
        assert!(e.contains("app.ini"), "{e}");
        // The SQLite reader must not hang on it either.
        let e = read_options(&fifo, Format::Sqlite).unwrap_err().to_string();
        assert!(e.contains("a FIFO"), "{e}");
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("app.ini");
        fs::create_dir(&d).unwrap();
        let e = read_options(&d, Format::Ini).unwrap_err().to_string();
        assert!(e.contains("a directory, not a regular file"), "{e}");
    }

    #[test]
    fn a_link_to_dev_zero_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path().join("app.yaml");
        std::os::unix::fs::symlink("/dev/zero", &l).unwrap();
        let e = read_options(&l, Format::Yaml).unwrap_err().to_string();
        assert!(e.contains("a character device"), "{e}");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("huge.json");
        let f = fs::File::create(&p).unwrap();
        f.set_len(MAX_CONFIG_SIZE + 1).unwrap();
        let e = read_options(&p, Format::Json).unwrap_err().to_string();
        assert!(e.contains("larger than 16 MiB"), "{e}");
        // Exactly at the cap is fine as far as size goes.
        let p2 = dir.path().join("ok.txt");
        fs::File::create(&p2)
            .unwrap()
            .set_len(MAX_CONFIG_SIZE)
            .unwrap();
        assert_eq!(
            read_bounded(&p2, MAX_CONFIG_SIZE).unwrap().len() as u64,
            MAX_CONFIG_SIZE
        );
        assert!(read_bounded(&p2, 10).is_err());
    }

    #[test]
    fn a_missing_file_names_path_and_os_error() {
        let e = read_options(Path::new("/nonexistent/x.ini"), Format::Ini)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot open /nonexistent/x.ini: "), "{e}");
        assert!(e.contains("No such file"), "{e}");
    }

    #[test]
    fn run_as_reads_the_app_then_the_inherited_config() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let inherited = write(
            d,
            "default.ini",
            "[uwsgi]\nuid = www-data\ngid = www-data\n",
        );
        let app = write(d, "app.ini", "[uwsgi]\nuid = 0\n");
        let r = run_as(&app, Format::Ini, Some(&inherited)).unwrap();
        assert_eq!((r.uid, r.gid), (0, 33));
        assert_eq!(r.user.as_deref(), Some("root"));
        assert!(r.warnings.is_empty());

        // uid only in the inherited config.
        let app = write(d, "plain.ini", "[uwsgi]\nmaster = true\n");
        let r = run_as(&app, Format::Ini, Some(&inherited)).unwrap();
        assert_eq!((r.uid, r.gid), (33, 33));
        assert_eq!(r.user.as_deref(), Some("www-data"));

        // Nothing anywhere: root.
        let r = run_as(&app, Format::Ini, None).unwrap();
        assert_eq!((r.uid, r.gid, r.user.as_deref()), (0, 0, Some("root")));
    }

    #[test]
    fn run_as_takes_numbers_as_they_are_and_each_option_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let inherited = write(
            d,
            "default.ini",
            "[uwsgi]\nuid = www-data\ngid = www-data\n",
        );
        let app = write(d, "n.json", r#"{"uwsgi": {"uid": 4242, "socket": "x"}}"#);
        let r = run_as(&app, Format::Json, Some(&inherited)).unwrap();
        assert_eq!((r.uid, r.gid), (4242, 33));
        assert_eq!(r.user, None);
        let app = write(d, "g.yaml", "uwsgi:\n  gid: 65534\n");
        let r = run_as(&app, Format::Yaml, Some(&inherited)).unwrap();
        assert_eq!((r.uid, r.gid), (33, 65534));
    }

    #[test]
    fn run_as_uses_the_value_uwsgi_applies() {
        let dir = tempfile::tempdir().unwrap();
        let app = write(
            dir.path(),
            "twice.ini",
            "[uwsgi]\nuid = nobody\nuid = www-data\n",
        );
        let r = run_as(&app, Format::Ini, None).unwrap();
        assert_eq!(r.uid, 33);
    }

    #[test]
    fn expansion_follows_uwsgi() {
        let f = Path::new("/etc/uwsgi/apps-enabled/site.ini");
        let opts = [
            ("b", "x%(u)y"),
            ("u", "1"),
            ("u", "2"),
            ("loop", "%(loop)"),
            ("chain", "%(u)-%n"),
        ];
        let all: Vec<SourcedOption<'_>> = opts
            .iter()
            .map(|(k, v)| SourcedOption {
                key: k,
                value: v,
                file: Some(f),
            })
            .collect();
        let x = |v: &str| expand(v, Some(f), &all, 0);
        // Checked with uWSGI 2.0.21 `--get`: the first `u`, even set later.
        assert_eq!(x("%(b)"), "x1y");
        assert_eq!(
            x("%n|%s|%d|%p|%e|%c|%%"),
            "site|site.ini|/etc/uwsgi/apps-enabled/|/etc/uwsgi/apps-enabled/site.ini|ini|apps-enabled|%"
        );
        assert_eq!(x("%(nope)"), "%(nope)");
        assert_eq!(x("%(chain)"), "1-site");
        assert_eq!(x("%k %( %"), "%k %( %");
        assert_eq!(x("%(loop)"), "%(loop)");
        assert_eq!(x("é%é"), "é%é");
        assert_eq!(expand("%n", None, &all, 0), "%n");
    }

    #[test]
    fn run_as_expands_placeholders_and_magic() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let inherited = write(
            d,
            "default.ini",
            "[uwsgi]\nuid = %(deb-confname)\ngid = %(grp)\n",
        );
        let app = write(d, "www-data.ini", "[uwsgi]\ngrp = www-data\n");
        let r = run_as_with_env(
            &app,
            Format::Ini,
            Some(&inherited),
            &[("deb-confname", "nobody")],
        )
        .unwrap();
        assert_eq!(r.user.as_deref(), Some("nobody"));
        assert_eq!(r.gid, 33);
        let app = write(d, "www-data.yaml", "uwsgi:\n  uid: '%n'\n");
        let r = run_as(&app, Format::Yaml, None).unwrap();
        assert_eq!(r.uid, 33);
    }

    #[test]
    fn run_as_follows_includes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // uWSGI applies the options of an include where it stands: the
        // included uid wins over the one before it, not over the one after.
        write(d, "www-data.ini", "[uwsgi]\nuid = %n\ngid = %n\n");
        let app = write(
            d,
            "app.ini",
            "[uwsgi]\nuid = nobody\nini = %dwww-data.ini\n",
        );
        let r = run_as(&app, Format::Ini, None).unwrap();
        assert_eq!((r.uid, r.gid), (33, 33));
        let app = write(
            d,
            "after.ini",
            "[uwsgi]\nini = %dwww-data.ini\nuid = nobody\n",
        );
        let r = run_as(&app, Format::Ini, None).unwrap();
        assert_eq!((r.user.as_deref(), r.gid), (Some("nobody"), 33));
        // A missing include is uWSGI's own error at start, not a warning.
        let app = write(d, "gone.ini", "[uwsgi]\nini = /nonexistent.ini\nuid = 33\n");
        let r = run_as(&app, Format::Ini, None).unwrap();
        assert_eq!(r.uid, 33);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn run_as_names_the_unknown_user_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let app = write(
            dir.path(),
            "x.xml",
            "<uwsgi><uid>no-such-user-here</uid></uwsgi>",
        );
        let e = run_as(&app, Format::Xml, None).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "unknown user \"no-such-user-here\" in {} (uid option)",
                app.display()
            )
        );
        let app = write(dir.path(), "g.ini", "[uwsgi]\ngid = no-such-group-here\n");
        let e = run_as(&app, Format::Ini, None).unwrap_err().to_string();
        assert!(
            e.starts_with("unknown group \"no-such-group-here\" in "),
            "{e}"
        );
        assert!(e.ends_with("g.ini (gid option)"), "{e}");
        let app = write(dir.path(), "e.ini", "[uwsgi]\nuid =\n");
        let e = run_as(&app, Format::Ini, None).unwrap_err().to_string();
        assert!(e.starts_with("empty uid option in "), "{e}");
    }

    #[test]
    fn an_unreadable_config_counts_as_unset_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let inherited = write(d, "default.ini", "[uwsgi]\nuid = www-data\n");
        let app = write(d, "broken.json", "{ this is not json");
        let r = run_as(&app, Format::Json, Some(&inherited)).unwrap();
        assert_eq!((r.uid, r.gid), (33, 0));
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("broken.json"), "{:?}", r.warnings);
        assert!(r.warnings[0].ends_with("taken as not set."));

        let db = write(d, "garbage.sqlite", "not a database at all, just text\n");
        let r = run_as(&db, Format::Sqlite, Some(&inherited)).unwrap();
        assert_eq!(r.uid, 33);
        assert_eq!(r.warnings.len(), 1);

        let missing_inherited = d.join("nope.ini");
        let r = run_as(&db, Format::Sqlite, Some(&missing_inherited)).unwrap();
        assert_eq!((r.uid, r.gid), (0, 0));
        assert_eq!(r.warnings.len(), 2);
    }
}
