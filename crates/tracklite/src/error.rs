//! Errors: one enum per layer, all converted into the crate's [`Error`].
//! No type of another crate appears in them: an SQLite failure is an
//! [`IndexError`], classified by [`IndexErrorKind`].

use std::fmt;
use std::path::PathBuf;

use crate::entities::{BackingRun, LifecycleStage};

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A value broke one of MLflow's rules. Every variant names the field, the
/// offending value and the rule, so that a caller can fix the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A param, metric or tag key is empty, too long, has a forbidden
    /// character or would escape its directory.
    #[error("invalid {kind} key {key:?}: {rule}")]
    InvalidKey {
        /// What the key names: `param`, `metric`, `tag`, ...
        kind: &'static str,
        /// The key as given.
        key: String,
        /// The rule it breaks.
        rule: String,
    },
    /// A value longer than MLflow allows. Values are never truncated.
    #[error("{field} for key {key:?} is {length} characters long; the limit is {limit}")]
    TooLong {
        /// The field that is too long: `param value`, `tag value`, ...
        field: &'static str,
        /// The key (or name) the value belongs to.
        key: String,
        /// The value's length, in characters.
        length: usize,
        /// The longest value allowed.
        limit: usize,
    },
    /// A batch with more entries than MLflow allows.
    #[error("a batch may hold at most {limit} {what}, this one holds {count}")]
    BatchTooLarge {
        /// The entries counted: `metrics`, `params`, `tags`, ...
        what: &'static str,
        /// How many the batch holds.
        count: usize,
        /// The most allowed.
        limit: usize,
    },
    /// Any other malformed value: an id, a name, a status.
    #[error("invalid {field} {value:?}: {rule}")]
    InvalidValue {
        /// The field: `run id`, `experiment name`, ...
        field: &'static str,
        /// The value as given.
        value: String,
        /// The rule it breaks.
        rule: String,
    },
}

/// Problems with the files of a store: format, version, damage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The store was written by a newer tracklite.
    #[error("{what} at {path} has format version {found}; this tracklite reads versions up to {supported}, upgrade tracklite to open it")]
    TooNew {
        /// The file: `index` or `metric log`.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The version it has.
        found: u32,
        /// The newest version this tracklite reads.
        supported: u32,
    },
    /// A file that does not look like a tracklite file at all.
    #[error("{path} is not a tracklite {what}: {reason}")]
    NotAStore {
        /// The file expected: `index`, `metric log`, ...
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The metric log's shared page allocator (in its header page, outside
    /// any checksum) holds a value no store can have: it was damaged.
    /// Nothing was written; `check --repair` rebuilds it.
    #[error("the page allocator in the header of {path} holds {value}, {reason}: it was damaged; run `tracklite check --repair` (with no other process writing to the store) to rebuild it")]
    AllocatorDamaged {
        /// The metric log.
        path: PathBuf,
        /// The value found.
        value: u64,
        /// Why it cannot be right.
        reason: String,
    },
    /// A stored enumeration (a run status, a lifecycle stage) holds a value
    /// this tracklite does not know: the index is damaged, or was written
    /// by something else. It is never read as a default.
    #[error("the index holds {value:?} as a {what}, which is none of {expected}: the index is damaged or was written by another program")]
    UnknownStoredValue {
        /// What the column holds: `run status`, `lifecycle stage`, ...
        what: &'static str,
        /// The value found.
        value: String,
        /// The values allowed.
        expected: &'static str,
    },
}

/// The kinds of things a store holds, as errors name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntityKind {
    /// A store directory.
    Store,
    /// An experiment.
    Experiment,
    /// An experiment's tag.
    ExperimentTag,
    /// A run.
    Run,
    /// A run's tag.
    RunTag,
    /// A run's artifact file or directory.
    Artifact,
    /// A logged model (MLflow 3).
    LoggedModel,
    /// A logged model's tag.
    LoggedModelTag,
    /// A handle on a metric series of a writer.
    SeriesHandle,
    /// A registered model of the model registry.
    RegisteredModel,
    /// A version of a registered model.
    ModelVersion,
}

impl EntityKind {
    /// The kind as messages spell it: `experiment`, `logged model tag`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Store => "store",
            EntityKind::Experiment => "experiment",
            EntityKind::ExperimentTag => "experiment tag",
            EntityKind::Run => "run",
            // MLflow's messages say "tag" for a run's tag.
            EntityKind::RunTag => "tag",
            EntityKind::Artifact => "artifact",
            EntityKind::LoggedModel => "logged model",
            EntityKind::LoggedModelTag => "logged model tag",
            EntityKind::SeriesHandle => "series handle",
            EntityKind::RegisteredModel => "registered model",
            EntityKind::ModelVersion => "model version",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of failure of the SQLite index an [`IndexError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexErrorKind {
    /// The database file is damaged, or is not a database.
    Corrupt,
    /// The disk (or a quota) is full.
    Full,
    /// The file, or its directory, cannot be written.
    ReadOnly,
    /// The file cannot be opened.
    CannotOpen,
    /// Another connection holds a lock for longer than the wait allowed.
    Busy,
    /// The index cannot be used the way the store needs (such as WAL mode).
    Unsupported,
    /// Any other failure.
    Other,
}

/// A failure of the SQLite index: its kind and SQLite's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexError {
    kind: IndexErrorKind,
    message: String,
}

impl IndexError {
    pub(crate) fn new(kind: IndexErrorKind, message: impl Into<String>) -> Self {
        IndexError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> IndexErrorKind {
        self.kind
    }

    /// SQLite's message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for IndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IndexError {}

/// Every error the store returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value broke one of MLflow's rules.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A file of the store is of an unknown format, too new, or damaged.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// An entity that does not exist.
    #[error("{kind} {id:?} does not exist")]
    NotFound {
        /// What was looked for.
        kind: EntityKind,
        /// Its id or name, with what it belongs to when that helps.
        id: String,
    },
    /// A unique name that is already taken.
    #[error("{kind} {name:?} already exists")]
    AlreadyExists {
        /// What was to be made.
        kind: EntityKind,
        /// The name taken.
        name: String,
    },
    /// Params are immutable once logged.
    #[error(
        "param {key:?} of run {run_id} already logged as {old:?}, cannot change it to {new:?}"
    )]
    ParamChanged {
        /// The run.
        run_id: String,
        /// The param's key.
        key: String,
        /// The value it has.
        old: String,
        /// The value refused.
        new: String,
    },
    /// A search filter or order_by clause that does not parse, or asks for
    /// something MLflow's search does not allow. `position` counts
    /// characters from the start of `input` to `token`, the offending part
    /// (empty at the end of the input).
    #[error("invalid {what} {input:?}: {message} (at character {position}, {token:?})")]
    InvalidFilter {
        /// `filter` or `order_by clause`.
        what: &'static str,
        /// The text given.
        input: String,
        /// Where the problem starts, in characters.
        position: usize,
        /// The offending part.
        token: String,
        /// What is wrong.
        message: String,
    },
    /// A change to, or logging into, a deleted run (its id is the value).
    /// The run must be restored first.
    #[error("run {0} is deleted; restore it before changing or logging to it")]
    RunDeleted(String),
    /// An operation that a deleted entity (other than a run's logging, see
    /// [`Error::RunDeleted`]) does not allow.
    #[error("{kind} {id} is deleted; {rule}")]
    Deleted {
        /// The deleted entity's kind.
        kind: EntityKind,
        /// Its id, or name and id.
        id: String,
        /// What cannot be done, and how to proceed.
        rule: &'static str,
    },
    /// A move to the lifecycle stage the entity is already in.
    #[error("{kind} {id} is already {}", stage.as_str())]
    AlreadyInStage {
        /// The entity's kind.
        kind: EntityKind,
        /// Its id.
        id: String,
        /// The stage it is in.
        stage: LifecycleStage,
    },
    /// A permanent removal of an entity that is not deleted.
    #[error("{kind} {id} is not deleted; only deleted {kind}s can be removed permanently")]
    NotDeleted {
        /// The entity's kind.
        kind: EntityKind,
        /// Its id.
        id: String,
    },
    /// A gc that would remove, for good, deleted runs whose artifacts
    /// registered model versions use (the versions would lose their
    /// files). Nothing was removed; a forced gc removes them anyway.
    #[error("{}", refused_gc(runs))]
    RunsBackModelVersions {
        /// Every such run, by id, with the versions that use it.
        runs: Vec<BackingRun>,
    },
    /// A record from elsewhere (an import) that contradicts the store's own
    /// entity of the same id or name; nothing of it is written.
    #[error("{kind} {id} cannot be written: {reason}")]
    Conflict {
        /// The record's kind.
        kind: EntityKind,
        /// The record's id.
        id: String,
        /// What contradicts it.
        reason: String,
    },
    /// A dataset link that names a metric point the series does not have.
    #[error("a dataset link names point {ordinal} of metric {key:?} of run {run_id}, which has {count} points")]
    LinkPastEnd {
        /// The run.
        run_id: String,
        /// The metric's key.
        key: String,
        /// The point named (0-based).
        ordinal: u64,
        /// The points the series has.
        count: u64,
    },
    /// A tag that the store keeps in a set format (such as MLflow's list of
    /// a run's logged models) holds something else.
    #[error("the {key} tag of run {run_id} {reason}")]
    MalformedTag {
        /// The run.
        run_id: String,
        /// The tag's key.
        key: &'static str,
        /// What is wrong, and what to do.
        reason: &'static str,
    },
    /// A run whose artifacts are not in a local directory.
    #[error("run {run_id} keeps its artifacts at {uri:?}, which {reason}; this store serves artifacts from local directories only (a path or a file:// URI)")]
    NotLocal {
        /// The run.
        run_id: String,
        /// Its artifact location.
        uri: String,
        /// Why it is not local.
        reason: String,
    },
    /// A path that holds no store, or is not one.
    #[error("no tracklite store at {path}: {reason}")]
    NoStore {
        /// The path given.
        path: PathBuf,
        /// What is there instead.
        reason: String,
    },
    /// A folder to import that cannot be imported.
    #[error("cannot import {path}: {reason}")]
    ImportSource {
        /// The folder given.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// A series handle used with a writer that did not make it.
    #[error("series handle {handle} does not belong to this writer")]
    ForeignHandle {
        /// The handle's number.
        handle: usize,
    },
    /// The metric log is missing, or was replaced by a new empty one, while
    /// the index references blocks in it: opening would serve empty
    /// histories for runs that have points, so the store is not opened.
    #[error("the metric log {path} {state}, but the index references {pages} pages of metric blocks in it: restore the store's metrics.log (it must be copied with index.sqlite); the store is left unopened so that no run shows an empty history")]
    LogMissing {
        /// The log's path.
        path: PathBuf,
        /// `is missing` or `is new and empty`.
        state: &'static str,
        /// Pages of blocks the index references.
        pages: u64,
    },
    /// The metric log this process has open was deleted or replaced by
    /// another file: points written now would go nowhere any reader sees,
    /// so they are refused.
    #[error("the metric log {path} was deleted or replaced while this process had it open; points logged now would be lost, so they are refused: restore the file if it was deleted by mistake, then open the store again")]
    LogReplaced {
        /// The log's path.
        path: PathBuf,
    },
    /// A write to a store opened read-only, or to a file of the store that
    /// cannot be written; nothing was changed.
    #[error("cannot write {path}: {reason}")]
    ReadOnly {
        /// The store, or the file that cannot be written.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },
    /// An I/O error, with the path it happened on.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An error from the SQLite index.
    #[error("metadata index error: {0}")]
    Index(IndexError),
}

/// The message of [`Error::RunsBackModelVersions`]: every run, every
/// version, and the way out.
fn refused_gc(runs: &[BackingRun]) -> String {
    let each: Vec<String> = runs
        .iter()
        .map(|r| {
            let versions: Vec<String> = r
                .versions
                .iter()
                .map(|(name, version)| format!("model {name:?} version {version}"))
                .collect();
            format!("run {} backs {}", r.run_id, versions.join(", "))
        })
        .collect();
    format!(
        "gc refused, nothing was removed: registered model versions use the artifacts of \
         deleted runs ({}); removing the runs would delete those versions' files. Delete the \
         model versions or restore the runs first, or pass --force (`tracklite gc --force`) to \
         remove the runs anyway",
        each.join("; ")
    )
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn not_found(kind: EntityKind, id: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            id: id.into(),
        }
    }
}

/// SQLite's failures, classified. A stored value that does not decode
/// (see `index::stored`) becomes the [`FormatError`] it carries.
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        if let rusqlite::Error::FromSqlConversionFailure(_, _, inner) = &e {
            if let Some(unknown) = inner.downcast_ref::<UnknownValue>() {
                return FormatError::UnknownStoredValue {
                    what: unknown.what,
                    value: unknown.value.clone(),
                    expected: unknown.expected,
                }
                .into();
            }
        }
        // A page that does not match its checksum (index/checksum_vfs.rs):
        // damage, named by the page the VFS recorded.
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.extended_code == crate::index::checksum_vfs::DAMAGED_PAGE {
                let place = crate::index::checksum_vfs::take_damage()
                    .unwrap_or_else(|| "a page does not match its checksum".into());
                return Error::Index(IndexError::new(
                    IndexErrorKind::Corrupt,
                    format!("the index is damaged: {place} ({e})"),
                ));
            }
        }
        let kind = match e.sqlite_error_code() {
            Some(C::DatabaseCorrupt | C::NotADatabase) => IndexErrorKind::Corrupt,
            Some(C::DiskFull) => IndexErrorKind::Full,
            Some(C::ReadOnly) => IndexErrorKind::ReadOnly,
            Some(C::CannotOpen) => IndexErrorKind::CannotOpen,
            Some(C::DatabaseBusy | C::DatabaseLocked) => IndexErrorKind::Busy,
            _ => IndexErrorKind::Other,
        };
        Error::Index(IndexError::new(kind, e.to_string()))
    }
}

/// A stored value that is none of its enumeration's values; carried
/// through rusqlite's conversion error to [`FormatError::UnknownStoredValue`].
#[derive(Debug)]
pub(crate) struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a {} (expected one of {})",
            self.value, self.what, self.expected
        )
    }
}

impl std::error::Error for UnknownValue {}
