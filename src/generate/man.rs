//! Man pages, section 8: clap_mangen renders NAME, SYNOPSIS, DESCRIPTION
//! and OPTIONS from the definitions; the sections clap knows nothing about
//! (the commands of uwsgi-apps in detail, EXIT STATUS, ENVIRONMENT, FILES,
//! EXAMPLES, SEE ALSO) are written here with the roff crate, which escapes
//! the text.

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
    let cmd = applet.command();
    let man = man_of(cmd.clone());
    let mut out = String::from(PREAMBLE);
    out.push_str(&part(&man, Man::render_title));
    out.push_str(&part(&man, Man::render_name_section));
    out.push_str(&part(&man, Man::render_synopsis_section));
    out.push_str(&part(&man, Man::render_description_section));
    out.push_str(&extra_description(applet));
    out.push_str(&part(&man, Man::render_options_section));
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
/// pages, which do not exist).
fn commands_section(cmd: &clap::Command) -> String {
    let mut out = String::from(".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("uwsgi-apps {}", sub.get_name());
        let sub_man = man_of(sub.clone().bin_name(&name));
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!(".SS \"{name}\"\n"));
        let synopsis = part(&sub_man, Man::render_synopsis_section);
        out.push_str(synopsis.split_once('\n').map_or("", |(_, body)| body));
        let description = part(&sub_man, Man::render_description_section);
        out.push_str(".PP\n");
        out.push_str(description.split_once('\n').map_or("", |(_, body)| body));
        let options = part(&sub_man, Man::render_options_section);
        // Only the subcommand's own options; --help is everywhere.
        let body = options.split_once('\n').map_or("", |(_, body)| body);
        let own: Vec<&str> = body
            .split(".TP\n")
            .filter(|item| !item.is_empty() && !item.contains("\\fB\\-\\-help\\fR"))
            .collect();
        for item in own {
            out.push_str(".TP\n");
            out.push_str(item);
        }
    }
    out
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
            page.para("Each app is one uWSGI configuration file in **/etc/uwsgi/apps-available/** (NAME.ini, .xml, .yaml, .yml, .json, .js, .db, .sqlite or .sqlite3), switched on by a relative symbolic link in **/etc/uwsgi/apps-enabled/**. The init script **/etc/init.d/uwsgi** runs **uwsgi-apps initd**, which starts one uWSGI server per enabled file, as Debian's script did, only in parallel, waiting until each app reports that it is ready.")
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
    page.section("EXIT STATUS");
    match applet {
        Applet::UwsgiApps => {
            page.item("**0**", "Success. For **status**: every instance runs.")
                .item("**1**", "At least one app or instance failed (each failure is reported on standard error). For **status**: an instance is dead but its pidfile exists.")
                .item("**2**", "Usage error: unknown option or missing argument.")
                .item("**3**", "For **status**: an instance is not running. For **initd**: unknown command.")
                .item("**4**", "For **status**: no such configuration. The worst code wins: 4 over 1 over 3 over 0.")
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

    page.section("ENVIRONMENT")
        .item("**UWSGI_APPS_ROOT**", "Act on the tree under this directory instead of / (as **--root**): every path below moves under it. Used by tests and chroots.")
        .item("**UWSGI_APPS_DAEMON**", "The uWSGI program to run (as **--daemon**), /usr/bin/uwsgi by default.");
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
            .item("**/etc/default/uwsgi**", "Settings of the init script: VERBOSE, PRINT_CONFNAMES_IN_INITD_SCRIPT_OUTPUT, INHERITED_CONFIG, START_TIMEOUT, CHECK_CONFIG_PERMISSIONS. Read, not executed.")
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
