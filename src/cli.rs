//! The command line, defined once.
//!
//! Help, man pages (clap_mangen) and the shell completions (`generate`,
//! which reads the same clap model) all come from these definitions. clap
//! types stop here and in `lib.rs`, which turns them into the options the
//! logic takes.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::layout::{Layout, DEFAULT_DAEMON};

/// `--root`, which every command takes.
#[derive(Debug, Clone, Args)]
pub struct RootArg {
    /// Act on the tree under DIR instead of / (every path moves under it,
    /// like `dpkg --root`)
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "UWSGI_APPS_ROOT",
        default_value = "/",
        value_hint = clap::ValueHint::DirPath
    )]
    pub root: PathBuf,
}

impl RootArg {
    /// The layout of a command that never runs uWSGI (uwsgi-query).
    pub fn layout(&self) -> Layout {
        Layout::new(&self.root, DEFAULT_DAEMON)
    }
}

/// `--root` and `--daemon`: the options of the commands that run uWSGI or
/// recognise its processes. (uwsgi-query does neither and takes only
/// `RootArg`; uwsgi-enapp and uwsgi-disapp say in their help what they use
/// the program for.)
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    #[command(flatten)]
    pub root: RootArg,

    /// The uWSGI program to run
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "UWSGI_APPS_DAEMON",
        default_value = DEFAULT_DAEMON,
        value_hint = clap::ValueHint::ExecutablePath
    )]
    pub daemon: PathBuf,
}

impl GlobalArgs {
    pub fn layout(&self) -> Layout {
        Layout::new(&self.root.root, &self.daemon)
    }
}

/// Enable apps: link apps-enabled/NAME.EXT to ../apps-available/NAME.EXT.
#[derive(Debug, Clone, Args)]
pub struct EnableArgs {
    /// Apps to enable: NAME, NAME.EXT, NS/NAME, or a shell glob ('search*')
    #[arg(value_name = "NAME")]
    pub names: Vec<OsString>,

    /// Print only errors and warnings
    #[arg(short, long)]
    pub quiet: bool,

    /// Replace a link that points somewhere else (never a regular file)
    #[arg(short, long)]
    pub force: bool,

    /// Say what would change, change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Record the change as made by a package's maintainer script: an app
    /// the administrator disabled stays disabled
    #[arg(short, long)]
    pub maintmode: bool,

    /// Start the instance after enabling it
    #[arg(long)]
    pub now: bool,

    /// Print the result as one JSON document
    #[arg(long)]
    pub json: bool,
}

/// Disable apps: remove the link in apps-enabled.
#[derive(Debug, Clone, Args)]
pub struct DisableArgs {
    /// Apps to disable: NAME, NAME.EXT, NS/NAME, or a shell glob ('search*')
    #[arg(value_name = "NAME")]
    pub names: Vec<OsString>,

    /// Print only errors and warnings
    #[arg(short, long)]
    pub quiet: bool,

    /// Say what would change, change nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Record the change as made by a package's maintainer script
    #[arg(short, long)]
    pub maintmode: bool,

    /// Also remove every state marker of NAME (even when NAME no longer exists)
    #[arg(short, long)]
    pub purge: bool,

    /// Stop the instance before disabling it
    #[arg(long)]
    pub now: bool,

    /// Print the result as one JSON document
    #[arg(long)]
    pub json: bool,
}

/// Tell whether an app is enabled, and by whom (exit 0 enabled, 1 not found
/// or not enabled, 32 disabled by the administrator, 33 disabled by a
/// maintainer script).
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// The app (NAME or NS/NAME); without it, list the enabled apps
    #[arg(value_name = "NAME")]
    pub name: Option<OsString>,

    /// Print nothing, only set the exit status
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
}

/// Instances to act on: none means every enabled app.
#[derive(Debug, Clone, Args)]
pub struct Targets {
    /// Instances: NAME (namespace app) or NS/NAME; none means every enabled app
    #[arg(value_name = "CONFSPEC")]
    pub confspecs: Vec<OsString>,

    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StartOpts {
    /// Start at most N instances at once [default: twice the CPUs, at least 4]
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Seconds to wait for an instance to report READY=1 [default: START_TIMEOUT, else 30]
    #[arg(long, value_name = "SECONDS")]
    pub start_timeout: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct StopOpts {
    /// Seconds to wait for an instance to exit after SIGINT before SIGKILL
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ReloadOpts {
    /// Wait until the instance reports READY=1 again, and fail if it does not
    #[arg(long)]
    pub wait: bool,

    /// Seconds to wait with --wait [default: START_TIMEOUT, else 30]
    #[arg(long, value_name = "SECONDS")]
    pub start_timeout: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub start: StartOpts,
}

#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub stop: StopOpts,
}

#[derive(Debug, Clone, Args)]
pub struct RestartArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub stop: StopOpts,
    #[command(flatten)]
    pub start: StartOpts,
}

#[derive(Debug, Clone, Args)]
pub struct ReloadArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[command(flatten)]
    pub reload: ReloadOpts,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub targets: Targets,
}

/// The interface of /etc/init.d/uwsgi: Debian's output, symbols and exit
/// codes (the number of failed instances; 3 for an unknown command).
#[derive(Debug, Clone, Args)]
pub struct InitdArgs {
    /// start, stop, reload, force-reload, restart or status, then the
    /// instances to act on (NAME or NS/NAME; none means every enabled app)
    #[arg(
        value_name = "COMMAND [CONFSPEC...]",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<OsString>,
}

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// The instance: NAME (namespace app) or NS/NAME
    #[arg(value_name = "CONFSPEC", required_unless_present = "unit")]
    pub confspec: Option<OsString>,

    /// The instance as a systemd unit names it (`%i` of uwsgi@.service:
    /// NAME, or NS:NAME, with \xNN escapes)
    #[arg(long, value_name = "INSTANCE", conflicts_with = "confspec")]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct GroupArgs {
    #[arg(value_enum)]
    pub action: GroupAction,
}

/// What uwsgi.service asks of every app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupAction {
    Start,
    Reload,
    Stop,
}

#[derive(Debug, Clone, Args)]
pub struct UnitStoppedArgs {
    /// The instance as a systemd unit names it (`%i`)
    #[arg(long, value_name = "INSTANCE")]
    pub unit: String,
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Only these apps (NAME or NS/NAME); none means everything
    #[arg(value_name = "NAME")]
    pub names: Vec<OsString>,

    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Enable apps (as uwsgi-enapp)
    Enable(EnableArgs),
    /// Disable apps (as uwsgi-disapp)
    Disable(DisableArgs),
    /// Tell whether an app is enabled (as uwsgi-query)
    Query(QueryArgs),
    /// List every app of every namespace, with its state
    List(ListArgs),
    /// Start instances and wait until they are ready
    Start(StartArgs),
    /// Stop instances (SIGINT, then SIGKILL after --timeout)
    Stop(StopArgs),
    /// Reload instances gracefully (SIGHUP)
    Reload(ReloadArgs),
    /// Reload instances brutally (SIGTERM)
    ForceReload(ReloadArgs),
    /// Stop instances, then start them if every stop succeeded
    Restart(RestartArgs),
    /// Show whether instances run (LSB exit codes: 0 running, 1 dead but
    /// pidfile exists, 3 not running, 4 no such app)
    Status(StatusArgs),
    /// Run as /etc/init.d/uwsgi does (Debian's output and exit codes)
    #[command(override_usage = "uwsgi-apps initd [OPTIONS] COMMAND [CONFSPEC]...")]
    Initd(InitdArgs),
    /// Run one instance in the foreground, for a supervisor (a systemd
    /// unit, an Emperor): the same checks, user, runtime dir, environment
    /// and command line as `start`, then uWSGI in place of this program
    /// (exit 6: not enabled; 78: refused, or it already runs)
    Exec(ExecArgs),
    /// After a unit's main process has exited: remove the instance's
    /// runtime dir (the unit's ExecStopPost)
    #[command(hide = true)]
    UnitStopped(UnitStoppedArgs),
    /// What uwsgi.service runs: start every enabled app, reload (start the
    /// newly enabled, reload the others), or stop every app
    #[command(hide = true)]
    Group(GroupArgs),
    /// Inspect the layout and the running instances, and say what to fix
    Doctor(DoctorArgs),
    /// Write the man pages and shell completions (for packaging)
    #[command(hide = true)]
    Generate(GenerateArgs),
    /// Print app names, one per line, for the shell completions
    #[command(hide = true)]
    CompleteNames(CompleteNamesArgs),
}

/// Regenerate the committed assets derived from these definitions.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// The source tree to write man/ and completions/ into
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,

    /// Change nothing; exit 1 and name the files that differ from what
    /// would be generated (stale, missing, or not generated at all)
    #[arg(long)]
    pub check: bool,
}

/// Which app names a completion wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NameKind {
    /// Apps in NSs-available (for enable)
    Available,
    /// Entries of NSs-enabled (for disable)
    Enabled,
    /// Confnames the front end would run (for start, stop, …)
    Confnames,
}

#[derive(Debug, Clone, Args)]
pub struct CompleteNamesArgs {
    #[arg(value_enum)]
    pub kind: NameKind,
}

/// Manage Debian's uWSGI apps: enable and disable them, and start, stop and
/// inspect their instances.
#[derive(Debug, Parser)]
#[command(name = "uwsgi-apps", version, max_term_width = 100)]
pub struct UwsgiAppsCli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Enable uWSGI apps: link apps-enabled/NAME.EXT to ../apps-available/NAME.EXT.
#[derive(Debug, Parser)]
#[command(
    name = "uwsgi-enapp",
    version,
    max_term_width = 100,
    mut_arg("daemon", |a| a.help("With --now: the uWSGI program to start the instance with"))
)]
pub struct EnappCli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(flatten)]
    pub args: EnableArgs,
}

/// Disable uWSGI apps: remove their link in apps-enabled.
#[derive(Debug, Parser)]
#[command(
    name = "uwsgi-disapp",
    version,
    max_term_width = 100,
    mut_arg("daemon", |a| a.help(
        "The uWSGI program the instances run (to stop one with --now, and to warn that \
         a disabled app still runs)"
    ))
)]
pub struct DisappCli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(flatten)]
    pub args: DisableArgs,
}

/// Tell whether a uWSGI app is enabled, and by whom.
#[derive(Debug, Parser)]
#[command(name = "uwsgi-query", version, max_term_width = 100)]
pub struct QueryCli {
    #[command(flatten)]
    pub root: RootArg,
    #[command(flatten)]
    pub args: QueryArgs,
}

/// The names the one binary answers to (argv[0]'s file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applet {
    UwsgiApps,
    Enapp,
    Disapp,
    Query,
}

impl Applet {
    pub const ALL: [Applet; 4] = [
        Applet::UwsgiApps,
        Applet::Enapp,
        Applet::Disapp,
        Applet::Query,
    ];

    /// Which applet a program name stands for; anything unknown is the
    /// main program (so a renamed binary still works).
    pub fn from_program_name(name: &std::ffi::OsStr) -> Applet {
        match name.to_str() {
            Some("uwsgi-enapp") => Applet::Enapp,
            Some("uwsgi-disapp") => Applet::Disapp,
            Some("uwsgi-query") => Applet::Query,
            _ => Applet::UwsgiApps,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Applet::UwsgiApps => "uwsgi-apps",
            Applet::Enapp => "uwsgi-enapp",
            Applet::Disapp => "uwsgi-disapp",
            Applet::Query => "uwsgi-query",
        }
    }

    /// The clap command of this applet, for help, man pages and completions.
    pub fn command(self) -> clap::Command {
        use clap::CommandFactory;
        match self {
            Applet::UwsgiApps => UwsgiAppsCli::command(),
            Applet::Enapp => EnappCli::command(),
            Applet::Disapp => DisappCli::command(),
            Applet::Query => QueryCli::command(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_applet_definition_is_consistent() {
        for applet in Applet::ALL {
            applet.command().debug_assert();
            assert_eq!(applet.command().get_name(), applet.name());
            assert_eq!(Applet::from_program_name(applet.name().as_ref()), applet);
        }
        assert_eq!(
            Applet::from_program_name("whatever".as_ref()),
            Applet::UwsgiApps
        );
    }
}
