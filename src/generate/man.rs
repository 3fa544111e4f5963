//! Man pages, section 8: clap_mangen renders NAME and DESCRIPTION from the
//! definitions; SYNOPSIS and OPTIONS are rendered here from the same
//! definitions, because clap_mangen leaves out the values of options
//! (`[--root]` for `[--root DIR]`) and shows a list of operands as one
//! (`[NAME]` for `[NAME...]`). The sections clap knows nothing about (the
//! commands of uwsgi-apps in detail, EXIT STATUS, ENVIRONMENT, FILES,
//! EXAMPLES, SEE ALSO) are written here too, all with the roff crate, which
//! escapes the text.

use clap::{Arg, ArgAction};
use clap_mangen::Man;
use roff::{bold, italic, roman, Inline, Roff};

use crate::cli::Applet;

/// The date on every page. Fixed, so that regenerating changes nothing
/// unless the text does; bump it with the version.
const DATE: &str = "2026-11-25";

/// What `Roff::to_writer` puts before every rendering; kept once, at the top.
const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

type Part = fn(&Man, &mut dyn std::io::Write) -> std::io::Result<()>;

fn part(man: &Man, render: Part) -> String {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = render(man, &mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.strip_prefix(PREAMBLE)
        .map(str::to_owned)
        .unwrap_or(text)
}

fn man_of(cmd: clap::Command) -> Man {
    let title = cmd.get_name().to_uppercase();
    Man::new(cmd)
        .title(title)
        .section("8")
        .date(DATE)
        .source(format!("uwsgi-apps {}", env!("CARGO_PKG_VERSION")))
        .manual("System Administration")
}

pub fn render(applet: Applet) -> String {
    let mut cmd = applet.command();
    // Building adds --help and --version and copies the global options
    // into the subcommands, as the program itself sees them.
    cmd.build();
    let man = man_of(cmd.clone());
    let mut out = String::from(PREAMBLE);
    out.push_str(&part(&man, Man::render_title));
    out.push_str(&part(&man, Man::render_name_section));
    let mut synopsis = Roff::new();
    synopsis.control("SH", ["SYNOPSIS"]);
    synopsis.text(synopsis_line(&cmd, applet.name(), &Shown::All));
    out.push_str(&synopsis.to_roff());
    out.push_str(&part(&man, Man::render_description_section));
    out.push_str(&extra_description(applet));
    let mut options = Roff::new();
    options.control("SH", ["OPTIONS"]);
    option_items(&mut options, &cmd, &Shown::All);
    out.push_str(&options.to_roff());
    if applet == Applet::UwsgiApps {
        out.push_str(&commands_section(&cmd));
    }
    out.push_str(&sections(applet).to_roff());
    out.push_str(&part(&man, Man::render_version_section));
    tidy(&out)
}

/// What `mandoc -Tlint` asks of the source: no trailing white space, text
/// lines of at most 80 bytes (split at spaces, which filling joins again;
/// never inside `.nf` blocks, where lines are shown as they are), and no
/// paragraph macro right after a section heading.
fn tidy(roff: &str) -> String {
    let mut out = String::new();
    let mut no_fill = false;
    let mut after_heading = false;
    for line in roff.lines() {
        let line = line.trim_end();
        if line == ".PP" && after_heading {
            continue;
        }
        after_heading = line.starts_with(".SH") || line.starts_with(".SS");
        match line {
            ".nf" => no_fill = true,
            ".fi" => no_fill = false,
            _ => {}
        }
        if no_fill || line.starts_with('.') || line.len() <= 80 {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut current = String::new();
        for word in line.split(' ') {
            if !current.is_empty() && current.len() + 1 + word.len() > 80 {
                out.push_str(&current);
                out.push('\n');
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            } else if word.starts_with(['.', '\'']) {
                // A line starting with these would be a request.
                current.push_str("\\&");
            }
            current.push_str(word);
        }
        out.push_str(&current);
        out.push('\n');
    }
    out
}

/// uwsgi-apps: every visible subcommand with its synopsis, what it does and
/// its own options (clap_mangen would only point to uwsgi-apps-NAME(8)
/// pages, which do not exist). The global options and --help, which every
/// subcommand takes, are in the page's own SYNOPSIS and OPTIONS.
fn commands_section(cmd: &clap::Command) -> String {
    let mut out = String::from(".SH COMMANDS\n");
    // (clap's own `help` subcommand is --help by another name.)
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("uwsgi-apps {}", sub.get_name());
        let sub_man = man_of(sub.clone().bin_name(&name));
        let mut roff = Roff::new();
        roff.control("SS", [name.as_str()]);
        roff.text(synopsis_line(sub, &name, &Shown::Own));
        out.push_str(&roff.to_roff());
        let description = part(&sub_man, Man::render_description_section);
        out.push_str(".PP\n");
        out.push_str(description.split_once('\n').map_or("", |(_, body)| body));
        let mut options = Roff::new();
        option_items(&mut options, sub, &Shown::Own);
        out.push_str(&options.to_roff());
    }
    out
}

/// Which options a synopsis or an option list shows.
enum Shown {
    /// Every visible one (a page of its own).
    All,
    /// Those of the subcommand itself: not the global ones, nor --help.
    Own,
}

impl Shown {
    fn includes(&self, arg: &Arg) -> bool {
        if arg.is_hide_set() {
            return false;
        }
        match self {
            Shown::All => true,
            Shown::Own => !arg.is_global_set() && arg.get_id() != "help",
        }
    }
}

/// The value an option takes, by name (`DIR` for `--root`), or `None` for
/// a flag.
fn value_name(arg: &Arg) -> Option<String> {
    if !arg.get_action().takes_values() {
        return None;
    }
    Some(
        arg.get_value_names()
            .map(|names| names.join(" "))
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase()),
    )
}

/// An operand as a synopsis shows it: `NAME`, `[NAME]`, `[NAME...]`. A
/// value name that is already a phrase (initd's `COMMAND [CONFSPEC...]`)
/// is shown as it is written, its words in italics.
fn operand(arg: &Arg) -> Vec<Inline> {
    let name = value_name(arg).unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
    if name.contains(' ') {
        return phrase(&name);
    }
    let many = matches!(arg.get_action(), ArgAction::Append);
    let dots = if many { "..." } else { "" };
    if arg.is_required_set() {
        vec![italic(name), roman(dots)]
    } else {
        vec![roman("["), italic(name), roman(format!("{dots}]"))]
    }
}

/// Words in italics, brackets and dots in roman: `COMMAND [CONFSPEC...]`.
fn phrase(text: &str) -> Vec<Inline> {
    let mut parts = Vec::new();
    let mut word = String::new();
    let mut other = String::new();
    for c in text.chars() {
        let in_word = c.is_ascii_alphanumeric() || c == '_' || c == '-';
        if in_word && !other.is_empty() {
            parts.push(roman(std::mem::take(&mut other)));
        } else if !in_word && !word.is_empty() {
            parts.push(italic(std::mem::take(&mut word)));
        }
        if in_word {
            word.push(c);
        } else {
            other.push(c);
        }
    }
    if !word.is_empty() {
        parts.push(italic(word));
    }
    if !other.is_empty() {
        parts.push(roman(other));
    }
    parts
}

/// `NAME [-q|--quiet] [--root DIR] … [NAME...]`: the options with their
/// values, then the operands, then `COMMAND [ARG...]` when there are
/// subcommands.
fn synopsis_line(cmd: &clap::Command, name: &str, shown: &Shown) -> Vec<Inline> {
    let mut line = vec![bold(name)];
    for arg in cmd
        .get_arguments()
        .filter(|a| !a.is_positional() && shown.includes(a))
    {
        line.push(roman(" ["));
        match (arg.get_short(), arg.get_long()) {
            (Some(short), Some(long)) => {
                line.push(bold(format!("-{short}")));
                line.push(roman("|"));
                line.push(bold(format!("--{long}")));
            }
            (Some(short), None) => line.push(bold(format!("-{short}"))),
            (None, Some(long)) => line.push(bold(format!("--{long}"))),
            (None, None) => continue,
        }
        if let Some(value) = value_name(arg) {
            line.push(roman(" "));
            line.push(italic(value));
        }
        line.push(roman("]"));
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        line.push(roman(" "));
        line.extend(operand(arg));
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        line.push(roman(" "));
        line.push(italic("COMMAND"));
        line.push(roman(" ["));
        line.push(italic("ARG"));
        line.push(roman("...]"));
    }
    line
}

/// One `.TP` item per option (`-j, --jobs N`, its default, its help), then
/// one per operand (`[CONFSPEC...]` and its help).
fn option_items(roff: &mut Roff, cmd: &clap::Command, shown: &Shown) {
    let help = |arg: &Arg| {
        arg.get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default()
    };
    for arg in cmd
        .get_arguments()
        .filter(|a| !a.is_positional() && shown.includes(a))
    {
        let mut header = Vec::new();
        if let Some(short) = arg.get_short() {
            header.push(bold(format!("-{short}")));
        }
        if let Some(long) = arg.get_long() {
            if !header.is_empty() {
                header.push(roman(", "));
            }
            header.push(bold(format!("--{long}")));
        }
        if let Some(value) = value_name(arg) {
            header.push(roman(" "));
            header.push(italic(value));
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|d| d.to_string_lossy().into_owned())
                .collect();
            if !defaults.is_empty() && !arg.is_hide_default_value_set() {
                header.push(roman(format!(" [default: {}]", defaults.join(","))));
            }
        }
        roff.control("TP", []);
        roff.text(header);
        roff.text([roman(help(arg))]);
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        roff.control("TP", []);
        roff.text(operand(arg));
        roff.text([roman(help(arg))]);
    }
}

/// Inline markup: `**bold**` and `^^italic^^`, the rest roman. (Two-character
/// markers, because names like UWSGI_APPS_ROOT and globs like 'search*'
/// appear in the text.)
fn inline(text: &str) -> Vec<Inline> {
    let mut parts = Vec::new();
    let mut rest = text;
    loop {
        let next = ["**", "^^"]
            .into_iter()
            .filter_map(|m| rest.find(m).map(|at| (at, m)))
            .min();
        let Some((start, marker)) = next else {
            break;
        };
        let Some(len) = rest[start + 2..].find(marker) else {
            break;
        };
        if start > 0 {
            parts.push(roman(&rest[..start]));
        }
        let inner = &rest[start + 2..start + 2 + len];
        parts.push(if marker == "**" {
            bold(inner)
        } else {
            italic(inner)
        });
        rest = &rest[start + 4 + len..];
    }
    if !rest.is_empty() {
        parts.push(roman(rest));
    }
    parts
}

struct Page {
    roff: Roff,
}

impl Page {
    fn new() -> Page {
        Page { roff: Roff::new() }
    }
    fn section(&mut self, title: &str) -> &mut Self {
        self.roff.control("SH", [title]);
        self
    }
    fn para(&mut self, text: &str) -> &mut Self {
        self.roff.control("PP", []);
        self.roff.text(inline(text));
        self
    }
    fn item(&mut self, tag: &str, text: &str) -> &mut Self {
        self.roff.control("TP", []);
        self.roff.text(inline(tag));
        self.roff.text(inline(text));
        self
    }
    fn example(&mut self, what: &str, command: &str) -> &mut Self {
        self.roff.control("PP", []);
        self.roff.text(inline(what));
        self.roff.control("PP", []);
        self.roff.control("RS", ["4"]);
        self.roff.control("nf", []);
        for line in command.lines() {
            self.roff.text([roman(line)]);
        }
        self.roff.control("fi", []);
        self.roff.control("RE", []);
        self
    }
    fn to_roff(&self) -> String {
        self.roff.to_roff()
    }
}

fn extra_description(applet: Applet) -> String {
    let mut page = Page::new();
    match applet {
        Applet::UwsgiApps => {
            page.para(&format!("Each app is one uWSGI configuration file in **/etc/uwsgi/apps-available/** (NAME.EXT, where EXT is one of: {}), switched on by a relative symbolic link in **/etc/uwsgi/apps-enabled/**. The init script **/etc/init.d/uwsgi** runs **uwsgi-apps initd**, which starts one uWSGI server per enabled file, as Debian's script did, only in parallel, waiting until each app reports that it is ready.", crate::name::Format::extension_list()))
                .para("An app is named by its ^^confname^^, the file name without its extension, or by ^^NS/NAME^^ for the namespace NS (files in /etc/uwsgi/NSs-enabled/). The program is also installed as **uwsgi-enapp**(8), **uwsgi-disapp**(8) and **uwsgi-query**(8), and acts as the command of the name it is called by.");
        }
        Applet::Enapp => {
            page.para("Each NAME is handled on its own: one that fails does not stop the others. A NAME may carry its extension (to choose between site.ini and site.yaml) and may be a shell glob in quotes ('search*'). The link is created atomically. An existing correct link is success; a dangling one is replaced; a link pointing elsewhere is an error unless **--force**; a regular file is never touched.")
                .para("Every change is recorded in a state marker, as Apache's a2enmod does, so that package upgrades respect the administrator's choice: with **--maintmode** (used by maintainer scripts) an app that the administrator disabled stays disabled.");
        }
        Applet::Disapp => {
            page.para("Each NAME is handled on its own: one that fails does not stop the others. A NAME may carry its extension and may be a shell glob in quotes. Disabling an app that already is disabled is success; a dangling link is removed; a regular file in apps-enabled is an error and is left alone.")
                .para("The running instance is not stopped (unless **--now**): it would fail at its next reload, because its configuration path is gone. Stop it with **service uwsgi stop** NAME.");
        }
        Applet::Query => {
            page.para("With a NAME, print whether it is enabled and by whom (\"enabled by site administrator\" or \"enabled by maintainer script\"); the exit status tells the state, as a2query(8) does. Without NAME, print the enabled apps, one per line.");
        }
    }
    page.to_roff()
}

fn sections(applet: Applet) -> Page {
    let mut page = Page::new();
    if applet == Applet::UwsgiApps {
        page.section("ENGINES")
            .para("**ENGINE=** in /etc/default/uwsgi says what runs the enabled apps; every command means the same under each, and **status**, **list** and **doctor** report the same truth. Each engine launches an app with the same checks, user, runtime directory, environment and command line (see **exec**).")
            .item("**auto**", "The default: **systemd** when systemd runs the host (/run/systemd/system exists), else **daemon**; always **daemon** under a **--root** other than /.")
            .item("**daemon**", "One uWSGI master per app, started detached by this program (as Debian's init script does).")
            .item("**systemd**", "One unit per app: **uwsgi@**^^NAME^^**.service** for /etc/uwsgi/apps-enabled/NAME.ini, **uwsgi@**^^NS^^**:**^^NAME^^**.service** for another namespace (bytes a unit name cannot hold are written \\x^^NN^^, a - stays a -). Every action on an app goes through its unit; **uwsgi.service** starts, reloads and stops them all. On such a host **service uwsgi** ^^ACTION^^ ^^NAME^^ acts on **uwsgi.service** and drops NAME (Debian's service(8) does that): use **uwsgi-apps** ^^ACTION^^ ^^NAME^^, /etc/init.d/uwsgi run directly, or **systemctl** ^^ACTION^^ **uwsgi@**^^NAME^^. Under a **--root** other than / it means **daemon**, with a warning: the host's units run the apps of /.")
            .item("**emperor**", "One uWSGI Emperor, as root and not in Tyrant mode, over links in /run/uwsgi-apps/emperor/vassals/: **start** makes an app's link, **stop** removes it, **reload** touches it. Its vassals keep their users' supplementary groups.")
            .para("To switch engines, stop every app with the old setting, change **ENGINE=**, start them again; **start** never starts an app that another engine runs.");
    }
    page.section("EXIT STATUS");
    match applet {
        Applet::UwsgiApps => {
            page.item("**0**", "Success. For **status**: every instance runs.")
                .item("**1**", "At least one app or instance failed (each failure is reported on standard error). For **status**: an instance is dead but its pidfile exists.")
                .item("**2**", "Usage error: unknown option or missing argument.")
                .item("**3**", "For **status**: an instance is not running. For **initd**: unknown command.")
                .item("**4**", "For **status**: no such configuration. The worst code wins: 4 over 1 over 3 over 0.")
                .item("**6**", "For **exec**: the app is not enabled (a systemd unit does not restart on it).")
                .item("**78**", "For **exec**: its config was refused (see **start**), or it already runs under another engine.")
                .para("**initd** exits with the number of instances that failed, as Debian's init script does (0 when all went well). **query** exits as **uwsgi-query**(8).");
        }
        Applet::Enapp | Applet::Disapp => {
            page.item(
                "**0**",
                "Every NAME succeeded (including \"already enabled\" or \"already disabled\").",
            )
            .item(
                "**1**",
                "At least one NAME failed; the others were still handled.",
            )
            .item(
                "**2**",
                "Usage error, or no NAME while standard input is not a terminal.",
            );
        }
        Applet::Query => {
            page.item(
                "**0**",
                "NAME is enabled (or, without NAME, the list was printed).",
            )
            .item("**1**", "NAME does not exist or is not enabled.")
            .item("**2**", "Usage error.")
            .item("**32**", "NAME was disabled by the site administrator.")
            .item("**33**", "NAME was disabled by a maintainer script.");
        }
    }

    match applet {
        Applet::UwsgiApps => {
            page.section("JSON OUTPUT").para("With **--json**, **start**, **stop**, **reload**, **force-reload**, **restart** and **status** print one document: **command**, **instances** (one object each, in the order named: **namespace**, **name**, **result**, **pid**, **config**, and **error** and **log_tail** for a failure), **failed** and **exit_status**. Every instance of an operation other than **status** has a boolean **changed**: true exactly when the run changed what runs (the instance was started, stopped, reloaded or restarted, or a restart stopped it and could not start it again); false for \"already running\", \"not running\", no such app, and a failure that left it as it was.");
        }
        Applet::Enapp | Applet::Disapp => {
            page.section("JSON OUTPUT").para("With **--json**, one document: **command**, **dry_run**, **results** (one object per app, or per NAME that matched none: **argument**, **namespace**, **name**, **file**, **result**, **message** or **error**) and **exit_status**. Every result has a boolean **changed**: true exactly when a link or a state marker was made, replaced or removed (with **--dry-run**: would be); false for \"already\", for an app the administrator disabled (**--maintmode**), for a NAME that matched nothing, and for a failure.");
        }
        Applet::Query => {}
    }

    page.section("ENVIRONMENT")
        .item("**UWSGI_APPS_ROOT**", "Act on the tree under this directory instead of / (as **--root**): every path below moves under it. Used by tests and chroots.");
    match applet {
        Applet::UwsgiApps => {
            page.item(
                "**UWSGI_APPS_DAEMON**",
                "The uWSGI program to run (as **--daemon**), /usr/bin/uwsgi by default.",
            );
        }
        Applet::Enapp => {
            page.item("**UWSGI_APPS_DAEMON**", "The uWSGI program **--now** starts the instance with (as **--daemon**), /usr/bin/uwsgi by default.");
        }
        Applet::Disapp => {
            page.item("**UWSGI_APPS_DAEMON**", "The uWSGI program the instances run (as **--daemon**), /usr/bin/uwsgi by default: **--now** stops the instance of that program, and without **--now** a warning says when it still runs.");
        }
        // It never runs uWSGI nor looks at what runs.
        Applet::Query => {}
    }
    if applet == Applet::UwsgiApps {
        page.item("**NO_COLOR**", "When set, never colour the output, even on a terminal.")
            .item("**UWSGI_DEB_CONFNAMESPACE**, **UWSGI_DEB_CONFNAME**", "Set by **start** in the environment of each instance (\"app\" and \"blog\" for /etc/uwsgi/apps-enabled/blog.ini); the inherited configuration turns them into %(deb-confnamespace) and %(deb-confname).");
    }

    page.section("FILES")
        .item(
            "**/etc/uwsgi/apps-available/**",
            "The apps: one configuration file each (NSs-available for namespace NS).",
        )
        .item(
            "**/etc/uwsgi/apps-enabled/**",
            "Relative links to the enabled apps (NSs-enabled for namespace NS).",
        )
        .item(
            "**/var/lib/uwsgi/**^^NS^^**/{enabled,disabled}_by_{admin,maint}/**^^NAME^^",
            "State markers: who enabled or disabled NAME last.",
        );
    if applet == Applet::UwsgiApps {
        page.item("**/etc/init.d/uwsgi**", "The init script: runs **uwsgi-apps initd** with its arguments.")
            .item("**/etc/default/uwsgi**", "Settings: VERBOSE, PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT, INHERITED_CONFIG, START_TIMEOUT, CHECK_CONFIG_PERMISSIONS, ENGINE. Read, not executed.")
            .item("**/lib/systemd/system/uwsgi@.service**, **/lib/systemd/system/uwsgi.service**", "The units of the **systemd** engine: one app, and every enabled app.")
            .item("**/usr/lib/uwsgi-apps/uwsgi-apps-vassal**", "This program as the Emperor's wrapper for its vassals (**emperor** engine).")
            .item("**/run/uwsgi-apps/**", "This program's own state, root's alone: its locks, the reloads in progress, the Emperor's vassal links.")
            .item("**/var/log/uwsgi/emperor.log**", "Log of the Emperor of the **emperor** engine.")
            .item("**/usr/share/uwsgi/conf/default.ini**", "The configuration every app inherits, unless INHERITED_CONFIG names another.")
            .item("**/run/uwsgi/**^^NS^^**/**^^NAME^^**/**", "Runtime directory of an instance: its pid file **pid**, its socket, its readiness socket.")
            .item("**/var/log/uwsgi/**^^NS^^**/**^^NAME^^**.log**", "Log of an instance.");
    }

    page.section("EXAMPLES");
    match applet {
        Applet::UwsgiApps => {
            page.example(
                "Start, check and stop one app, as the init script does:",
                "service uwsgi start blog\nservice uwsgi status blog\nservice uwsgi stop blog",
            )
            .example(
                "Restart every enabled app, waiting up to 60 seconds for each to be ready:",
                "uwsgi-apps restart --start-timeout 60",
            )
            .example(
                "Reload an app gracefully and wait until it has reloaded:",
                "uwsgi-apps reload --wait blog",
            )
            .example(
                "All apps and their state, for a person and for a script:",
                "uwsgi-apps list\nuwsgi-apps list --json",
            )
            .example(
                "Look for broken links, unsafe permissions and stale pid files:",
                "uwsgi-apps doctor",
            )
            .example(
                "On a host that systemd runs, one app through its unit, and all of them:",
                "uwsgi-apps start blog\nsystemctl status uwsgi@blog\nsystemctl reload uwsgi",
            )
            .example(
                "Work on a copy of a system without touching the real one:",
                "uwsgi-apps --root /srv/chroot list",
            );
        }
        Applet::Enapp => {
            page.example("Enable an app and start it:", "uwsgi-enapp blog\nservice uwsgi start blog")
                .example("The same in one step:", "uwsgi-enapp --now blog")
                .example("Enable every app whose name starts with \"search\", saying first what would change:", "uwsgi-enapp --dry-run 'search*'\nuwsgi-enapp 'search*'")
                .example("Enable the YAML one of two files with the same name:", "uwsgi-enapp site.yaml");
        }
        Applet::Disapp => {
            page.example("Stop and disable an app:", "uwsgi-disapp --now blog")
                .example(
                    "Forget every trace of an app whose package was purged:",
                    "uwsgi-disapp --purge oldapp",
                );
        }
        Applet::Query => {
            page.example("Is blog enabled, and by whom?", "uwsgi-query blog")
                .example(
                    "In a script:",
                    "if uwsgi-query -q blog; then echo enabled; fi",
                )
                .example("Every enabled app:", "uwsgi-query");
        }
    }

    let see_also: &[&str] = match applet {
        Applet::UwsgiApps => &["uwsgi-enapp", "uwsgi-disapp", "uwsgi-query"],
        Applet::Enapp => &["uwsgi-disapp", "uwsgi-query", "uwsgi-apps"],
        Applet::Disapp => &["uwsgi-enapp", "uwsgi-query", "uwsgi-apps"],
        Applet::Query => &["uwsgi-enapp", "uwsgi-disapp", "uwsgi-apps"],
    };
    page.section("SEE ALSO");
    let mut refs = Vec::new();
    for (i, name) in see_also.iter().enumerate() {
        if i > 0 {
            refs.push(roman(", "));
        }
        refs.push(bold(*name));
        refs.push(roman("(8)"));
    }
    refs.push(roman(", "));
    refs.push(bold("a2ensite"));
    refs.push(roman("(8), /usr/share/doc/uwsgi-apps/README.md"));
    page.roff.control("PP", []);
    page.roff.text(refs);
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of a roff section as a reader sees it: fonts dropped,
    /// `\-` as `-`, lines joined.
    fn plain(roff: &str) -> String {
        let text = roff
            .replace("\\fB", "")
            .replace("\\fI", "")
            .replace("\\fR", "")
            .replace("\\-", "-");
        text.lines().collect::<Vec<_>>().join(" ")
    }

    /// The SYNOPSIS of a page, or of a subcommand in uwsgi-apps(8).
    fn synopsis(page: &str, heading: &str) -> String {
        let start = page.find(heading).unwrap() + heading.len() + 1;
        let end = page[start..].find("\n.").unwrap() + start;
        plain(&page[start..end])
    }

    #[test]
    fn synopses_show_option_values_and_repeated_operands() {
        let enapp = render(Applet::Enapp);
        assert_eq!(
            synopsis(&enapp, ".SH SYNOPSIS"),
            "uwsgi-enapp [--root DIR] [-q|--quiet] [-f|--force] [-n|--dry-run] \
             [-m|--maintmode] [--now] [--json] [--daemon PATH] [-h|--help] \
             [-V|--version] [NAME...]"
        );
        let disapp = render(Applet::Disapp);
        assert!(synopsis(&disapp, ".SH SYNOPSIS")
            .ends_with("[--daemon PATH] [-h|--help] [-V|--version] [NAME...]"));
        // uwsgi-query runs no uWSGI: no --daemon, and one NAME.
        let query = render(Applet::Query);
        assert_eq!(
            synopsis(&query, ".SH SYNOPSIS"),
            "uwsgi-query [--root DIR] [-q|--quiet] [-h|--help] [-V|--version] [NAME]"
        );
        assert!(!query.contains("daemon"), "{query}");

        let apps = render(Applet::UwsgiApps);
        assert_eq!(
            synopsis(&apps, ".SH SYNOPSIS"),
            "uwsgi-apps [--root DIR] [--daemon PATH] [-h|--help] [-V|--version] COMMAND [ARG...]"
        );
        assert_eq!(
            synopsis(&apps, ".SS \"uwsgi-apps start\""),
            "uwsgi-apps start [--json] [-j|--jobs N] [--start-timeout SECONDS] [CONFSPEC...]"
        );
        assert_eq!(
            synopsis(&apps, ".SS \"uwsgi-apps initd\""),
            "uwsgi-apps initd COMMAND [CONFSPEC...]"
        );
        assert_eq!(
            synopsis(&apps, ".SS \"uwsgi-apps query\""),
            "uwsgi-apps query [-q|--quiet] [NAME]"
        );
        assert!(!apps.contains(".SS \"uwsgi-apps help\""));
    }

    #[test]
    fn option_items_name_their_values_and_defaults() {
        let apps = render(Applet::UwsgiApps);
        let text = plain(&apps);
        assert!(
            text.contains(".TP --root DIR [default: /] Act on the tree"),
            "{text}"
        );
        assert!(text.contains(".TP -j, --jobs N Start at most N"), "{text}");
        assert!(
            text.contains(".TP --timeout SECONDS [default: 30] Seconds"),
            "{text}"
        );
        assert!(text.contains(".TP [CONFSPEC...] Instances:"), "{text}");
        // The COMMANDS section lists a subcommand's own options only.
        let start = &apps[apps.find(".SS \"uwsgi-apps start\"").unwrap()..];
        let start = &start[..start[1..].find(".SS").unwrap()];
        assert!(!start.contains("root"), "{start}");
        assert!(!start.contains("help"), "{start}");
    }
}
