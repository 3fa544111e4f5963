//! Files an enabled instance's uWSGI would create in its run dir after
//! dropping privileges (`config::after_drop`): the front end makes the run
//! dir root's, so each one fails. A socket or file whose failure stops
//! uWSGI at start is an error; one uWSGI runs without is a warning.

use super::{Finding, NamespaceFacts, Severity};
use crate::config::after_drop::{after_drop, Effect};
use crate::config::tree::Environment;
use crate::display::display_name;
use crate::layout::Layout;

pub fn check(layout: &Layout, facts: &NamespaceFacts, findings: &mut Vec<Finding>) {
    for instance in &facts.discovery.instances {
        let Some(tree) = facts.trees.get(&instance.spec.name) else {
            continue;
        };
        let run_dir = layout.run_dir(&instance.spec);
        let env = Environment::of_instance(&instance.spec);
        let name = display_name(&instance.spec.name);
        for a in after_drop(&tree.sourced(), &env.vars, &run_dir) {
            let severity = match a.effect {
                Effect::Fails => Severity::Error,
                Effect::Degrades => Severity::Warning,
            };
            findings.push(Finding::path(
                severity,
                "created-after-drop",
                a.file.as_deref().unwrap_or(&instance.path),
                Some(instance.spec.clone()),
                format!("app {name}: {}", a.problem(&run_dir)),
                format!(
                    "{} (the run dir is root's so that the app's user cannot plant links \
                     where uWSGI works as root)",
                    a.hint
                ),
            ));
        }
    }
}
