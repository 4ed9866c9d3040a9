//! `Store.import_mlruns`: imports an MLflow file store (an `mlruns` folder)
//! into the store, detached from the interpreter, and returns the core's
//! report as a dict (see `ImportReportDict` in `_native.pyi`).

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::convert;
use crate::errors::OrRaise;
use crate::store::Store;

#[pymethods]
impl Store {
    fn import_mlruns<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let report = py
            .detach(|| self.inner.import_mlruns(&path, &mut |_| {}))
            .or_raise(py)?;
        convert::report(py, &report)
    }
}
