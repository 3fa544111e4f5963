//! Writing to stdout and stderr, at the bottom of the program so that
//! every layer can say something (a notice while waiting for a lock) and
//! every face prints the same way.
//!
//! Nothing here panics on a closed stdout: `uwsgi-apps list | head -1` must
//! not be an error (`println!` would panic on EPIPE).

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Write to stdout; once the reader has gone (EPIPE), stay silent: the work
/// itself goes on, since stopping halfway would lose more than output.
pub fn write_stdout(args: fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

/// Write to stderr, ignoring failures (there is nowhere left to report them).
pub fn write_stderr(args: fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// `println!` that survives a closed stdout.
#[macro_export]
macro_rules! outln {
    () => { $crate::stdio::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::stdio::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that survives a closed stdout.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::stdio::write_stdout(format_args!($($arg)*)) };
}

/// The program's name, as the prefix of every error and warning line.
static PROGRAM: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

pub fn set_program_name(name: &'static str) {
    let _ = PROGRAM.set(name);
}

pub fn program_name() -> &'static str {
    PROGRAM.get().copied().unwrap_or("uwsgi-apps")
}

/// `PROGRAM: MESSAGE` on stderr.
pub fn error(message: impl fmt::Display) {
    write_stderr(format_args!("{}: {}\n", program_name(), message));
}

/// `PROGRAM: warning: MESSAGE` on stderr.
pub fn warning(message: impl fmt::Display) {
    write_stderr(format_args!("{}: warning: {}\n", program_name(), message));
}

/// `PROGRAM: MESSAGE` on stderr, for what the user must know at once
/// (what a run waits for), even in the middle of a progress line.
pub fn notice(message: impl fmt::Display) {
    write_stderr(format_args!("{}: {}\n", program_name(), message));
}
