//! What the completions need to know about the command line, read from the
//! clap definitions so that an option added to `cli.rs` appears in every
//! shell's completion after `scripts/regen-assets`.

use clap::ValueHint;

use crate::cli::{Applet, NameKind};
use crate::service::Operation;

/// The commands of `/etc/init.d/uwsgi` (and `uwsgi-apps initd`), as one
/// space-separated list for the shells: the service operations.
pub fn initd_words() -> String {
    let words: Vec<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
    words.join(" ")
}

/// What the value of an option is completed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Directory,
    File,
    /// A number or a word: nothing to offer.
    Other,
}

#[derive(Debug, Clone)]
pub struct Opt {
    pub short: Option<char>,
    pub long: Option<String>,
    /// One line, without a final period.
    pub help: String,
    pub value: Option<ValueKind>,
    /// Accepted by `uwsgi-apps` before and after every subcommand.
    pub global: bool,
}

impl Opt {
    /// `-q --quiet`: every spelling, for word lists.
    pub fn spellings(&self) -> Vec<String> {
        let mut all = Vec::new();
        if let Some(s) = self.short {
            all.push(format!("-{s}"));
        }
        if let Some(l) = &self.long {
            all.push(format!("--{l}"));
        }
        all
    }
}

/// What the operands (positional arguments) of a command are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operands {
    None,
    /// App names of a kind; `max` bounds how many (uwsgi-query takes one).
    Names {
        kind: NameKind,
        max: Option<usize>,
    },
    /// `initd COMMAND CONFSPEC…`
    Initd,
}

#[derive(Debug, Clone)]
pub struct Cmd {
    /// `uwsgi-enapp` for an applet, `enable` for a subcommand.
    pub name: String,
    pub about: String,
    pub options: Vec<Opt>,
    pub operands: Operands,
    pub subcommands: Vec<Cmd>,
}

impl Cmd {
    fn from_clap(cmd: &clap::Command, global_ids: &[String]) -> Cmd {
        let options = cmd
            .get_arguments()
            .filter(|a| !a.is_positional() && !a.is_hide_set())
            .map(|a| Opt {
                global: global_ids.iter().any(|g| g == a.get_id().as_str()),
                short: a.get_short(),
                long: a.get_long().map(str::to_owned),
                help: one_line(&a.get_help().map(|h| h.to_string()).unwrap_or_default()),
                value: a
                    .get_action()
                    .takes_values()
                    .then(|| match a.get_value_hint() {
                        ValueHint::DirPath => ValueKind::Directory,
                        ValueHint::FilePath | ValueHint::AnyPath | ValueHint::ExecutablePath => {
                            ValueKind::File
                        }
                        _ => ValueKind::Other,
                    }),
            })
            .collect();
        let has_operands = cmd.get_positionals().any(|a| !a.is_hide_set());
        Cmd {
            name: cmd.get_name().to_owned(),
            about: one_line(&cmd.get_about().map(|h| h.to_string()).unwrap_or_default()),
            options,
            operands: if has_operands {
                operands_of(cmd.get_name())
            } else {
                Operands::None
            },
            subcommands: Vec::new(),
        }
    }

    /// Every option that takes a value, here and in the subcommands.
    pub fn value_options(&self) -> Vec<&Opt> {
        let mut all: Vec<&Opt> = self.options.iter().filter(|o| o.value.is_some()).collect();
        for sub in &self.subcommands {
            for opt in sub.value_options() {
                if !all
                    .iter()
                    .any(|o| o.long == opt.long && o.short == opt.short)
                {
                    all.push(opt);
                }
            }
        }
        all
    }
}

/// The four applets, `uwsgi-apps` first, with its visible subcommands.
#[derive(Debug, Clone)]
pub struct Program {
    pub applets: Vec<Cmd>,
}

impl Program {
    pub fn from_cli() -> Program {
        let applets = Applet::ALL
            .into_iter()
            .map(|applet| {
                let mut cmd = applet.command();
                cmd.build();
                // clap copies the global options (and --help) into every
                // subcommand when it builds the command; mark them, so that
                // a shell can offer them once.
                let globals: Vec<String> = cmd
                    .get_arguments()
                    .filter(|a| a.is_global_set() || a.get_id() == "help")
                    .map(|a| a.get_id().as_str().to_owned())
                    .collect();
                let mut model = Cmd::from_clap(&cmd, &globals);
                model.subcommands = cmd
                    .get_subcommands()
                    .filter(|s| !s.is_hide_set() && s.get_name() != "help")
                    .map(|s| Cmd::from_clap(s, &globals))
                    .collect();
                model
            })
            .collect();
        Program { applets }
    }

    /// Every option that takes a value, in any applet or subcommand: the
    /// scanners that look for `--root` and the operands skip their values.
    pub fn value_options(&self) -> Vec<&Opt> {
        let mut all: Vec<&Opt> = Vec::new();
        for applet in &self.applets {
            for opt in applet.value_options() {
                if !all
                    .iter()
                    .any(|o| o.long == opt.long && o.short == opt.short)
                {
                    all.push(opt);
                }
            }
        }
        all
    }
}

/// The operands of a command, by its name. A command with operands that is
/// not listed here completes none (and a unit test says so).
fn operands_of(name: &str) -> Operands {
    let names = |kind, max| Operands::Names { kind, max };
    match name {
        "uwsgi-enapp" | "enable" => names(NameKind::Available, None),
        "uwsgi-disapp" | "disable" => names(NameKind::Enabled, None),
        "uwsgi-query" | "query" => names(NameKind::Available, Some(1)),
        "doctor" => names(NameKind::Available, None),
        // `exec` runs one instance's recipe in the foreground.
        "exec" => names(NameKind::Confnames, None),
        "initd" => Operands::Initd,
        // Every service operation is a command of its own, on confnames.
        _ if Operation::parse(name).is_some() => names(NameKind::Confnames, None),
        _ => Operands::None,
    }
}

pub fn kind_word(kind: NameKind) -> &'static str {
    match kind {
        NameKind::Available => "available",
        NameKind::Enabled => "enabled",
        NameKind::Confnames => "confnames",
    }
}

/// Help text on one line, without the final period.
fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    joined.trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_with_operands_knows_what_to_complete() {
        let program = Program::from_cli();
        for applet in &program.applets {
            for cmd in std::iter::once(applet).chain(&applet.subcommands) {
                let clap_cmd = Applet::ALL
                    .into_iter()
                    .map(|a| a.command())
                    .find_map(|c| {
                        if c.get_name() == cmd.name {
                            Some(c)
                        } else {
                            c.find_subcommand(&cmd.name).cloned()
                        }
                    })
                    .unwrap();
                let takes_operands = clap_cmd.get_positionals().any(|a| !a.is_hide_set());
                // list takes none; every other command with operands must
                // complete something.
                assert_eq!(
                    takes_operands,
                    cmd.operands != Operands::None,
                    "{}",
                    cmd.name
                );
            }
        }
    }

    #[test]
    fn the_model_reads_the_definitions() {
        let program = Program::from_cli();
        let names: Vec<_> = program.applets.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            ["uwsgi-apps", "uwsgi-enapp", "uwsgi-disapp", "uwsgi-query"]
        );
        let top = &program.applets[0];
        let root = top
            .options
            .iter()
            .find(|o| o.long.as_deref() == Some("root"))
            .unwrap();
        assert_eq!(root.value, Some(ValueKind::Directory));
        let start = top.subcommands.iter().find(|s| s.name == "start").unwrap();
        // --root is global: marked so in every subcommand.
        assert!(start
            .options
            .iter()
            .any(|o| o.long.as_deref() == Some("root") && o.global));
        assert!(!start
            .options
            .iter()
            .any(|o| o.long.as_deref() == Some("version")));
        assert!(start
            .options
            .iter()
            .any(|o| o.long.as_deref() == Some("jobs")));
        assert!(top
            .subcommands
            .iter()
            .all(|s| s.name != "generate" && s.name != "complete-names" && s.name != "help"));
        let enapp = &program.applets[1];
        assert!(enapp
            .options
            .iter()
            .any(|o| o.short == Some('m') && o.long.as_deref() == Some("maintmode")));
        assert_eq!(
            enapp.operands,
            Operands::Names {
                kind: NameKind::Available,
                max: None
            }
        );
        assert!(program
            .value_options()
            .iter()
            .any(|o| o.long.as_deref() == Some("start-timeout")));
    }
}
