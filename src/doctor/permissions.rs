//! Safety: configs, and the files they pull in, that someone other than
//! root can change (§4 of the SPEC). The rule is
//! `crate::safety::check_tree`, the one `start` enforces, so doctor reports
//! exactly the configs that `start` refuses, and, besides, what `start`
//! cannot judge: includes that cannot be resolved without running uWSGI,
//! and includes that name a file that is not there.

use std::path::Path;

use super::{Finding, NamespaceFacts, Severity};
use crate::config::tree::{ConfigTree, Pulled};
use crate::display::{display_name, display_path};
use crate::layout::Layout;
use crate::name::Confspec;
use crate::safety::{self, Reach};
use crate::settings::Settings;

pub fn check(
    layout: &Layout,
    settings: &Settings,
    facts: &NamespaceFacts,
    findings: &mut Vec<Finding>,
) {
    for config in &facts.discovery.instances {
        let Some(tree) = facts.trees.get(&config.spec.name) else {
            continue;
        };
        let name = display_name(&config.spec.name);
        // The inherited config's own part is reported once, by
        // `configs::check_settings`, not once per app.
        report_tree(
            layout,
            settings,
            tree,
            facts.app_top(),
            &config.path,
            Some(&config.spec),
            &format!("app {name} runs its config as root"),
            findings,
        );
    }
}

/// Findings about one config file (`top`, top file `top_index` of `tree`)
/// and what it pulls in: unsafe paths, includes that cannot be followed or
/// read. `who` starts each unsafe-path message ("app x runs its config as
/// root").
#[allow(clippy::too_many_arguments)]
pub fn report_tree(
    layout: &Layout,
    settings: &Settings,
    tree: &ConfigTree,
    top_index: usize,
    top: &Path,
    app: Option<&Confspec>,
    who: &str,
    findings: &mut Vec<Finding>,
) {
    let severity = permission_severity(settings);
    let refuses = if settings.check_config_permissions {
        "`start` refuses it"
    } else {
        "`start` runs it anyway, because CHECK_CONFIG_PERMISSIONS=no"
    };
    let pulled: Vec<Pulled> = tree
        .pulled
        .iter()
        .filter(|p| p.by.top == top_index)
        .cloned()
        .collect();
    let subtree = ConfigTree {
        pulled,
        ..ConfigTree::default()
    };
    match safety::check_tree(layout, &[top], &subtree) {
        Ok(unsafe_uses) => {
            for u in unsafe_uses {
                let path = &u.path.path;
                let shown = display_path(path);
                let fix = format!("chown root:root {shown} && chmod go-w {shown}");
                let hint = match &u.reach {
                    // A sticky dir such as /tmp counts only because
                    // anyone may create there what uWSGI loads: never
                    // advise changing it.
                    Reach::Pulled(p) if u.path.is_dir && u.path.mode & 0o1000 != 0 => format!(
                        "anyone may create files in {shown}: keep {} in a directory only root \
                         can write",
                        display_path(&p.path)
                    ),
                    Reach::Pulled(p) if p.path != *path => format!(
                        "make it writable by root only (`{fix}`), or keep {} where only root \
                         can change it",
                        display_path(&p.path)
                    ),
                    _ => format!("make it writable by root only: `{fix}`"),
                };
                findings.push(Finding::path(
                    severity,
                    "unsafe-permissions",
                    path,
                    app.cloned(),
                    format!("{who}, but {}; {refuses}", u.describe()),
                    hint,
                ));
            }
        }
        Err(e) => findings.push(Finding::path(
            Severity::Error,
            "uninspectable-config",
            top,
            app.cloned(),
            format!(
                "the safety of {} and what it pulls in cannot be checked: {e}",
                display_path(top)
            ),
            "fix the permissions so that root can inspect every path on the way",
        )),
    }

    for u in tree.unresolved.iter().filter(|u| u.by.top == top_index) {
        findings.push(Finding::path(
            Severity::Warning,
            "unresolved-include",
            &u.by.file,
            app.cloned(),
            format!(
                "{}: {}, so the front end cannot check who can change what uWSGI reads \
                 there as root",
                u.by.describe(),
                u.why
            ),
            "make sure only root can change what it reads, or name a plain file instead",
        ));
    }

    for b in &tree.broken {
        let Some(by) = b.by.as_ref().filter(|by| by.top == top_index) else {
            continue;
        };
        let (severity, effect) = if b.fatal {
            (Severity::Error, "uWSGI exits at start")
        } else {
            (Severity::Warning, "uWSGI goes on without it")
        };
        findings.push(Finding::path(
            severity,
            "missing-include",
            &b.path,
            app.cloned(),
            format!(
                "{} names {}, which cannot be read ({}): {effect}",
                by.describe(),
                display_path(&b.path),
                b.error
            ),
            "create the file, or fix the option",
        ));
    }
}

/// `CHECK_CONFIG_PERMISSIONS=no` makes `start` run unsafe configs anyway:
/// still worth a warning, no longer an error that blocks a start.
fn permission_severity(settings: &Settings) -> Severity {
    if settings.check_config_permissions {
        Severity::Error
    } else {
        Severity::Warning
    }
}
