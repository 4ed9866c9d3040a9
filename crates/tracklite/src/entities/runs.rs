//! Runs: their status, metadata, contents, and what creates and updates one.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::{DatasetInput, LifecycleStage, MetricSummary};
use crate::error::ValidationError;

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
