//! How durable an acknowledged write is, chosen per open store.

use std::sync::atomic::{AtomicU8, Ordering};

/// What a store guarantees about a write once the call that made it has
/// returned. Default: [`Durability::Process`].
///
/// Either way [`Store::flush`](crate::Store::flush) and
/// [`MetricWriter::flush`](crate::MetricWriter::flush) make everything
/// logged so far durable against power loss.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use tracklite::{Durability, Store};
/// let store = Store::open(dir.path().join("runs"))?;
/// assert_eq!(store.durability(), Durability::Process);
/// store.set_durability(Durability::PowerLoss);
/// assert_eq!(store.durability(), Durability::PowerLoss);
/// # Ok::<(), tracklite::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// Every acknowledged write survives the process being killed
    /// (SIGKILL, a crash): points are in the kernel's page cache and index
    /// commits in SQLite's WAL. A power loss or kernel crash may lose what
    /// was written since the last flush. Ending a run or closing a writer
    /// costs no disk sync.
    #[default]
    Process,
    /// As `Process`, and ending a run (a terminal status) or closing a
    /// metric writer also syncs the metric log and the index's WAL to disk,
    /// so that the run survives a power loss: a few milliseconds per run
    /// end on most disks.
    PowerLoss,
}

/// A [`Durability`] shared by the threads using one store.
#[derive(Debug, Default)]
pub(crate) struct DurabilityCell(AtomicU8);

impl DurabilityCell {
    pub(crate) fn get(&self) -> Durability {
        match self.0.load(Ordering::Relaxed) {
            0 => Durability::Process,
            _ => Durability::PowerLoss,
        }
    }

    pub(crate) fn set(&self, durability: Durability) {
        let code = match durability {
            Durability::Process => 0,
            Durability::PowerLoss => 1,
        };
        self.0.store(code, Ordering::Relaxed);
    }
}
