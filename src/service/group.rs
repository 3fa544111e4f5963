//! What `uwsgi.service` asks of every enabled app, whatever the engine:
//!
//! * start: every enabled app (one that fails makes the group fail; the
//!   others keep running);
//! * reload: under the systemd engine, start the enabled apps that do not
//!   run (systemd reloads the running units itself, by
//!   `ReloadPropagatedFrom=`); under the others, reload the running apps
//!   and start the rest;
//! * stop: every enabled app, and under the systemd engine every other
//!   `uwsgi@` unit that still runs (an app disabled while it ran, which
//!   systemd stops with `uwsgi.service` anyway, by `PartOf=`); it returns
//!   when they are stopped.

use crate::name::Confspec;
use crate::settings::EngineKind;

use super::engine::systemd;
use super::plan;
use super::report::{InstanceStatus, Outcome, Report, Target};
use super::{Operation, Service};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupAction {
    Start,
    Reload,
    Stop,
}

/// What a group action did: a report per app acted on, and warnings that
/// belong to no app's report.
pub struct GroupOutcome {
    pub reports: Vec<Report>,
    pub warnings: Vec<String>,
}

impl Service<'_> {
    /// `action` on the `enabled` apps; `emit` gets each report, with the
    /// operation it is the result of, as soon as it is known.
    pub fn group(
        &self,
        action: GroupAction,
        enabled: &[Target],
        emit: &mut dyn FnMut(Operation, &Report),
    ) -> GroupOutcome {
        let systemd_units = self.context.engine() == EngineKind::Systemd;
        let mut reports = Vec::new();
        let mut warnings = Vec::new();
        let mut run = |op: Operation, targets: &[Target]| {
            reports.extend(self.run(op, targets, &mut |r| emit(op, r)));
        };
        match action {
            GroupAction::Start => run(Operation::Start, enabled),
            GroupAction::Reload if systemd_units => run(Operation::Start, enabled),
            GroupAction::Reload => {
                let status = self.run(Operation::Status, enabled, &mut |_| {});
                let (mut running, mut stopped) = (Vec::new(), Vec::new());
                for (target, report) in enabled.iter().zip(status) {
                    match report.outcome {
                        Outcome::Status(InstanceStatus::Running { .. }) => &mut running,
                        _ => &mut stopped,
                    }
                    .push(target.clone());
                }
                run(Operation::Reload, &running);
                run(Operation::Start, &stopped);
            }
            GroupAction::Stop if systemd_units => {
                // The units of apps disabled while they ran, which systemd
                // stops with uwsgi.service anyway (PartOf=): in the same
                // stop, so that it returns once they have stopped too.
                let mut targets = enabled.to_vec();
                let others = systemd::running_instances().and_then(|(running, odd)| {
                    warnings.extend(odd.into_iter().map(|unit| {
                        format!("{unit} is no instance of this program's apps; left to systemd")
                    }));
                    let others: Vec<Confspec> = running
                        .into_iter()
                        .filter(|spec| !enabled.iter().any(|t| t.spec.as_ref() == Some(spec)))
                        .collect();
                    plan::plan_specs(self.context.layout, &others)
                });
                match others {
                    Ok(others) => targets.extend(others),
                    Err(e) => warnings.push(e.to_string()),
                }
                // One of those (they alone have no config) whose unit has
                // finished stopping by itself meanwhile is not running,
                // not unknown.
                let settled = |r: &Report| {
                    let mut r = r.clone();
                    if r.target.config.is_none() && r.outcome == Outcome::NotFound {
                        r.outcome = Outcome::Already { pid: None };
                    }
                    r
                };
                let done = self.run(Operation::Stop, &targets, &mut |r| {
                    emit(Operation::Stop, &settled(r))
                });
                reports.extend(done.iter().map(settled));
            }
            GroupAction::Stop => run(Operation::Stop, enabled),
        }
        GroupOutcome { reports, warnings }
    }
}
