//! `uwsgi-apps group start|reload|stop`: what `uwsgi.service` runs, so that
//! `systemctl start|reload|stop uwsgi` acts on every app whatever the
//! engine:
//!
//! * start: every enabled app (exit 1 if one failed: the unit's start
//!   fails, and the others keep running);
//! * reload: under the systemd engine, start the enabled apps that do not
//!   run (systemd reloads the running units itself, by
//!   `ReloadPropagatedFrom=`); under the others, reload the running apps
//!   and start the rest;
//! * stop: every enabled app, and under the systemd engine every other
//!   `uwsgi@` unit that still runs (an app disabled while it ran); it
//!   returns when they are stopped.
//!
//! One line per app goes to stdout, which systemd puts in the journal.

use crate::error::Result;
use crate::exit::ExitStatus;
use crate::layout::Layout;
use crate::service::engine::systemd;
use crate::service::engine::Context;
use crate::service::plan::{self, Options};
use crate::service::report::{Outcome, Report};
use crate::service::{Operation, Service};
use crate::settings::EngineKind;

/// What `uwsgi.service` asks (clap's `cli::GroupAction`, made plain by
/// `lib.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupAction {
    Start,
    Reload,
    Stop,
}

pub fn run(layout: &Layout, action: GroupAction) -> Result<i32> {
    let settings = super::load_settings(layout);
    let context = Context::new(layout, &settings, Options::from_settings(&settings));
    let service = Service::new(&context);
    let (enabled, warnings) = plan::plan(layout, &[])?;
    for w in warnings {
        super::warning(w);
    }
    let systemd_units = context.engine() == EngineKind::Systemd;
    let mut reports: Vec<(Operation, Report)> = Vec::new();
    let mut run = |op: Operation, targets: &[crate::service::report::Target]| {
        for r in service.run(op, targets, &mut |r| {
            crate::outln!("{}", super::service::line(op, r))
        }) {
            reports.push((op, r));
        }
    };
    match action {
        GroupAction::Start => run(Operation::Start, &enabled),
        GroupAction::Reload if systemd_units => run(Operation::Start, &enabled),
        GroupAction::Reload => {
            let status = service.run(Operation::Status, &enabled, &mut |_| {});
            let (running, stopped): (Vec<_>, Vec<_>) =
                enabled.iter().cloned().zip(status).partition(|(_, s)| {
                    matches!(
                        s.outcome,
                        Outcome::Status(crate::service::report::InstanceStatus::Running { .. })
                    )
                });
            let running: Vec<_> = running.into_iter().map(|(t, _)| t).collect();
            let stopped: Vec<_> = stopped.into_iter().map(|(t, _)| t).collect();
            run(Operation::Reload, &running);
            run(Operation::Start, &stopped);
        }
        GroupAction::Stop => {
            run(Operation::Stop, &enabled);
            if systemd_units {
                // Units of apps disabled while they ran: systemd stops
                // them with this unit (PartOf=); wait until they are.
                match systemd::stop_other_units(&context) {
                    Ok(warnings) => warnings.into_iter().for_each(super::warning),
                    Err(e) => super::warning(e),
                }
            }
        }
    }
    let only: Vec<Report> = reports.iter().map(|(_, r)| r.clone()).collect();
    super::print_after_line(&only);
    let failed = reports.iter().any(|(_, r)| r.outcome.is_failure());
    Ok(if failed {
        ExitStatus::Failure.code()
    } else {
        ExitStatus::Success.code()
    })
}
