//! Errors: one enum per layer, all converted into the crate's [`Error`].

use std::path::PathBuf;

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
        kind: &'static str,
        key: String,
        rule: String,
    },
    /// A value longer than MLflow allows. Values are never truncated.
    #[error("{field} for key {key:?} is {length} characters long; the limit is {limit}")]
    TooLong {
        field: &'static str,
        key: String,
        length: usize,
        limit: usize,
    },
    /// A batch with more entries than MLflow allows.
    #[error("a batch may hold at most {limit} {what}, this one holds {count}")]
    BatchTooLarge {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    /// Any other malformed value: an id, a name, a status.
    #[error("invalid {field} {value:?}: {rule}")]
    InvalidValue {
        field: &'static str,
        value: String,
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
        what: &'static str,
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// A file that does not look like a tracklite file at all.
    #[error("{path} is not a tracklite {what}: {reason}")]
    NotAStore {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
}

/// Every error the store returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error(transparent)]
    Format(#[from] FormatError),
    /// An experiment or run that does not exist.
    #[error("{kind} {id:?} does not exist")]
    NotFound { kind: &'static str, id: String },
    /// A unique name that is already taken.
    #[error("{kind} {name:?} already exists")]
    AlreadyExists { kind: &'static str, name: String },
    /// Params are immutable once logged.
    #[error(
        "param {key:?} of run {run_id} already logged as {old:?}, cannot change it to {new:?}"
    )]
    ParamChanged {
        run_id: String,
        key: String,
        old: String,
        new: String,
    },
    /// A search filter or order_by clause that does not parse, or asks for
    /// something MLflow's search does not allow. `position` counts
    /// characters from the start of `input` to `token`, the offending part
    /// (empty at the end of the input).
    #[error("invalid {what} {input:?}: {message} (at character {position}, {token:?})")]
    InvalidFilter {
        what: &'static str,
        input: String,
        position: usize,
        token: String,
        message: String,
    },
    /// The operation is not allowed in the entity's current state, such as
    /// logging to a deleted run.
    #[error("{0}")]
    InvalidState(String),
    /// A change to, or logging into, a deleted run (its id is the value).
    /// The run must be restored first.
    #[error("run {0} is deleted; restore it before changing or logging to it")]
    RunDeleted(String),
    /// An I/O error, with the path it happened on.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An error from the SQLite index.
    #[error("metadata index error: {0}")]
    Index(#[from] rusqlite::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            id: id.into(),
        }
    }
}
