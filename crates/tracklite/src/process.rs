//! Process helpers, in one place: fork safety and process liveness.
//!
//! Fork safety: a child process never reuses its parent's SQLite connection,
//! log handle or open blocks. A fork hook bumps a generation counter in the
//! child; handles made in an older generation are replaced before use.
//!
//! Liveness: a block still open by a writer, or a run still being imported,
//! names the process that owns it; a dead owner's work may be taken over.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use crate::error::Result;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static HOOK: Once = Once::new();

extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Registers the fork hook, once per process.
pub fn install_hook() {
    HOOK.call_once(|| {
        // SAFETY: the handler only touches an atomic, which is fork-safe.
        unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        }
    });
}

/// The current fork generation of this process.
#[inline]
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

/// A handle that belongs to the process that made it.
pub struct PerProcess<T> {
    value: T,
    generation: u64,
}

impl<T> PerProcess<T> {
    pub fn new(value: T) -> Self {
        PerProcess {
            value,
            generation: generation(),
        }
    }

    /// Replaces the handle when it was inherited across a fork. The old one
    /// is leaked on purpose: closing it could release the parent's locks.
    pub fn reopen_if_forked(&mut self, open: impl FnOnce() -> Result<T>) -> Result<()> {
        if self.generation != generation() {
            let fresh = open()?;
            std::mem::forget(std::mem::replace(&mut self.value, fresh));
            self.generation = generation();
        }
        Ok(())
    }
}

impl<T> Deref for PerProcess<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for PerProcess<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

/// True when a process with this id exists (it may belong to another user).
pub fn pid_is_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists; no signal is sent.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
