//! The engine's view of the settings file and of app configs. Today these
//! come from a temporary stand-in; when the `config` branch lands they are
//! `crate::settings::Settings` and `crate::config::run_as`, and only the
//! two `pub use` lines below change.

pub use super::standin::{run_as, RunAs, Settings};
