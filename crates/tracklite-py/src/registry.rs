//! The model registry: the `Store` methods over registered models, their
//! versions, stages, tags and aliases, such as
//! `store.create_model_version("iris", "runs:/<run_id>/model")`. Models and
//! versions cross the boundary as dicts shaped as `RegisteredModelDict`
//! and `ModelVersionDict` of `_native.pyi`; version numbers are ints and
//! stages MLflow's names (`None`, `Staging`, `Production`, `Archived`, in
//! any case on the way in). Every call into the store runs detached from
//! the interpreter.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use tracklite::{
    ModelVersion, ModelVersionStage, NewModelVersion, RegisteredModel,
    SEARCH_MODEL_VERSIONS_MAX_RESULTS_LIMIT, SEARCH_REGISTERED_MODELS_MAX_RESULTS_LIMIT,
};

use crate::convert;
use crate::errors::{raise, Kind, OrRaise};
use crate::store::Store;

fn str_dict<'py>(
    py: Python<'py>,
    pairs: &std::collections::BTreeMap<String, String>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in pairs {
        d.set_item(k, v)?;
    }
    Ok(d)
}

fn version<'py>(py: Python<'py>, v: &ModelVersion) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "name"), &v.name)?;
    d.set_item(intern!(py, "version"), v.version)?;
    d.set_item(intern!(py, "creation_timestamp"), v.creation_timestamp)?;
    d.set_item(
        intern!(py, "last_updated_timestamp"),
        v.last_updated_timestamp,
    )?;
    d.set_item(intern!(py, "description"), &v.description)?;
    d.set_item(intern!(py, "user_id"), &v.user_id)?;
    d.set_item(intern!(py, "current_stage"), v.current_stage.as_str())?;
    d.set_item(intern!(py, "source"), &v.source)?;
    d.set_item(intern!(py, "storage_location"), &v.storage_location)?;
    d.set_item(intern!(py, "run_id"), &v.run_id)?;
    d.set_item(intern!(py, "run_link"), &v.run_link)?;
    d.set_item(intern!(py, "model_id"), &v.model_id)?;
    d.set_item(intern!(py, "status"), &v.status)?;
    d.set_item(intern!(py, "status_message"), &v.status_message)?;
    d.set_item(intern!(py, "tags"), str_dict(py, &v.tags)?)?;
    d.set_item(intern!(py, "aliases"), PyList::new(py, &v.aliases)?)?;
    Ok(d)
}

fn versions<'py>(py: Python<'py>, list: &[ModelVersion]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for v in list {
        out.append(version(py, v)?)?;
    }
    Ok(out)
}

fn model<'py>(py: Python<'py>, m: &RegisteredModel) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "name"), &m.name)?;
    d.set_item(intern!(py, "creation_timestamp"), m.creation_timestamp)?;
    d.set_item(
        intern!(py, "last_updated_timestamp"),
        m.last_updated_timestamp,
    )?;
    d.set_item(intern!(py, "description"), &m.description)?;
    d.set_item(
        intern!(py, "latest_versions"),
        versions(py, &m.latest_versions)?,
    )?;
    d.set_item(intern!(py, "tags"), str_dict(py, &m.tags)?)?;
    let aliases = PyDict::new(py);
    for (alias, v) in &m.aliases {
        aliases.set_item(alias, v)?;
    }
    d.set_item(intern!(py, "aliases"), aliases)?;
    Ok(d)
}

fn stage(py: Python<'_>, stage: &str) -> PyResult<ModelVersionStage> {
    stage
        .parse()
        .map_err(|e: tracklite::ValidationError| raise(py, Kind::InvalidValue, e.to_string()))
}

/// A page size for a registry search: positive; `limit` is the core's
/// upper bound, named in the message.
fn max_results(py: Python<'_>, max_results: i64, limit: usize) -> PyResult<usize> {
    usize::try_from(max_results)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            raise(
                py,
                Kind::InvalidValue,
                format!(
                    "invalid max_results \"{max_results}\": it must be a positive integer of at most {limit}"
                ),
            )
        })
}

/// Registered models and model versions (MLflow's model registry).
#[pymethods]
impl Store {
    #[pyo3(signature = (name, tags = None, description = None))]
    fn create_registered_model<'py>(
        &self,
        py: Python<'py>,
        name: String,
        tags: Option<&Bound<'py, PyAny>>,
        description: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let tags = convert::str_pairs(tags.filter(|t| !t.is_none()), "tags")?;
        let m = py
            .detach(|| {
                self.inner
                    .create_registered_model(&name, &tags, description.as_deref())
            })
            .or_raise(py)?;
        model(py, &m)
    }

    fn get_registered_model<'py>(
        &self,
        py: Python<'py>,
        name: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let m = py
            .detach(|| self.inner.get_registered_model(&name))
            .or_raise(py)?;
        model(py, &m)
    }

    #[pyo3(signature = (name, description = None))]
    fn update_registered_model<'py>(
        &self,
        py: Python<'py>,
        name: String,
        description: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let m = py
            .detach(|| {
                self.inner
                    .update_registered_model(&name, description.as_deref())
            })
            .or_raise(py)?;
        model(py, &m)
    }

    fn rename_registered_model<'py>(
        &self,
        py: Python<'py>,
        name: String,
        new_name: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let m = py
            .detach(|| self.inner.rename_registered_model(&name, &new_name))
            .or_raise(py)?;
        model(py, &m)
    }

    fn delete_registered_model(&self, py: Python<'_>, name: String) -> PyResult<()> {
        py.detach(|| self.inner.delete_registered_model(&name))
            .or_raise(py)
    }

    fn set_registered_model_tag(
        &self,
        py: Python<'_>,
        name: String,
        key: String,
        value: String,
    ) -> PyResult<()> {
        py.detach(|| self.inner.set_registered_model_tag(&name, &key, &value))
            .or_raise(py)
    }

    fn delete_registered_model_tag(
        &self,
        py: Python<'_>,
        name: String,
        key: String,
    ) -> PyResult<()> {
        py.detach(|| self.inner.delete_registered_model_tag(&name, &key))
            .or_raise(py)
    }

    // max_results: tracklite::SEARCH_REGISTERED_MODELS_MAX_RESULTS_DEFAULT,
    // spelled out for the text signature.
    #[pyo3(
        signature = (filter = "", max_results = 100, order_by = Vec::new(), page_token = None),
        text_signature = "($self, filter='', max_results=100, order_by=(), page_token=None)"
    )]
    fn search_registered_models<'py>(
        &self,
        py: Python<'py>,
        filter: &str,
        max_results: i64,
        order_by: Vec<String>,
        page_token: Option<String>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let max_results =
            self::max_results(py, max_results, SEARCH_REGISTERED_MODELS_MAX_RESULTS_LIMIT)?;
        let page = py
            .detach(|| {
                self.inner.search_registered_models(
                    filter,
                    max_results,
                    &order_by,
                    page_token.as_deref(),
                )
            })
            .or_raise(py)?;
        let list = PyList::empty(py);
        for m in &page.models {
            list.append(model(py, m)?)?;
        }
        convert::page(py, list, page.next_page_token)
    }

    #[pyo3(signature = (
        name,
        source,
        run_id = None,
        tags = None,
        run_link = None,
        description = None,
        model_id = None,
        user_id = None,
        storage_location = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn create_model_version<'py>(
        &self,
        py: Python<'py>,
        name: String,
        source: String,
        run_id: Option<String>,
        tags: Option<&Bound<'py, PyAny>>,
        run_link: Option<String>,
        description: Option<String>,
        model_id: Option<String>,
        user_id: Option<String>,
        storage_location: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let new = NewModelVersion {
            name,
            source,
            run_id,
            tags: convert::str_pairs(tags.filter(|t| !t.is_none()), "tags")?,
            run_link,
            description,
            model_id,
            user_id,
            storage_location,
        };
        let v = py
            .detach(|| self.inner.create_model_version(new))
            .or_raise(py)?;
        version(py, &v)
    }

    fn get_model_version<'py>(
        &self,
        py: Python<'py>,
        name: String,
        version: i64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let v = py
            .detach(|| self.inner.get_model_version(&name, version))
            .or_raise(py)?;
        self::version(py, &v)
    }

    #[pyo3(signature = (name, version, description = None))]
    fn update_model_version<'py>(
        &self,
        py: Python<'py>,
        name: String,
        version: i64,
        description: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let v = py
            .detach(|| {
                self.inner
                    .update_model_version(&name, version, description.as_deref())
            })
            .or_raise(py)?;
        self::version(py, &v)
    }

    #[pyo3(signature = (name, version, stage, archive_existing_versions = false))]
    fn transition_model_version_stage<'py>(
        &self,
        py: Python<'py>,
        name: String,
        version: i64,
        stage: &str,
        archive_existing_versions: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let stage = self::stage(py, stage)?;
        let v = py
            .detach(|| {
                self.inner.transition_model_version_stage(
                    &name,
                    version,
                    stage,
                    archive_existing_versions,
                )
            })
            .or_raise(py)?;
        self::version(py, &v)
    }

    fn delete_model_version(&self, py: Python<'_>, name: String, version: i64) -> PyResult<()> {
        py.detach(|| self.inner.delete_model_version(&name, version))
            .or_raise(py)
    }

    fn get_model_version_download_uri(
        &self,
        py: Python<'_>,
        name: String,
        version: i64,
    ) -> PyResult<String> {
        py.detach(|| self.inner.get_model_version_download_uri(&name, version))
            .or_raise(py)
    }

    fn set_model_version_tag(
        &self,
        py: Python<'_>,
        name: String,
        version: i64,
        key: String,
        value: String,
    ) -> PyResult<()> {
        py.detach(|| {
            self.inner
                .set_model_version_tag(&name, version, &key, &value)
        })
        .or_raise(py)
    }

    fn delete_model_version_tag(
        &self,
        py: Python<'_>,
        name: String,
        version: i64,
        key: String,
    ) -> PyResult<()> {
        py.detach(|| self.inner.delete_model_version_tag(&name, version, &key))
            .or_raise(py)
    }

    fn set_registered_model_alias(
        &self,
        py: Python<'_>,
        name: String,
        alias: String,
        version: i64,
    ) -> PyResult<()> {
        py.detach(|| {
            self.inner
                .set_registered_model_alias(&name, &alias, version)
        })
        .or_raise(py)
    }

    fn delete_registered_model_alias(
        &self,
        py: Python<'_>,
        name: String,
        alias: String,
    ) -> PyResult<()> {
        py.detach(|| self.inner.delete_registered_model_alias(&name, &alias))
            .or_raise(py)
    }

    fn get_model_version_by_alias<'py>(
        &self,
        py: Python<'py>,
        name: String,
        alias: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let v = py
            .detach(|| self.inner.get_model_version_by_alias(&name, &alias))
            .or_raise(py)?;
        version(py, &v)
    }

    #[pyo3(
        signature = (name, stages = Vec::new()),
        text_signature = "($self, name, stages=())"
    )]
    fn get_latest_versions<'py>(
        &self,
        py: Python<'py>,
        name: String,
        stages: Vec<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let stages = stages
            .iter()
            .map(|s| stage(py, s))
            .collect::<PyResult<Vec<_>>>()?;
        let list = py
            .detach(|| self.inner.get_latest_versions(&name, &stages))
            .or_raise(py)?;
        versions(py, &list)
    }

    fn model_version_for_uri<'py>(
        &self,
        py: Python<'py>,
        uri: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let v = py
            .detach(|| self.inner.model_version_for_uri(&uri))
            .or_raise(py)?;
        version(py, &v)
    }

    // max_results: tracklite::SEARCH_MODEL_VERSIONS_MAX_RESULTS_DEFAULT,
    // spelled out for the text signature.
    #[pyo3(
        signature = (filter = "", max_results = 10000, order_by = Vec::new(), page_token = None),
        text_signature = "($self, filter='', max_results=10000, order_by=(), page_token=None)"
    )]
    fn search_model_versions<'py>(
        &self,
        py: Python<'py>,
        filter: &str,
        max_results: i64,
        order_by: Vec<String>,
        page_token: Option<String>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let max_results =
            self::max_results(py, max_results, SEARCH_MODEL_VERSIONS_MAX_RESULTS_LIMIT)?;
        let page = py
            .detach(|| {
                self.inner.search_model_versions(
                    filter,
                    max_results,
                    &order_by,
                    page_token.as_deref(),
                )
            })
            .or_raise(py)?;
        convert::page(py, versions(py, &page.versions)?, page.next_page_token)
    }

    fn model_versions_of_run(
        &self,
        py: Python<'_>,
        run_id: String,
    ) -> PyResult<Vec<(String, i64)>> {
        py.detach(|| self.inner.model_versions_of_run(&run_id))
            .or_raise(py)
    }
}
