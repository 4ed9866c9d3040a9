//! Process helpers, in one place: fork safety and process liveness.
//!
//! Fork safety: a child process never reuses its parent's SQLite connection,
//! log handle or open blocks. A fork hook bumps a generation counter in the
//! child; handles made in an older generation are replaced before use.
//!
//! Nor does a child inherit a lock that a thread of its parent held when it
//! forked (that thread does not exist in the child, so the lock would stay
//! held forever): every lock of the store, and every use of SQLite, happens
//! inside the fork gate ([`enter`]), and the fork hook waits, before the
//! fork, until no other thread is inside. A fork therefore waits for the
//! store operations under way in other threads to end (each is one
//! transaction or one file operation), and store operations started during
//! a fork wait for it to end.
//!
//! Liveness: a block still open by a writer, or a run still being imported,
//! names the process that owns it; a dead owner's work may be taken over.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Once;

use crate::error::Result;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static HOOK: Once = Once::new();

/// Threads inside the gate.
static INSIDE: AtomicUsize = AtomicUsize::new(0);
/// Set by a thread about to fork: no thread may enter the gate meanwhile.
static FORKING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// How deep this thread is inside the gate: only the outermost entry
    /// counts in [`INSIDE`], so that a nested entry never waits on a fork
    /// that waits on this very thread.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Proof that this thread is inside the fork gate; leaves it when dropped.
pub struct Inside(());

/// Enters the fork gate, waiting while another thread forks. Cheap when no
/// fork is under way: two atomic operations on the outermost entry.
pub fn enter() -> Inside {
    DEPTH.with(|depth| {
        if depth.get() == 0 {
            loop {
                while FORKING.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                // Announce, then look again: a forking thread either sees
                // this thread inside, or this thread sees it forking.
                INSIDE.fetch_add(1, Ordering::SeqCst);
                if !FORKING.load(Ordering::SeqCst) {
                    break;
                }
                INSIDE.fetch_sub(1, Ordering::SeqCst);
            }
        }
        depth.set(depth.get() + 1);
    });
    Inside(())
}

impl Drop for Inside {
    fn drop(&mut self) {
        DEPTH.with(|depth| {
            depth.set(depth.get() - 1);
            if depth.get() == 0 {
                INSIDE.fetch_sub(1, Ordering::SeqCst);
            }
        });
    }
}

/// Before a fork: bar new entries, then wait until the only thread inside
/// (if any) is this one.
extern "C" fn before_fork() {
    FORKING.store(true, Ordering::SeqCst);
    let own = DEPTH.with(|depth| usize::from(depth.get() > 0));
    while INSIDE.load(Ordering::SeqCst) > own {
        std::thread::yield_now();
    }
}

/// In the parent after a fork: let threads in again.
extern "C" fn after_fork_in_parent() {
    FORKING.store(false, Ordering::SeqCst);
}

/// In the child: a new generation of handles; only the forking thread
/// exists, so the gate holds at most that thread.
extern "C" fn after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
    let own = DEPTH.with(|depth| usize::from(depth.get() > 0));
    INSIDE.store(own, Ordering::SeqCst);
    FORKING.store(false, Ordering::SeqCst);
}

/// Registers the fork hooks, once per process.
pub fn install_hook() {
    HOOK.call_once(|| {
        // SAFETY: the handlers only touch atomics and this thread's own
        // thread-local counter, and yield; none allocates or takes a lock.
        unsafe {
            libc::pthread_atfork(
                Some(before_fork),
                Some(after_fork_in_parent),
                Some(after_fork_in_child),
            );
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
