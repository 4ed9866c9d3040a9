//! The store's errors as the exception classes of `tracklite.errors`.
//!
//! The classes are written in Python (so that they can derive from both
//! `TrackliteError` and a built-in such as `ValueError`); this module
//! imports them once and raises them by class, with the Rust message.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use tracklite::IndexErrorKind;

/// The classes of `tracklite.errors` this module raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Base,
    InvalidValue,
    InvalidFilter,
    ParamChanged,
    NotFound,
    AlreadyExists,
    InvalidState,
    RunDeleted,
    Format,
    StoreIO,
    Export,
}

const KINDS: usize = 11;

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::Base => "TrackliteError",
            Kind::InvalidValue => "InvalidValueError",
            Kind::InvalidFilter => "InvalidFilterError",
            Kind::ParamChanged => "ParamChangedError",
            Kind::NotFound => "NotFoundError",
            Kind::AlreadyExists => "AlreadyExistsError",
            Kind::InvalidState => "InvalidStateError",
            Kind::RunDeleted => "RunDeletedError",
            Kind::Format => "FormatError",
            Kind::StoreIO => "StoreIOError",
            Kind::Export => "ExportError",
        }
    }

    /// The class that stands for `err` in Python.
    pub fn of(err: &tracklite::Error) -> Kind {
        use tracklite::Error as E;
        match err {
            E::Validation(_) => Kind::InvalidValue,
            E::InvalidFilter { .. } => Kind::InvalidFilter,
            E::ParamChanged { .. } => Kind::ParamChanged,
            E::NotFound { .. } => Kind::NotFound,
            E::AlreadyExists { .. } => Kind::AlreadyExists,
            E::RunDeleted(_) => Kind::RunDeleted,
            E::Deleted { .. }
            | E::AlreadyInStage { .. }
            | E::NotDeleted { .. }
            | E::Conflict { .. }
            | E::LinkPastEnd { .. }
            | E::MalformedTag { .. }
            | E::NotLocal { .. }
            | E::NoStore { .. }
            | E::ImportSource { .. }
            | E::ForeignHandle { .. }
            | E::ReadOnly { .. }
            | E::RunsBackModelVersions { .. } => Kind::InvalidState,
            E::LogMissing { .. } => Kind::Format,
            E::LogReplaced { .. } => Kind::StoreIO,
            E::Format(_) => Kind::Format,
            E::Io { .. } => Kind::StoreIO,
            E::Index(e) => match e.kind() {
                IndexErrorKind::Corrupt => Kind::Format,
                _ => Kind::StoreIO,
            },
            // A variant added to the core later: still a TrackliteError.
            _ => Kind::Base,
        }
    }
}

static CLASSES: [PyOnceLock<Py<PyType>>; KINDS] = [const { PyOnceLock::new() }; KINDS];

/// An exception of class `kind` with `message`.
pub fn raise(py: Python<'_>, kind: Kind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    match CLASSES[kind as usize].import(py, "tracklite.errors", kind.class_name()) {
        Ok(class) => PyErr::from_type(class.clone(), (message,)),
        // Only when the package is broken: keep the message all the same.
        Err(import) => {
            let err = PyRuntimeError::new_err(format!(
                "{message} (tracklite.errors.{} could not be loaded)",
                kind.class_name()
            ));
            err.set_cause(py, Some(import));
            err
        }
    }
}

/// The Python exception for a store error.
pub fn to_py(py: Python<'_>, err: tracklite::Error) -> PyErr {
    raise(py, Kind::of(&err), err.to_string())
}

/// `?`-friendly conversion of the core's results.
pub trait OrRaise<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for tracklite::Result<T> {
    #[inline]
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
