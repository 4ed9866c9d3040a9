//! Stored enumerations, read strictly: a value the index holds that is
//! none of the enumeration's is an error ([`FormatError::UnknownStoredValue`]),
//! never a silent default.
//!
//! [`FormatError::UnknownStoredValue`]: crate::FormatError::UnknownStoredValue

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};

use crate::entities::{LifecycleStage, LoggedModelStatus, RunStatus};
use crate::error::UnknownValue;

/// A value read from the index with its enumeration's own spelling.
pub(crate) struct Stored<T>(pub T);

/// An enumeration as the index spells it.
pub(crate) trait StoredEnum: Sized {
    /// What the column holds, for errors.
    const WHAT: &'static str;
    /// The values allowed, for errors.
    const EXPECTED: &'static str;
    /// The value `text` spells, if any.
    fn from_stored(text: &str) -> Option<Self>;
}

impl<T: StoredEnum> FromSql for Stored<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        T::from_stored(text).map(Stored).ok_or_else(|| {
            FromSqlError::Other(Box::new(UnknownValue {
                what: T::WHAT,
                value: text.to_owned(),
                expected: T::EXPECTED,
            }))
        })
    }
}

impl StoredEnum for LifecycleStage {
    const WHAT: &'static str = "lifecycle stage";
    const EXPECTED: &'static str = "active, deleted";
    fn from_stored(text: &str) -> Option<Self> {
        match text {
            "active" => Some(LifecycleStage::Active),
            "deleted" => Some(LifecycleStage::Deleted),
            _ => None,
        }
    }
}

impl StoredEnum for RunStatus {
    const WHAT: &'static str = "run status";
    const EXPECTED: &'static str = "RUNNING, SCHEDULED, FINISHED, FAILED, KILLED";
    fn from_stored(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

impl StoredEnum for LoggedModelStatus {
    const WHAT: &'static str = "logged model status";
    const EXPECTED: &'static str = "PENDING, READY, FAILED";
    fn from_stored(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

impl StoredEnum for crate::entities::ModelVersionStage {
    const WHAT: &'static str = "model version stage";
    const EXPECTED: &'static str = "None, Staging, Production, Archived";
    fn from_stored(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}
