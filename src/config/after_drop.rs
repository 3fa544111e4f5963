//! What uWSGI creates after it drops root privileges, and so cannot create
//! in the instance's run dir.
//!
//! The front end makes `/run/uwsgi/NS/NAME/` root's, 0755 (SPEC §4), so
//! that the app's user can never plant links where root writes. uWSGI
//! creates some files there as root, before its privilege drop, and those
//! work (`pidfile`, `logto`, and its UNIX sockets when `chown-socket` is
//! set, as Debian's default config does); whatever it creates as the
//! app's user fails. Checked one option at a time with Debian's uwsgi-core
//! 2.0.21 running as www-data, pointed into a root-owned 0755 directory:
//!
//! * uWSGI drops privileges at the very start of its setup, unless
//!   `chown-socket`, `drop-after-init` or `drop-after-apps` makes it wait
//!   until its sockets are bound, or `master-as-root` keeps the master
//!   root for good.
//! * Unless the master stays root, these are made after the drop in any
//!   case, and uWSGI exits at start: the `stats` (`stats-server`) and
//!   `zerg-server` sockets, `master-fifo`, `notify-socket`,
//!   `safe-pidfile` and `safe-pidfile2` (both written by the running
//!   master, whatever uWSGI's help says of the first), and the log of
//!   `daemonize2`. A `logger = file:` log cannot be opened either; uWSGI
//!   runs, and its log lines are lost. A `spooler` dir is made by root
//!   (0750) and the spooler, running as the user, cannot enter it.
//! * When nothing delays the drop, also: every UNIX socket (`socket`,
//!   `http-socket`, …, and the routers' `http`, `fastrouter`, …),
//!   `pidfile2`, `logto2`, and a cache's `store=`. uWSGI exits at start.
//! * `req-logger = file:` is opened by the workers, always as the user.
//! * `touch-*` files are only watched, never created; `pidfile`, `logto`
//!   and `shared-socket` are always made as root.

use std::path::{Path, PathBuf};

use super::tree::{self, is_true};
use super::{expand, Account, SourcedOption};
use crate::display::display_path;
use crate::name::{Confspec, Format};

/// What becomes of the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// uWSGI exits at start.
    Fails,
    /// uWSGI runs without it.
    Degrades,
}

/// One option that makes uWSGI create something in the run dir after the
/// privilege drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterDrop {
    pub option: String,
    /// The value as written.
    pub value: String,
    /// What uWSGI creates, expanded.
    pub path: PathBuf,
    /// The file the option is in (`None`: the environment).
    pub file: Option<PathBuf>,
    pub effect: Effect,
    /// What happens, a phrase: "uWSGI exits at start".
    pub consequence: &'static str,
    /// What to do instead, a phrase.
    pub hint: &'static str,
}

impl AfterDrop {
    /// One line for an error message: what, where, why, and what to do.
    pub fn message(&self, run_dir: &Path) -> String {
        format!("{}; {}", self.problem(run_dir), self.hint)
    }

    /// What, where and why, without what to do.
    pub fn problem(&self, run_dir: &Path) -> String {
        let from = self
            .file
            .as_deref()
            .map(|f| format!(" in {}", display_path(f)))
            .unwrap_or_default();
        format!(
            "`{} = {}`{from}: uWSGI creates {} after dropping root privileges, but the run \
             dir {} belongs to root, so {}",
            self.option,
            self.value,
            display_path(&self.path),
            display_path(run_dir),
            self.consequence
        )
    }
}

/// When an option's file is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    /// After the drop unless the master stays root.
    AfterDrop,
    /// After the drop only when nothing delays the drop.
    EarlyDrop,
    /// By the workers: always as the user.
    Workers,
}

/// How the option names its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A UNIX socket path, or a `host:port` (no file) and `@abstract`
    /// (no file either); `addr,…` keeps the part before the comma.
    Socket,
    /// A path, or a `host:port` UDP address.
    PathOrAddress,
    /// A plain path.
    Path,
    /// `file:PATH` (or `NAME file:PATH`, or `file:logfile=PATH,…`).
    Logger,
    /// `store=PATH` in a `key=value,…` list.
    CacheStore,
}

struct Rule {
    options: &'static [&'static str],
    when: When,
    shape: Shape,
    effect: Effect,
    consequence: &'static str,
    hint: &'static str,
}

const EXITS: &str = "uWSGI exits at start";

const RULES: &[Rule] = &[
    Rule {
        options: &[
            "socket",
            "uwsgi-socket",
            "http-socket",
            "https-socket",
            "fastcgi-socket",
            "fastcgi-nph-socket",
            "scgi-socket",
            "scgi-nph-socket",
            "raw-socket",
            "puwsgi-socket",
            "suwsgi-socket",
            "ssl-socket",
            "http",
            "https",
            "fastrouter",
            "rawrouter",
            "sslrouter",
        ],
        when: When::EarlyDrop,
        shape: Shape::Socket,
        effect: Effect::Fails,
        consequence: "binding the socket fails with `Permission denied` and uWSGI exits at start",
        hint: "set `chown-socket` (uWSGI then binds its sockets as root, as Debian's default \
               config does), or bind it outside the run dir",
    },
    Rule {
        options: &["stats", "stats-server", "zerg-server"],
        when: When::AfterDrop,
        shape: Shape::Socket,
        effect: Effect::Fails,
        consequence: "binding the socket fails with `Permission denied` and uWSGI exits at start",
        hint: "use a TCP address on 127.0.0.1, or a path outside the run dir in a directory \
               the app's user can write",
    },
    Rule {
        options: &["master-fifo", "notify-socket"],
        when: When::AfterDrop,
        shape: Shape::Path,
        effect: Effect::Fails,
        consequence: EXITS,
        hint: "put it outside the run dir, in a directory the app's user can write",
    },
    Rule {
        options: &["safe-pidfile", "safe-pidfile2"],
        when: When::AfterDrop,
        shape: Shape::Path,
        effect: Effect::Fails,
        consequence: EXITS,
        hint: "drop it: the front end keeps the pidfile in the run dir (`pid`) itself; \
               `pidfile`, written as root, works there if another one is needed",
    },
    Rule {
        options: &["pidfile2"],
        when: When::EarlyDrop,
        shape: Shape::Path,
        effect: Effect::Fails,
        consequence: EXITS,
        hint: "drop it: the front end keeps the pidfile in the run dir (`pid`) itself; \
               `pidfile`, written as root, works there if another one is needed",
    },
    Rule {
        options: &["logto2"],
        when: When::EarlyDrop,
        shape: Shape::PathOrAddress,
        effect: Effect::Fails,
        consequence: EXITS,
        hint: "use `logto` (opened as root), or a log file outside the run dir",
    },
    Rule {
        options: &["daemonize2"],
        when: When::AfterDrop,
        shape: Shape::PathOrAddress,
        effect: Effect::Fails,
        consequence: EXITS,
        hint: "drop it: the front end daemonizes the instance and keeps its log in \
               /var/log/uwsgi; or log outside the run dir",
    },
    Rule {
        options: &["logger"],
        when: When::AfterDrop,
        shape: Shape::Logger,
        effect: Effect::Degrades,
        consequence: "the log cannot be opened and uWSGI's log lines are lost",
        hint: "use `logto` (opened as root), or a log file outside the run dir",
    },
    Rule {
        options: &["req-logger"],
        when: When::Workers,
        shape: Shape::Logger,
        effect: Effect::Degrades,
        consequence: "the workers cannot open it and the request log is lost",
        hint: "log requests to a file outside the run dir that the app's user can write",
    },
    Rule {
        options: &["cache2"],
        when: When::EarlyDrop,
        shape: Shape::CacheStore,
        effect: Effect::Fails,
        consequence: EXITS,
        hint: "put the cache store outside the run dir (which is removed at every stop \
               anyway)",
    },
    Rule {
        options: &["cache-store"],
        when: When::EarlyDrop,
        shape: Shape::Path,
        effect: Effect::Fails,
        consequence: EXITS,
        hint: "put the cache store outside the run dir (which is removed at every stop \
               anyway)",
    },
    Rule {
        options: &["spooler"],
        when: When::AfterDrop,
        shape: Shape::Path,
        effect: Effect::Degrades,
        consequence: "root makes the spool dir and the spooler, running as the app's user, \
                      cannot enter it (and the run dir is removed at every stop)",
        hint: "use a spool dir the app's user owns outside the run dir, such as \
               /var/spool/uwsgi/NAME",
    },
];

/// The file an option's value names, if it names one.
fn file_of(shape: Shape, value: &str) -> Option<String> {
    let is_address = |v: &str| v.contains(':') || v.starts_with('@');
    let v = value.trim();
    match shape {
        Shape::Socket => {
            let v = v.split(',').next().unwrap_or(v);
            (!v.is_empty() && !is_address(v)).then(|| v.to_owned())
        }
        Shape::PathOrAddress => (!v.is_empty() && !v.contains(':')).then(|| v.to_owned()),
        Shape::Path => (!v.is_empty()).then(|| v.to_owned()),
        Shape::Logger => {
            let at = if v.starts_with("file:") {
                0
            } else {
                v.find(" file:")? + 1
            };
            let rest = &v[at + "file:".len()..];
            match rest.split(',').find_map(|kv| kv.strip_prefix("logfile=")) {
                Some(p) => Some(p.to_owned()),
                None if rest.contains('=') => None,
                None => Some(rest.to_owned()),
            }
        }
        Shape::CacheStore => v
            .split(',')
            .find_map(|kv| kv.trim().strip_prefix("store="))
            .map(str::to_owned),
    }
}

/// Does the instance whose options are `all` run as root (no `uid`, or
/// one that is root)? uWSGI then drops nothing.
fn runs_as_root(all: &[SourcedOption<'_>]) -> bool {
    let Some(o) = all.iter().rfind(|o| o.key == "uid") else {
        return true;
    };
    match Account::parse(&expand(o.value, o.file, all, 0)) {
        Account::Id(id) => id == 0,
        Account::Name(name) => nix::unistd::User::from_name(&name)
            .ok()
            .flatten()
            .is_some_and(|u| u.uid.is_root()),
    }
}

/// Expand `$(VAR)` with the variables the instance is known to get; `None`
/// when another variable is used.
fn expand_env(value: &str, vars: &[(String, String)]) -> Option<String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find(')')?;
        let (_, v) = vars.iter().find(|(k, _)| k == &after[..end])?;
        out.push_str(v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Every option among `all` (in the order uWSGI applies them, as
/// `tree::ConfigTree::sourced` gives them) that makes uWSGI create
/// something inside `run_dir` after dropping privileges. `vars` are the
/// environment variables the instance gets (`$(VAR)`). Values that hold a
/// placeholder nothing defines, or a relative path, are skipped: where they
/// land is not known here.
pub fn after_drop(
    all: &[SourcedOption<'_>],
    vars: &[(String, String)],
    run_dir: &Path,
) -> Vec<AfterDrop> {
    if runs_as_root(all) {
        return Vec::new();
    }
    let last_true = |key: &str| {
        all.iter()
            .rfind(|o| o.key == key)
            .is_some_and(|o| is_true(o.value))
    };
    let master_as_root = last_true("master-as-root");
    let drop_delayed = all.iter().any(|o| o.key == "chown-socket")
        || last_true("drop-after-init")
        || last_true("drop-after-apps");
    let run_dir = super::normalize_lexically(run_dir);
    let mut found = Vec::new();
    for o in all {
        let Some(rule) = RULES.iter().find(|r| r.options.contains(&o.key)) else {
            continue;
        };
        let late = match rule.when {
            When::Workers => true,
            When::AfterDrop => !master_as_root,
            When::EarlyDrop => !master_as_root && !drop_delayed,
        };
        if !late {
            continue;
        }
        let Some(value) = expand_env(&expand(o.value, o.file, all, 0), vars) else {
            continue;
        };
        let Some(file) = file_of(rule.shape, &value) else {
            continue;
        };
        if file.contains("%(") || !file.starts_with('/') {
            continue;
        }
        let path = super::normalize_lexically(Path::new(&file));
        if !path.starts_with(&run_dir) {
            continue;
        }
        found.push(AfterDrop {
            option: o.key.to_owned(),
            value: o.value.to_owned(),
            path,
            file: o.file.map(Path::to_path_buf),
            effect: rule.effect,
            consequence: rule.consequence,
            hint: rule.hint,
        });
    }
    found
}

/// `after_drop` for an instance: its app config `app` (in `format`), the
/// inherited config, everything they include, in the environment the
/// front end gives the instance `spec`.
pub fn instance_after_drop(
    app: &Path,
    format: Format,
    inherited: Option<&Path>,
    spec: &Confspec,
    run_dir: &Path,
) -> Vec<AfterDrop> {
    let t = tree::instance(app, format, inherited, spec);
    let env = tree::Environment::of_instance(spec);
    after_drop(&t.sourced(), &env.vars, run_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "/run/uwsgi/app/site";

    fn found(options: &[(&str, &str)]) -> Vec<(String, Effect)> {
        let f = Path::new("/etc/uwsgi/apps-enabled/site.ini");
        let mut all: Vec<SourcedOption<'_>> = vec![
            SourcedOption {
                key: "deb-confnamespace",
                value: "app",
                file: None,
            },
            SourcedOption {
                key: "deb-confname",
                value: "site",
                file: None,
            },
        ];
        all.extend(options.iter().map(|(k, v)| SourcedOption {
            key: k,
            value: v,
            file: Some(f),
        }));
        let vars = vec![("UWSGI_DEB_CONFNAME".to_owned(), "site".to_owned())];
        after_drop(&all, &vars, Path::new(RUN))
            .into_iter()
            .map(|a| (a.option, a.effect))
            .collect()
    }

    fn names(v: Vec<(String, Effect)>) -> Vec<String> {
        v.into_iter().map(|(o, _)| o).collect()
    }

    const DEBIAN: [(&str, &str); 4] = [
        ("uid", "www-data"),
        (
            "socket",
            "/run/uwsgi/%(deb-confnamespace)/%(deb-confname)/socket",
        ),
        ("chown-socket", "www-data"),
        ("pidfile", "/run/uwsgi/app/site/pid"),
    ];

    #[test]
    fn debians_default_config_is_fine() {
        assert!(found(&DEBIAN).is_empty());
        // Without chown-socket, the socket is bound after the drop.
        let v = found(&DEBIAN[..2]);
        assert_eq!(v, [("socket".to_owned(), Effect::Fails)]);
    }

    #[test]
    fn what_fails_even_with_chown_socket() {
        let mut o = DEBIAN.to_vec();
        o.extend([
            ("stats", "/run/uwsgi/app/site/stats.sock"),
            ("stats", "127.0.0.1:9191"),
            ("master-fifo", "/run/uwsgi/%(deb-confnamespace)/%n/fifo"),
            ("safe-pidfile", "/run/uwsgi/app/site/spid"),
            ("pidfile2", "/run/uwsgi/app/site/pid2"),
            ("logto2", "/run/uwsgi/app/site/log"),
            ("logger", "file:/run/uwsgi/app/site/l.log"),
            (
                "req-logger",
                "file:logfile=/run/uwsgi/app/$(UWSGI_DEB_CONFNAME)/r.log,maxsize=1",
            ),
            ("cache2", "name=c,items=10,store=/run/uwsgi/app/site/cache"),
            ("spooler", "/run/uwsgi/app/site/spool"),
            ("touch-reload", "/run/uwsgi/app/site/reload"),
            ("master-fifo", "/srv/fifo"),
            ("daemonize2", "/run/uwsgi/app/site/../site/d.log"),
        ]);
        assert_eq!(
            found(&o),
            [
                ("stats".to_owned(), Effect::Fails),
                ("master-fifo".to_owned(), Effect::Fails),
                ("safe-pidfile".to_owned(), Effect::Fails),
                ("logger".to_owned(), Effect::Degrades),
                ("req-logger".to_owned(), Effect::Degrades),
                ("spooler".to_owned(), Effect::Degrades),
                ("daemonize2".to_owned(), Effect::Fails),
            ]
        );
    }

    #[test]
    fn what_delays_or_prevents_the_drop() {
        let base = [
            ("uid", "33"),
            ("http-socket", "/run/uwsgi/app/site/http.sock"),
            ("pidfile2", "/run/uwsgi/app/site/pid2"),
            ("stats", "/run/uwsgi/app/site/stats"),
            ("req-logger", "file:/run/uwsgi/app/site/req"),
        ];
        assert_eq!(
            names(found(&base)),
            ["http-socket", "pidfile2", "stats", "req-logger"]
        );
        for delay in [
            ("drop-after-init", "true"),
            ("drop-after-apps", ""),
            ("chown-socket", "33:33"),
        ] {
            let mut o = base.to_vec();
            o.push(delay);
            assert_eq!(names(found(&o)), ["stats", "req-logger"], "{delay:?}");
        }
        let mut o = base.to_vec();
        o.push(("drop-after-init", "false"));
        assert_eq!(names(found(&o)).len(), 4);
        o.push(("master-as-root", "1"));
        assert_eq!(names(found(&o)), ["req-logger"]);
    }

    #[test]
    fn root_instances_drop_nothing() {
        let o = [("stats", "/run/uwsgi/app/site/stats")];
        assert!(found(&o).is_empty());
        let o = [("uid", "root"), ("stats", "/run/uwsgi/app/site/stats")];
        assert!(found(&o).is_empty());
        let o = [
            ("uid", "0"),
            ("uid", "33"),
            ("stats", "/run/uwsgi/app/site/stats"),
        ];
        assert_eq!(names(found(&o)), ["stats"]);
    }

    #[test]
    fn addresses_unknowns_and_other_dirs_are_skipped() {
        let o = [
            ("uid", "33"),
            ("socket", "127.0.0.1:3031"),
            ("socket", "@abstract"),
            ("socket", "relative.sock"),
            ("socket", "/run/uwsgi/app/site-other/s"),
            ("socket", "/run/uwsgi/app/%(unknown)/s"),
            ("logto2", "10.0.0.1:514"),
            ("logger", "syslog:x"),
            ("master-fifo", "/run/uwsgi/app/$(HOME)/f"),
            ("https-socket", "/run/uwsgi/app/site/s,cert,key"),
        ];
        assert_eq!(names(found(&o)), ["https-socket"]);
    }

    #[test]
    fn messages_fit_on_one_line() {
        let f = Path::new("/etc/uwsgi/apps-enabled/site.ini");
        let all = [
            SourcedOption {
                key: "uid",
                value: "33",
                file: Some(f),
            },
            SourcedOption {
                key: "stats",
                value: "/run/uwsgi/app/site/stats.sock",
                file: Some(f),
            },
        ];
        let a = after_drop(&all, &[], Path::new(RUN));
        let m = a[0].message(Path::new(RUN));
        assert!(!m.contains('\n'));
        assert!(
            m.starts_with(
                "`stats = /run/uwsgi/app/site/stats.sock` in /etc/uwsgi/apps-enabled/site.ini: \
                 uWSGI creates /run/uwsgi/app/site/stats.sock after dropping root privileges"
            ),
            "{m}"
        );
        assert!(m.contains("TCP address"), "{m}");
    }
}
