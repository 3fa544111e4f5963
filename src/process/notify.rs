//! The readiness socket: systemd's notify protocol, as uWSGI speaks it.
//!
//! uWSGI sends datagrams like `STATUS=initializing uWSGI\n` and
//! `STATUS=uWSGI is ready\nREADY=1\n` to the Unix datagram socket named
//! by `NOTIFY_SOCKET`. The socket asks the kernel for the sender's
//! credentials (SO_PASSCRED), so a message counts only for the process it
//! really came from: anyone who can write to the socket could send the
//! text, nobody can forge the PID.

use std::io::{self, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{chown, FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::{fs, str};

use rustix::net::{recvmsg, sockopt, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};

use crate::error::{Error, IoContext, Result};

/// One datagram and who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The sender's PID, from the kernel (None if it gave none).
    pub pid: Option<i32>,
    pub text: String,
}

impl Message {
    /// `READY=1` on a line of its own.
    pub fn is_ready(&self) -> bool {
        self.text.lines().any(|l| l.trim_end() == "READY=1")
    }

    /// The text after `STATUS=`, if any.
    pub fn status(&self) -> Option<&str> {
        self.field("STATUS=")
    }

    /// The pid after `MAINPID=` (a process that says which process the
    /// service's main one is), if any.
    pub fn main_pid(&self) -> Option<i32> {
        self.field("MAINPID=")?.trim().parse().ok()
    }

    /// The text after `key` (`NAME=`) on a line of its own, if any.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.text.lines().find_map(|l| l.strip_prefix(key))
    }
}

/// A bound notify socket. The file is removed when it is dropped.
#[derive(Debug)]
pub struct NotifySocket {
    socket: UnixDatagram,
    path: PathBuf,
}

impl NotifySocket {
    /// Bind a fresh socket at `path` (replacing whatever is there: the
    /// runtime dir is the instance's own, so a leftover is ours or junk),
    /// owned by the instance's user, who must be able to send to it after
    /// uWSGI has dropped privileges.
    pub fn bind(path: &Path, uid: u32, gid: u32) -> Result<NotifySocket> {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).at("remove old notify socket", path),
        }
        let socket = UnixDatagram::bind(path).at("bind notify socket", path)?;
        let this = NotifySocket {
            socket,
            path: path.to_path_buf(),
        };
        sockopt::set_socket_passcred(&this.socket, true)
            .map_err(|e| Error::os("ask for sender credentials on the notify socket", e.into()))?;
        this.socket
            .set_nonblocking(true)
            .at("configure notify socket", path)?;
        give_socket_to(path, uid, gid)?;
        Ok(this)
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// Every datagram waiting now (never blocks).
    pub fn drain(&self) -> Vec<Message> {
        let mut messages = Vec::new();
        loop {
            let mut buf = [0u8; 4096];
            let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmCredentials(1))];
            let mut control = RecvAncillaryBuffer::new(&mut space);
            let mut iov = [IoSliceMut::new(&mut buf)];
            let received = recvmsg(&self.socket, &mut iov, &mut control, RecvFlags::DONTWAIT);
            let n = match received {
                Ok(r) => r.bytes.min(buf.len()),
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => break,
            };
            let mut pid = None;
            for msg in control.drain() {
                if let RecvAncillaryMessage::ScmCredentials(cred) = msg {
                    pid = Some(cred.pid.as_raw_nonzero().get());
                }
            }
            messages.push(Message {
                pid,
                text: String::from_utf8_lossy(&buf[..n]).into_owned(),
            });
        }
        messages
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Lines of `text` as uWSGI would send them, for tests and parsing.
/// Make the socket file at `path` the instance user's, mode 0600, without
/// ever following a link: the run dir belongs to that user, who could swap
/// the file for a link between `bind` and here and so have root chown or
/// chmod any file. The path is opened with O_PATH|O_NOFOLLOW, checked to be
/// a socket, and changed through /proc/self/fd, which names that very
/// inode whatever the directory holds by then.
fn give_socket_to(path: &Path, uid: u32, gid: u32) -> Result<()> {
    use rustix::fs::{openat, Mode, OFlags, CWD};
    let fd = openat(
        CWD,
        path,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at("open notify socket", path)?;
    let meta = fs::metadata(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&fd)
    ))
    .at("stat notify socket", path)?;
    if !meta.file_type().is_socket() {
        return Err(Error::Failed(format!(
            "{} is no longer the notify socket just made (replaced by something else); refusing to change its owner",
            crate::display::display_path(path)
        )));
    }
    let by_fd = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
    chown(&by_fd, Some(uid), Some(gid)).at("change the owner of notify socket", path)?;
    fs::set_permissions(&by_fd, fs::Permissions::from_mode(0o600))
        .at("change the mode of notify socket", path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    #[test]
    fn the_socket_is_made_the_users_and_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let sock = NotifySocket::bind(&path, 65534, 65534).unwrap();
        let meta = fs::symlink_metadata(&sock.path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (65534, 65534, 0o600)
        );
    }

    #[test]
    fn a_link_in_place_of_the_socket_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "secret").unwrap();
        fs::set_permissions(&victim, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("notify");
        symlink(&victim, &link).unwrap();
        let err = give_socket_to(&link, 65534, 65534).unwrap_err().to_string();
        assert!(err.contains("no longer the notify socket"), "{err}");
        let meta = fs::metadata(&victim).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o640));
    }

    #[test]
    fn ready_and_status_are_read_from_lines() {
        let m = Message {
            pid: Some(1),
            text: "STATUS=uWSGI is ready\nREADY=1\n".into(),
        };
        assert!(m.is_ready());
        assert_eq!(m.status(), Some("uWSGI is ready"));
        let m = Message {
            pid: Some(1),
            text: "STATUS=initializing uWSGI\n".into(),
        };
        assert!(!m.is_ready());
        let m = Message {
            pid: Some(1),
            text: "NOTREADY=1\nXREADY=1".into(),
        };
        assert!(!m.is_ready());
    }

    #[test]
    fn messages_carry_the_senders_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let sock = NotifySocket::bind(&path, 0, 0).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.send_to(b"READY=1\n", &path).unwrap();
        let got = sock.drain();
        assert_eq!(got.len(), 1);
        assert!(got[0].is_ready());
        assert_eq!(got[0].pid, Some(std::process::id() as i32));
        assert!(sock.drain().is_empty());
        drop(sock);
        assert!(!path.exists());
    }
}
