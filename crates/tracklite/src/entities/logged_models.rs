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
    Pending,
    Ready,
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
    pub model_id: String,
    pub key: String,
    /// Kept exactly, NaN and ±inf included.
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    pub run_id: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

/// A model logged to an experiment (MLflow 3's `LoggedModel`), with its
/// tags, params and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedModel {
    /// `m-` and 32 lowercase hex digits.
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    /// Default: `<experiment artifact location>/models/<model_id>/artifacts`.
    pub artifact_location: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub status: LoggedModelStatus,
    pub lifecycle_stage: LifecycleStage,
    pub tags: BTreeMap<String, String>,
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
    pub model_type: Option<String>,
    pub tags: Vec<(String, String)>,
    pub params: Vec<(String, String)>,
}

/// A model a run produced, at a step of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedModelOutput {
    pub model_id: String,
    pub step: i64,
}
