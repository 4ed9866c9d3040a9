//! Logged models (MLflow 3): their status, metrics, what creates one, and
//! the outputs that tie them to runs.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::LifecycleStage;
use crate::error::ValidationError;

/// A logged model's status, as MLflow's `LoggedModelStatus` names it. A new
/// model is PENDING until it is finalized as READY or FAILED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LoggedModelStatus {
    /// Created; its artifacts are still being written.
    Pending,
    /// Finalized: its artifacts are complete and it can be used.
    Ready,
    /// Finalized as failed: its artifacts could not be written.
    Failed,
}

impl LoggedModelStatus {
    /// MLflow's spelling, such as `READY`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoggedModelStatus::Pending => "PENDING",
            LoggedModelStatus::Ready => "READY",
            LoggedModelStatus::Failed => "FAILED",
        }
    }
}

impl fmt::Display for LoggedModelStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LoggedModelStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "PENDING" => Ok(LoggedModelStatus::Pending),
            "READY" => Ok(LoggedModelStatus::Ready),
            "FAILED" => Ok(LoggedModelStatus::Failed),
            _ => Err(ValidationError::InvalidValue {
                field: "logged model status",
                value: s.to_string(),
                rule: "must be one of PENDING, READY, FAILED".into(),
            }),
        }
    }
}

/// One point of a logged model's metric, as MLflow records it: the run
/// that logged it and the dataset it was measured on, when known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelMetric {
    /// The id of the model the point belongs to.
    pub model_id: String,
    /// The metric's name, such as `accuracy`.
    pub key: String,
    /// Kept exactly, NaN and ±inf included.
    pub value: f64,
    /// When the value was measured, in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// The training step the value belongs to; MLflow's default is 0.
    pub step: i64,
    /// The run that logged the point, when known.
    pub run_id: Option<String>,
    /// The name of the dataset the value was measured on, when known.
    pub dataset_name: Option<String>,
    /// The digest of the dataset the value was measured on, when known.
    pub dataset_digest: Option<String>,
}

/// A model logged to an experiment (MLflow 3's `LoggedModel`), with its
/// tags, params and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedModel {
    /// `m-` and 32 lowercase hex digits.
    pub model_id: String,
    /// The id of the experiment the model belongs to.
    pub experiment_id: String,
    /// The model's name; several models may share one.
    pub name: String,
    /// Where the model's artifacts go. Default:
    /// `<experiment artifact location>/models/<model_id>/artifacts`.
    pub artifact_location: String,
    /// When the model was created, in milliseconds since the Unix epoch.
    pub creation_timestamp: i64,
    /// When the model was last finalized or deleted, in milliseconds since
    /// the Unix epoch; its creation time until then.
    pub last_updated_timestamp: i64,
    /// A free-form kind of model, such as `agent` or `classifier`; `None`
    /// when not given.
    pub model_type: Option<String>,
    /// The run that produced the model, when known.
    pub source_run_id: Option<String>,
    /// PENDING until the model is finalized as READY or FAILED.
    pub status: LoggedModelStatus,
    /// Whether the model is active or soft-deleted.
    pub lifecycle_stage: LifecycleStage,
    /// The model's tags, by key.
    pub tags: BTreeMap<String, String>,
    /// The model's params, by key; each is set once and never changes.
    pub params: BTreeMap<String, String>,
    /// Every point, in the order logged.
    pub metrics: Vec<ModelMetric>,
}

/// What a new logged model starts with. Every field has a default: see
/// [`NewLoggedModel::default`].
#[derive(Debug, Clone, Default)]
pub struct NewLoggedModel {
    /// Default: "0", the Default experiment.
    pub experiment_id: Option<String>,
    /// Default: a generated readable name such as `brave-otter-417`.
    pub name: Option<String>,
    /// The run that produced the model.
    pub source_run_id: Option<String>,
    /// A free-form kind of model, such as `agent`. Default: none.
    pub model_type: Option<String>,
    /// Tags set with the model. Default: none.
    pub tags: Vec<(String, String)>,
    /// Params set with the model. Default: none.
    pub params: Vec<(String, String)>,
}

/// A model a run produced, at a step of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedModelOutput {
    /// The id of the model the run produced.
    pub model_id: String,
    /// The run's step at which the model was produced; MLflow's default is 0.
    pub step: i64,
}
