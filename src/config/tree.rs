//! The whole configuration an instance loads: its files, and every file
//! they pull in.
//!
//! uWSGI reads more than the files it is given. An option can load another
//! config file (`ini`, `include`, …), turn a file's lines or content into
//! option values (`for-readline`, `@(file)`), or load code (`plugins` with
//! a path, `dlopen`). All of it happens as root, before the privilege
//! drop. `load` follows those options the way uWSGI 2.0.21 does and keeps
//! every file it reads (for the safety rule), every option in order, with
//! the file it came from (for the checks that look at what includes set),
//! and what it could not follow.
//!
//! What uWSGI does, each checked with Debian's uwsgi-core 2.0.21, and so
//! what this does:
//!
//! * The options that load a config file (`ini`, `yaml`, `json`, `xml`,
//!   `include`, `config`, …) are immediate: the included options apply
//!   right where the include stands. `inherit` and `declare-option2` are
//!   applied after every file has been read.
//! * Their value is expanded only with the magic variables of the file it
//!   is written in (`%d`, `%n`, …: uWSGI substitutes those when it reads
//!   the file); `%(name)`, `$(VAR)` and `@(file)` are not expanded there
//!   (`ini = %(base)/x.ini` opens a file literally named so).
//! * `FILE:SECTION` reads another section of FILE; `:SECTION` reads it from
//!   the file read last.
//! * A relative path is relative to uWSGI's working directory, which the
//!   front end sets to `/` (`process::launch`): `UWSGI_CWD`.
//! * `-` (standard input) and `SCHEME://…` (`exec://`, `http://`, `fd://`,
//!   `sym://`, …) are not files: not followed, reported as unresolved.
//! * `@(FILE)` in the value of any other option reads FILE; `$(VAR)` inside
//!   it is expanded from the environment first.
//! * Logic blocks (`for`, `for-glob`, `for-readline`, `for-times`, `if-*`,
//!   up to `endfor`/`endif`) apply the options inside once per item, with
//!   `%(_)` replaced by the item. Every `if` is taken as true: a condition
//!   can change between this check and the start (a file appears).
//! * `set = KEY=VALUE` sets the option KEY; `declare-option =
//!   NAME=OPT=$1;OPT2=$2` declares an option NAME that sets the options of
//!   its template, with `$N` the N-th word of NAME's value.
//! * `plugins = A,B`: each name becomes `NAME_plugin.so`, a path when it
//!   holds a `/`, else searched in the `plugins-dir` directories given so
//!   far, then in the directory uWSGI was built with.
//!
//! Deviation: uWSGI keeps one logic block across files; here a block ends
//! with the file that opened it. Includes nested deeper than `MAX_DEPTH`
//! (uWSGI has no limit: an include loop never ends there) are reported,
//! not followed.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{expand, read_bounded, ConfigOptions, SourcedOption, MAX_CONFIG_SIZE};
use crate::display::display_path;
use crate::name::{Confspec, Format};

/// uWSGI's working directory while it reads its config: the front end
/// starts every instance in `/`.
pub const UWSGI_CWD: &str = "/";

/// How deep includes may nest before the rest is reported, not followed.
pub const MAX_DEPTH: usize = 16;

/// How many files one instance may read before the rest is reported.
pub const MAX_FILES: usize = 256;

/// How many items one logic block may have (`for-times = 1000000`).
pub const MAX_ITEMS: usize = 1024;

/// What uWSGI does with a file it pulls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullKind {
    /// Read as configuration: its options apply.
    Config,
    /// `for-readline`: each line becomes an option value.
    Lines,
    /// `@(FILE)`: its content becomes part of an option value.
    Content,
    /// `inject-before`/`inject-after`: text added to every config file
    /// read after it.
    Injected,
    /// Code loaded into uWSGI (`plugins = /path/x_plugin.so`, `dlopen`).
    SharedObject,
    /// A directory whose entries uWSGI loads (`plugins-dir`) or lists
    /// (`for-glob`): whoever can add an entry adds code or config.
    Directory,
}

impl PullKind {
    /// What uWSGI takes it for, for messages: "a config file".
    pub fn noun(self) -> &'static str {
        match self {
            PullKind::Config => "a config file",
            PullKind::Lines => "a list of option values",
            PullKind::Content => "part of an option value",
            PullKind::Injected => "text for every config file it reads",
            PullKind::SharedObject => "code to load",
            PullKind::Directory => "a directory to load files from",
        }
    }
}

/// The option that made uWSGI read something: `ini = /x.ini` in FILE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub option: String,
    pub value: String,
    /// Which of the files given to `load` this was reached from.
    pub top: usize,
}

impl Origin {
    /// "`ini = /x.ini` in /etc/uwsgi/apps-enabled/site.ini"
    pub fn describe(&self) -> String {
        format!(
            "`{} = {}` in {}",
            self.option,
            self.value,
            display_path(&self.file)
        )
    }
}

/// A file (or directory) uWSGI reads as root because of an option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// Absolute, as uWSGI opens it (links not resolved).
    pub path: PathBuf,
    pub kind: PullKind,
    pub by: Origin,
}

/// Something uWSGI reads that cannot be known without running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub by: Origin,
    /// Why, a phrase: "it reads the output of a command".
    pub why: String,
}

/// A file an option names that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// `None`: one of the files given to `load`.
    pub by: Option<Origin>,
    pub path: PathBuf,
    pub error: String,
    /// uWSGI exits at start because of it (a missing `ini`); otherwise it
    /// goes on without it (a missing `for-readline` file).
    pub fatal: bool,
}

/// A plugin the config asks uWSGI to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginUse {
    pub by: Origin,
    /// The name as written, without modifier and init function.
    pub name: String,
    /// `NAME_plugin.so`, or the path when the name holds a `/`.
    pub file_name: String,
    /// Where it was found: the path itself, or in a `plugins-dir`.
    /// `None`: only the directory uWSGI was built with is left to look in
    /// (or, for a path, the file does not exist).
    pub found: Option<PathBuf>,
    /// The name is a path: uWSGI looks nowhere else.
    pub is_path: bool,
    /// `need-plugin`: uWSGI exits when it cannot load it.
    pub required: bool,
}

/// One option and the file it comes from (`None`: the environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeOption {
    pub key: String,
    pub value: String,
    pub file: Option<PathBuf>,
}

/// What `load` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigTree {
    /// Every option in the order uWSGI applies them, each value as
    /// written in its file (`config::expand` with that file gives what
    /// uWSGI makes of it); in a logic block, once per item, with `%(_)`
    /// replaced.
    pub options: Vec<TreeOption>,
    pub pulled: Vec<Pulled>,
    pub unresolved: Vec<Unresolved>,
    pub broken: Vec<Broken>,
    pub plugins: Vec<PluginUse>,
}

impl ConfigTree {
    /// The options as `config::expand` takes them.
    pub fn sourced(&self) -> Vec<SourcedOption<'_>> {
        self.options
            .iter()
            .map(|o| SourcedOption {
                key: &o.key,
                value: &o.value,
                file: o.file.as_deref(),
            })
            .collect()
    }
}

/// What uWSGI gets from its environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// Options given through the environment (`UWSGI_DEB_CONFNAME=x` is
    /// the option `deb-confname = x`), applied before any file.
    pub options: Vec<(String, String)>,
    /// Variables known to be set (`$(VAR)`); any other is unknown here.
    pub vars: Vec<(String, String)>,
}

impl Environment {
    /// The environment the front end gives the instance `spec` (see
    /// `service::instance_env`): its namespace and name, as variables and
    /// as the options Debian's inherited config declares.
    pub fn of_instance(spec: &Confspec) -> Environment {
        let ns = spec.namespace.as_os_str().to_string_lossy().into_owned();
        let name = spec.name.to_string_lossy().into_owned();
        Environment {
            options: vec![
                ("deb-confnamespace".into(), ns.clone()),
                ("deb-confname".into(), name.clone()),
            ],
            vars: vec![
                ("UWSGI_DEB_CONFNAMESPACE".into(), ns),
                ("UWSGI_DEB_CONFNAME".into(), name),
            ],
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The tree of an instance: the inherited config (when it exists), then
/// the app's config, in the environment the front end gives it. The
/// inherited config is top file 0 when given, the app's the last.
pub fn instance(
    app: &Path,
    format: Format,
    inherited: Option<&Path>,
    spec: &Confspec,
) -> ConfigTree {
    let mut tops: Vec<(&Path, Option<Format>)> = Vec::new();
    if let Some(i) = inherited {
        tops.push((i, Format::of_path(i)));
    }
    tops.push((app, Some(format)));
    load(&tops, &Environment::of_instance(spec))
}

/// Load `tops` in order (a `None` format: a file uWSGI cannot tell the
/// format of; it is not read) and everything they pull in.
pub fn load(tops: &[(&Path, Option<Format>)], env: &Environment) -> ConfigTree {
    let mut loader = Loader {
        env,
        tree: ConfigTree::default(),
        files_read: 0,
        custom: Vec::new(),
        deferred: Vec::new(),
        last_file: None,
        plugin_dirs: Vec::new(),
        stack: Vec::new(),
    };
    for (k, v) in &env.options {
        loader.tree.options.push(TreeOption {
            key: k.clone(),
            value: v.clone(),
            file: None,
        });
    }
    for (top, (path, format)) in tops.iter().enumerate() {
        match format {
            Some(f) => loader.read_config(path, *f, None, None, top, 0),
            None => loader.tree.broken.push(Broken {
                by: None,
                path: path.to_path_buf(),
                error: format!(
                    "{} has no known configuration extension",
                    display_path(path)
                ),
                fatal: true,
            }),
        }
    }
    // `inherit` and `declare-option2` options apply once every file is
    // read, in the order they were met.
    let deferred = std::mem::take(&mut loader.deferred);
    for d in deferred {
        match d {
            Deferred::Include {
                origin,
                path,
                format,
            } => {
                let top = origin.top;
                loader.read_config(&path, format, None, Some(origin), top, 1)
            }
            Deferred::Custom {
                template,
                value,
                file,
                top,
            } => loader.apply_custom(&template, &value, &file, top, 1),
        }
    }
    loader.tree
}

/// Options that load a config file, and the format each reads (`None`: by
/// the file's extension).
fn include_format(key: &str) -> Option<Option<Format>> {
    match key {
        "include" | "config" | "inherit" | "fallback-config" => Some(None),
        _ => Format::of_option(key).map(Some),
    }
}

/// Is `key` an option that makes uWSGI read a file (for logic blocks whose
/// items are not known)?
fn pulls_files(key: &str) -> bool {
    include_format(key).is_some()
        || matches!(
            key,
            "set"
                | "inject-before"
                | "inject-after"
                | "plugins"
                | "plugin"
                | "need-plugins"
                | "need-plugin"
                | "plugins-dir"
                | "plugin-dir"
                | "dlopen"
        )
}

const LOGIC_END: [&str; 5] = ["endfor", "end-for", "endif", "end-if", "end"];

/// The logic options of uWSGI 2.0.21 (`uwsgi --help`, "(opt logic)").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logic {
    For,
    ForGlob,
    ForReadline,
    ForTimes,
    /// `if-env`, `if-not-env`: `%(_)` is a variable's value.
    IfEnv,
    /// `if-opt`: `%(_)` is an option's value.
    IfOpt,
    /// `if-not-opt`: `%(_)` is nothing uWSGI defines.
    IfNotOpt,
    /// `if-reload`, `if-not-reload`: no `%(_)`.
    IfReload,
    /// The others: `%(_)` is the value of the `if`.
    IfData,
}

fn logic_of(key: &str) -> Option<Logic> {
    Some(match key {
        "for" => Logic::For,
        "for-glob" => Logic::ForGlob,
        "for-readline" => Logic::ForReadline,
        "for-times" => Logic::ForTimes,
        "if-env" | "ifenv" | "if-not-env" => Logic::IfEnv,
        "if-opt" => Logic::IfOpt,
        "if-not-opt" => Logic::IfNotOpt,
        "if-reload" | "if-not-reload" => Logic::IfReload,
        "if-hostname"
        | "if-not-hostname"
        | "if-hostname-match"
        | "if-not-hostname-match"
        | "if-exists"
        | "if-not-exists"
        | "ifexists"
        | "if-plugin"
        | "if-not-plugin"
        | "ifplugin"
        | "if-file"
        | "if-not-file"
        | "if-dir"
        | "if-not-dir"
        | "ifdir"
        | "if-directory" => Logic::IfData,
        _ => return None,
    })
}

/// One pass of a logic block over the options inside it.
#[derive(Debug, Clone)]
enum Item {
    /// `%(_)` is this.
    Value(String),
    /// The options apply as written.
    Plain,
    /// `%(_)` is something only the running uWSGI knows.
    Unknown(String),
}

enum Deferred {
    Include {
        origin: Origin,
        path: PathBuf,
        format: Format,
    },
    /// A use of a `declare-option2` option.
    Custom {
        template: String,
        value: String,
        file: PathBuf,
        top: usize,
    },
}

/// A custom option from `declare-option` (immediate) or
/// `declare-option2` (applied at the end).
struct Custom {
    name: String,
    template: String,
    immediate: bool,
}

struct Loader<'e> {
    env: &'e Environment,
    tree: ConfigTree,
    files_read: usize,
    custom: Vec<Custom>,
    deferred: Vec<Deferred>,
    /// For `ini = :section`.
    last_file: Option<PathBuf>,
    /// `plugins-dir` so far, in order.
    plugin_dirs: Vec<PathBuf>,
    /// The files being read, outermost first, to tell an include loop.
    stack: Vec<PathBuf>,
}

/// `%d`, `%n`…: what uWSGI substitutes when it reads the file, and nothing
/// else.
fn magic(value: &str, file: &Path) -> String {
    expand(value, Some(file), &[], 0)
}

/// `exec` for `exec://cmd`, when `value` is not a path but a URL-like
/// source uWSGI reads some other way.
fn scheme_of(value: &str) -> Option<&str> {
    let (scheme, _) = value.split_once("://")?;
    (!scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    .then_some(scheme)
}

fn absolute(path: &str) -> PathBuf {
    Path::new(UWSGI_CWD).join(path)
}

/// uWSGI's `uwsgi_opt_true`: any value but false/off/no/0 turns it on.
pub fn is_true(value: &str) -> bool {
    let v = value.trim();
    !(v.eq_ignore_ascii_case("false")
        || v.eq_ignore_ascii_case("off")
        || v.eq_ignore_ascii_case("no")
        || v == "0")
}

impl Loader<'_> {
    fn origin(&self, file: &Path, key: &str, value: &str, top: usize) -> Origin {
        Origin {
            file: file.to_path_buf(),
            option: key.to_owned(),
            value: value.to_owned(),
            top,
        }
    }

    fn unresolved(&mut self, by: Origin, why: impl Into<String>) {
        self.tree.unresolved.push(Unresolved {
            by,
            why: why.into(),
        });
    }

    fn pull(&mut self, path: PathBuf, kind: PullKind, by: Origin) {
        self.tree.pulled.push(Pulled { path, kind, by });
    }

    /// Read one config file (a `section` other than `uwsgi` for
    /// `FILE:SECTION`) and apply its options.
    fn read_config(
        &mut self,
        path: &Path,
        format: Format,
        section: Option<&str>,
        by: Option<Origin>,
        top: usize,
        depth: usize,
    ) {
        if let Some(by) = &by {
            if self.stack.iter().any(|p| p == path) {
                self.unresolved(
                    by.clone(),
                    "it includes a file that is already being read (an include loop, which \
                     uWSGI follows until it crashes)",
                );
                return;
            }
            if depth > MAX_DEPTH || self.files_read >= MAX_FILES {
                self.unresolved(
                    by.clone(),
                    format!(
                        "includes nest deeper than {MAX_DEPTH} levels or pass {MAX_FILES} files; \
                         the rest is not followed"
                    ),
                );
                return;
            }
        }
        self.files_read += 1;
        let options = match read_section(path, format, section) {
            Ok(o) => o,
            Err(e) => {
                self.tree.broken.push(Broken {
                    by,
                    path: path.to_path_buf(),
                    error: e,
                    fatal: true,
                });
                return;
            }
        };
        self.last_file = Some(path.to_path_buf());
        self.stack.push(path.to_path_buf());
        let mut block: Option<Vec<Item>> = None;
        for (key, raw) in options.options {
            // Options are kept as written (expand them with their file, as
            // `config::expand` does); what they make uWSGI read is decided
            // on the value with its magic variables substituted.
            let value = magic(&raw, path);
            if LOGIC_END.contains(&key.as_str()) {
                block = None;
                self.push_option(&key, &raw, path);
                continue;
            }
            if let Some(logic) = logic_of(&key) {
                self.push_option(&key, &raw, path);
                let origin = self.origin(path, &key, &value, top);
                block = Some(self.items(logic, &value, origin));
                continue;
            }
            let Some(items) = &block else {
                self.apply(&key, &value, &raw, path, top, depth);
                continue;
            };
            for item in items.clone() {
                match item {
                    Item::Value(v) => self.apply(
                        &key,
                        &value.replace("%(_)", &v),
                        &raw.replace("%(_)", &v),
                        path,
                        top,
                        depth,
                    ),
                    Item::Plain => self.apply(&key, &value, &raw, path, top, depth),
                    Item::Unknown(why) if value.contains("%(_)") => {
                        self.push_option(&key, &raw, path);
                        if pulls_files(&key) || value.contains("@(") {
                            let origin = self.origin(path, &key, &value, top);
                            self.unresolved(origin, why);
                        }
                    }
                    Item::Unknown(_) => self.apply(&key, &value, &raw, path, top, depth),
                }
            }
        }
        self.stack.pop();
    }

    fn push_option(&mut self, key: &str, value: &str, file: &Path) {
        self.tree.options.push(TreeOption {
            key: key.to_owned(),
            value: value.to_owned(),
            file: Some(file.to_path_buf()),
        });
    }

    /// The passes of a logic block that starts with `value`.
    fn items(&mut self, logic: Logic, value: &str, origin: Origin) -> Vec<Item> {
        match logic {
            Logic::For => value
                .split(' ')
                .filter(|s| !s.is_empty())
                .take(MAX_ITEMS)
                .map(|s| Item::Value(s.to_owned()))
                .collect(),
            Logic::ForTimes => {
                let n = value.trim().parse::<usize>().unwrap_or(0).min(MAX_ITEMS);
                (1..=n).map(|i| Item::Value(i.to_string())).collect()
            }
            Logic::ForReadline => {
                let path = absolute(value);
                self.pull(path.clone(), PullKind::Lines, origin.clone());
                match read_bounded(&path, MAX_CONFIG_SIZE) {
                    Ok(bytes) => String::from_utf8_lossy(&bytes)
                        .lines()
                        .take(MAX_ITEMS)
                        .map(|l| Item::Value(l.trim_end_matches('\r').to_owned()))
                        .collect(),
                    Err(e) => {
                        // uWSGI logs the error and skips the block.
                        self.tree.broken.push(Broken {
                            by: Some(origin),
                            path,
                            error: e.to_string(),
                            fatal: false,
                        });
                        Vec::new()
                    }
                }
            }
            Logic::ForGlob => {
                let pattern = absolute(value);
                if let Some(base) = glob_base(&pattern) {
                    self.pull(base, PullKind::Directory, origin);
                }
                glob(&pattern)
                    .into_iter()
                    .take(MAX_ITEMS)
                    .map(Item::Value)
                    .collect()
            }
            Logic::IfEnv => {
                let name = value.split_once('=').map_or(value, |(n, _)| n);
                match self.env.var(name) {
                    Some(v) => vec![Item::Value(v.to_owned())],
                    None => vec![Item::Unknown(format!(
                        "it depends on the environment variable {name}, which only the running \
                         uWSGI knows"
                    ))],
                }
            }
            Logic::IfOpt => {
                let name = value.split_once('=').map_or(value, |(n, _)| n);
                match self.tree.options.iter().find(|o| o.key == name) {
                    Some(o) => vec![Item::Value(o.value.clone())],
                    // Not set: uWSGI skips the block.
                    None => Vec::new(),
                }
            }
            Logic::IfNotOpt => vec![Item::Unknown(
                "`%(_)` in an if-not-opt block has no value uWSGI defines".into(),
            )],
            Logic::IfReload => vec![Item::Plain],
            Logic::IfData => vec![Item::Value(value.to_owned())],
        }
    }

    /// Apply one option: record it as written (`raw`), and follow what its
    /// `value` (magic variables substituted) makes uWSGI read.
    fn apply(&mut self, key: &str, value: &str, raw: &str, file: &Path, top: usize, depth: usize) {
        self.push_option(key, raw, file);
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(format) = include_format(key) {
            self.include(key, value, file, top, depth, format);
            return;
        }
        match key {
            "set" => {
                if let (Some((k, v)), Some((_, raw_v))) =
                    (value.split_once('='), raw.split_once('='))
                {
                    self.apply(k, v, raw_v, file, top, depth + 1);
                }
                return;
            }
            "declare-option" | "declare-option2" => {
                if let Some((name, template)) = value.split_once('=') {
                    self.custom.push(Custom {
                        name: name.to_owned(),
                        template: template.to_owned(),
                        immediate: key == "declare-option",
                    });
                }
                return;
            }
            "inject-before" | "inject-after" => {
                let by = self.origin(file, key, value, top);
                match scheme_of(value) {
                    Some(s) => self.unresolved(by, format!("it reads from {s}://, not a file")),
                    None => {
                        self.pull(absolute(value), PullKind::Injected, by.clone());
                        self.unresolved(
                            by,
                            "the options its text adds to later config files are not followed",
                        );
                    }
                }
                return;
            }
            "plugins" | "plugin" | "need-plugins" | "need-plugin" => {
                self.plugins(key, value, file, top);
                return;
            }
            "plugins-dir" | "plugin-dir" => {
                let dir = absolute(value);
                self.plugin_dirs.push(dir.clone());
                let by = self.origin(file, key, value, top);
                self.pull(dir, PullKind::Directory, by);
                return;
            }
            "dlopen" => {
                // Without a `/`, the dynamic linker searches its own
                // (root-owned) library directories.
                if value.contains('/') {
                    let by = self.origin(file, key, value, top);
                    self.pull(absolute(value), PullKind::SharedObject, by);
                }
                return;
            }
            _ => {}
        }
        if let Some(c) = self.custom.iter().find(|c| c.name == key) {
            let template = c.template.clone();
            if c.immediate {
                self.apply_custom(&template, value, file, top, depth);
            } else {
                self.deferred.push(Deferred::Custom {
                    template,
                    value: value.to_owned(),
                    file: file.to_path_buf(),
                    top,
                });
            }
            return;
        }
        self.contents(key, value, file, top);
    }

    /// A custom option: each `OPT=VALUE` of the template, `$1`… replaced
    /// by the words of `value`.
    fn apply_custom(&mut self, template: &str, value: &str, file: &Path, top: usize, depth: usize) {
        let words: Vec<&str> = value.split(' ').filter(|w| !w.is_empty()).collect();
        for part in template.split(';') {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            let mut v = v.to_owned();
            for n in (1..=9).rev() {
                v = v.replace(&format!("${n}"), words.get(n - 1).copied().unwrap_or(""));
            }
            self.apply(k, &v, &v, file, top, depth + 1);
        }
    }

    /// An option that loads a config file.
    fn include(
        &mut self,
        key: &str,
        value: &str,
        file: &Path,
        top: usize,
        depth: usize,
        format: Option<Format>,
    ) {
        let by = self.origin(file, key, value, top);
        if value.is_empty() {
            self.unresolved(
                by,
                "an empty value reads a config built into the uWSGI binary",
            );
            return;
        }
        if value == "-" {
            self.unresolved(by, "it reads the config from standard input");
            return;
        }
        if let Some(s) = scheme_of(value) {
            let why = match s {
                "exec" => "it reads the output of a command".to_owned(),
                "http" | "https" => "it downloads the config".to_owned(),
                other => format!("it reads from {other}://, not from a file"),
            };
            self.unresolved(by, why);
            return;
        }
        let (name, section) = match value.rsplit_once(':') {
            Some((n, s)) => (n, (!s.is_empty()).then_some(s)),
            None => (value, None),
        };
        let path = if name.is_empty() {
            match &self.last_file {
                Some(p) => p.clone(),
                None => {
                    self.unresolved(by, "`:SECTION` names no file read before");
                    return;
                }
            }
        } else {
            absolute(name)
        };
        self.pull(path.clone(), PullKind::Config, by.clone());
        let Some(format) = format.or_else(|| Format::of_path(&path)) else {
            self.unresolved(
                by,
                "the file has no known configuration extension, so its options are not followed",
            );
            return;
        };
        if key == "inherit" || key == "fallback-config" {
            self.deferred.push(Deferred::Include {
                origin: by,
                path,
                format,
            });
            return;
        }
        self.read_config(&path, format, section, Some(by), top, depth + 1);
    }

    fn plugins(&mut self, key: &str, value: &str, file: &Path, top: usize) {
        let by = self.origin(file, key, value, top);
        for token in value.split(',') {
            let mut name = token.trim();
            if name.is_empty() {
                continue;
            }
            // `N:name` sets the modifier; `name|func` calls func.
            if let Some((_, rest)) = name.split_once(':') {
                name = rest;
            }
            name = name.split('|').next().unwrap_or(name);
            let file_name = if name.ends_with("_plugin.so") {
                name.to_owned()
            } else {
                format!("{name}_plugin.so")
            };
            let is_path = file_name.contains('/');
            let found = if is_path {
                let p = absolute(&file_name);
                self.pull(p.clone(), PullKind::SharedObject, by.clone());
                p.exists().then_some(p)
            } else {
                let hit = self
                    .plugin_dirs
                    .iter()
                    .map(|d| d.join(&file_name))
                    .find(|p| p.exists());
                if let Some(p) = &hit {
                    self.pull(p.clone(), PullKind::SharedObject, by.clone());
                }
                hit
            };
            self.tree.plugins.push(PluginUse {
                by: by.clone(),
                name: name.to_owned(),
                file_name,
                found,
                is_path,
                required: key.starts_with("need-"),
            });
        }
    }

    /// `@(FILE)` in a value: uWSGI reads FILE (as root) into it.
    fn contents(&mut self, key: &str, value: &str, file: &Path, top: usize) {
        let mut rest = value;
        while let Some(start) = rest.find("@(") {
            let after = &rest[start + 2..];
            // uWSGI expands `$(VAR)` before `@(…)`, so a `)` of a variable
            // inside does not close it.
            let Some(end) = closing_paren(after) else {
                break;
            };
            let inner = &after[..end];
            rest = &after[end + 1..];
            let by = self.origin(file, key, value, top);
            let inner = match self.expand_vars(inner) {
                Ok(v) => v,
                Err(var) => {
                    self.unresolved(
                        by,
                        format!(
                            "the file name uses the environment variable {var}, which only \
                             the running uWSGI knows"
                        ),
                    );
                    continue;
                }
            };
            if inner == "-" {
                self.unresolved(by, "it reads standard input");
            } else if let Some(s) = scheme_of(&inner) {
                let why = match s {
                    "exec" => "it reads the output of a command".to_owned(),
                    other => format!("it reads from {other}://, not from a file"),
                };
                self.unresolved(by, why);
            } else {
                let path = absolute(&inner);
                self.pull(path.clone(), PullKind::Content, by.clone());
                if let Err(e) = std::fs::metadata(&path) {
                    // uWSGI exits when it cannot open it.
                    self.tree.broken.push(Broken {
                        by: Some(by),
                        path,
                        error: e.to_string(),
                        fatal: true,
                    });
                }
            }
        }
    }

    /// Expand `$(VAR)` with the known environment; `Err(VAR)` for one that
    /// is not known here.
    fn expand_vars(&self, text: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("$(") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            let name = &after[..end];
            match self.env.var(name) {
                Some(v) => out.push_str(v),
                None => return Err(name.to_owned()),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The index of the `)` that closes an opening `(` just before `text`.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' if depth == 0 => return Some(i),
            b')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Read the options of `section` (default `uwsgi`) of a config file. An
/// error is a sentence.
fn read_section(
    path: &Path,
    format: Format,
    section: Option<&str>,
) -> Result<ConfigOptions, String> {
    match (format, section) {
        (_, None) | (_, Some("uwsgi")) => {
            super::read_options(path, format).map_err(|e| e.to_string())
        }
        (Format::Ini, Some(s)) => read_bounded(path, MAX_CONFIG_SIZE)
            .map(|b| super::ini::parse_section(&b, s.as_bytes()))
            .map_err(|e| e.to_string()),
        (_, Some(s)) => Err(format!(
            "reading section \"{s}\" of a {} file is not supported here",
            format.family()
        )),
    }
}

/// The directory a glob lists first: the part of the pattern before its
/// first component with a wildcard.
fn glob_base(pattern: &Path) -> Option<PathBuf> {
    let mut base = PathBuf::new();
    for c in pattern.components() {
        let bytes = c.as_os_str().as_bytes();
        if bytes.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
            return Some(base);
        }
        base.push(c);
    }
    None
}

/// What uWSGI's `for-glob` iterates over: the C library's `glob` with
/// `GLOB_MARK | GLOB_NOCHECK` (a pattern that matches nothing is its own
/// only item).
fn glob(pattern: &Path) -> Vec<String> {
    let Ok(c_pattern) = CString::new(pattern.as_os_str().as_bytes()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // SAFETY: glob_t is a plain C struct for which all-zero is the state
    // glob() expects; the pattern is a valid NUL-terminated string; the
    // result is read only while it is alive and freed exactly once.
    unsafe {
        let mut g: libc::glob_t = std::mem::zeroed();
        let rc = libc::glob(
            c_pattern.as_ptr(),
            libc::GLOB_MARK | libc::GLOB_NOCHECK,
            None,
            &mut g,
        );
        if rc == 0 {
            for i in 0..g.gl_pathc {
                let p = *g.gl_pathv.add(i);
                if !p.is_null() {
                    let s = std::ffi::CStr::from_ptr(p);
                    out.push(String::from_utf8_lossy(s.to_bytes()).into_owned());
                }
            }
        }
        libc::globfree(&mut g);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Namespace;
    use std::fs;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, text).unwrap();
        p
    }

    fn keys(tree: &ConfigTree) -> Vec<(String, String)> {
        tree.options
            .iter()
            .map(|o| (o.key.clone(), o.value.clone()))
            .collect()
    }

    fn pulled(tree: &ConfigTree) -> Vec<(PathBuf, PullKind)> {
        tree.pulled
            .iter()
            .map(|p| (p.path.clone(), p.kind))
            .collect()
    }

    fn spec() -> Confspec {
        Confspec::new(Namespace::app(), "site").unwrap()
    }

    #[test]
    fn includes_apply_where_they_stand_and_inherit_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "inc.ini", "[uwsgi]\nfrom-inc = 1\n");
        write(d, "sec.ini", "[uwsgi]\nno = 1\n[other]\nfrom-other = 1\n");
        write(d, "inh.ini", "[uwsgi]\nfrom-inherit = 1\n");
        write(d, "y.yaml", "uwsgi:\n  from-yaml: 1\n");
        let app = write(
            d,
            "app.ini",
            "[uwsgi]\ninherit = %dinh.ini\nini = %dinc.ini\nini = %dsec.ini:other\n\
             include = %dy.yaml\nset = ini=%dinc.ini\nlast = 1\n",
        );
        let t = instance(&app, Format::Ini, None, &spec());
        let k: Vec<String> = keys(&t).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            k,
            [
                "deb-confnamespace",
                "deb-confname",
                "inherit",
                "ini",
                "from-inc",
                "ini",
                "from-other",
                "include",
                "from-yaml",
                "set",
                "ini",
                "from-inc",
                "last",
                "from-inherit"
            ]
        );
        let files: Vec<_> = pulled(&t).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            files,
            [
                d.join("inh.ini"),
                d.join("inc.ini"),
                d.join("sec.ini"),
                d.join("y.yaml"),
                d.join("inc.ini")
            ]
        );
        assert!(t.unresolved.is_empty() && t.broken.is_empty(), "{t:?}");
        // Values are kept as written; the pulled paths are expanded.
        assert_eq!(t.options[3].value, "%dinc.ini");
        assert_eq!(t.pulled[1].by.option, "ini");
        assert_eq!(t.pulled[1].by.file, app);
        assert_eq!(t.pulled[1].by.top, 0);
    }

    #[test]
    fn placeholders_are_not_expanded_in_includes_but_magic_is() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let app = write(
            d,
            "app.ini",
            "[uwsgi]\nbase = /srv\nini = %(base)/x.ini\nini = relative.ini\nini = %n.ini\n",
        );
        let t = instance(&app, Format::Ini, None, &spec());
        let files: Vec<_> = pulled(&t).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            files,
            [
                PathBuf::from("/%(base)/x.ini"),
                PathBuf::from("/relative.ini"),
                PathBuf::from("/app.ini")
            ]
        );
        // All three are missing: uWSGI exits on each.
        assert_eq!(t.broken.len(), 3);
        assert!(t.broken.iter().all(|b| b.fatal));
    }

    #[test]
    fn what_cannot_be_followed_is_said() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let app = write(
            d,
            "app.ini",
            "[uwsgi]\nini = exec://cat /x.ini\nyaml = http://h/x.yaml\njson = -\n\
             a = @(exec://id)\nb = @($(HOME)/x)\nc = @(/etc/$(UWSGI_DEB_CONFNAME).txt)\n\
             if-env = HOME\nini = %(_)/x.ini\nendif =\n",
        );
        let t = instance(&app, Format::Ini, None, &spec());
        let why: Vec<&str> = t.unresolved.iter().map(|u| u.why.as_str()).collect();
        assert_eq!(why.len(), 6, "{why:?}");
        assert!(why[0].contains("output of a command"));
        assert!(why[1].contains("downloads"));
        assert!(why[2].contains("standard input"));
        assert!(why[3].contains("output of a command"));
        assert!(why[4].contains("HOME"));
        assert!(why[5].contains("HOME"));
        assert_eq!(
            pulled(&t),
            [(PathBuf::from("/etc/site.txt"), PullKind::Content)]
        );
    }

    #[test]
    fn logic_blocks_repeat_with_each_item() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "conf.d/a.ini", "[uwsgi]\nfrom-a = 1\n");
        write(d, "conf.d/b.ini", "[uwsgi]\nfrom-b = 1\n");
        write(d, "list", "x\ny\r\n");
        let app = write(
            d,
            "app.ini",
            "[uwsgi]\nfor-glob = %dconf.d/*.ini\nini = %(_)\nendfor =\n\
             for-readline = %dlist\nline = %(_)\nend-for =\nfor = p q\nw = %(_)\nendfor =\n\
             for-times = 2\nn = %(_)\nendfor =\nif-exists = /nonexistent\nini = %(_)\nendif =\n\
             if-opt = nope\nini = /never.ini\nendif =\n",
        );
        let t = instance(&app, Format::Ini, None, &spec());
        let opts = keys(&t);
        let get = |k: &str| -> Vec<String> {
            opts.iter()
                .filter(|(kk, _)| kk == k)
                .map(|(_, v)| v.clone())
                .collect()
        };
        assert_eq!(get("from-a"), ["1"]);
        assert_eq!(get("from-b"), ["1"]);
        assert_eq!(get("line"), ["x", "y"]);
        assert_eq!(get("w"), ["p", "q"]);
        assert_eq!(get("n"), ["1", "2"]);
        let kinds = pulled(&t);
        assert!(
            kinds.contains(&(d.join("conf.d"), PullKind::Directory)),
            "{kinds:?}"
        );
        assert!(kinds.contains(&(d.join("conf.d/a.ini"), PullKind::Config)));
        assert!(kinds.contains(&(d.join("list"), PullKind::Lines)));
        // An `if` is taken as true (its condition may change).
        assert!(kinds.contains(&(PathBuf::from("/nonexistent"), PullKind::Config)));
        // `if-opt` of an option that is not set: uWSGI skips the block.
        assert!(!kinds.iter().any(|(p, _)| p == Path::new("/never.ini")));
    }

    #[test]
    fn custom_options_and_loops() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "one.ini", "[uwsgi]\nfrom-one = 1\n");
        write(d, "loop.ini", "[uwsgi]\nini = %p\n");
        let inherited = write(
            d,
            "default.ini",
            "[uwsgi]\ndeclare-option = deb-confname=$1\ndeclare-option = inc=ini=$1\n",
        );
        let app = write(
            d,
            "app.ini",
            &format!(
                "[uwsgi]\ninc = {0}/one.ini\nini = {0}/loop.ini\n",
                d.display()
            ),
        );
        let t = instance(&app, Format::Ini, Some(&inherited), &spec());
        assert!(t.options.iter().any(|o| o.key == "from-one"));
        assert_eq!(t.pulled[0].path, d.join("one.ini"));
        assert_eq!(t.pulled[0].by.top, 1);
        assert_eq!(t.unresolved.len(), 1, "{:?}", t.unresolved);
        assert!(t.unresolved[0].why.contains("loop"));
    }

    #[test]
    fn plugins_are_looked_up_like_uwsgi_does() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "p/mine_plugin.so", "");
        let app = write(
            d,
            "app.ini",
            &format!(
                "[uwsgi]\nplugins = 0:python3, mine|init\nplugins-dir = {0}/p\n\
                 plugin = mine\nneed-plugin = {0}/p/mine_plugin.so,{0}/p/gone\n",
                d.display()
            ),
        );
        let t = instance(&app, Format::Ini, None, &spec());
        let p: Vec<(&str, &str, bool, bool)> = t
            .plugins
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.file_name.as_str(),
                    p.found.is_some(),
                    p.required,
                )
            })
            .collect();
        let full = |s: &str| format!("{}/p/{s}", d.display());
        assert_eq!(
            p,
            [
                ("python3", "python3_plugin.so", false, false),
                // Before `plugins-dir`: not looked for there.
                ("mine", "mine_plugin.so", false, false),
                ("mine", "mine_plugin.so", true, false),
                (
                    full("mine_plugin.so").as_str(),
                    full("mine_plugin.so").as_str(),
                    true,
                    true
                ),
                (
                    full("gone").as_str(),
                    full("gone_plugin.so").as_str(),
                    false,
                    true
                ),
            ]
        );
        let kinds = pulled(&t);
        assert!(kinds.contains(&(d.join("p"), PullKind::Directory)));
        assert!(kinds.contains(&(d.join("p/mine_plugin.so"), PullKind::SharedObject)));
    }

    #[test]
    fn unreadable_files_are_broken_not_fatal_to_the_loader() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let app = write(
            d,
            "app.ini",
            "[uwsgi]\nfor-readline = /nonexistent\nx = %(_)\nendfor =\n",
        );
        let t = load(
            &[
                (Path::new("/nonexistent.ini"), Some(Format::Ini)),
                (&app, Some(Format::Ini)),
            ],
            &Environment::default(),
        );
        assert_eq!(t.broken.len(), 2, "{:?}", t.broken);
        assert!(t.broken[0].by.is_none() && t.broken[0].fatal);
        assert!(!t.broken[1].fatal);
    }

    #[test]
    fn truth_like_uwsgi() {
        for v in ["", "1", "true", "yes", "anything"] {
            assert!(is_true(v), "{v}");
        }
        for v in ["0", "false", "FALSE", "no", "off", " off "] {
            assert!(!is_true(v), "{v}");
        }
    }

    #[test]
    fn schemes() {
        assert_eq!(scheme_of("exec://id"), Some("exec"));
        assert_eq!(scheme_of("/a://b"), None);
        assert_eq!(scheme_of("/plain"), None);
        assert_eq!(glob_base(Path::new("/a/b*/c")), Some(PathBuf::from("/a")));
        assert_eq!(glob_base(Path::new("/a/b")), None);
    }
}
