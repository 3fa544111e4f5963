//! `uwsgi-apps group start|reload|stop`: what `uwsgi.service` runs, so that
//! `systemctl start|reload|stop uwsgi` acts on every app whatever the
//! engine (`service::group` says what each does). One line per app goes
//! to stdout, which systemd puts in the journal; failures and warnings
//! after them, on stderr. Exit 1 when an app failed.

use crate::error::Result;
use crate::exit::ExitStatus;
use crate::layout::Layout;
use crate::service::engine::Context;
use crate::service::group::GroupAction;
use crate::service::plan;
use crate::service::Service;

pub fn run(layout: &Layout, action: GroupAction) -> Result<i32> {
    let settings = super::load_settings(layout);
    let context = Context::from_settings(layout, &settings);
    let service = Service::new(&context);
    let (enabled, warnings) = plan::plan(layout, &[])?;
    for w in warnings {
        super::warning(w);
    }
    let done = service.group(action, &enabled, &mut |op, r| {
        crate::outln!("{}", super::service::line(op, r))
    });
    super::print_after_line(&done.reports);
    done.warnings.into_iter().for_each(super::warning);
    let failed = done.reports.iter().any(|r| r.outcome.is_failure());
    Ok(if failed {
        ExitStatus::Failure.code()
    } else {
        ExitStatus::Success.code()
    })
}
