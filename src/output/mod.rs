//! The faces of the commands: the init-style line, human lines and
//! tables, JSON. Each face turns what the layers below return (reports,
//! outcomes, rows, findings) into text and an exit status; nothing below
//! prints but through `stdio`'s notices.

pub use crate::stdio::{error, notice, warning};

/// The settings file, its warnings printed (before any progress line).
pub(crate) fn load_settings(layout: &crate::layout::Layout) -> crate::settings::Settings {
    let (settings, warnings) = crate::settings::Settings::load(layout);
    for w in warnings {
        warning(w);
    }
    settings
}

/// What the service commands print on stderr once the progress line (or
/// the instance lines) are complete: each failure's reason, with the tail
/// of its log, and each instance's warnings.
pub(crate) fn print_after_line(reports: &[crate::service::report::Report]) {
    for r in reports {
        if let Some(text) = service::failure_text(r) {
            error(text);
        }
        for w in &r.warnings {
            warning(format_args!("{}: {w}", r.target.label()));
        }
    }
}

pub mod doctor;
pub(crate) mod exec;
pub(crate) mod group;
pub(crate) mod initd;
pub(crate) mod list;
pub(crate) mod registry;
pub(crate) mod service;
