//! The engine's view of the settings file and of app configs.

pub use crate::config::{run_as_with_env, RunAs};
pub use crate::settings::Settings;
