//! The public store: one directory holding the index, the metric log and
//! the artifacts.

mod artifacts;
mod compact;
mod downsample;
mod durability;
mod experiments;
mod export_journal;
mod forecast;
mod logged_models;
mod metrics;
mod registry;
mod run_end;
mod runs;
mod search;
mod writer;

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, FormatError, Result};
use crate::index::Index;
use crate::log::format::PAGE;
use crate::log::LogFile;
use crate::process;

pub use artifacts::FileInfo;
pub use compact::{CompactReport, Progress, RECLAIM_GRACE};
pub use durability::Durability;
pub use export_journal::{value_digest, ExportJournal, JournaledRun};
pub use logged_models::{
    DatasetFilter, LoggedModelOrder, LoggedModelPage, SEARCH_LOGGED_MODELS_MAX_RESULTS_DEFAULT,
};
pub(crate) use metrics::fold_block;
pub use registry::{
    ModelVersionPage, RegisteredModelPage, SEARCH_MODEL_VERSIONS_MAX_RESULTS_DEFAULT,
    SEARCH_MODEL_VERSIONS_MAX_RESULTS_LIMIT, SEARCH_REGISTERED_MODELS_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODELS_MAX_RESULTS_LIMIT,
};
pub use runs::{GcOptions, GcReport};
pub use search::{ExperimentPage, RunPage};
pub use writer::{MetricWriter, SeriesHandle};

use durability::DurabilityCell;
use writer::WriterState;

/// File name of the metadata index inside a store.
pub const INDEX_FILE: &str = "index.sqlite";
/// File name of the metric log inside a store.
pub const LOG_FILE: &str = "metrics.log";
/// Folder of run artifacts inside a store.
pub const ARTIFACTS_DIR: &str = "artifacts";

/// An open tracklite store. Cheap to clone; safe to share between threads;
/// any number of processes may open the same store at once.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use tracklite::{NewRun, Store};
/// let store = Store::open(dir.path().join("runs"))?;
/// let run = store.create_run(NewRun::default())?;
/// store.log_metric(&run.run_id, "loss", 0.25, 1_700_000_000_000, 1)?;
/// assert_eq!(store.get_run(&run.run_id)?.metrics["loss"].value, 0.25);
/// # Ok::<(), tracklite::Error>(())
/// ```
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    root: PathBuf,
    /// `<root>/artifacts`, as artifact locations spell it.
    artifact_root: String,
    index: Mutex<process::PerProcess<Index>>,
    log: Mutex<process::PerProcess<Arc<LogFile>>>,
    /// Writers behind `Store::log_metric` and `log_batch`, one per run.
    writers: Mutex<HashMap<String, WriterState>>,
    /// A clock of uses of `writers`, to close the least recently used.
    writer_ticks: AtomicU64,
    /// The metric keys new runs will likely log (`forecast.rs`).
    forecast: Mutex<forecast::Forecast>,
    /// Opened with [`Store::open_read_only`].
    read_only: bool,
    /// Whether ending a run and closing a writer sync to disk.
    durability: DurabilityCell,
}

/// How a store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenMode {
    /// Created when missing.
    Create,
    /// Must exist; nothing is created.
    Existing,
    /// Must exist; nothing is created or written.
    ReadOnly,
}

impl Store {
    /// Opens the store at `path`, creating the directory and its files when
    /// they are missing. A store written by a newer tracklite is refused.
    /// To open only a store that exists, see [`Store::open_existing`].
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_in(path.as_ref(), OpenMode::Create)
    }

    /// Opens the store at `path`, which must exist: a missing directory, or
    /// one without the store's index, is a [`Error::NoStore`] error and
    /// nothing is created; an index whose metric log is gone is a
    /// [`Error::LogMissing`] error. Inspection tools use this.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{Error, Store};
    /// let path = dir.path().join("runs");
    /// assert!(matches!(Store::open_existing(&path), Err(Error::NoStore { .. })));
    /// assert!(!path.exists());
    /// Store::open(&path)?;
    /// Store::open_existing(&path)?;
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_in(path.as_ref(), OpenMode::Existing)
    }

    /// Opens an existing store for reading only. Nothing is created or
    /// written, so this works where a writable open cannot: on a full disk
    /// (even while another process is writing), on read-only media and
    /// without write permission. Everything readable is served; any change
    /// (a run, a metric, a tag, an artifact, compaction or gc) is a
    /// [`Error::ReadOnly`] error. Metric summaries are those the store's
    /// writers last folded; histories are read from the log itself, whole.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{Error, NewRun, Store};
    /// let path = dir.path().join("runs");
    /// let run = Store::open(&path)?.create_run(NewRun::default())?;
    /// let store = Store::open_read_only(&path)?;
    /// assert_eq!(store.get_run(&run.run_id)?.info.run_id, run.run_id);
    /// let refused = store.set_tag(&run.run_id, "k", "v");
    /// assert!(matches!(refused, Err(Error::ReadOnly { .. })));
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_in(path.as_ref(), OpenMode::ReadOnly)
    }

    /// True when the store was opened with [`Store::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    fn open_in(root: &Path, mode: OpenMode) -> Result<Store> {
        process::install_hook();
        // Opening uses SQLite: no fork may copy it half way.
        let _inside = process::enter();
        let missing = |reason: String| {
            Err(Error::NoStore {
                path: root.to_path_buf(),
                reason,
            })
        };
        if root.exists() && !root.is_dir() {
            return missing("it is a file, not a store directory".into());
        }
        if mode == OpenMode::Create {
            std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        } else if !root.exists() {
            return missing("the directory does not exist".into());
        } else {
            // A missing log is told apart below, from what the index holds.
            if !root.join(INDEX_FILE).is_file() {
                return missing(format!(
                    "the directory has no {INDEX_FILE}, so it is not a tracklite store"
                ));
            }
        }
        let root = root.canonicalize().map_err(|e| Error::io(root, e))?;
        let read_only = mode == OpenMode::ReadOnly;
        let index = open_index(&root, read_only)?;
        let pages = index.end_of_blocks()?;
        let log_path = root.join(LOG_FILE);
        if pages > 1 && !log_path.exists() {
            return Err(Error::LogMissing {
                path: log_path,
                state: "is missing",
                pages,
            });
        }
        let log = open_log(&root, read_only)?;
        // A log made anew (one header page, nothing allocated) in place of
        // one the index has blocks in.
        if pages > 1 && log.len()? <= PAGE && log.allocated_pages() <= 1 {
            return Err(Error::LogMissing {
                path: log_path,
                state: "is new and empty",
                pages,
            });
        }
        if !read_only {
            let artifacts = root.join(ARTIFACTS_DIR);
            std::fs::create_dir_all(&artifacts).map_err(|e| Error::io(&artifacts, e))?;
            // After a power loss the allocator may lag behind the index.
            log.reserve_through(index.end_of_blocks()?);
        }
        let store = Store {
            inner: Arc::new(Inner {
                artifact_root: root.join(ARTIFACTS_DIR).to_string_lossy().into_owned(),
                root,
                index: Mutex::new(process::PerProcess::new(index)),
                log: Mutex::new(process::PerProcess::new(Arc::new(log))),
                writers: Mutex::new(HashMap::new()),
                writer_ticks: AtomicU64::new(0),
                forecast: Mutex::new(forecast::Forecast::default()),
                read_only,
                durability: DurabilityCell::default(),
            }),
        };
        if !read_only {
            store.recover()?;
        }
        Ok(store)
    }

    /// What this handle (and its clones) guarantees about an acknowledged
    /// write; see [`Durability`]. Default: [`Durability::Process`].
    pub fn durability(&self) -> Durability {
        self.inner.durability.get()
    }

    /// Chooses what this handle (and its clones) guarantees about an
    /// acknowledged write from now on; other handles and processes keep
    /// their own choice.
    pub fn set_durability(&self, durability: Durability) {
        self.inner.durability.set(durability)
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.inner.root
    }

    /// The store's `artifacts` folder.
    pub fn artifact_root(&self) -> &str {
        &self.inner.artifact_root
    }
}

impl Inner {
    /// This process's index connection; a forked child opens its own.
    pub(crate) fn index(&self) -> Result<Locked<'_, process::PerProcess<Index>>> {
        let mut guard = lock(&self.index);
        guard.reopen_if_forked(|| open_index(&self.root, self.read_only))?;
        if self.read_only {
            guard.follow_writers()?;
        }
        Ok(guard)
    }

    /// This process's handle on the metric log; a forked child opens its own.
    pub(crate) fn log(&self) -> Result<Arc<LogFile>> {
        let mut guard = lock(&self.log);
        guard.reopen_if_forked(|| open_log(&self.root, self.read_only).map(Arc::new))?;
        Ok(Arc::clone(&guard))
    }
}

/// [`Inner::allocate`] with the caller's connection (or transaction).
pub(crate) fn allocate_in(log: &LogFile, conn: &rusqlite::Connection, pages: u32) -> Result<u64> {
    let first = log.allocate(pages)?;
    if !crate::index::blocks_overlap(conn, first, pages)? {
        return Ok(first);
    }
    log.reserve_through(crate::index::end_of_blocks_in(conn)?);
    let again = log.allocate(pages)?;
    if crate::index::blocks_overlap(conn, again, pages)? {
        return Err(FormatError::AllocatorDamaged {
            path: log.path().to_path_buf(),
            value: again,
            reason: "which is inside blocks the index has".into(),
        }
        .into());
    }
    Ok(again)
}

fn open_index(root: &Path, read_only: bool) -> Result<Index> {
    let path = root.join(INDEX_FILE);
    if read_only {
        Index::open_read_only(&path)
    } else {
        Index::open(&path)
    }
}

fn open_log(root: &Path, read_only: bool) -> Result<LogFile> {
    let path = root.join(LOG_FILE);
    if read_only {
        LogFile::open_read_only(&path)
    } else {
        LogFile::open(&path)
    }
}

impl Inner {
    /// Allocates `pages` pages of the log for a new block, checked against
    /// the index's block map: the allocator sits in the log's header,
    /// outside any checksum, and a value damaged (or lost at a power loss)
    /// to below a block the index knows would make the new block overwrite
    /// it. Then the allocator is moved past every known block and the
    /// allocation made again; nothing was written meanwhile.
    pub(crate) fn allocate(&self, log: &LogFile, pages: u32) -> Result<u64> {
        allocate_in(log, self.index()?.conn(), pages)
    }

    /// A [`Error::ReadOnly`] error when the store is open read-only.
    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly {
                path: self.root.clone(),
                reason: "the store is open read-only".into(),
            });
        }
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Seal this process's blocks so that no later reader waits on them.
        let writers = std::mem::take(&mut *lock(&self.writers));
        for (_, mut w) in writers {
            let _ = w.close(self);
        }
    }
}

/// A locked mutex of the store, held inside the fork gate, so that no fork
/// happens while it is held (see [`process::enter`]).
pub(crate) struct Locked<'a, T> {
    // Declared first: dropped (unlocked) before the gate is left.
    guard: MutexGuard<'a, T>,
    _inside: process::Inside,
}

impl<T> Deref for Locked<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

/// Locks a mutex inside the fork gate, recovering it if a panicking thread
/// poisoned it: the data behind these locks stays consistent because every
/// change is a committed transaction or a whole record.
pub(crate) fn lock<T>(m: &Mutex<T>) -> Locked<'_, T> {
    let inside = process::enter();
    Locked {
        guard: m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        _inside: inside,
    }
}
