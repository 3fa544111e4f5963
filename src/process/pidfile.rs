//! Reading and fixing up an instance's pidfile.
//!
//! A pidfile is only a hint: what it says is trusted once `Master::open`
//! has checked the process it names (see `identity`). Reading never fails
//! on content: anything that is not one positive decimal number (or not a
//! file at all) counts as "not running". The one reader, for the front end
//! and `doctor` alike; a link is never followed.

use std::fs;
use std::io;
use std::os::unix::fs::{fchown, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// What a pidfile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pidfile {
    Missing,
    /// A symbolic link: never followed (it could point at any file).
    Link,
    /// A directory, FIFO, device or socket: never read.
    NotAFile,
    /// A file, but not a PID (empty, text, zero, negative, too large).
    Garbage,
    Pid(i32),
}

impl Pidfile {
    pub fn exists(self) -> bool {
        self != Pidfile::Missing
    }

    pub fn pid(self) -> Option<i32> {
        match self {
            Pidfile::Pid(pid) => Some(pid),
            _ => None,
        }
    }
}

/// More than any PID and its newline: a larger file is not a pidfile, and
/// reading only this much keeps a hostile file from costing memory.
pub const MAX_PIDFILE: u64 = 64;

/// Read a pidfile. A missing file (or runtime dir) is `Missing`; a file
/// that cannot be read for another reason is an error, because "not
/// running" would then be a guess.
pub fn read(path: &Path) -> Result<Pidfile> {
    let file = match open_no_follow(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Pidfile::Missing),
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Ok(Pidfile::Missing),
        // A link where uWSGI writes a file: not a pidfile, but there.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(Pidfile::Link),
        Err(e) => return Err(e).at("open pidfile", path),
    };
    // The runtime dir is the instance user's: a FIFO or a device there
    // must neither block nor be read.
    if !file.metadata().at("stat pidfile", path)?.is_file() {
        return Ok(Pidfile::NotAFile);
    }
    // One byte more than a pidfile may hold, so that a longer file is
    // seen as garbage, not cut to a PID.
    let bytes = crate::config::read_at_most(file, MAX_PIDFILE + 1).at("read pidfile", path)?;
    Ok(parse(&bytes))
}

/// The content of a pidfile: digits, optionally surrounded by white space
/// (uWSGI writes `1234\n`).
pub fn parse(bytes: &[u8]) -> Pidfile {
    if bytes.len() as u64 > MAX_PIDFILE {
        return Pidfile::Garbage;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.trim(),
        Err(_) => return Pidfile::Garbage,
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Pidfile::Garbage;
    }
    match text.parse::<i32>() {
        Ok(pid) if pid > 0 => Pidfile::Pid(pid),
        _ => Pidfile::Garbage,
    }
}

/// Make the pidfile root:root 0644 (SPEC §4 step 5): uWSGI writes it as
/// root before dropping privileges, but with the umask it inherited, and
/// the instance's user must not be able to point it at another process.
///
/// Through the open file, never the path: the instance's user owns the
/// runtime dir and could swap the pidfile for a link to any file between
/// a check and a chown/chmod by name.
pub fn seal(path: &Path) -> Result<()> {
    let file = open_no_follow(path).at("open pidfile", path)?;
    if !file.metadata().at("stat pidfile", path)?.is_file() {
        return Err(Error::Failed(format!(
            "the pidfile {} is not a regular file",
            crate::display::display_path(path)
        )));
    }
    fchown(&file, Some(0), Some(0)).at("change the owner of pidfile", path)?;
    file.set_permissions(fs::Permissions::from_mode(0o644))
        .at("change the mode of pidfile", path)
}

/// Open for reading without following a final link and without blocking
/// on a FIFO.
fn open_no_follow(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_positive_number_is_a_pid() {
        assert_eq!(parse(b"4242\n"), Pidfile::Pid(4242));
        assert_eq!(parse(b"  17  "), Pidfile::Pid(17));
        for bad in [
            &b""[..],
            b"\n",
            b"0",
            b"-1",
            b"12ab",
            b"1 2",
            b"99999999999",
            b"+5",
            b"\xff\xfe",
            b"\xff",
            b"12a",
            &[b'1'; 100],
        ] {
            assert_eq!(parse(bad), Pidfile::Garbage, "{bad:?}");
        }
    }

    #[test]
    fn a_fifo_or_a_link_is_no_pidfile_and_never_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        assert_eq!(read(&fifo).unwrap(), Pidfile::NotAFile);
        assert_eq!(read(dir.path()).unwrap(), Pidfile::NotAFile);
        assert!(seal(&fifo).is_err());

        let target = dir.path().join("target");
        fs::write(&target, "42\n").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("pid");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read(&link).unwrap(), Pidfile::Link);
        assert!(read(&link).unwrap().exists());
        assert!(seal(&link).is_err());
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600, "seal changed the link's target");
    }

    #[test]
    fn pidfile_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::write(&real, "1\n").unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("pid")).unwrap();
        assert_eq!(read(&dir.path().join("pid")).unwrap(), Pidfile::Link);
        assert_eq!(read(&real).unwrap(), Pidfile::Pid(1));
        assert_eq!(read(&dir.path().join("none")).unwrap(), Pidfile::Missing);
        assert_eq!(read(dir.path()).unwrap(), Pidfile::NotAFile);
    }

    #[test]
    fn a_missing_pidfile_or_rundir_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(&dir.path().join("pid")).unwrap(), Pidfile::Missing);
        assert_eq!(
            read(&dir.path().join("nope/pid")).unwrap(),
            Pidfile::Missing
        );
        fs::write(dir.path().join("pid"), "garbage").unwrap();
        assert_eq!(read(&dir.path().join("pid")).unwrap(), Pidfile::Garbage);
        assert!(read(&dir.path().join("pid")).unwrap().exists());
    }

    #[test]
    fn seal_changes_a_pidfile_but_never_what_a_link_names() {
        let dir = tempfile::tempdir().unwrap();
        let pid = dir.path().join("pid");
        fs::write(&pid, "42\n").unwrap();
        fs::set_permissions(&pid, fs::Permissions::from_mode(0o600)).unwrap();
        seal(&pid).unwrap();
        assert_eq!(
            fs::metadata(&pid).unwrap().permissions().mode() & 0o7777,
            0o644
        );

        let victim = dir.path().join("victim");
        fs::write(&victim, "42\n").unwrap();
        fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(seal(&link).is_err());
        assert_eq!(
            fs::metadata(&victim).unwrap().permissions().mode() & 0o7777,
            0o600
        );
    }
}
