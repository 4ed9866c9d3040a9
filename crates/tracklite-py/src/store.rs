//! `Store`: an open store directory. Every method that reaches the index,
//! the metric log or the artifacts runs detached from the interpreter, so
//! other Python threads keep running meanwhile.

use std::ffi::{OsStr, OsString};
use std::mem::ManuallyDrop;
use std::path::PathBuf;

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use tracklite::{NewRun, RunUpdate};

use crate::convert;
use crate::errors::OrRaise;
use crate::writer::RunWriter;

/// An open store directory (created when missing). Thread-safe; after
/// `os.fork()` the child reopens its own handles on first use.
#[pyclass(frozen, module = "tracklite._native")]
pub struct Store {
    /// Dropped by hand, detached: see `Drop`.
    pub(crate) inner: ManuallyDrop<tracklite::Store>,
}

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: `inner` is taken once, here, and never used again.
        let store = unsafe { ManuallyDrop::take(&mut self.inner) };
        // The last handle on a store seals the blocks of its writers in the
        // index: detached, so that other threads run meanwhile. Without an
        // interpreter (at shutdown) the closure is dropped unrun, which
        // drops the store all the same.
        let _ = Python::try_attach(move |py| py.detach(move || drop(store)));
    }
}

#[pymethods]
impl Store {
    #[new]
    #[pyo3(signature = (path, read_only = false))]
    fn new(py: Python<'_>, path: PathBuf, read_only: bool) -> PyResult<Self> {
        let inner = py
            .detach(|| {
                if read_only {
                    tracklite::Store::open_read_only(&path)
                } else {
                    tracklite::Store::open(&path)
                }
            })
            .or_raise(py)?;
        Ok(Store {
            inner: ManuallyDrop::new(inner),
        })
    }

    #[getter]
    fn read_only(&self) -> bool {
        self.inner.is_read_only()
    }

    #[getter]
    fn path(&self) -> &OsStr {
        self.inner.path().as_os_str()
    }

    #[getter]
    fn artifact_root(&self) -> &str {
        self.inner.artifact_root()
    }

    fn __repr__(&self) -> String {
        format!("Store({:?})", self.inner.path().display().to_string())
    }

    // Experiments

    #[pyo3(signature = (name, artifact_location = None, tags = None))]
    fn create_experiment(
        &self,
        py: Python<'_>,
        name: String,
        artifact_location: Option<String>,
        tags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        let tags = convert::str_pairs(tags, "tags")?;
        py.detach(|| {
            self.inner
                .create_experiment(&name, artifact_location.as_deref(), &tags)
        })
        .or_raise(py)
    }

    fn get_experiment<'py>(
        &self,
        py: Python<'py>,
        experiment_id: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let e = py
            .detach(|| self.inner.get_experiment(&experiment_id))
            .or_raise(py)?;
        convert::experiment(py, &e)
    }

    fn get_experiment_by_name<'py>(
        &self,
        py: Python<'py>,
        name: String,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let e = py
            .detach(|| self.inner.get_experiment_by_name(&name))
            .or_raise(py)?;
        e.map(|e| convert::experiment(py, &e)).transpose()
    }

    fn experiment_id_for(&self, py: Python<'_>, name: String) -> PyResult<String> {
        py.detach(|| self.inner.experiment_id_for(&name))
            .or_raise(py)
    }

    #[pyo3(signature = (view = "active"))]
    fn list_experiments<'py>(&self, py: Python<'py>, view: &str) -> PyResult<Bound<'py, PyList>> {
        let view = convert::view_type(py, view)?;
        let list = py
            .detach(|| self.inner.list_experiments(view))
            .or_raise(py)?;
        convert::experiments(py, &list)
    }

    // max_results: tracklite::SEARCH_MAX_RESULTS_DEFAULT, spelled out for
    // the text signature.
    #[pyo3(
        signature = (view = "active", filter = "", max_results = 1000, order_by = Vec::new(), page_token = None),
        text_signature = "($self, view='active', filter='', max_results=1000, order_by=(), page_token=None)"
    )]
    fn search_experiments<'py>(
        &self,
        py: Python<'py>,
        view: &str,
        filter: &str,
        max_results: i64,
        order_by: Vec<String>,
        page_token: Option<String>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let view = convert::view_type(py, view)?;
        let max_results = convert::max_results(py, max_results)?;
        let order_by: Vec<&str> = order_by.iter().map(String::as_str).collect();
        let page = py
            .detach(|| {
                self.inner.search_experiments(
                    view,
                    filter,
                    max_results,
                    &order_by,
                    page_token.as_deref(),
                )
            })
            .or_raise(py)?;
        let list = convert::experiments(py, &page.experiments)?;
        convert::page(py, list, page.next_page_token)
    }

    fn rename_experiment(
        &self,
        py: Python<'_>,
        experiment_id: String,
        new_name: String,
    ) -> PyResult<()> {
        py.detach(|| self.inner.rename_experiment(&experiment_id, &new_name))
            .or_raise(py)
    }

    fn delete_experiment(&self, py: Python<'_>, experiment_id: String) -> PyResult<()> {
        py.detach(|| self.inner.delete_experiment(&experiment_id))
            .or_raise(py)
    }

    fn restore_experiment(&self, py: Python<'_>, experiment_id: String) -> PyResult<()> {
        py.detach(|| self.inner.restore_experiment(&experiment_id))
            .or_raise(py)
    }

    fn set_experiment_tag(
        &self,
        py: Python<'_>,
        experiment_id: String,
        key: String,
        value: String,
    ) -> PyResult<()> {
        py.detach(|| self.inner.set_experiment_tag(&experiment_id, &key, &value))
            .or_raise(py)
    }

    fn delete_experiment_tag(
        &self,
        py: Python<'_>,
        experiment_id: String,
        key: String,
    ) -> PyResult<()> {
        py.detach(|| self.inner.delete_experiment_tag(&experiment_id, &key))
            .or_raise(py)
    }

    // Runs

    #[pyo3(signature = (
        experiment_id = "0",
        run_name = None,
        tags = None,
        start_time = None,
        user_id = None,
        parent_run_id = None,
        params = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn create_run<'py>(
        &self,
        py: Python<'py>,
        experiment_id: &str,
        run_name: Option<String>,
        tags: Option<&Bound<'py, PyAny>>,
        start_time: Option<i64>,
        user_id: Option<String>,
        parent_run_id: Option<String>,
        params: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let new = NewRun {
            experiment_id: Some(experiment_id.to_string()),
            run_name,
            user_id,
            start_time,
            tags: convert::str_pairs(tags, "tags")?,
            params: convert::str_pairs(params, "params")?,
            parent_run_id,
        };
        let info = py.detach(|| self.inner.create_run(new)).or_raise(py)?;
        convert::run_info(py, &info)
    }

    fn get_run<'py>(&self, py: Python<'py>, run_id: String) -> PyResult<Bound<'py, PyDict>> {
        let run = py.detach(|| self.inner.get_run(&run_id)).or_raise(py)?;
        convert::run(py, &run)
    }

    fn get_run_info<'py>(&self, py: Python<'py>, run_id: String) -> PyResult<Bound<'py, PyDict>> {
        let info = py
            .detach(|| self.inner.get_run_info(&run_id))
            .or_raise(py)?;
        convert::run_info(py, &info)
    }

    #[pyo3(signature = (run_id, status = None, end_time = None, run_name = None))]
    fn update_run<'py>(
        &self,
        py: Python<'py>,
        run_id: String,
        status: Option<&str>,
        end_time: Option<i64>,
        run_name: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let update = RunUpdate {
            status: status.map(|s| convert::run_status(py, s)).transpose()?,
            end_time,
            run_name,
        };
        let info = py
            .detach(|| self.inner.update_run(&run_id, update))
            .or_raise(py)?;
        convert::run_info(py, &info)
    }

    #[pyo3(signature = (run_id, status = "FINISHED"))]
    fn end_run<'py>(
        &self,
        py: Python<'py>,
        run_id: String,
        status: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let status = convert::run_status(py, status)?;
        let info = py
            .detach(|| self.inner.end_run(&run_id, status))
            .or_raise(py)?;
        convert::run_info(py, &info)
    }

    fn delete_run(&self, py: Python<'_>, run_id: String) -> PyResult<()> {
        py.detach(|| self.inner.delete_run(&run_id)).or_raise(py)
    }

    fn restore_run(&self, py: Python<'_>, run_id: String) -> PyResult<()> {
        py.detach(|| self.inner.restore_run(&run_id)).or_raise(py)
    }

    #[pyo3(
        signature = (experiment_ids, filter = "", view = "active", max_results = 1000, order_by = Vec::new(), page_token = None),
        text_signature = "($self, experiment_ids, filter='', view='active', max_results=1000, order_by=(), page_token=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn search_runs<'py>(
        &self,
        py: Python<'py>,
        experiment_ids: Vec<String>,
        filter: &str,
        view: &str,
        max_results: i64,
        order_by: Vec<String>,
        page_token: Option<String>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let view = convert::view_type(py, view)?;
        let max_results = convert::max_results(py, max_results)?;
        let experiment_ids: Vec<&str> = experiment_ids.iter().map(String::as_str).collect();
        let order_by: Vec<&str> = order_by.iter().map(String::as_str).collect();
        let page = py
            .detach(|| {
                self.inner.search_runs(
                    &experiment_ids,
                    filter,
                    view,
                    max_results,
                    &order_by,
                    page_token.as_deref(),
                )
            })
            .or_raise(py)?;
        let runs = PyList::empty(py);
        for run in &page.runs {
            runs.append(convert::run(py, run)?)?;
        }
        convert::page(py, runs, page.next_page_token)
    }

    // Params, tags, metrics

    fn log_param(
        &self,
        py: Python<'_>,
        run_id: String,
        key: String,
        value: String,
    ) -> PyResult<()> {
        py.detach(|| self.inner.log_param(&run_id, &key, &value))
            .or_raise(py)
    }

    fn set_tag(&self, py: Python<'_>, run_id: String, key: String, value: String) -> PyResult<()> {
        py.detach(|| self.inner.set_tag(&run_id, &key, &value))
            .or_raise(py)
    }

    fn delete_tag(&self, py: Python<'_>, run_id: String, key: String) -> PyResult<()> {
        py.detach(|| self.inner.delete_tag(&run_id, &key))
            .or_raise(py)
    }

    #[pyo3(
        signature = (run_id, metrics = None, params = None, tags = None),
        text_signature = "($self, run_id, metrics=(), params=(), tags=())"
    )]
    fn log_batch(
        &self,
        py: Python<'_>,
        run_id: String,
        metrics: Option<&Bound<'_, PyAny>>,
        params: Option<&Bound<'_, PyAny>>,
        tags: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let metrics = convert::metric_tuples(metrics)?;
        let params = convert::str_tuples(params, "params")?;
        let tags = convert::str_tuples(tags, "tags")?;
        py.detach(|| self.inner.log_batch(&run_id, &metrics, &params, &tags))
            .or_raise(py)
    }

    #[pyo3(signature = (run_id, key, value, timestamp = None, step = 0))]
    fn log_metric(
        &self,
        py: Python<'_>,
        run_id: String,
        key: String,
        value: f64,
        timestamp: Option<i64>,
        step: i64,
    ) -> PyResult<()> {
        let timestamp = timestamp.unwrap_or_else(tracklite::now_ms);
        py.detach(|| self.inner.log_metric(&run_id, &key, value, timestamp, step))
            .or_raise(py)
    }

    fn log_inputs(
        &self,
        py: Python<'_>,
        run_id: String,
        inputs: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let inputs = convert::dataset_inputs(inputs)?;
        py.detach(|| self.inner.log_inputs(&run_id, &inputs))
            .or_raise(py)
    }

    /// (steps, timestamps, values), in the order logged.
    fn metric_history<'py>(
        &self,
        py: Python<'py>,
        run_id: String,
        key: String,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let columns = py
            .detach(|| self.inner.metric_history_columns(&run_id, &key))
            .or_raise(py)?;
        // The arrays take ownership of the vectors: no copy.
        PyTuple::new(
            py,
            [
                PyArray1::from_vec(py, columns.steps).into_any(),
                PyArray1::from_vec(py, columns.timestamps).into_any(),
                PyArray1::from_vec(py, columns.values).into_any(),
            ],
        )
    }

    fn writer(&self, py: Python<'_>, run_id: String) -> PyResult<RunWriter> {
        let writer = py
            .detach(|| self.inner.metric_writer(&run_id))
            .or_raise(py)?;
        Ok(RunWriter::new(writer))
    }

    // Artifacts

    fn artifact_dir(&self, py: Python<'_>, run_id: String) -> PyResult<OsString> {
        py.detach(|| self.inner.artifact_dir(&run_id))
            .map(PathBuf::into_os_string)
            .or_raise(py)
    }

    #[pyo3(signature = (run_id, local_path, artifact_path = None))]
    fn log_artifact(
        &self,
        py: Python<'_>,
        run_id: String,
        local_path: PathBuf,
        artifact_path: Option<String>,
    ) -> PyResult<()> {
        py.detach(|| {
            self.inner
                .log_artifact(&run_id, &local_path, artifact_path.as_deref())
        })
        .or_raise(py)
    }

    #[pyo3(signature = (run_id, local_dir, artifact_path = None))]
    fn log_artifacts(
        &self,
        py: Python<'_>,
        run_id: String,
        local_dir: PathBuf,
        artifact_path: Option<String>,
    ) -> PyResult<()> {
        py.detach(|| {
            self.inner
                .log_artifacts(&run_id, &local_dir, artifact_path.as_deref())
        })
        .or_raise(py)
    }

    fn log_artifact_bytes(
        &self,
        py: Python<'_>,
        run_id: String,
        artifact_file: String,
        data: std::borrow::Cow<'_, [u8]>,
    ) -> PyResult<()> {
        let data: &[u8] = &data;
        py.detach(|| self.inner.log_artifact_bytes(&run_id, &artifact_file, data))
            .or_raise(py)
    }

    #[pyo3(signature = (run_id, path = None))]
    fn list_artifacts<'py>(
        &self,
        py: Python<'py>,
        run_id: String,
        path: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let files = py
            .detach(|| self.inner.list_artifacts(&run_id, path.as_deref()))
            .or_raise(py)?;
        let out = PyList::empty(py);
        for f in files {
            let d = PyDict::new(py);
            d.set_item(pyo3::intern!(py, "path"), f.path)?;
            d.set_item(pyo3::intern!(py, "is_dir"), f.is_dir)?;
            d.set_item(pyo3::intern!(py, "file_size"), f.file_size)?;
            out.append(d)?;
        }
        Ok(out)
    }

    fn read_artifact<'py>(
        &self,
        py: Python<'py>,
        run_id: String,
        path: String,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let data = py
            .detach(|| self.inner.read_artifact(&run_id, &path))
            .or_raise(py)?;
        Ok(PyBytes::new(py, &data))
    }

    fn download_artifacts(
        &self,
        py: Python<'_>,
        run_id: String,
        path: Option<String>,
        dest_dir: PathBuf,
    ) -> PyResult<OsString> {
        py.detach(|| {
            self.inner
                .download_artifacts(&run_id, path.as_deref(), &dest_dir)
        })
        .map(PathBuf::into_os_string)
        .or_raise(py)
    }

    // Maintenance

    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.flush()).or_raise(py)
    }

    #[pyo3(signature = (repair = false))]
    fn check<'py>(&self, py: Python<'py>, repair: bool) -> PyResult<Bound<'py, PyAny>> {
        let report = py.detach(|| self.inner.check(repair)).or_raise(py)?;
        convert::report(py, &report)
    }

    #[pyo3(signature = (run_ids = None))]
    fn gc<'py>(
        &self,
        py: Python<'py>,
        run_ids: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let report = py
            .detach(|| self.inner.gc(run_ids.as_deref()))
            .or_raise(py)?;
        convert::report(py, &report)
    }

    fn compact<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let report = py.detach(|| self.inner.compact(&mut |_| {})).or_raise(py)?;
        convert::report(py, &report)
    }
}
