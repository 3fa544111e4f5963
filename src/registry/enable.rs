//! `uwsgi-enapp` and `uwsgi-disapp`: switch apps on and off, the way
//! `a2ensite`/`a2dissite` do for Apache sites. This is the change and what
//! is known of it (`Outcome`); `output::registry` asks, prints and merges
//! the exit status.
//!
//! Every NAME on the command line is handled on its own (one bad NAME never
//! stops the others). The whole run holds the registry lock, so concurrent
//! runs on the same names end as if they had run one after another.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};

use super::link::{self, EnabledEntry, EnabledLink, LinkState};
use super::markers::{self, MarkerIndex};
use super::pattern::NamePattern;
use super::{app_label, SwitchOptions};
use crate::discovery::{self, AvailableApp, EntryKind};
use crate::display::display_path;
use crate::error::{Error, Result};
use crate::layout::{Actor, Layout, MarkerKind};
use crate::name::{Confspec, Namespace};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Enable,
    Disable,
}

impl Direction {
    /// `enable` or `disable`.
    pub fn verb(self) -> &'static str {
        match self {
            Direction::Enable => "enable",
            Direction::Disable => "disable",
        }
    }
}

/// What happened to one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The link was made; `replaced` is what stood there before.
    Enabled {
        replaced: LinkState,
        link: std::path::PathBuf,
    },
    AlreadyEnabled,
    /// Maintainer mode, and the administrator disabled the app: their
    /// choice wins.
    KeptDisabledByAdmin,
    Disabled {
        was: LinkState,
    },
    /// Already disabled; with `--purge`, `markers_removed` says whether
    /// it had state markers that were (or, in a dry run, would be) removed.
    AlreadyDisabled {
        markers_removed: bool,
    },
    /// A dangling (or looping) link of an app that is no longer available
    /// was removed.
    RemovedDangling {
        path: std::path::PathBuf,
        loops: bool,
    },
    /// `--purge` of a name that has no file any more: only its markers;
    /// `removed` is false when another NAME of the same run removed them.
    Purged {
        removed: bool,
    },
}

impl Action {
    /// The word JSON uses for it.
    pub fn code(&self) -> &'static str {
        match self {
            Action::Enabled { .. } => "enabled",
            Action::AlreadyEnabled => "already-enabled",
            Action::KeptDisabledByAdmin => "kept-disabled-by-admin",
            Action::Disabled { .. } => "disabled",
            Action::AlreadyDisabled { .. } => "already-disabled",
            Action::RemovedDangling { .. } => "removed-dangling-link",
            Action::Purged { .. } => "purged",
        }
    }

    /// Did it switch the app on or off (so the "you need to run" hint is
    /// worth printing)?
    pub fn switched(&self) -> bool {
        matches!(self, Action::Enabled { .. } | Action::Disabled { .. })
    }

    /// Did it change anything on disk (or, in a dry run, would it): a link
    /// made, replaced or removed, a state marker written or removed. The
    /// `changed` of the JSON document, which automation relies on to say
    /// whether a run did something, so it is exact: "already" is false.
    pub fn changed(&self) -> bool {
        match self {
            Action::Enabled { .. } | Action::Disabled { .. } | Action::RemovedDangling { .. } => {
                true
            }
            Action::AlreadyDisabled { markers_removed } => *markers_removed,
            Action::Purged { removed } => *removed,
            Action::AlreadyEnabled | Action::KeptDisabledByAdmin => false,
        }
    }
}

/// The outcome for one app (or for a NAME that matched none).
#[derive(Debug)]
pub struct Outcome {
    pub argument: OsString,
    pub app: Option<(Namespace, OsString, Option<OsString>)>,
    pub result: std::result::Result<Action, String>,
}

/// What is known of one namespace during a run: read once, kept up to date
/// with our own changes.
struct NsState {
    available: Vec<AvailableApp>,
    enabled: Vec<EnabledEntry>,
    markers: Option<MarkerIndex>,
}

struct Run<'a> {
    layout: &'a Layout,
    dir: Direction,
    opts: &'a SwitchOptions,
    namespaces: HashMap<Namespace, NsState>,
}

/// Enable or disable the apps NAMES designate, under the registry lock,
/// and say what happened to each; print nothing. This is the whole change
/// without its presentation: `--now` in the front end wraps it (start
/// after enabling; for disabling, a dry run first tells what to stop).
pub fn switch(
    layout: &Layout,
    dir: Direction,
    opts: &SwitchOptions,
    names: &[OsString],
) -> Result<Vec<Outcome>> {
    // A dry run changes nothing and every change it could observe is one
    // atomic directory operation, so it needs no lock (and works where
    // the lock dir cannot be made, e.g. a read-only tree).
    let _lock = if opts.dry_run {
        None
    } else {
        crate::lock::registry(layout)?
    };
    let mut run = Run {
        layout,
        dir,
        opts,
        namespaces: HashMap::new(),
    };
    Ok(names.iter().flat_map(|name| run.handle(name)).collect())
}

impl Outcome {
    /// The app this outcome is about, when NAME designated one.
    pub fn spec(&self) -> Option<Confspec> {
        let (ns, name, _) = self.app.as_ref()?;
        Confspec::new(ns.clone(), name.clone()).ok()
    }

    /// Did it change anything (`Action::changed`); a failure did not.
    pub fn changed(&self) -> bool {
        self.result.as_ref().is_ok_and(Action::changed)
    }

    /// The app as messages name it, or NAME as given when it designated
    /// none.
    pub fn label(&self) -> String {
        match &self.app {
            Some((ns, name, _)) => app_label(ns, name),
            None => crate::display::display_name(&self.argument),
        }
    }
}

/// `apps-enabled` must be the directory itself, not a link to one: a
/// relative `../apps-available/NAME` made through a link would land in the
/// link's target and point nowhere, and the admin would be told the app is
/// enabled when the front end cannot see it.
fn refuse_linked_dir(dir: &std::path::Path) -> Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            // A link that cannot be followed (a loop, a dangling target)
            // is best explained by the OS error itself.
            std::fs::metadata(dir).map_err(|e| Error::io("open directory", dir, e))?;
            let target = std::fs::read_link(dir)
                .map(|t| crate::display::display_path(&t))
                .unwrap_or_else(|_| "?".into());
            Err(Error::Failed(format!(
                "{} is a symbolic link (to {target}), not a directory: refusing to \
                 make or remove app links through it; make it a real directory",
                crate::display::display_path(dir)
            )))
        }
        _ => Ok(()),
    }
}

/// Why the entry `path` of apps-available cannot be enabled: it is not a
/// regular file once links are followed. A loop and a dangling link are
/// said as such (as `doctor` says them), not lumped with FIFOs.
fn not_a_config_file(path: &std::path::Path) -> String {
    let shown = display_path(path);
    let target = || {
        std::fs::read_link(path)
            .map(|t| display_path(&t))
            .unwrap_or_else(|_| "?".into())
    };
    match std::fs::metadata(path) {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => format!(
            "{shown} is a symbolic link that loops (too many levels of symbolic links); \
             it cannot be enabled"
        ),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            format!(
                "{shown} is a dangling link (to {}); it cannot be enabled",
                target()
            )
        }
        Err(e) => format!("cannot follow {shown}: {e}"),
        Ok(meta) if meta.is_dir() => {
            format!("{shown} is a directory, not a config file; it cannot be enabled")
        }
        Ok(_) => format!("{shown} is not a regular file (nor a link to one)"),
    }
}

impl Run<'_> {
    fn state(&mut self, ns: &Namespace) -> Result<&mut NsState> {
        if !self.namespaces.contains_key(ns) {
            refuse_linked_dir(&self.layout.enabled_dir(ns))?;
            let available = discovery::available(self.layout, ns)?;
            let (enabled, stale) = link::enabled_entries(self.layout, ns)?;
            if !self.opts.dry_run {
                link::sweep_stale(&stale)?;
            }
            self.namespaces.insert(
                ns.clone(),
                NsState {
                    available,
                    enabled,
                    markers: None,
                },
            );
        }
        self.namespaces
            .get_mut(ns)
            .ok_or_else(|| Error::Failed("namespace state vanished".into()))
    }

    fn handle(&mut self, argument: &OsStr) -> Vec<Outcome> {
        let failed = |app, message: String| {
            vec![Outcome {
                argument: argument.to_owned(),
                app,
                result: Err(message),
            }]
        };
        let spec = match Confspec::parse(argument) {
            Ok(spec) => spec,
            Err(e) => return failed(None, e.to_string()),
        };
        let ns = spec.namespace.clone();
        let pattern = NamePattern::new(&spec.name);
        let targets = match self.resolve(&ns, &pattern) {
            Ok(targets) => targets,
            Err(e) => return failed(None, e.to_string()),
        };
        if targets.is_empty() {
            return match self.nothing_matched(&ns, &pattern) {
                Ok(mut outcomes) => {
                    for o in &mut outcomes {
                        o.argument = argument.to_owned();
                    }
                    outcomes
                }
                Err(message) => failed(None, message),
            };
        }
        targets
            .into_iter()
            .map(|target| {
                let (result, file) = match target.files.as_slice() {
                    [(file, kind)] => {
                        let app = AppFile {
                            confname: target.confname.clone(),
                            file: file.clone(),
                            kind: *kind,
                        };
                        let result = match self.dir {
                            Direction::Enable => self.enable(&ns, &app),
                            Direction::Disable => self.disable(&ns, &app),
                        };
                        (result.map_err(|e| e.to_string()), Some(file.clone()))
                    }
                    files => (
                        Err(format!(
                            "App {} is ambiguous: it is {}; name the one you mean with its extension",
                            app_label(&ns, &target.confname),
                            files
                                .iter()
                                .map(|(f, _)| crate::display::display_name(f))
                                .collect::<Vec<_>>()
                                .join(" and ")
                        )),
                        None,
                    ),
                };
                Outcome {
                    argument: argument.to_owned(),
                    app: Some((ns.clone(), target.confname, file)),
                    result,
                }
            })
            .collect()
    }

    /// The apps a pattern designates: available ones to enable, enabled
    /// ones to disable, grouped by confname (one confname, several files:
    /// ambiguous).
    fn resolve(&mut self, ns: &Namespace, pattern: &NamePattern) -> Result<Vec<Target>> {
        let dir = self.dir;
        let state = self.state(ns)?;
        let mut matched: Vec<(OsString, OsString, Option<EntryKind>)> = match dir {
            Direction::Enable => state
                .available
                .iter()
                .filter(|a| pattern.matches(&a.confname, &a.file_name, a.format))
                .map(|a| (a.confname.clone(), a.file_name.clone(), Some(a.kind)))
                .collect(),
            Direction::Disable => state
                .enabled
                .iter()
                .filter(|e| pattern.matches(&e.confname, &e.file_name, e.format))
                .map(|e| (e.confname.clone(), e.file_name.clone(), None))
                .collect(),
        };
        // Both lists are sorted by confname: equal confnames are adjacent.
        let mut targets: Vec<Target> = Vec::new();
        for (confname, file, kind) in matched.drain(..) {
            match targets.last_mut() {
                Some(last) if last.confname == confname => last.files.push((file, kind)),
                _ => targets.push(Target {
                    confname,
                    files: vec![(file, kind)],
                }),
            }
        }
        Ok(targets)
    }

    /// A pattern that designates nothing to change: "already disabled",
    /// markers to purge, or "does not exist".
    fn nothing_matched(
        &mut self,
        ns: &Namespace,
        pattern: &NamePattern,
    ) -> std::result::Result<Vec<Outcome>, String> {
        let does_not_exist =
            || format!("App {} does not exist!", app_label(ns, pattern.as_os_str()));
        if self.dir == Direction::Enable {
            return Err(does_not_exist());
        }
        let (layout, opts) = (self.layout, self.opts);
        let state = self.state(ns).map_err(|e| e.to_string())?;
        let mut names: Vec<OsString> = state
            .available
            .iter()
            .filter(|a| pattern.matches(&a.confname, &a.file_name, a.format))
            .map(|a| a.confname.clone())
            .collect();
        names.dedup();
        if !names.is_empty() {
            let mut outcomes = Vec::new();
            for name in names {
                let result =
                    purge_already_disabled(layout, opts, ns, &name).map_err(|e| e.to_string());
                outcomes.push(Outcome {
                    argument: OsString::new(),
                    app: Some((ns.clone(), name, None)),
                    result,
                });
            }
            return Ok(outcomes);
        }
        if !opts.purge {
            return Err(does_not_exist());
        }
        // --purge of a name whose file is gone: its markers are all that
        // is left of it, and the run is silent about it (as a2dissite is).
        if state.markers.is_none() {
            state.markers = Some(MarkerIndex::read(layout, ns).map_err(|e| e.to_string())?);
        }
        let names: Vec<OsString> = state
            .markers
            .as_ref()
            .map(|m| {
                m.names()
                    .into_iter()
                    .filter(|n| pattern.matches_name(n))
                    .map(OsStr::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut outcomes = Vec::new();
        for name in names {
            let result = if opts.dry_run {
                Ok(Action::Purged { removed: true })
            } else {
                markers::purge(layout, ns, &name)
                    .map(|removed| Action::Purged { removed })
                    .map_err(|e| e.to_string())
            };
            outcomes.push(Outcome {
                argument: OsString::new(),
                app: Some((ns.clone(), name, None)),
                result,
            });
        }
        Ok(outcomes)
    }

    fn actor(&self) -> Actor {
        if self.opts.maintmode {
            Actor::Maint
        } else {
            Actor::Admin
        }
    }

    fn enable(&mut self, ns: &Namespace, app: &AppFile) -> Result<Action> {
        let layout = self.layout;
        let link = EnabledLink::new(layout, ns, &app.file);
        if !matches!(app.kind, Some(EntryKind::File | EntryKind::LinkToFile)) {
            return Err(Error::Failed(not_a_config_file(&link.available)));
        }
        // Another format of the same app already enabled would make two
        // files for one confname in apps-enabled: a clash the front end
        // would have to break. Refuse rather than create it.
        let others: Vec<OsString> = self
            .state(ns)?
            .enabled
            .iter()
            .filter(|e| e.confname == app.confname && e.file_name != app.file)
            .map(|e| e.file_name.clone())
            .collect();
        for other in others {
            let other = EnabledLink::new(layout, ns, &other);
            if !matches!(
                other.inspect()?,
                LinkState::Dangling { .. } | LinkState::Missing
            ) {
                return Err(Error::Failed(format!(
                    "App {} is already enabled as {}; disable it first",
                    app_label(ns, &app.confname),
                    display_path(&other.path)
                )));
            }
        }

        let state = link.inspect()?;
        match &state {
            LinkState::Ok => return Ok(Action::AlreadyEnabled),
            LinkState::NotALink { what } => {
                return Err(Error::Failed(format!(
                    "{} is {what}, not touching it",
                    display_path(&link.path)
                )))
            }
            LinkState::Foreign { target } if !self.opts.force => {
                return Err(Error::Failed(format!(
                    "{} points to {}, not to {}: not touching it (--force replaces it)",
                    display_path(&link.path),
                    display_path(target),
                    display_path(&link.available)
                )))
            }
            LinkState::Missing | LinkState::Dangling { .. } | LinkState::Foreign { .. } => {}
        }
        if self.opts.maintmode {
            let have = markers::of(layout, ns, &app.confname);
            if markers::who(&have, false) == Some(Actor::Admin) {
                return Ok(Action::KeptDisabledByAdmin);
            }
        }
        if self.opts.dry_run {
            return Ok(Action::Enabled {
                replaced: state,
                link: link.path,
            });
        }
        let marker = MarkerKind {
            enabled: true,
            by: self.actor(),
        };
        markers::prepare(layout, ns, marker)?;
        if state == LinkState::Missing {
            link.create()?;
        } else {
            link.replace()?;
        }
        if let Err(e) = markers::record(layout, ns, &app.confname, marker) {
            // Undo what can be undone, so the app is not left enabled
            // without a record of who did it.
            if state == LinkState::Missing {
                let _ = link.remove();
            }
            return Err(e);
        }
        let ns_state = self.state(ns)?;
        if !ns_state.enabled.iter().any(|e| e.file_name == app.file) {
            if let Some((confname, format)) = crate::name::Format::split_file_name(&app.file) {
                ns_state.enabled.push(EnabledEntry {
                    confname: confname.to_owned(),
                    file_name: app.file.clone(),
                    format,
                });
                ns_state
                    .enabled
                    .sort_by(|a, b| (&a.confname, a.format).cmp(&(&b.confname, b.format)));
            }
        }
        Ok(Action::Enabled {
            replaced: state,
            link: link.path,
        })
    }

    fn disable(&mut self, ns: &Namespace, app: &AppFile) -> Result<Action> {
        let layout = self.layout;
        let opts = self.opts;
        let link = EnabledLink::new(layout, ns, &app.file);
        let state = link.inspect()?;
        let still_available = self
            .state(ns)?
            .available
            .iter()
            .any(|a| a.confname == app.confname);
        let action = match &state {
            LinkState::Missing => {
                return purge_already_disabled(layout, opts, ns, &app.confname);
            }
            LinkState::NotALink { what } => {
                return Err(Error::Failed(format!(
                    "{} is {what}, not a symbolic link: not touching it",
                    display_path(&link.path)
                )))
            }
            // a2dissite's rule: the dangling link of an app that is gone
            // is cleaned up without recording a state for it.
            LinkState::Dangling { loops, .. } if !still_available => Action::RemovedDangling {
                path: link.path.clone(),
                loops: *loops,
            },
            LinkState::Ok | LinkState::Dangling { .. } | LinkState::Foreign { .. } => {
                Action::Disabled { was: state.clone() }
            }
        };
        if opts.dry_run {
            return Ok(action);
        }
        let marker = MarkerKind {
            enabled: false,
            by: self.actor(),
        };
        let record = matches!(action, Action::Disabled { .. }) && !opts.purge;
        if record {
            markers::prepare(layout, ns, marker)?;
        }
        link.remove()?;
        self.state(ns)?.enabled.retain(|e| e.file_name != app.file);
        if opts.purge {
            markers::purge(layout, ns, &app.confname)?;
        } else if record {
            markers::record(layout, ns, &app.confname, marker)?;
        }
        Ok(action)
    }
}

/// An app that is already disabled: with `--purge` its markers go (in a
/// dry run: would go, if it has any).
fn purge_already_disabled(
    layout: &Layout,
    opts: &SwitchOptions,
    ns: &Namespace,
    name: &OsStr,
) -> Result<Action> {
    let markers_removed = if !opts.purge {
        false
    } else if opts.dry_run {
        !markers::of(layout, ns, name).is_empty()
    } else {
        markers::purge(layout, ns, name)?
    };
    Ok(Action::AlreadyDisabled { markers_removed })
}

#[derive(Debug, Clone)]
struct AppFile {
    confname: OsString,
    file: OsString,
    /// For enable: what the file in apps-available is.
    kind: Option<EntryKind>,
}

/// The files one confname matched: more than one is ambiguous.
#[derive(Debug)]
struct Target {
    confname: OsString,
    files: Vec<(OsString, Option<EntryKind>)>,
}

/// The apps one could name: available ones to enable, enabled ones to
/// disable (for asking on a terminal, as a2ensite does).
pub fn choices(layout: &Layout, dir: Direction) -> Result<Vec<String>> {
    let mut choices: Vec<String> = Vec::new();
    for ns in discovery::namespaces(layout)? {
        match dir {
            Direction::Enable => {
                for a in discovery::available(layout, &ns)? {
                    choices.push(app_label(&ns, &a.confname));
                }
            }
            Direction::Disable => {
                for e in link::enabled_entries(layout, &ns)?.0 {
                    choices.push(app_label(&ns, &e.confname));
                }
            }
        }
    }
    choices.dedup();
    Ok(choices)
}

/// The apps the outcomes are about: those now enabled (`enabled`), or
/// those being disabled.
pub fn specs_of(outcomes: &[Outcome], enabled: bool) -> Vec<Confspec> {
    let mut specs: Vec<Confspec> = Vec::new();
    for o in outcomes {
        let wanted = match &o.result {
            Ok(Action::Enabled { .. } | Action::AlreadyEnabled) => enabled,
            Ok(Action::Disabled { .. } | Action::AlreadyDisabled { .. }) => !enabled,
            _ => false,
        };
        if let Some(spec) = o.spec().filter(|_| wanted) {
            if !specs.contains(&spec) {
                specs.push(spec);
            }
        }
    }
    specs
}

/// The apps just disabled whose instance still runs, with the master's
/// pid: their next reload fails, since their config is gone.
pub fn still_running<'o>(layout: &Layout, outcomes: &'o [Outcome]) -> Vec<(&'o Outcome, i32)> {
    let (settings, _) = crate::settings::Settings::load(layout);
    let context = crate::service::engine::Context::from_settings(layout, &settings);
    let service = crate::service::Service::new(&context);
    let mut running = Vec::new();
    for o in outcomes {
        if !matches!(o.result, Ok(Action::Disabled { .. })) {
            continue;
        }
        let Some(spec) = o.spec() else { continue };
        // Its config is gone: the instance's environment (and its pidfile
        // in a root-owned dir) are what identify it.
        if let Some((pid, _)) = service.running(&spec, None) {
            running.push((o, pid));
        }
    }
    running
}

#[cfg(test)]
mod tests {
    //! `switch` on temporary roots: what each NAME does to the links and
    //! markers, and what it says it did.

    use std::fs;
    use std::os::unix::fs::symlink;

    use super::*;

    struct Tree {
        _tmp: tempfile::TempDir,
        layout: Layout,
        ns: Namespace,
    }

    fn tree(available: &[&str]) -> Tree {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path(), "/usr/bin/uwsgi");
        let ns = Namespace::app();
        fs::create_dir_all(layout.available_dir(&ns)).unwrap();
        fs::create_dir_all(layout.enabled_dir(&ns)).unwrap();
        for f in available {
            fs::write(layout.available_dir(&ns).join(f), "[uwsgi]\n").unwrap();
        }
        Tree {
            _tmp: tmp,
            layout,
            ns,
        }
    }

    impl Tree {
        /// Whether NAME stands in apps-enabled (as anything).
        fn enabled(&self, file_name: &str) -> bool {
            let path = self.layout.enabled_dir(&self.ns).join(file_name);
            path.symlink_metadata().is_ok()
        }
    }

    fn opts(f: impl FnOnce(&mut SwitchOptions)) -> SwitchOptions {
        let mut o = SwitchOptions::default();
        f(&mut o);
        o
    }

    fn names(n: &[&str]) -> Vec<OsString> {
        n.iter().map(OsString::from).collect()
    }

    /// `(label, result code or the error)` of each outcome.
    fn said(outcomes: &[Outcome]) -> Vec<(String, String)> {
        outcomes
            .iter()
            .map(|o| {
                let what = match &o.result {
                    Ok(a) => a.code().to_owned(),
                    Err(e) => format!("error: {e}"),
                };
                (o.label(), what)
            })
            .collect()
    }

    fn markers(t: &Tree, name: &str) -> Vec<MarkerKind> {
        markers::of(&t.layout, &t.ns, name.as_ref())
    }

    const ADMIN_ON: MarkerKind = MarkerKind {
        enabled: true,
        by: Actor::Admin,
    };
    const ADMIN_OFF: MarkerKind = MarkerKind {
        enabled: false,
        by: Actor::Admin,
    };

    #[test]
    fn enable_then_disable_with_links_markers_and_already() {
        let t = tree(&["hello.ini", "other.ini"]);
        let on = |n: &[&str]| switch(&t.layout, Direction::Enable, &opts(|_| {}), &names(n));
        let off = |n: &[&str]| switch(&t.layout, Direction::Disable, &opts(|_| {}), &names(n));

        let o = on(&["hello"]).unwrap();
        assert_eq!(said(&o), [("hello".into(), "enabled".into())]);
        assert!(o[0].changed());
        let link = t.layout.enabled_dir(&t.ns).join("hello.ini");
        assert_eq!(
            fs::read_link(&link).unwrap(),
            std::path::Path::new("../apps-available/hello.ini")
        );
        assert_eq!(markers(&t, "hello"), [ADMIN_ON]);
        assert_eq!(o[0].spec(), Confspec::parse("hello".as_ref()).ok());

        let o = on(&["hello", "nope"]).unwrap();
        assert_eq!(
            said(&o),
            [
                ("hello".into(), "already-enabled".into()),
                ("nope".into(), "error: App nope does not exist!".into()),
            ]
        );
        assert!(!o[0].changed() && !o[1].changed());

        let o = off(&["hello", "other"]).unwrap();
        assert_eq!(
            said(&o),
            [
                ("hello".into(), "disabled".into()),
                ("other".into(), "already-disabled".into()),
            ]
        );
        assert_eq!((o[0].changed(), o[1].changed()), (true, false));
        assert!(link.symlink_metadata().is_err());
        assert_eq!(markers(&t, "hello"), [ADMIN_OFF]);
        assert_eq!(specs_of(&o, false).len(), 2);
        assert!(specs_of(&o, true).is_empty());
    }

    #[test]
    fn the_administrators_choice_wins_over_a_maintainer_script() {
        let t = tree(&["hello.ini"]);
        let admin = opts(|_| {});
        let maint = opts(|o| o.maintmode = true);
        switch(&t.layout, Direction::Enable, &admin, &names(&["hello"])).unwrap();
        switch(&t.layout, Direction::Disable, &admin, &names(&["hello"])).unwrap();
        let o = switch(&t.layout, Direction::Enable, &maint, &names(&["hello"])).unwrap();
        assert_eq!(
            said(&o),
            [("hello".into(), "kept-disabled-by-admin".into())]
        );
        assert!(!o[0].changed());
        assert_eq!(markers(&t, "hello"), [ADMIN_OFF]);
        assert!(!t.enabled("hello.ini"));
    }

    #[test]
    fn a_dry_run_says_what_would_change_and_changes_nothing() {
        let t = tree(&["hello.ini"]);
        let dry = opts(|o| o.dry_run = true);
        let o = switch(&t.layout, Direction::Enable, &dry, &names(&["hello"])).unwrap();
        assert_eq!(said(&o), [("hello".into(), "enabled".into())]);
        assert!(o[0].changed(), "it would change");
        assert!(!t.enabled("hello.ini"));
        assert!(markers(&t, "hello").is_empty());
        assert!(!t.layout.lock_dir().exists(), "a dry run takes no lock");
    }

    #[test]
    fn globs_ambiguity_and_extensions() {
        let t = tree(&["search1.ini", "search2.yaml", "x.ini", "x.yaml", "y.ini"]);
        let on = |n: &[&str]| switch(&t.layout, Direction::Enable, &opts(|_| {}), &names(n));
        let o = on(&["search*", "x", "x.yaml", "Y.INI"]).unwrap();
        let got = said(&o);
        assert_eq!(got[0], ("search1".into(), "enabled".into()));
        assert_eq!(got[1], ("search2".into(), "enabled".into()));
        assert!(got[2].1.contains("ambiguous") && got[2].1.contains("x.ini and x.yaml"));
        assert_eq!(got[3], ("x".into(), "enabled".into()));
        assert_eq!(got[4].1, "error: App Y.INI does not exist!");
        assert_eq!(
            o[3].app.as_ref().and_then(|a| a.2.clone()),
            Some("x.yaml".into())
        );
        // Another format of an enabled app is refused, not made a clash.
        let o = on(&["x.ini"]).unwrap();
        assert!(
            said(&o)[0].1.contains("already enabled as"),
            "{:?}",
            said(&o)
        );
    }

    #[test]
    fn dangling_links_and_purged_markers_of_apps_that_are_gone() {
        let t = tree(&["hello.ini"]);
        let enabled = t.layout.enabled_dir(&t.ns);
        symlink("../apps-available/gone.ini", enabled.join("gone.ini")).unwrap();
        markers::record(&t.layout, &t.ns, "gone".as_ref(), ADMIN_ON).unwrap();
        let off = |o: SwitchOptions, n: &[&str]| {
            switch(&t.layout, Direction::Disable, &o, &names(n)).unwrap()
        };
        let o = off(opts(|_| {}), &["gone"]);
        assert_eq!(said(&o), [("gone".into(), "removed-dangling-link".into())]);
        assert!(o[0].changed());
        assert!(enabled.join("gone.ini").symlink_metadata().is_err());
        // Its marker stays until --purge, which is all there is left of it.
        assert_eq!(markers(&t, "gone"), [ADMIN_ON]);
        let o = off(opts(|o| o.purge = true), &["gone"]);
        assert_eq!(said(&o), [("gone".into(), "purged".into())]);
        assert!(o[0].changed());
        assert!(markers(&t, "gone").is_empty());
        let o = off(opts(|o| o.purge = true), &["gone"]);
        assert!(o.is_empty(), "nothing is left to say: {:?}", said(&o));
    }

    #[test]
    fn an_enabled_dir_that_is_a_link_is_refused() {
        let t = tree(&["hello.ini"]);
        let enabled = t.layout.enabled_dir(&t.ns);
        fs::remove_dir(&enabled).unwrap();
        let elsewhere = t.layout.config_dir().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        symlink(&elsewhere, &enabled).unwrap();
        let o = switch(
            &t.layout,
            Direction::Enable,
            &opts(|_| {}),
            &names(&["hello"]),
        )
        .unwrap();
        assert!(
            said(&o)[0].1.contains("is a symbolic link"),
            "{:?}",
            said(&o)
        );
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    }
}
