//! The front end's settings: `/etc/default/uwsgi`.
//!
//! Debian's init script sources this file as shell. Here it is READ, never
//! executed: only plain assignments are understood, the way a shell would
//! read them —
//!
//! * `KEY=VALUE`, with no space around `=` (`KEY = VALUE` is a command to a
//!   shell, not an assignment), optionally after `export `;
//! * the value is one shell word: unquoted text (a backslash escapes the
//!   next character), `'single quoted'` (literal), `"double quoted"` (where
//!   `\"`, `\\`, `\$` and `` \` `` are escapes), or pieces of these glued
//!   together; quoted values may span lines;
//! * `#` starts a comment at the beginning of a word: a whole line, or after
//!   the value and a blank (`VERBOSE=no # quiet`);
//! * blank lines are fine; when a key is set twice the last one wins.
//!
//! Anything else — `$VAR` and `$(cmd)` expansions, two words, `;` — cannot be
//! read without running a shell; such a line is skipped with a warning that
//! names the file and the line, and never stops the program. Unknown keys
//! are ignored silently (the file is shared with Debian's own script).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::read_bounded;
use crate::display::display_path;
use crate::error::Error;
use crate::layout::Layout;

/// The settings file is tiny; this cap only stops accidents.
const MAX_SETTINGS_SIZE: u64 = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `VERBOSE`: `no` silences the init output.
    pub verbose: bool,
    /// `PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT`: `yes` prints `NS/NAME`
    /// instead of one symbol per instance.
    pub print_confnames: bool,
    /// `INHERITED_CONFIG`, moved under the root; `None` when it is set to
    /// the empty string (no inherited config).
    pub inherited_config: Option<PathBuf>,
    /// `START_TIMEOUT` in seconds, when set to a valid value.
    pub start_timeout: Option<Duration>,
    /// `CHECK_CONFIG_PERMISSIONS`: `no` turns off the permission check.
    pub check_config_permissions: bool,
    /// `ENGINE`: what runs the instances.
    pub engine: EngineChoice,
}

/// `ENGINE` in the settings file: what runs the instances (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    /// systemd when it runs this host, else daemons.
    Auto,
    /// One detached uWSGI per app, run by this program.
    Daemon,
    /// One `uwsgi@NAME.service` per app.
    Systemd,
    /// One uWSGI Emperor over the enabled apps.
    Emperor,
}

/// The engines an `ENGINE=auto` can resolve to, and the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Daemon,
    Systemd,
    Emperor,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Daemon => "daemon",
            EngineKind::Systemd => "systemd",
            EngineKind::Emperor => "emperor",
        }
    }
}

impl EngineChoice {
    fn parse(value: &str) -> Option<EngineChoice> {
        Some(match value {
            "" | "auto" => EngineChoice::Auto,
            "daemon" => EngineChoice::Daemon,
            "systemd" => EngineChoice::Systemd,
            "emperor" => EngineChoice::Emperor,
            _ => return None,
        })
    }

    /// The engine this choice means on `layout`: `auto` is systemd when
    /// systemd runs the host (`/run/systemd/system` exists, the test
    /// systemd's own `sd_booted()` makes), else daemon — and always daemon
    /// under a `--root` other than `/`, since the host's units run the real
    /// root's apps, not the tree under DIR.
    pub fn resolve(self, layout: &Layout) -> EngineKind {
        match self {
            EngineChoice::Daemon => EngineKind::Daemon,
            EngineChoice::Systemd => EngineKind::Systemd,
            EngineChoice::Emperor => EngineKind::Emperor,
            EngineChoice::Auto => {
                if layout.is_host_root() && Path::new("/run/systemd/system").is_dir() {
                    EngineKind::Systemd
                } else {
                    EngineKind::Daemon
                }
            }
        }
    }
}

impl Settings {
    /// The settings when the file says nothing.
    pub fn defaults(layout: &Layout) -> Settings {
        Settings {
            verbose: true,
            print_confnames: false,
            inherited_config: Some(layout.default_inherited_config()),
            start_timeout: None,
            check_config_permissions: true,
            engine: EngineChoice::Auto,
        }
    }

    /// Read the settings file of `layout`. A missing file gives the
    /// defaults silently; a file that cannot be read, or lines that cannot
    /// be understood, give the defaults for what is missing plus warnings
    /// (full sentences) for the caller to print.
    pub fn load(layout: &Layout) -> (Settings, Vec<String>) {
        let path = layout.settings_file();
        match read_bounded(&path, MAX_SETTINGS_SIZE) {
            Ok(bytes) => Settings::parse(&String::from_utf8_lossy(&bytes), &path, layout),
            Err(Error::Io { ref source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                (Settings::defaults(layout), Vec::new())
            }
            Err(e) => (
                Settings::defaults(layout),
                vec![format!("{e}; using the default settings.")],
            ),
        }
    }

    /// Interpret the text of a settings file; `source` names it in warnings.
    pub fn parse(text: &str, source: &Path, layout: &Layout) -> (Settings, Vec<String>) {
        let mut settings = Settings::defaults(layout);
        let mut warnings = Vec::new();
        let shown = display_path(source);
        for item in assignments(text) {
            let (line, key, value) = match item {
                Ok(a) => a,
                Err((line, why)) => {
                    warnings.push(format!("{shown}, line {line}: {why}; the line is ignored."));
                    continue;
                }
            };
            let mut bad = |what: &str| {
                warnings.push(format!(
                    "{shown}, line {line}: {key} should be {what}, not \"{}\"; using the default.",
                    sanitize(&value)
                ));
            };
            match key.as_str() {
                "VERBOSE" => {
                    settings.verbose = yes_no(&value, true).unwrap_or_else(|| {
                        bad("yes or no");
                        true
                    })
                }
                "PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT" => {
                    settings.print_confnames = yes_no(&value, false).unwrap_or_else(|| {
                        bad("yes or no");
                        false
                    })
                }
                "CHECK_CONFIG_PERMISSIONS" => {
                    settings.check_config_permissions = yes_no(&value, true).unwrap_or_else(|| {
                        bad("yes or no");
                        true
                    })
                }
                "INHERITED_CONFIG" => {
                    settings.inherited_config = if value.is_empty() {
                        None
                    } else {
                        Some(layout.under_root(&value))
                    }
                }
                "ENGINE" => {
                    settings.engine = match EngineChoice::parse(&value) {
                        // The host's units run the apps of `/`, never the
                        // tree under --root: they would start other apps.
                        Some(EngineChoice::Systemd) if !layout.is_host_root() => {
                            warnings.push(format!(
                                "{shown}, line {line}: ENGINE=systemd cannot run the apps under \
                                 --root {} (systemd's units run those of /); using the daemon \
                                 engine.",
                                crate::display::display_path(layout.root())
                            ));
                            EngineChoice::Daemon
                        }
                        Some(choice) => choice,
                        None => {
                            bad("auto, daemon, systemd or emperor");
                            EngineChoice::Auto
                        }
                    }
                }
                "START_TIMEOUT" => {
                    settings.start_timeout = if value.is_empty() {
                        None
                    } else {
                        match value.parse::<u64>() {
                            Ok(s) if s > 0 => Some(Duration::from_secs(s)),
                            _ => {
                                bad("a positive whole number of seconds");
                                None
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        (settings, warnings)
    }
}

/// `yes`/`no` as Debian's script compares them; empty means the default.
fn yes_no(value: &str, default: bool) -> Option<bool> {
    match value {
        "" => Some(default),
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

type Assignment = (usize, String, String);

/// The assignments of a shell-variable file, in order: `Ok((line, key,
/// value))`, or `Err((line, why))` for a line that cannot be read.
fn assignments(text: &str) -> Vec<Result<Assignment, (usize, String)>> {
    let mut out = Vec::new();
    let mut r = Reader {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
    };
    loop {
        r.skip_blanks_and_newlines();
        let Some(c) = r.peek() else { break };
        let start_line = r.line;
        if c == '#' {
            r.skip_to_end_of_line();
            continue;
        }
        match r.assignment() {
            Ok(Some((key, value))) => out.push(Ok((start_line, key, value))),
            Ok(None) => {}
            Err(why) => {
                out.push(Err((start_line, why)));
                r.skip_to_end_of_line();
            }
        }
    }
    out
}

struct Reader {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.bump();
        }
    }

    fn skip_blanks_and_newlines(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r' | '\n')) {
            self.bump();
        }
    }

    fn skip_to_end_of_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    fn rest_of_line_is_empty(&mut self) -> Result<(), String> {
        self.skip_blanks();
        match self.peek() {
            None | Some('\n') => Ok(()),
            Some('#') => {
                self.skip_to_end_of_line();
                Ok(())
            }
            Some(';') => Err("more than one command on a line is not supported".into()),
            Some(_) => {
                Err("a value with unquoted spaces (it would run a command); quote the value".into())
            }
        }
    }

    /// `[export ]KEY=WORD`. `Ok(None)` for a bare `export KEY` line, which
    /// sets nothing.
    fn assignment(&mut self) -> Result<Option<(String, String)>, String> {
        let mut name = self.name();
        if name == "export" && matches!(self.peek(), Some(' ' | '\t')) {
            self.skip_blanks();
            name = self.name();
            if name.is_empty() {
                return Err("\"export\" is not followed by a variable name".into());
            }
            if self.peek() != Some('=') {
                // `export KEY` (or several): nothing is assigned.
                while !matches!(self.peek(), None | Some('\n' | '#' | '=')) {
                    self.bump();
                }
                return self.rest_of_line_is_empty().map(|_| None);
            }
        }
        if name.is_empty() || self.peek() != Some('=') {
            return Err("not a KEY=VALUE assignment".into());
        }
        self.bump();
        let value = self.word()?;
        self.rest_of_line_is_empty()?;
        Ok(Some((name, value)))
    }

    fn name(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            let ok = c == '_' || c.is_ascii_alphabetic() || (!s.is_empty() && c.is_ascii_digit());
            if !ok {
                break;
            }
            s.push(c);
            self.bump();
        }
        s
    }

    /// One shell word, up to an unquoted blank or the end of the line.
    fn word(&mut self) -> Result<String, String> {
        let mut v = String::new();
        loop {
            match self.peek() {
                None | Some(' ' | '\t' | '\n' | ';') => return Ok(v),
                Some('\r') if matches!(self.chars.get(self.pos + 1), None | Some('\n')) => {
                    self.bump();
                    return Ok(v);
                }
                Some('\'') => {
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err("a single quote is never closed".into()),
                            Some('\'') => break,
                            Some(c) => v.push(c),
                        }
                    }
                }
                Some('"') => {
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err("a double quote is never closed".into()),
                            Some('"') => break,
                            Some('\\') => match self.peek() {
                                Some(c @ ('"' | '\\' | '$' | '`')) => {
                                    self.bump();
                                    v.push(c);
                                }
                                Some('\n') => {
                                    self.bump();
                                }
                                _ => v.push('\\'),
                            },
                            Some('$' | '`') => return Err(expansion()),
                            Some(c) => v.push(c),
                        }
                    }
                }
                Some('\\') => {
                    self.bump();
                    match self.bump() {
                        None => {}
                        Some('\n') => {}
                        Some(c) => v.push(c),
                    }
                }
                Some('$' | '`') => return Err(expansion()),
                Some('|' | '&' | '<' | '>' | '(' | ')') => {
                    return Err("shell operators are not supported".into())
                }
                Some(c) => {
                    self.bump();
                    v.push(c);
                }
            }
        }
    }
}

fn expansion() -> String {
    "shell expansions ($VAR, $(...), `...`) are not supported, since this file is read, not run"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::new("/r", "/usr/bin/uwsgi")
    }

    fn parse(text: &str) -> (Settings, Vec<String>) {
        Settings::parse(text, Path::new("/r/etc/default/uwsgi"), &layout())
    }

    #[test]
    fn the_engine_is_read_and_is_never_systemd_under_a_root() {
        let at_slash = Layout::new("/", "/usr/bin/uwsgi");
        let (s, w) = Settings::parse(
            "ENGINE=systemd\n",
            Path::new("/etc/default/uwsgi"),
            &at_slash,
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.engine, EngineChoice::Systemd);
        assert_eq!(s.engine.resolve(&at_slash), EngineKind::Systemd);
        // Under --root, the host's units would run other apps: the daemon
        // engine does, and the file's line is said to be overruled.
        let (s, w) = parse("ENGINE=systemd\n");
        assert_eq!(s.engine.resolve(&layout()), EngineKind::Daemon);
        assert_eq!(
            w,
            [
                "/r/etc/default/uwsgi, line 1: ENGINE=systemd cannot run the apps under --root /r \
              (systemd's units run those of /); using the daemon engine."
            ]
        );
        let (s, w) = parse("ENGINE=bogus\n");
        assert_eq!(s.engine, EngineChoice::Auto);
        assert!(w[0].contains("auto, daemon, systemd or emperor"), "{w:?}");
        // Under --root, auto never means the host's systemd.
        assert_eq!(EngineChoice::Auto.resolve(&layout()), EngineKind::Daemon);
        assert_eq!(parse("ENGINE=emperor\n").0.engine, EngineChoice::Emperor);
        assert_eq!(parse("ENGINE=daemon\n").0.engine, EngineChoice::Daemon);
    }

    #[test]
    fn debians_file_gives_the_defaults() {
        let (s, w) = parse(
            "# Defaults for uWSGI initscript\n# sourced by /etc/init.d/uwsgi\n\nVERBOSE=yes\n\
             PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=no\n\n\
             INHERITED_CONFIG=/usr/share/uwsgi/conf/default.ini\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s, Settings::defaults(&layout()));
        assert_eq!(
            s.inherited_config.as_deref(),
            Some(Path::new("/r/usr/share/uwsgi/conf/default.ini"))
        );
    }

    #[test]
    fn every_key() {
        let (s, w) = parse(
            "export VERBOSE=no\nPRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=\"yes\"\n\
             INHERITED_CONFIG='/etc/uwsgi/base.ini'\nSTART_TIMEOUT=90 # a slow app\n\
             CHECK_CONFIG_PERMISSIONS=no\nSOMETHING_ELSE=whatever\nENGINE=daemon\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            s,
            Settings {
                verbose: false,
                print_confnames: true,
                inherited_config: Some(PathBuf::from("/r/etc/uwsgi/base.ini")),
                start_timeout: Some(Duration::from_secs(90)),
                check_config_permissions: false,
                engine: EngineChoice::Daemon,
            }
        );
    }

    #[test]
    fn empty_inherited_config_means_none() {
        let (s, w) = parse("INHERITED_CONFIG=\n");
        assert!(w.is_empty());
        assert_eq!(s.inherited_config, None);
        let (s, _) = parse("INHERITED_CONFIG=\"\"\n");
        assert_eq!(s.inherited_config, None);
    }

    #[test]
    fn quoting_like_a_shell() {
        let (s, w) = parse("INHERITED_CONFIG=\"/etc/my \\\"odd\\\" dir/x.ini\"\n");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            s.inherited_config.unwrap(),
            Path::new("/r/etc/my \"odd\" dir/x.ini")
        );
        let (s, _) = parse("INHERITED_CONFIG=/a\\ b/'c d'\"e\"#f\n");
        assert_eq!(s.inherited_config.unwrap(), Path::new("/r/a b/c de#f"));
        let (s, _) = parse("INHERITED_CONFIG='/x # not a comment'\n");
        assert_eq!(
            s.inherited_config.unwrap(),
            Path::new("/r/x # not a comment")
        );
        // A quoted value may span lines; line numbers stay right after it.
        let (s, w) = parse("INHERITED_CONFIG='/a\nb'\nVERBOSE=maybe\n");
        assert_eq!(s.inherited_config.unwrap(), Path::new("/r/a\nb"));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("line 3"), "{w:?}");
    }

    #[test]
    fn crlf_files() {
        let (s, w) = parse("VERBOSE=no\r\nSTART_TIMEOUT=5\r\n");
        assert!(w.is_empty(), "{w:?}");
        assert!(!s.verbose);
        assert_eq!(s.start_timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn lines_that_cannot_be_read_are_warnings() {
        let (s, w) = parse(
            "VERBOSE = no\nVERBOSE=$QUIET\nSTART_TIMEOUT=$(echo 5)\nthis is junk\n\
             PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT=yes please\nCHECK_CONFIG_PERMISSIONS=no; x\n\
             START_TIMEOUT=-3\nSTART_TIMEOUT=0\nSTART_TIMEOUT=abc\nVERBOSE=false\n\
             INHERITED_CONFIG=\"never closed\n",
        );
        assert_eq!(s, Settings::defaults(&layout()));
        let lines: Vec<_> = w
            .iter()
            .map(|m| {
                m.split(", line ")
                    .nth(1)
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            lines,
            ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"],
            "{w:#?}"
        );
        for m in &w {
            assert!(m.starts_with("/r/etc/default/uwsgi, line "), "{m}");
            assert!(m.ends_with('.'), "{m}");
        }
        assert!(w[0].contains("not a KEY=VALUE"), "{}", w[0]);
        assert!(w[1].contains("shell expansions"), "{}", w[1]);
        assert!(
            w[6].contains("START_TIMEOUT should be a positive"),
            "{}",
            w[6]
        );
        assert!(w[10].contains("never closed"), "{}", w[10]);
    }

    #[test]
    fn bare_exports_and_last_one_wins() {
        let (s, w) = parse("export VERBOSE\nVERBOSE=no\nVERBOSE=yes\nexport\tSTART_TIMEOUT=7\n");
        assert!(w.is_empty(), "{w:?}");
        assert!(s.verbose);
        assert_eq!(s.start_timeout, Some(Duration::from_secs(7)));
    }

    #[test]
    fn load_missing_unreadable_and_real_files() {
        let dir = tempfile::tempdir().unwrap();
        let l = Layout::new(dir.path(), "/usr/bin/uwsgi");
        // Missing: defaults, no warning.
        let (s, w) = Settings::load(&l);
        assert_eq!(s, Settings::defaults(&l));
        assert!(w.is_empty());
        // A directory: defaults and a warning naming the path.
        std::fs::create_dir_all(l.settings_file()).unwrap();
        let (s, w) = Settings::load(&l);
        assert_eq!(s, Settings::defaults(&l));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("etc/default/uwsgi"), "{w:?}");
        assert!(w[0].contains("a directory"), "{w:?}");
        // A real file.
        std::fs::remove_dir(l.settings_file()).unwrap();
        std::fs::write(l.settings_file(), b"VERBOSE=no\nSTART_TIMEOUT=\xff\n").unwrap();
        let (s, w) = Settings::load(&l);
        assert!(!s.verbose);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("line 2"), "{w:?}");
    }

    #[test]
    fn never_panics() {
        use proptest::prelude::*;
        proptest!(|(s in "(export |[A-Z_]+|=|'|\"|\\\\|\\$|#| |\n|\r|x|;)*")| {
            let _ = parse(&s);
        });
    }
}
