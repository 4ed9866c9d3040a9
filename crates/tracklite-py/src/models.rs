//! Logged models (MLflow 3): the `Store` methods that create, read,
//! search, change and delete them and link them to runs, such as
//! `store.create_logged_model("0", name="clf")`. Models cross the boundary
//! as dicts shaped as `LoggedModelDict` of `_native.pyi`; every call into
//! the store runs detached from the interpreter.

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use tracklite::{
    DatasetFilter, LoggedModel, LoggedModelOrder, LoggedModelOutput, LoggedModelStatus,
    ModelMetric, NewLoggedModel,
};

use crate::convert;
use crate::errors::{raise, Kind, OrRaise};
use crate::store::Store;

fn metric<'py>(py: Python<'py>, m: &ModelMetric) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "model_id"), &m.model_id)?;
    d.set_item(intern!(py, "key"), &m.key)?;
    d.set_item(intern!(py, "value"), m.value)?;
    d.set_item(intern!(py, "timestamp"), m.timestamp)?;
    d.set_item(intern!(py, "step"), m.step)?;
    d.set_item(intern!(py, "run_id"), &m.run_id)?;
    d.set_item(intern!(py, "dataset_name"), &m.dataset_name)?;
    d.set_item(intern!(py, "dataset_digest"), &m.dataset_digest)?;
    Ok(d)
}

fn model<'py>(py: Python<'py>, m: &LoggedModel) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "model_id"), &m.model_id)?;
    d.set_item(intern!(py, "experiment_id"), &m.experiment_id)?;
    d.set_item(intern!(py, "name"), &m.name)?;
    d.set_item(intern!(py, "artifact_location"), &m.artifact_location)?;
    d.set_item(intern!(py, "creation_timestamp"), m.creation_timestamp)?;
    d.set_item(
        intern!(py, "last_updated_timestamp"),
        m.last_updated_timestamp,
    )?;
    d.set_item(intern!(py, "model_type"), &m.model_type)?;
    d.set_item(intern!(py, "source_run_id"), &m.source_run_id)?;
    d.set_item(intern!(py, "status"), m.status.as_str())?;
    d.set_item(intern!(py, "lifecycle_stage"), m.lifecycle_stage.as_str())?;
    let tags = PyDict::new(py);
    for (k, v) in &m.tags {
        tags.set_item(k, v)?;
    }
    d.set_item(intern!(py, "tags"), tags)?;
    let params = PyDict::new(py);
    for (k, v) in &m.params {
        params.set_item(k, v)?;
    }
    d.set_item(intern!(py, "params"), params)?;
    let metrics = PyList::empty(py);
    for m in &m.metrics {
        metrics.append(metric(py, m)?)?;
    }
    d.set_item(intern!(py, "metrics"), metrics)?;
    Ok(d)
}

fn status(py: Python<'_>, status: &str) -> PyResult<LoggedModelStatus> {
    status
        .parse()
        .map_err(|e: tracklite::ValidationError| raise(py, Kind::InvalidValue, e.to_string()))
}

/// The items of a sequence argument (any iterable but a str or a dict);
/// `None` is empty.
fn items<'py>(obj: Option<&Bound<'py, PyAny>>, what: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a sequence, not {}",
            obj.get_type().name()?
        )));
    }
    obj.try_iter()?.collect()
}

fn as_dict<'a, 'py>(item: &'a Bound<'py, PyAny>, what: &str) -> PyResult<&'a Bound<'py, PyDict>> {
    item.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!(
            "each of {what} must be a dict, not {}",
            item.get_type()
                .name()
                .map_or_else(|_| "?".into(), |n| n.to_string())
        ))
    })
}

/// An item of a dict argument, converted; None when missing or None.
fn field<'py, T: FromPyObjectOwned<'py>>(
    d: &Bound<'py, PyDict>,
    key: &str,
    what: &str,
) -> PyResult<Option<T>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => v.extract().map(Some).map_err(|_| {
            PyTypeError::new_err(format!(
                "{what}: {key:?} has the wrong type ({})",
                v.get_type()
                    .name()
                    .map_or_else(|_| "?".into(), |n| n.to_string())
            ))
        }),
        _ => Ok(None),
    }
}

fn required<'py, T: FromPyObjectOwned<'py>>(
    d: &Bound<'py, PyDict>,
    key: &str,
    what: &str,
) -> PyResult<T> {
    field(d, key, what)?.ok_or_else(|| PyTypeError::new_err(format!("{what} has no {key:?} item")))
}

/// order_by clauses: `"metrics.acc DESC"`, or MLflow's dicts
/// (`field_name`, `ascending`, `dataset_name`, `dataset_digest`).
fn orders(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<LoggedModelOrder>> {
    items(obj, "order_by")?
        .iter()
        .map(|item| {
            if let Ok(s) = item.cast::<PyString>() {
                return LoggedModelOrder::parse(&s.to_cow()?).or_raise(py);
            }
            let d = as_dict(item, "order_by")?;
            let what = "an order_by dict";
            Ok(LoggedModelOrder {
                field: required(d, "field_name", what)?,
                ascending: field(d, "ascending", what)?.unwrap_or(true),
                dataset_name: field(d, "dataset_name", what)?,
                dataset_digest: field(d, "dataset_digest", what)?,
            })
        })
        .collect()
}

/// Dataset filters: MLflow's dicts (`dataset_name`, `dataset_digest`).
fn dataset_filters(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<DatasetFilter>> {
    items(obj, "datasets")?
        .iter()
        .map(|item| {
            let d = as_dict(item, "datasets")?;
            let what = "a dataset filter";
            Ok(DatasetFilter {
                name: required(d, "dataset_name", what)?,
                digest: field(d, "dataset_digest", what)?,
            })
        })
        .collect()
}

/// Run outputs: dicts (`model_id`, `step`) or `(model_id, step)` tuples.
fn outputs(obj: &Bound<'_, PyAny>) -> PyResult<Vec<LoggedModelOutput>> {
    items(Some(obj), "models")?
        .iter()
        .map(|item| {
            if let Ok(d) = item.cast::<PyDict>() {
                let what = "a model output";
                return Ok(LoggedModelOutput {
                    model_id: required(d, "model_id", what)?,
                    step: field(d, "step", what)?.unwrap_or(0),
                });
            }
            if let Ok(t) = item.cast::<PyTuple>() {
                if let Ok((model_id, step)) = t.extract::<(String, i64)>() {
                    return Ok(LoggedModelOutput { model_id, step });
                }
            }
            Err(PyTypeError::new_err(
                "each model output must be a dict with 'model_id' and 'step', or a (model_id: str, step: int) tuple",
            ))
        })
        .collect()
}

/// Model metric points from dicts: `model_id`, `key` and `value` required;
/// `timestamp` (default now), `step` (default 0), `run_id`,
/// `dataset_name` and `dataset_digest` optional.
fn model_metrics(obj: &Bound<'_, PyAny>) -> PyResult<Vec<ModelMetric>> {
    let now = tracklite::now_ms();
    items(Some(obj), "metrics")?
        .iter()
        .map(|item| {
            let d = as_dict(item, "metrics")?;
            let what = "a model metric";
            Ok(ModelMetric {
                model_id: required(d, "model_id", what)?,
                key: required(d, "key", what)?,
                value: required(d, "value", what)?,
                timestamp: field(d, "timestamp", what)?.unwrap_or(now),
                step: field(d, "step", what)?.unwrap_or(0),
                run_id: field(d, "run_id", what)?,
                dataset_name: field(d, "dataset_name", what)?,
                dataset_digest: field(d, "dataset_digest", what)?,
            })
        })
        .collect()
}

/// Logged models, and their links to runs (outputs and model inputs).
/// Deleted models are left out of `get_logged_model` (unless
/// `allow_deleted`) and of searches.
#[pymethods]
impl Store {
    #[pyo3(signature = (
    experiment_id = "0",
    name = None,
    source_run_id = None,
    tags = None,
    params = None,
    model_type = None,
))]
    #[allow(clippy::too_many_arguments)]
    fn create_logged_model<'py>(
        &self,
        py: Python<'py>,
        experiment_id: &str,
        name: Option<String>,
        source_run_id: Option<String>,
        tags: Option<&Bound<'py, PyAny>>,
        params: Option<&Bound<'py, PyAny>>,
        model_type: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let new = NewLoggedModel {
            experiment_id: Some(experiment_id.to_string()),
            name,
            source_run_id,
            model_type,
            tags: convert::str_pairs(tags.filter(|t| !t.is_none()), "tags")?,
            params: convert::str_pairs(params.filter(|p| !p.is_none()), "params")?,
        };
        let m = py
            .detach(|| self.inner.create_logged_model(new))
            .or_raise(py)?;
        model(py, &m)
    }

    #[pyo3(signature = (model_id, allow_deleted = false))]
    fn get_logged_model<'py>(
        &self,
        py: Python<'py>,
        model_id: String,
        allow_deleted: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let m = py
            .detach(|| self.inner.get_logged_model(&model_id, allow_deleted))
            .or_raise(py)?;
        model(py, &m)
    }

    fn delete_logged_model(&self, py: Python<'_>, model_id: String) -> PyResult<()> {
        py.detach(|| self.inner.delete_logged_model(&model_id))
            .or_raise(py)
    }

    fn finalize_logged_model<'py>(
        &self,
        py: Python<'py>,
        model_id: String,
        status: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let status = self::status(py, status)?;
        let m = py
            .detach(|| self.inner.finalize_logged_model(&model_id, status))
            .or_raise(py)?;
        model(py, &m)
    }

    fn set_logged_model_tags(
        &self,
        py: Python<'_>,
        model_id: String,
        tags: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let tags = convert::str_pairs(Some(tags), "tags")?;
        py.detach(|| self.inner.set_logged_model_tags(&model_id, &tags))
            .or_raise(py)
    }

    fn delete_logged_model_tag(
        &self,
        py: Python<'_>,
        model_id: String,
        key: String,
    ) -> PyResult<()> {
        py.detach(|| self.inner.delete_logged_model_tag(&model_id, &key))
            .or_raise(py)
    }

    fn log_logged_model_params(
        &self,
        py: Python<'_>,
        model_id: String,
        params: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let params = convert::str_pairs(Some(params), "params")?;
        py.detach(|| self.inner.log_logged_model_params(&model_id, &params))
            .or_raise(py)
    }

    // max_results: tracklite::SEARCH_LOGGED_MODELS_MAX_RESULTS_DEFAULT, spelled
    // out for the text signature.
    #[pyo3(
    signature = (experiment_ids, filter = "", datasets = None, max_results = 100, order_by = None, page_token = None),
    text_signature = "($self, experiment_ids, filter='', datasets=(), max_results=100, order_by=(), page_token=None)"
)]
    #[allow(clippy::too_many_arguments)]
    fn search_logged_models<'py>(
        &self,
        py: Python<'py>,
        experiment_ids: Vec<String>,
        filter: &str,
        datasets: Option<&Bound<'py, PyAny>>,
        max_results: i64,
        order_by: Option<&Bound<'py, PyAny>>,
        page_token: Option<String>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let max_results = convert::max_results(py, max_results)?;
        let datasets = dataset_filters(datasets)?;
        let order_by = orders(py, order_by)?;
        let experiment_ids: Vec<&str> = experiment_ids.iter().map(String::as_str).collect();
        let page = py
            .detach(|| {
                self.inner.search_logged_models(
                    &experiment_ids,
                    filter,
                    &datasets,
                    max_results,
                    &order_by,
                    page_token.as_deref(),
                )
            })
            .or_raise(py)?;
        let models = PyList::empty(py);
        for m in &page.models {
            models.append(model(py, m)?)?;
        }
        convert::page(py, models, page.next_page_token)
    }

    fn log_outputs(
        &self,
        py: Python<'_>,
        run_id: String,
        models: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let outputs = outputs(models)?;
        py.detach(|| self.inner.log_outputs(&run_id, &outputs))
            .or_raise(py)
    }

    fn run_outputs<'py>(&self, py: Python<'py>, run_id: String) -> PyResult<Bound<'py, PyList>> {
        let outputs = py.detach(|| self.inner.run_outputs(&run_id)).or_raise(py)?;
        let out = PyList::empty(py);
        for o in outputs {
            let d = PyDict::new(py);
            d.set_item(intern!(py, "model_id"), o.model_id)?;
            d.set_item(intern!(py, "step"), o.step)?;
            out.append(d)?;
        }
        Ok(out)
    }

    fn log_model_inputs(
        &self,
        py: Python<'_>,
        run_id: String,
        model_ids: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let ids = items(Some(model_ids), "model_ids")?
            .iter()
            .map(|id| {
                id.extract::<String>()
                    .map_err(|_| PyTypeError::new_err("model_ids must be a sequence of str"))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        py.detach(|| self.inner.log_model_inputs(&run_id, &ids))
            .or_raise(py)
    }

    fn run_model_inputs(&self, py: Python<'_>, run_id: String) -> PyResult<Vec<String>> {
        py.detach(|| self.inner.run_model_inputs(&run_id))
            .or_raise(py)
    }

    fn log_model_metrics(&self, py: Python<'_>, metrics: &Bound<'_, PyAny>) -> PyResult<()> {
        let metrics = model_metrics(metrics)?;
        py.detach(|| self.inner.log_model_metrics(&metrics))
            .or_raise(py)
    }

    fn record_logged_model(
        &self,
        py: Python<'_>,
        run_id: String,
        model_json: String,
    ) -> PyResult<()> {
        py.detach(|| self.inner.record_logged_model(&run_id, &model_json))
            .or_raise(py)
    }
}
