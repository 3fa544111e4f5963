//! Safety: configs that someone other than root can change (§4 of the
//! SPEC). The rule is `crate::safety::check_config`, the one `start`
//! enforces, so doctor reports exactly the configs that `start` refuses.

use super::{Finding, NamespaceFacts, Severity};
use crate::layout::Layout;
use crate::name::display_name;
use crate::safety;
use crate::settings::Settings;

pub fn check(
    layout: &Layout,
    settings: &Settings,
    facts: &NamespaceFacts,
    findings: &mut Vec<Finding>,
) {
    let severity = super::configs::permission_severity(settings);
    let refuses = if settings.check_config_permissions {
        "`start` refuses it"
    } else {
        "`start` runs it anyway, because CHECK_CONFIG_PERMISSIONS=no"
    };
    for config in &facts.discovery.instances {
        let name = display_name(&config.spec.name);
        match safety::check_config(layout, &config.path) {
            Ok(unsafe_paths) => {
                for u in unsafe_paths {
                    let fix = if u.is_dir {
                        format!(
                            "chown root:root {0} && chmod go-w {0}",
                            crate::name::display_path(&u.path)
                        )
                    } else {
                        format!(
                            "chown root:root {0} && chmod 644 {0}",
                            crate::name::display_path(&u.path)
                        )
                    };
                    findings.push(Finding::path(
                        severity,
                        "unsafe-permissions",
                        &u.path,
                        Some(config.spec.clone()),
                        format!(
                            "app {name} runs its config as root, but {}; {refuses}",
                            u.describe()
                        ),
                        format!("make it writable by root only: `{fix}`"),
                    ));
                }
            }
            Err(e) => findings.push(Finding::path(
                Severity::Error,
                "uninspectable-config",
                &config.path,
                Some(config.spec.clone()),
                format!("the safety of app {name} cannot be checked: {e}"),
                "fix the permissions so that root can inspect every path on the way",
            )),
        }
    }
}
