//! The export journal: what an exporter sent to which target server, so
//! that the next export sends only what is new and an interrupted one is
//! finished. This is bookkeeping only; the network code lives in the
//! `tracklite-export` crate.

use std::collections::HashMap;

use super::Store;
use crate::entities::RunStatus;
use crate::error::Result;
use crate::validate;

/// What the journal knows of one run's export to one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournaledRun {
    /// The run's id on the target server.
    pub remote_id: String,
    /// The status last sent by runs/update; `None` before the first.
    pub status: Option<RunStatus>,
    /// The end time last sent by runs/update, in ms since the epoch.
    pub end_time: Option<i64>,
    /// Params sent, by key: the [`value_digest`] of the value sent.
    pub params: HashMap<String, u64>,
    /// Tags sent, by key: the [`value_digest`] of the value sent.
    pub tags: HashMap<String, u64>,
    /// Metric series, by key: how many of its points (a prefix, in the
    /// order [`Store::metric_history`] gives them) were sent.
    pub series: HashMap<String, u64>,
}

impl JournaledRun {
    /// True when param `key` was sent with `value`.
    pub fn param_sent(&self, key: &str, value: &str) -> bool {
        self.params.get(key) == Some(&value_digest(value))
    }

    /// True when tag `key` was sent with `value`.
    pub fn tag_sent(&self, key: &str, value: &str) -> bool {
        self.tags.get(key) == Some(&value_digest(value))
    }

    /// How many points of series `key` were sent (0 when none).
    pub fn points_sent(&self, key: &str) -> u64 {
        self.series.get(key).copied().unwrap_or(0)
    }
}

/// The digest the journal keeps of a param or tag value: 64-bit FNV-1a of
/// its UTF-8 bytes (stable across versions and platforms).
///
/// ```
/// assert_ne!(tracklite::value_digest("0.1"), tracklite::value_digest("0.2"));
/// ```
pub fn value_digest(value: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in value.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The export journal of one target server, from [`Store::export_journal`].
/// Reading it writes nothing (a store open read-only can be read, for a dry
/// run); the first record makes the target's row.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use tracklite::{NewRun, RunStatus, Store};
/// let store = Store::open(dir.path())?;
/// let run = store.create_run(NewRun::default())?;
/// let journal = store.export_journal("http://127.0.0.1:5000");
/// assert!(journal.runs()?.is_empty());
/// journal.record_run(&run.run_id, "0123456789abcdef0123456789abcdef")?;
/// let sent = [("lr".to_string(), "0.1".to_string())];
/// journal.record_sent(&run.run_id, &sent, &[], &[("loss".into(), 100)])?;
/// journal.record_end(&run.run_id, RunStatus::Finished, Some(1_700_000_000_000))?;
/// let runs = journal.runs()?;
/// let known = &runs[&run.run_id];
/// assert!(known.param_sent("lr", "0.1") && !known.param_sent("lr", "0.2"));
/// assert_eq!(known.points_sent("loss"), 100);
/// assert_eq!(known.status, Some(RunStatus::Finished));
/// # Ok::<(), tracklite::Error>(())
/// ```
#[derive(Clone)]
pub struct ExportJournal {
    store: Store,
    target: String,
}

impl Store {
    /// This store's id: 32 lowercase hex digits, random, made once per
    /// store. Exporters tag remote runs with it.
    pub fn store_id(&self) -> Result<String> {
        self.inner.index()?.store_id()
    }

    /// The export journal for the server `target` names. `target` is used
    /// as given: exporters normalise a server's URL first, so that one
    /// server has one journal.
    pub fn export_journal(&self, target: &str) -> ExportJournal {
        ExportJournal {
            store: self.clone(),
            target: target.to_string(),
        }
    }

    /// Every target something was journaled for, in order.
    pub fn export_targets(&self) -> Result<Vec<String>> {
        self.inner.index()?.export_targets()
    }
}

impl ExportJournal {
    /// The target this journal is about.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Local experiment id → remote experiment id.
    pub fn experiments(&self) -> Result<HashMap<String, String>> {
        self.store
            .inner
            .index()?
            .journaled_experiments(&self.target)
    }

    /// Records that local experiment `experiment_id` is `remote_id` remotely.
    pub fn record_experiment(&self, experiment_id: &str, remote_id: &str) -> Result<()> {
        self.store.inner.check_writable()?;
        let id = validate::experiment_id(experiment_id)?;
        self.store
            .inner
            .index()?
            .journal_experiment(&self.target, id, remote_id)
    }

    /// Every journaled run, by local run id.
    pub fn runs(&self) -> Result<HashMap<String, JournaledRun>> {
        self.store.inner.index()?.journaled_runs(&self.target)
    }

    /// Records that local run `run_id` is `remote_id` remotely. When the
    /// journal knew the run as another remote run, what it recorded as sent
    /// to that one is forgotten.
    pub fn record_run(&self, run_id: &str, remote_id: &str) -> Result<()> {
        self.store.inner.check_writable()?;
        validate::run_id(run_id)?;
        self.store
            .inner
            .index()?
            .journal_run(&self.target, run_id, remote_id)
    }

    /// Forgets everything recorded for run `run_id` (such as when its
    /// remote run is gone).
    pub fn forget_run(&self, run_id: &str) -> Result<()> {
        self.store.inner.check_writable()?;
        self.store
            .inner
            .index()?
            .forget_journaled_run(&self.target, run_id)
    }

    /// Records, in one transaction, params and tags sent for a recorded
    /// run (key, value) and, per metric key, how many points of the series
    /// have been sent in all. A run not recorded by
    /// [`ExportJournal::record_run`] is a `NotFound` error.
    pub fn record_sent(
        &self,
        run_id: &str,
        params: &[(String, String)],
        tags: &[(String, String)],
        series: &[(String, u64)],
    ) -> Result<()> {
        self.store.inner.check_writable()?;
        self.store
            .inner
            .index()?
            .journal_sent(&self.target, run_id, params, tags, series)
    }

    /// The artifact files of run `run_id` recorded as uploaded: path
    /// (under the run's artifact folder) → (size, SHA-256 in lower-case
    /// hex).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{NewRun, Store};
    /// let store = Store::open(dir.path())?;
    /// let run = store.create_run(NewRun::default())?;
    /// let journal = store.export_journal("http://127.0.0.1:5000");
    /// journal.record_run(&run.run_id, "0123456789abcdef0123456789abcdef")?;
    /// journal.record_artifact(&run.run_id, "model/weights.bin", 3, "ab12")?;
    /// let files = journal.artifacts(&run.run_id)?;
    /// assert_eq!(files["model/weights.bin"], (3, "ab12".to_string()));
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn artifacts(&self, run_id: &str) -> Result<HashMap<String, (u64, String)>> {
        self.store
            .inner
            .index()?
            .journaled_artifacts(&self.target, run_id)
    }

    /// Records that the artifact file `path` of a recorded run, `size`
    /// bytes with SHA-256 `sha256` (lower-case hex), was uploaded whole.
    /// A run not recorded by [`ExportJournal::record_run`] is a `NotFound`
    /// error.
    pub fn record_artifact(&self, run_id: &str, path: &str, size: u64, sha256: &str) -> Result<()> {
        self.store.inner.check_writable()?;
        self.store
            .inner
            .index()?
            .journal_artifact(&self.target, run_id, path, size, sha256)
    }

    /// Records the status and end time sent for a recorded run.
    pub fn record_end(&self, run_id: &str, status: RunStatus, end_time: Option<i64>) -> Result<()> {
        self.store.inner.check_writable()?;
        self.store
            .inner
            .index()?
            .journal_run_end(&self.target, run_id, status, end_time)
    }

    /// Every object of `kind` journaled (inputs, logged models, registry
    /// objects...): local key → value (a remote id, or what was sent).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let store = tracklite::Store::open(dir.path())?;
    /// let journal = store.export_journal("http://127.0.0.1:5000");
    /// journal.record_object("model_version", "iris/1", "3")?;
    /// assert_eq!(journal.objects("model_version")?["iris/1"], "3");
    /// assert!(journal.objects("alias")?.is_empty());
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn objects(&self, kind: &str) -> Result<HashMap<String, String>> {
        self.store
            .inner
            .index()?
            .journaled_objects(&self.target, kind)
    }

    /// Records (or replaces) what the server holds for object `local_key`
    /// of `kind`.
    pub fn record_object(&self, kind: &str, local_key: &str, value: &str) -> Result<()> {
        self.store.inner.check_writable()?;
        self.store
            .inner
            .index()?
            .journal_object(&self.target, kind, local_key, value)
    }
}
