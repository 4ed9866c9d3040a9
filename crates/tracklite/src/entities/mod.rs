//! The entities a store holds, shaped after MLflow's.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::ValidationError;

mod records;

pub use records::{ExperimentRecord, LoggedModelRecord, RunRecord};

/// Whether an experiment or run is live or soft-deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    Active,
    Deleted,
}

impl LifecycleStage {
    /// MLflow's spelling: `active` or `deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Active => "active",
            LifecycleStage::Deleted => "deleted",
        }
    }
}

/// Which lifecycle stages a listing returns. Default: active only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

impl ViewType {
    pub(crate) fn stages(self) -> &'static [&'static str] {
        match self {
            ViewType::ActiveOnly => &["active"],
            ViewType::DeletedOnly => &["deleted"],
            ViewType::All => &["active", "deleted"],
        }
    }
}

/// A run's status, as in MLflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    /// MLflow's spelling, such as `FINISHED`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    /// A run in a terminal status has ended: its metric log is flushed.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Finished | RunStatus::Failed | RunStatus::Killed
        )
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RUNNING" => Ok(RunStatus::Running),
            "SCHEDULED" => Ok(RunStatus::Scheduled),
            "FINISHED" => Ok(RunStatus::Finished),
            "FAILED" => Ok(RunStatus::Failed),
            "KILLED" => Ok(RunStatus::Killed),
            _ => Err(ValidationError::InvalidValue {
                field: "run status",
                value: s.to_string(),
                rule: "must be one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED".into(),
            }),
        }
    }
}

/// An experiment: a named group of runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: LifecycleStage,
    pub creation_time: i64,
    pub last_update_time: i64,
    pub tags: BTreeMap<String, String>,
}

/// A run's metadata, without its params, tags and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub experiment_id: String,
    pub run_name: String,
    pub user_id: String,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub lifecycle_stage: LifecycleStage,
    pub artifact_uri: String,
}

/// The latest value of one metric of a run, with its minimum and maximum.
///
/// "Latest" is the point with the greatest (step, timestamp, value), as in
/// MLflow. `min` and `max` ignore NaN; they are NaN only when every value is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricSummary {
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    pub min: f64,
    pub max: f64,
    pub count: u64,
}

/// A dataset, as MLflow describes one: unique in an experiment by name and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

/// A dataset used by a run, with the input's tags (such as
/// `mlflow.data.context` = `training`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetInput {
    pub dataset: Dataset,
    pub tags: BTreeMap<String, String>,
}

/// A run with everything logged to it, as `get_run` returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub info: RunInfo,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, MetricSummary>,
    /// Datasets the run used, in the order first logged.
    pub inputs: Vec<DatasetInput>,
}

/// One point of a metric: a value at a step and a time (ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricPoint {
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

/// A metric point with its key, for batches.
///
/// It names no dataset: points logged live keep none, as in MLflow's SQL
/// store; only an imported point keeps the dataset its metric line named
/// (see [`MetricDatasetLink`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

impl Metric {
    pub fn new(key: impl Into<String>, value: f64, timestamp: i64, step: i64) -> Self {
        Metric {
            key: key.into(),
            value,
            timestamp,
            step,
        }
    }
}

/// The dataset one point of a metric history was computed on, as an MLflow
/// file store's metric line names it (MLflow 3's `Metric.dataset_name` and
/// `dataset_digest`). Kept for imported points only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricDatasetLink {
    /// The point's 0-based position in the history, in the order logged.
    pub ordinal: u64,
    pub dataset_name: String,
    pub dataset_digest: String,
}

/// A metric history in columns, ready for numpy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricColumns {
    pub steps: Vec<i64>,
    pub timestamps: Vec<i64>,
    pub values: Vec<f64>,
}

impl MetricColumns {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// What a new run starts with. Every field has a default: see [`NewRun::default`].
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    /// Default: "0", the Default experiment.
    pub experiment_id: Option<String>,
    /// Default: a generated readable name such as `brave-otter-417`.
    pub run_name: Option<String>,
    /// Default: the `USER` environment variable, or "unknown".
    pub user_id: Option<String>,
    /// Default: now, in ms since the epoch.
    pub start_time: Option<i64>,
    pub tags: Vec<(String, String)>,
    /// Params logged with the run, in the same transaction.
    pub params: Vec<(String, String)>,
    /// The parent of a nested run; recorded as the `mlflow.parentRunId` tag too.
    pub parent_run_id: Option<String>,
}

/// The fields of a run that `update_run` may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RunUpdate {
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub run_name: Option<String>,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

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
