//! Plain Python values for the store's entities, and back: dicts shaped
//! as the TypedDicts of `_native.pyi`.

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping, PyString, PyTuple};

use tracklite::{
    Dataset, DatasetInput, Experiment, Metric, MetricSummary, Run, RunInfo, RunStatus, ViewType,
};

use crate::errors::{raise, Kind};

/// `{key: value}` of string pairs, in order.
fn str_dict<'py, 'a>(
    py: Python<'py>,
    pairs: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in pairs {
        d.set_item(k, v)?;
    }
    Ok(d)
}

pub fn experiment<'py>(py: Python<'py>, e: &Experiment) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "experiment_id"), &e.experiment_id)?;
    d.set_item(intern!(py, "name"), &e.name)?;
    d.set_item(intern!(py, "artifact_location"), &e.artifact_location)?;
    d.set_item(intern!(py, "lifecycle_stage"), e.lifecycle_stage.as_str())?;
    d.set_item(intern!(py, "creation_time"), e.creation_time)?;
    d.set_item(intern!(py, "last_update_time"), e.last_update_time)?;
    d.set_item(intern!(py, "tags"), str_dict(py, &e.tags)?)?;
    Ok(d)
}

pub fn experiments<'py>(py: Python<'py>, list: &[Experiment]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for e in list {
        out.append(experiment(py, e)?)?;
    }
    Ok(out)
}

pub fn run_info<'py>(py: Python<'py>, i: &RunInfo) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "run_id"), &i.run_id)?;
    d.set_item(intern!(py, "experiment_id"), &i.experiment_id)?;
    d.set_item(intern!(py, "run_name"), &i.run_name)?;
    d.set_item(intern!(py, "user_id"), &i.user_id)?;
    d.set_item(intern!(py, "status"), i.status.as_str())?;
    d.set_item(intern!(py, "start_time"), i.start_time)?;
    d.set_item(intern!(py, "end_time"), i.end_time)?;
    d.set_item(intern!(py, "lifecycle_stage"), i.lifecycle_stage.as_str())?;
    d.set_item(intern!(py, "artifact_uri"), &i.artifact_uri)?;
    Ok(d)
}

fn metric_summary<'py>(py: Python<'py>, m: &MetricSummary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "value"), m.value)?;
    d.set_item(intern!(py, "timestamp"), m.timestamp)?;
    d.set_item(intern!(py, "step"), m.step)?;
    d.set_item(intern!(py, "min"), m.min)?;
    d.set_item(intern!(py, "max"), m.max)?;
    d.set_item(intern!(py, "count"), m.count)?;
    Ok(d)
}

fn dataset<'py>(py: Python<'py>, ds: &Dataset) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "name"), &ds.name)?;
    d.set_item(intern!(py, "digest"), &ds.digest)?;
    d.set_item(intern!(py, "source_type"), &ds.source_type)?;
    d.set_item(intern!(py, "source"), &ds.source)?;
    d.set_item(intern!(py, "schema"), &ds.schema)?;
    d.set_item(intern!(py, "profile"), &ds.profile)?;
    Ok(d)
}

pub fn run<'py>(py: Python<'py>, r: &Run) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "info"), run_info(py, &r.info)?)?;
    d.set_item(intern!(py, "params"), str_dict(py, &r.params)?)?;
    d.set_item(intern!(py, "tags"), str_dict(py, &r.tags)?)?;
    let metrics = PyDict::new(py);
    for (k, m) in &r.metrics {
        metrics.set_item(k, metric_summary(py, m)?)?;
    }
    d.set_item(intern!(py, "metrics"), metrics)?;
    let inputs = PyList::empty(py);
    for input in &r.inputs {
        let i = PyDict::new(py);
        i.set_item(intern!(py, "dataset"), dataset(py, &input.dataset)?)?;
        i.set_item(intern!(py, "tags"), str_dict(py, &input.tags)?)?;
        inputs.append(i)?;
    }
    d.set_item(intern!(py, "inputs"), inputs)?;
    Ok(d)
}

/// String pairs from a dict or any other mapping, in its order; `None` is empty.
pub fn str_pairs(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<(String, String)>> {
    let Some(obj) = obj else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    if let Ok(d) = obj.cast::<PyDict>() {
        out.reserve(d.len());
        for (k, v) in d.iter() {
            out.push(str_pair(&k, &v, what)?);
        }
    } else if let Ok(m) = obj.cast::<PyMapping>() {
        for item in m.items()?.iter() {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
            out.push(str_pair(&k, &v, what)?);
        }
    } else {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a dict of str to str, not {}",
            obj.get_type().name()?
        )));
    }
    Ok(out)
}

fn str_pair(k: &Bound<'_, PyAny>, v: &Bound<'_, PyAny>, what: &str) -> PyResult<(String, String)> {
    match (k.extract::<String>(), v.extract::<String>()) {
        (Ok(k), Ok(v)) => Ok((k, v)),
        _ => Err(PyTypeError::new_err(format!(
            "{what} must map str to str; got {} -> {}",
            k.get_type().name()?,
            v.get_type().name()?
        ))),
    }
}

/// The items of a sequence argument (a list, a tuple, any iterable but a
/// str); `None` is empty.
fn sequence<'py>(obj: Option<&Bound<'py, PyAny>>, what: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a sequence of tuples, not {}",
            obj.get_type().name()?
        )));
    }
    obj.try_iter()?.collect()
}

/// The fields of one tuple of a batch, checked for their number.
fn fields<'py, const N: usize>(
    item: &Bound<'py, PyAny>,
    what: &str,
    shape: &str,
) -> PyResult<[Bound<'py, PyAny>; N]> {
    let wrong = || {
        PyTypeError::new_err(format!(
            "each of {what} must be a tuple {shape}, not {}",
            item.repr().map_or_else(|_| "?".into(), |r| r.to_string())
        ))
    };
    let items: Vec<Bound<'py, PyAny>> = if let Ok(t) = item.cast::<PyTuple>() {
        t.iter().collect()
    } else if let Ok(l) = item.cast::<PyList>() {
        l.iter().collect()
    } else {
        return Err(wrong());
    };
    items.try_into().map_err(|_| wrong())
}

/// `log_batch` metrics: `(key, value, timestamp, step)` tuples.
pub fn metric_tuples(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Metric>> {
    const SHAPE: &str = "(key: str, value: float, timestamp: int, step: int)";
    sequence(obj, "metrics")?
        .iter()
        .map(|item| {
            let [k, v, t, s] = fields::<4>(item, "metrics", SHAPE)?;
            Ok(Metric {
                key: k.extract()?,
                value: v.extract()?,
                timestamp: t.extract()?,
                step: s.extract()?,
            })
        })
        .collect()
}

/// `log_batch` params or tags: `(key, value)` tuples of str.
pub fn str_tuples(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<(String, String)>> {
    sequence(obj, what)?
        .iter()
        .map(|item| {
            let [k, v] = fields::<2>(item, what, "(key: str, value: str)")?;
            str_pair(&k, &v, what)
        })
        .collect()
}

/// A required item of a dict argument.
fn item<'py>(d: &Bound<'py, PyDict>, key: &str, what: &str) -> PyResult<Bound<'py, PyAny>> {
    d.get_item(key)?
        .ok_or_else(|| PyTypeError::new_err(format!("{what} has no {key:?} item")))
}

fn opt_string(d: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<String>> {
    match d.get_item(key)? {
        Some(v) if !v.is_none() => Ok(Some(v.extract()?)),
        _ => Ok(None),
    }
}

/// Dataset inputs from dicts shaped as `DatasetInputDict`.
pub fn dataset_inputs(inputs: &Bound<'_, PyAny>) -> PyResult<Vec<DatasetInput>> {
    if inputs.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "inputs must be a sequence of dicts, not str",
        ));
    }
    let mut out = Vec::new();
    for input in inputs.try_iter()? {
        let input = input?;
        let input = input.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err("each dataset input must be a dict with 'dataset' and 'tags'")
        })?;
        let ds = item(input, "dataset", "a dataset input")?;
        let ds = ds
            .cast::<PyDict>()
            .map_err(|_| PyTypeError::new_err("a dataset input's 'dataset' must be a dict"))?;
        let field = |key: &str| -> PyResult<String> {
            item(ds, key, "a dataset")?
                .extract()
                .map_err(|_| PyTypeError::new_err(format!("a dataset's {key:?} must be a str")))
        };
        let tags = input.get_item("tags")?;
        out.push(DatasetInput {
            dataset: Dataset {
                name: field("name")?,
                digest: field("digest")?,
                source_type: field("source_type")?,
                source: field("source")?,
                schema: opt_string(ds, "schema")?,
                profile: opt_string(ds, "profile")?,
            },
            tags: str_pairs(
                tags.as_ref().filter(|t| !t.is_none()),
                "a dataset input's tags",
            )?
            .into_iter()
            .collect(),
        });
    }
    Ok(out)
}

/// MLflow's view types, by any of their usual spellings.
pub fn view_type(py: Python<'_>, view: &str) -> PyResult<ViewType> {
    match view.to_ascii_lowercase().as_str() {
        "active" | "active_only" | "activeonly" => Ok(ViewType::ActiveOnly),
        "deleted" | "deleted_only" | "deletedonly" => Ok(ViewType::DeletedOnly),
        "all" => Ok(ViewType::All),
        _ => Err(raise(
            py,
            Kind::InvalidValue,
            format!("invalid view type {view:?}: must be one of active, deleted, all"),
        )),
    }
}

/// A page size for a search; the core checks the upper bound.
pub fn max_results(py: Python<'_>, max_results: i64) -> PyResult<usize> {
    usize::try_from(max_results)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            raise(
                py,
                Kind::InvalidValue,
                format!(
                    "invalid max_results \"{max_results}\": it must be a positive integer of at most {}",
                    tracklite::SEARCH_MAX_RESULTS_LIMIT
                ),
            )
        })
}

pub fn run_status(py: Python<'_>, status: &str) -> PyResult<RunStatus> {
    status
        .parse()
        .map_err(|e: tracklite::ValidationError| raise(py, Kind::InvalidValue, e.to_string()))
}

/// A report (check, gc, compact) as plain Python values, whatever fields
/// the core gives it.
pub fn report<'py>(py: Python<'py>, report: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(report)
        .map_err(|e| raise(py, Kind::Base, format!("cannot convert a report: {e}")))?;
    json(py, &value)
}

fn json<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(a) => {
            let out = PyList::empty(py);
            for x in a {
                out.append(json(py, x)?)?;
            }
            out.into_any()
        }
        Value::Object(o) => {
            let out = PyDict::new(py);
            for (k, x) in o {
                out.set_item(k, json(py, x)?)?;
            }
            out.into_any()
        }
    })
}

/// A page of a search as Python gets it: `(items, next_page_token)`.
pub fn page<'py>(
    py: Python<'py>,
    items: Bound<'py, PyList>,
    next_page_token: Option<String>,
) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(
        py,
        [
            items.into_any(),
            next_page_token.into_pyobject(py)?.into_any(),
        ],
    )
}
