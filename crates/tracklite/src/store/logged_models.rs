//! Logged models (MLflow 3): models logged to an experiment, with their
//! tags, params and metrics; the models runs give as outputs and take as
//! inputs; and the search over models.
//!
//! The rules are MLflow's: ids are `m-` and 32 hex digits; a new model is
//! PENDING until finalized; deletion is soft, and a deleted model is left
//! out of `get_logged_model` (unless asked for) and of searches; model
//! names may not contain `/ : . % " '`.

use super::Store;
use crate::entities::{
    now_ms, LoggedModel, LoggedModelOutput, LoggedModelStatus, ModelMetric, NewLoggedModel,
};
use crate::error::{Error, Result, ValidationError};
use crate::index::logged_models::ModelRow;
use crate::search::check_max_results;
use crate::search::logged_models::{parse_filter, parse_order_by, split_order_clause};
use crate::search::page_token::PageToken;
use crate::search::sql::ModelQuery;
use crate::{names, validate};

/// The number of models a search returns when the caller has no
/// preference, as in MLflow.
pub const SEARCH_LOGGED_MODELS_MAX_RESULTS_DEFAULT: usize = 100;

/// One page of [`Store::search_logged_models`].
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModelPage {
    /// The models of this page, in the order asked for.
    pub models: Vec<LoggedModel>,
    /// Pass this to the next call for the next page; None on the last page.
    pub next_page_token: Option<String>,
}

/// One order_by clause of [`Store::search_logged_models`], shaped as
/// MLflow's: a field, a direction and, for a metric, the dataset whose
/// points count.
///
/// Fields: `name`, `model_id`, `status`, `model_type`, `source_run_id`,
/// `artifact_location`, `creation_timestamp` (or `creation_time`),
/// `last_updated_timestamp`, and `metrics.<key>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedModelOrder {
    /// The field ordered by: an attribute name or `metrics.<key>`.
    pub field: String,
    /// Default (in [`LoggedModelOrder::new`] and `parse`): true.
    pub ascending: bool,
    /// Only for a metric: order by its latest point on this dataset.
    pub dataset_name: Option<String>,
    /// Only with `dataset_name`: the dataset's digest too.
    pub dataset_digest: Option<String>,
}

impl LoggedModelOrder {
    /// Orders by `field`, ascending or not, on no particular dataset.
    pub fn new(field: impl Into<String>, ascending: bool) -> Self {
        LoggedModelOrder {
            field: field.into(),
            ascending,
            dataset_name: None,
            dataset_digest: None,
        }
    }

    /// A clause written as text: a field, then `ASC` or `DESC` (any case).
    ///
    /// ```
    /// use tracklite::LoggedModelOrder;
    /// let o = LoggedModelOrder::parse("metrics.accuracy DESC")?;
    /// assert_eq!((o.field.as_str(), o.ascending), ("metrics.accuracy", false));
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn parse(clause: &str) -> Result<Self> {
        let (field, ascending) = split_order_clause(clause)?;
        Ok(LoggedModelOrder::new(field, ascending))
    }
}

/// A dataset that a model search's metric filters are restricted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetFilter {
    /// The dataset's name.
    pub name: String,
    /// None: any digest.
    pub digest: Option<String>,
}

impl Store {
    /// Creates a logged model in PENDING status and returns it. The
    /// experiment must be active and the source run, when given, must exist.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{LoggedModelStatus, NewLoggedModel, Store};
    /// let store = Store::open(dir.path())?;
    /// let model = store.create_logged_model(NewLoggedModel {
    ///     name: Some("classifier".into()),
    ///     params: vec![("alpha".into(), "0.5".into())],
    ///     ..NewLoggedModel::default()
    /// })?;
    /// assert!(model.model_id.starts_with("m-"));
    /// assert!(model.artifact_location.ends_with(&format!("/0/models/{}/artifacts", model.model_id)));
    /// let model = store.finalize_logged_model(&model.model_id, LoggedModelStatus::Ready)?;
    /// assert_eq!(model.status, LoggedModelStatus::Ready);
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn create_logged_model(&self, new: NewLoggedModel) -> Result<LoggedModel> {
        let experiment_id = validate::experiment_id(new.experiment_id.as_deref().unwrap_or("0"))?;
        let id = crate::ids::new_id();
        let model_id = format!("m-{}", id.uuid.simple());
        let name = match new.name {
            Some(name) => {
                validate::logged_model_name(&name)?;
                name
            }
            None => names::run_name(id.random),
        };
        if let Some(run_id) = &new.source_run_id {
            validate::run_id(run_id)?;
        }
        if let Some(t) = &new.model_type {
            validate::length("model type", t, t, validate::MAX_MODEL_TYPE_LENGTH)?;
        }
        validate::logged_model_tags(&new.tags)?;
        validate::params(&new.params)?;
        self.inner.index()?.create_logged_model(&ModelRow {
            model_id: &model_id,
            experiment_id,
            name: &name,
            source_run_id: new.source_run_id.as_deref(),
            model_type: new.model_type.as_deref(),
            creation_time: now_ms(),
            tags: &new.tags,
            params: &new.params,
        })?;
        self.get_logged_model(&model_id, false)
    }

    /// The model with its tags, params and metrics. A deleted model is
    /// NotFound unless `allow_deleted`.
    pub fn get_logged_model(&self, model_id: &str, allow_deleted: bool) -> Result<LoggedModel> {
        validate::logged_model_id(model_id)?;
        self.inner
            .index()?
            .logged_model(model_id, allow_deleted, &self.inner.artifact_root)
    }

    /// Soft-deletes a model. Deleting a deleted model again is accepted,
    /// as in MLflow.
    pub fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        validate::logged_model_id(model_id)?;
        self.inner.index()?.delete_logged_model(model_id)
    }

    /// Sets a model's status (READY or FAILED once its artifacts are
    /// written, or failed to be) and returns the model.
    pub fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        validate::logged_model_id(model_id)?;
        self.inner
            .index()?
            .finalize_logged_model(model_id, status)?;
        self.get_logged_model(model_id, true)
    }

    /// Sets (or replaces) tags of a model; for a key given twice, the last
    /// value wins.
    pub fn set_logged_model_tags(&self, model_id: &str, tags: &[(String, String)]) -> Result<()> {
        validate::logged_model_id(model_id)?;
        validate::logged_model_tags(tags)?;
        self.inner.index()?.set_logged_model_tags(model_id, tags)
    }

    /// Deletes a model's tag; NotFound when it is not set.
    pub fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        validate::logged_model_id(model_id)?;
        self.inner.index()?.delete_logged_model_tag(model_id, key)
    }

    /// Logs params of a model, all or nothing. As for runs, params are
    /// immutable: the same value again is accepted, another is an error.
    pub fn log_logged_model_params(
        &self,
        model_id: &str,
        params: &[(String, String)],
    ) -> Result<()> {
        validate::logged_model_id(model_id)?;
        validate::params(params)?;
        self.inner
            .index()?
            .log_logged_model_params(model_id, params)
    }

    /// Records models as outputs of an active run, each at a step of the
    /// run (MLflow's `log_outputs`). The models must exist.
    pub fn log_outputs(&self, run_id: &str, outputs: &[LoggedModelOutput]) -> Result<()> {
        validate::run_id(run_id)?;
        for o in outputs {
            validate::logged_model_id(&o.model_id)?;
        }
        self.inner.index()?.log_outputs(run_id, outputs)
    }

    /// The models a run gave as outputs, in the order recorded.
    pub fn run_outputs(&self, run_id: &str) -> Result<Vec<LoggedModelOutput>> {
        validate::run_id(run_id)?;
        self.inner.index()?.run_outputs(run_id)
    }

    /// Records models as inputs of an active run (MLflow's `log_inputs`
    /// with models). The models must exist.
    pub fn log_model_inputs(&self, run_id: &str, model_ids: &[&str]) -> Result<()> {
        validate::run_id(run_id)?;
        for id in model_ids {
            validate::logged_model_id(id)?;
        }
        self.inner.index()?.log_model_inputs(run_id, model_ids)
    }

    /// Appends a model's description, a JSON object (MLflow's
    /// `Model.get_tags_dict()` as `json.dumps` writes it), to the run's
    /// `mlflow.log-model.history` tag, atomically. The run must be active;
    /// a tag that would grow past the run tag limit (8000 characters) is
    /// refused, never cut.
    pub fn record_logged_model(&self, run_id: &str, model_json: &str) -> Result<()> {
        validate::run_id(run_id)?;
        if !serde_json::from_str::<serde_json::Value>(model_json).is_ok_and(|v| v.is_object()) {
            return Err(ValidationError::InvalidValue {
                field: "logged model description",
                value: model_json.chars().take(200).collect(),
                rule: "must be a JSON object".into(),
            }
            .into());
        }
        self.inner
            .index()?
            .record_logged_model(run_id, model_json.trim())
    }

    /// The models a run took as inputs, in the order recorded.
    pub fn run_model_inputs(&self, run_id: &str) -> Result<Vec<String>> {
        validate::run_id(run_id)?;
        self.inner.index()?.run_model_inputs(run_id)
    }

    /// Logs metric points of models (MLflow's metrics logged with a
    /// `model_id`), at most 1000 per call, all or nothing. Values are kept
    /// exactly, NaN and ±inf included. The models must exist, and the runs
    /// named must be active. A point logged again (same model, key,
    /// timestamp, step, run and dataset) is kept once.
    ///
    /// These points belong to the models only: a caller that also wants
    /// them in a run's history logs them to the run as well.
    pub fn log_model_metrics(&self, metrics: &[ModelMetric]) -> Result<()> {
        validate::batch(metrics.len(), 0, 0)?;
        for m in metrics {
            validate::logged_model_metric(m)?;
        }
        self.inner.index()?.log_model_metrics(metrics)
    }

    /// Searches the active models of some experiments.
    ///
    /// - `filter`: clauses joined by AND, in MLflow's filter language:
    ///   attributes `name`, `model_id`, `status`, `model_type`,
    ///   `source_run_id`, `artifact_location` (`= != LIKE ILIKE IN NOT
    ///   IN`), `creation_timestamp` (or `creation_time`) and
    ///   `last_updated_timestamp` (`= != < <= > >=`); `tags.<key>` and
    ///   `params.<key>` (as text, and `IS NULL`, `IS NOT NULL`);
    ///   `metrics.<key>` (numbers: true when any point passes).
    /// - `datasets`: metric clauses only look at points on these datasets;
    ///   with no metric clause, models need a point on one of them.
    /// - `max_results`: 1 to [`crate::SEARCH_MAX_RESULTS_LIMIT`]; MLflow's
    ///   default is [`SEARCH_LOGGED_MODELS_MAX_RESULTS_DEFAULT`].
    /// - `order_by`: see [`LoggedModelOrder`]; missing values come last.
    ///   Default and final tie-break: newest first.
    /// - `page_token`: None for the first page, then the token the previous
    ///   page returned; models created while paging do not appear.
    ///
    /// An empty `experiment_ids` matches no model, as in MLflow.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{LoggedModelOrder, NewLoggedModel, Store};
    /// let store = Store::open(dir.path())?;
    /// for name in ["small", "large"] {
    ///     store.create_logged_model(NewLoggedModel {
    ///         name: Some(name.into()),
    ///         model_type: Some("classifier".into()),
    ///         ..NewLoggedModel::default()
    ///     })?;
    /// }
    /// let page = store.search_logged_models(
    ///     &["0"],
    ///     "model_type = 'classifier' AND name LIKE '%a%'",
    ///     &[],
    ///     100,
    ///     &[LoggedModelOrder::new("name", true)],
    ///     None,
    /// )?;
    /// let names: Vec<_> = page.models.iter().map(|m| m.name.as_str()).collect();
    /// assert_eq!(names, ["large", "small"]);
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn search_logged_models(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        datasets: &[DatasetFilter],
        max_results: usize,
        order_by: &[LoggedModelOrder],
        page_token: Option<&str>,
    ) -> Result<LoggedModelPage> {
        check_max_results(max_results)?;
        let experiment_ids = experiment_ids
            .iter()
            .map(|id| validate::experiment_id(id))
            .collect::<Result<Vec<_>, _>>()?;
        let clauses = parse_filter(filter)?;
        let order = parse_order_by(order_by)?;
        let datasets = datasets
            .iter()
            .map(|d| {
                if d.name.is_empty() {
                    return Err(Error::from(ValidationError::InvalidValue {
                        field: "dataset filter",
                        value: String::new(),
                        rule: "a dataset filter must name its dataset".into(),
                    }));
                }
                Ok((d.name.clone(), d.digest.clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        let token = page_token.map(PageToken::decode).transpose()?;
        if experiment_ids.is_empty() {
            return Ok(LoggedModelPage {
                models: Vec::new(),
                next_page_token: None,
            });
        }
        let offset = token.map_or(0, |t| t.offset);
        let page = self.inner.index()?.search_logged_models(&ModelQuery {
            experiment_ids: &experiment_ids,
            clauses: &clauses,
            datasets: &datasets,
            order: &order,
            snapshot: token.and_then(|t| t.snapshot),
            limit: max_results,
            offset,
            artifact_root: &self.inner.artifact_root,
        })?;
        let next_page_token = page.more.then(|| {
            PageToken {
                offset: offset + max_results,
                snapshot: Some(page.snapshot),
            }
            .encode()
        });
        Ok(LoggedModelPage {
            models: page.models,
            next_page_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        validate::logged_model_name("my-model_1 x").unwrap();
        for bad in ["", "a/b", "a.b", "a:b", "50%", "a'b", "a\"b"] {
            assert!(validate::logged_model_name(bad).is_err(), "{bad}");
        }
        assert!(validate::logged_model_name(&"x".repeat(501)).is_err());
        validate::logged_model_id("m-0123456789abcdef0123456789abcdef").unwrap();
        assert!(validate::logged_model_id("../x").is_err());
        assert!(validate::logged_model_id("").is_err());
    }
}
