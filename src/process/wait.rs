//! Waiting for processes to exit: one poll over all their pidfds, woken by
//! the kernel when one exits, never a sleep loop.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};

pub fn timespec(d: Duration) -> Timespec {
    Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// Wait until every process has exited or `deadline` has passed. Returns,
/// per pidfd, whether its process exited.
pub fn wait_for_exits(pidfds: &[BorrowedFd<'_>], deadline: Instant) -> Vec<bool> {
    let mut exited = vec![false; pidfds.len()];
    loop {
        let pending: Vec<usize> = (0..pidfds.len()).filter(|&i| !exited[i]).collect();
        if pending.is_empty() {
            return exited;
        }
        let now = Instant::now();
        let remaining = deadline.saturating_duration_since(now);
        let mut fds: Vec<PollFd<'_>> = pending
            .iter()
            .map(|&i| PollFd::from_borrowed_fd(pidfds[i], PollFlags::IN))
            .collect();
        match poll(&mut fds, Some(&timespec(remaining))) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            // A poll that cannot run cannot tell anything more: report
            // what is known rather than spin.
            Err(_) => return exited,
        }
        for (fd, &i) in fds.iter().zip(&pending) {
            if !fd.revents().is_empty() {
                exited[i] = true;
            }
        }
        if remaining.is_zero() {
            return exited;
        }
    }
}

/// Wait until one of the descriptors is readable (a pidfd: its process
/// exited; a socket: a message came) or `deadline` passes. Per descriptor,
/// whether it was readable.
pub fn wait_for_any(fds: &[BorrowedFd<'_>], deadline: Instant) -> Vec<bool> {
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let mut polled: Vec<PollFd<'_>> = fds
            .iter()
            .map(|&fd| PollFd::from_borrowed_fd(fd, PollFlags::IN))
            .collect();
        match poll(&mut polled, Some(&timespec(remaining))) {
            Ok(_) => return polled.iter().map(|p| !p.revents().is_empty()).collect(),
            Err(rustix::io::Errno::INTR) if !remaining.is_zero() => continue,
            Err(_) => return vec![false; fds.len()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::identity::open_pidfd;
    use std::os::fd::AsFd;

    #[test]
    fn returns_as_soon_as_all_have_exited() {
        let mut a = std::process::Command::new("true").spawn().unwrap();
        let mut b = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let fa = open_pidfd(a.id() as i32).unwrap();
        let fb = open_pidfd(b.id() as i32).unwrap();
        let start = Instant::now();
        let got = wait_for_exits(
            &[fa.as_fd(), fb.as_fd()],
            Instant::now() + Duration::from_millis(300),
        );
        assert_eq!(got, [true, false]);
        assert!(start.elapsed() >= Duration::from_millis(250));
        b.kill().unwrap();
        let got = wait_for_exits(
            &[fa.as_fd(), fb.as_fd()],
            Instant::now() + Duration::from_secs(10),
        );
        assert_eq!(got, [true, true]);
        assert!(start.elapsed() < Duration::from_secs(5));
        a.wait().unwrap();
        b.wait().unwrap();
    }
}
