//! MLflow's entities read and built natively, for the MLflow plugin's hot
//! paths. `Store.log_batch_entities` reads MLflow `Metric`, `Param` and
//! `RunTag` objects without a Python call per field, and `metric_objects`
//! builds the `Metric` objects of a history page. Both only take the plain
//! cases (str keys, float or int values, int or missing steps and
//! timestamps); for anything else they say so and the plugin falls back to
//! its Python path, which converts or refuses the value with a precise
//! error.

use numpy::PyReadonlyArray1;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use pyo3::PyTypeInfo;
use tracklite::Metric;

use crate::errors::OrRaise;
use crate::store::Store;

#[pymethods]
impl Store {
    /// Logs a batch of MLflow entities when every one is plain, and
    /// returns True; returns False, logging nothing, when one is not (an
    /// attribute missing, a non-str key or param value, a value that is not
    /// exactly a float or an int, a metric of a logged model).
    fn log_batch_entities(
        &self,
        py: Python<'_>,
        run_id: String,
        metrics: &Bound<'_, PyAny>,
        params: &Bound<'_, PyAny>,
        tags: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let (Some(metrics), Some(params), Some(tags)) = (
            plain_metrics(metrics),
            plain_pairs(params),
            plain_pairs(tags),
        ) else {
            return Ok(false);
        };
        py.detach(|| self.inner.log_batch(&run_id, &metrics, &params, &tags))
            .or_raise(py)?;
        Ok(true)
    }
}

/// The items of a list or tuple; None for any other container.
fn items<'py>(seq: &Bound<'py, PyAny>) -> Option<Vec<Bound<'py, PyAny>>> {
    if seq.is_instance_of::<PyList>() || seq.is_instance_of::<PyTuple>() {
        seq.try_iter().ok()?.collect::<PyResult<_>>().ok()
    } else {
        None
    }
}

fn plain_str(obj: &Bound<'_, PyAny>) -> Option<String> {
    obj.cast::<PyString>().ok()?.extract().ok()
}

/// An exact int as i64 (not a bool, not a subclass); None otherwise.
fn plain_int(obj: &Bound<'_, PyAny>) -> Option<i64> {
    if PyInt::is_exact_type_of(obj) {
        obj.extract().ok()
    } else {
        None
    }
}

fn plain_float(obj: &Bound<'_, PyAny>) -> Option<f64> {
    if PyFloat::is_exact_type_of(obj) {
        obj.extract().ok()
    } else {
        plain_int(obj).map(|i| i as f64)
    }
}

/// Reads MLflow metric objects. Their fields are properties (a Python
/// call each); for objects of a class whose properties return plain
/// instance attributes, as MLflow's `Metric`, the attributes are read
/// directly, learnt from one object of the class made with marker values.
struct MetricReader<'py> {
    /// The fields' properties: key, value, timestamp, step, model_id.
    properties: [Bound<'py, PyString>; 5],
    /// A class and the attributes behind its properties.
    layout: Option<(Bound<'py, PyType>, [Bound<'py, PyString>; 5])>,
    /// The last key read, as the str object and its text: a batch names
    /// few keys many times, each usually the same str object.
    last_key: Option<(Bound<'py, PyAny>, String)>,
}

impl<'py> MetricReader<'py> {
    fn new(py: Python<'py>) -> Self {
        MetricReader {
            properties: ["key", "value", "timestamp", "step", "model_id"]
                .map(|n| PyString::intern(py, n)),
            layout: None,
            last_key: None,
        }
    }

    /// The attribute names to read from `m`.
    fn names(&mut self, m: &Bound<'py, PyAny>) -> [Bound<'py, PyString>; 5] {
        let ty = m.get_type();
        match &self.layout {
            Some((known, names)) if known.is(&ty) => return names.clone(),
            Some(_) => return self.properties.clone(),
            None => {}
        }
        self.layout = Some((ty.clone(), layout(&ty).unwrap_or(self.properties.clone())));
        self.layout.as_ref().expect("just set").1.clone()
    }

    fn read(&mut self, m: &Bound<'py, PyAny>) -> Option<Metric> {
        let [key, value, timestamp, step, model_id] = self.names(m);
        if !m.getattr(model_id).ok()?.is_none() {
            return None;
        }
        let key_obj = m.getattr(key).ok()?;
        let key = match &self.last_key {
            Some((obj, text)) if obj.is(&key_obj) => text.clone(),
            _ => {
                let text = plain_str(&key_obj)?;
                self.last_key = Some((key_obj, text.clone()));
                text
            }
        };
        let timestamp = m.getattr(timestamp).ok()?;
        let step = m.getattr(step).ok()?;
        Some(Metric {
            key,
            value: plain_float(&m.getattr(value).ok()?)?,
            // Unlike the fluent functions, a store keeps a timestamp of 0 as 0.
            timestamp: if timestamp.is_none() {
                tracklite::now_ms()
            } else {
                plain_int(&timestamp)?
            },
            step: if step.is_none() { 0 } else { plain_int(&step)? },
        })
    }
}

/// The instance attributes behind the properties key, value, timestamp,
/// step and model_id of metric class `ty`, found by making one object with
/// marker values (`ty(key, value, timestamp, step, model_id=...)`); None
/// when that fails or a property does not return its attribute.
fn layout<'py>(ty: &Bound<'py, PyType>) -> Option<[Bound<'py, PyString>; 5]> {
    let py = ty.py();
    let [value, timestamp, step] = number_markers(py).ok()?;
    let markers: [Bound<'py, PyAny>; 5] = [
        PyString::new(py, "tracklite layout key").into_any(),
        value,
        timestamp,
        step,
        PyString::new(py, "tracklite layout model").into_any(),
    ];
    let kwargs = PyDict::new(py);
    kwargs.set_item("model_id", &markers[4]).ok()?;
    let sample = ty
        .call(
            (&markers[0], &markers[1], &markers[2], &markers[3]),
            Some(&kwargs),
        )
        .ok()?;
    let attrs = instance_attributes(&sample)?;
    let names = [
        attribute_holding(&attrs, &markers[0])?,
        attribute_holding(&attrs, &markers[1])?,
        attribute_holding(&attrs, &markers[2])?,
        attribute_holding(&attrs, &markers[3])?,
        attribute_holding(&attrs, &markers[4])?,
    ];
    let properties = ["key", "value", "timestamp", "step", "model_id"];
    for (property, marker) in properties.iter().zip(&markers) {
        if !sample.getattr(*property).ok()?.is(marker) {
            return None;
        }
    }
    Some(names)
}

/// A value, a timestamp and a step no caller passes: fresh objects, told
/// apart by identity in the attributes of a sample metric.
fn number_markers(py: Python<'_>) -> PyResult<[Bound<'_, PyAny>; 3]> {
    Ok([
        PyFloat::new(py, 0.125).into_any(),
        0x7A11_7E5Ai64.into_pyobject(py)?.into_any(),
        0x5E7E_1A11i64.into_pyobject(py)?.into_any(),
    ])
}

/// An object's instance attributes; None when it keeps none in a dict.
fn instance_attributes<'py>(obj: &Bound<'py, PyAny>) -> Option<Bound<'py, PyDict>> {
    obj.getattr(intern!(obj.py(), "__dict__"))
        .ok()?
        .cast_into::<PyDict>()
        .ok()
}

/// The one attribute holding `marker`; None when none or several do.
fn attribute_holding<'py>(
    attrs: &Bound<'py, PyDict>,
    marker: &Bound<'py, PyAny>,
) -> Option<Bound<'py, PyString>> {
    let mut names = attrs.iter().filter(|(_, x)| x.is(marker)).map(|(k, _)| k);
    let name = names.next()?.cast_into::<PyString>().ok()?;
    names.next().is_none().then_some(name)
}

fn plain_metrics(seq: &Bound<'_, PyAny>) -> Option<Vec<Metric>> {
    let mut reader = MetricReader::new(seq.py());
    items(seq)?.iter().map(|m| reader.read(m)).collect()
}

fn plain_pairs(seq: &Bound<'_, PyAny>) -> Option<Vec<(String, String)>> {
    let py = seq.py();
    items(seq)?
        .iter()
        .map(|x| {
            let key = plain_str(&x.getattr(intern!(py, "key")).ok()?)?;
            Some((key, plain_str(&x.getattr(intern!(py, "value")).ok()?)?))
        })
        .collect()
}

/// The `Metric` objects (of class `cls`, MLflow's `Metric` or a subclass)
/// of a history's columns. Each is made as `cls(key, value, timestamp,
/// step)` would make it: the attributes one such object has, set in the
/// same order (so that objects share their attribute layout), with its own
/// value, timestamp and step, without running `__init__` again. When `cls`
/// keeps its fields other than as plain attributes, every object is made
/// by calling `cls`.
#[pyfunction]
pub fn metric_objects<'py>(
    cls: &Bound<'py, PyType>,
    key: &Bound<'py, PyString>,
    steps: PyReadonlyArray1<'py, i64>,
    timestamps: PyReadonlyArray1<'py, i64>,
    values: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyList>> {
    let py = cls.py();
    let (steps, timestamps, values) = (
        steps.as_slice()?,
        timestamps.as_slice()?,
        values.as_slice()?,
    );
    if steps.len() != timestamps.len() || steps.len() != values.len() {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "columns of different lengths: {} steps, {} timestamps, {} values",
            steps.len(),
            timestamps.len(),
            values.len()
        )));
    }
    let out = PyList::empty(py);
    let Some(fields) = Fields::of(cls, key)? else {
        for i in 0..steps.len() {
            out.append(cls.call1((key, values[i], timestamps[i], steps[i]))?)?;
        }
        return Ok(out);
    };
    let new = object_new(py)?;
    let new_args = PyTuple::new(py, [cls])?;
    for i in 0..steps.len() {
        let obj = new.call(&new_args, None)?;
        untrack(&obj);
        for (name, field) in &fields.0 {
            match field {
                Field::Same(x) => obj.setattr(name, x)?,
                Field::Value => obj.setattr(name, values[i])?,
                Field::Timestamp => obj.setattr(name, timestamps[i])?,
                Field::Step => obj.setattr(name, steps[i])?,
            }
        }
        out.append(obj)?;
    }
    Ok(out)
}

fn object_new(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.get_type::<pyo3::types::PyAny>()
        .getattr(intern!(py, "__new__"))
}

/// Takes a new metric object out of the cyclic garbage collector's lists,
/// as CPython does by itself for tuples and dicts of plain values. Its
/// attributes are a str, numbers and None, so it cannot be part of a
/// reference cycle; left tracked, 100,000 of them start collections that
/// walk every object alive (MLflow's modules hold hundreds of thousands),
/// several times the cost of making them.
///
/// Only an object whose type has the GC flag has the collector's header
/// that `PyObject_GC_UnTrack` writes to; any other object is left alone (the
/// collector never tracks it anyway).
fn untrack(obj: &Bound<'_, PyAny>) {
    use pyo3::ffi;
    let ptr = obj.as_ptr();
    // SAFETY: `ptr` is a live object we hold a reference to, with the GIL
    // held, so its type object is live too; reading the type's flags has no
    // other precondition.
    let has_gc = unsafe { ffi::PyType_HasFeature(ffi::Py_TYPE(ptr), ffi::Py_TPFLAGS_HAVE_GC) };
    if has_gc != 0 {
        // SAFETY: `ptr` is a live object we hold a reference to, with the
        // GIL held, and its type has the GC flag (checked just above), so
        // it was allocated with the collector's header; untracking an
        // object the collector does not track does nothing.
        unsafe { ffi::PyObject_GC_UnTrack(ptr.cast()) }
    }
}

/// What a metric object's attribute holds.
enum Field<'py> {
    /// The same object in every metric (the key, None for the rest).
    Same(Bound<'py, PyAny>),
    Value,
    Timestamp,
    Step,
}

/// A metric class's instance attributes, in the order `__init__` sets them.
struct Fields<'py>(Vec<(Bound<'py, PyString>, Field<'py>)>);

impl<'py> Fields<'py> {
    /// Makes one object with marker values and finds the attribute holding
    /// each; None when they are not all plain instance attributes, or when
    /// the class has its own `__new__`.
    fn of(cls: &Bound<'py, PyType>, key: &Bound<'py, PyString>) -> PyResult<Option<Self>> {
        let py = cls.py();
        if !cls.getattr(intern!(py, "__new__"))?.is(&object_new(py)?) {
            return Ok(None);
        }
        let markers = number_markers(py)?;
        let sample = cls.call1((key, &markers[0], &markers[1], &markers[2]))?;
        let Some(attrs) = instance_attributes(&sample) else {
            return Ok(None);
        };
        let Some(names) = markers
            .iter()
            .map(|m| attribute_holding(&attrs, m))
            .collect::<Option<Vec<_>>>()
        else {
            return Ok(None);
        };
        let mut fields = Vec::with_capacity(attrs.len());
        for (name, x) in attrs.iter() {
            let Ok(name) = name.cast_into::<PyString>() else {
                return Ok(None);
            };
            let field = match names.iter().position(|n| n.is(&name)) {
                Some(0) => Field::Value,
                Some(1) => Field::Timestamp,
                Some(_) => Field::Step,
                None => Field::Same(x),
            };
            fields.push((name, field));
        }
        Ok(Some(Fields(fields)))
    }
}
