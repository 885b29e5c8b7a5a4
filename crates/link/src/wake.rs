//! A wake-up one thread gives another without a lock or an allocation: a Linux eventfd. The
//! servo thread calls `notify` (one `write` syscall) after queueing outputs; the network thread's
//! runtime awaits `notified`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

/// The notifying half; cheap to clone, `Send` and `Sync`.
#[derive(Clone)]
pub struct Notifier {
    fd: Arc<OwnedFd>,
}

/// The waiting half, registered with a tokio runtime.
pub struct Waiter {
    fd: tokio::io::unix::AsyncFd<Arc<OwnedFd>>,
}

/// A new eventfd pair. The waiter must be created inside the runtime that awaits it.
pub fn eventfd() -> std::io::Result<(Notifier, impl FnOnce() -> std::io::Result<Waiter>)> {
    // SAFETY: eventfd takes plain flags and returns a new descriptor or -1.
    let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    let fd = Arc::new(unsafe { OwnedFd::from_raw_fd(raw) });
    let notifier = Notifier { fd: fd.clone() };
    let make_waiter = move || {
        // SAFETY: the Arc keeps the descriptor open and the same for the AsyncFd's whole life;
        // the notifier only writes to it.
        let fd = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
        }
        .map_err(|e| e.into_parts().1)?;
        Ok(Waiter { fd })
    };
    Ok((notifier, make_waiter))
}

impl Notifier {
    /// Wakes the waiter (coalesced with other wake-ups it has not consumed yet).
    pub fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a local u64 to a live eventfd. A full counter (EAGAIN)
        // means the waiter is already due to wake, which is all a notification asks for.
        let _ = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}

impl Waiter {
    /// Waits until notified at least once since the last call.
    pub async fn notified(&self) -> std::io::Result<()> {
        read_counter(&self.fd).await
    }
}

/// Waits until a counter descriptor (an eventfd or a timerfd) is readable and consumes its
/// 8-byte count.
pub(crate) async fn read_counter<T: AsRawFd>(
    fd: &tokio::io::unix::AsyncFd<T>,
) -> std::io::Result<()> {
    loop {
        let mut guard = fd.readable().await?;
        let mut count = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a local 8-byte buffer from a live descriptor.
        let n = unsafe {
            libc::read(
                fd.get_ref().as_raw_fd(),
                count.as_mut_ptr().cast(),
                count.len(),
            )
        };
        if n == 8 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::WouldBlock {
            return Err(error);
        }
        guard.clear_ready();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_notification_from_another_thread_wakes_the_waiter() {
        let (notifier, make_waiter) = eventfd().unwrap();
        let waiter = make_waiter().unwrap();
        let thread = std::thread::spawn(move || notifier.notify());
        tokio::time::timeout(std::time::Duration::from_secs(10), waiter.notified())
            .await
            .expect("woken")
            .unwrap();
        thread.join().unwrap();
    }
}
