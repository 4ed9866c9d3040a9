//! Metric columns from numpy arrays (or anything `numpy.asarray` takes),
//! read in place when they are contiguous and of the right dtype.

use numpy::prelude::*;
use numpy::{Element, PyArray1, PyReadonlyArray1, PyUntypedArray};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

use crate::errors::{raise, Kind};

/// One column: the caller's array itself, or a copy when it had gaps
/// (strides) in memory.
pub enum Column<'py, T: Element> {
    Borrowed(PyReadonlyArray1<'py, T>),
    Owned(Vec<T>),
}

impl<T: Element> Column<'_, T> {
    pub fn as_slice(&self) -> &[T] {
        match self {
            // Contiguity was checked when the column was made.
            Column::Borrowed(a) => a.as_slice().unwrap_or(&[]),
            Column::Owned(v) => v,
        }
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }
}

static NUMPY: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// `obj` itself if it is a numpy array, else `numpy.asarray(obj)`.
fn as_array<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyUntypedArray>> {
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        return Ok(a.clone());
    }
    let py = obj.py();
    let np = NUMPY.get_or_try_init(py, || py.import("numpy").map(Bound::unbind))?;
    Ok(np
        .bind(py)
        .call_method1("asarray", (obj,))?
        .cast_into::<PyUntypedArray>()?)
}

/// `array` as a one-dimensional column of `T`, if its dtype is of one of
/// `kinds` (numpy's kind letters).
fn column<'py, T: Element + Copy>(
    array: Bound<'py, PyUntypedArray>,
    what: &str,
    kinds: &[u8],
    expected: &str,
) -> PyResult<Column<'py, T>> {
    let py = array.py();
    let dtype = array.dtype();
    if !kinds.contains(&dtype.kind()) {
        return Err(PyTypeError::new_err(format!(
            "{what} must be {expected}, not an array of dtype {}",
            dtype.str()?
        )));
    }
    if array.ndim() != 1 {
        return Err(raise(
            py,
            Kind::InvalidValue,
            format!(
                "{what} must be one-dimensional, not of shape {:?}",
                array.shape()
            ),
        ));
    }
    let target = numpy::dtype::<T>(py);
    let typed = if dtype.is_equiv_to(&target) {
        array.into_any().cast_into::<PyArray1<T>>()?
    } else {
        array
            .call_method1("astype", (target,))?
            .cast_into::<PyArray1<T>>()?
    };
    let readonly = typed.try_readonly()?;
    if readonly.as_slice().is_ok() {
        Ok(Column::Borrowed(readonly))
    } else {
        Ok(Column::Owned(readonly.as_array().iter().copied().collect()))
    }
}

/// Metric values: any real, integer or boolean dtype, as float64.
pub fn floats<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Column<'py, f64>> {
    column(as_array(obj)?, what, b"fiub", "an array of numbers")
}

/// Steps or timestamps: any integer dtype, as int64. Floats are refused
/// rather than truncated.
pub fn ints<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Column<'py, i64>> {
    let array = as_array(obj)?;
    let wide_unsigned = array.dtype().kind() == b'u' && array.dtype().itemsize() >= 8;
    let column = column(array, what, b"iu", "an array of integers")?;
    // uint64 values past i64::MAX would wrap around to negative ones.
    if wide_unsigned && column.as_slice().iter().any(|&v| v < 0) {
        return Err(raise(
            obj.py(),
            Kind::InvalidValue,
            format!("{what} holds values larger than {}", i64::MAX),
        ));
    }
    Ok(column)
}
