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
    /// Logging: the status of a new run.
    Running,
    /// Queued to start later (set by schedulers, not by tracklite).
    Scheduled,
    /// Ended successfully (terminal).
    Finished,
    /// Ended with an error (terminal).
    Failed,
    /// Stopped before it could end by itself (terminal).
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
    /// The run's id: 32 lowercase hex digits.
    pub run_id: String,
    /// The id of the experiment the run belongs to.
    pub experiment_id: String,
    /// The run's display name, also kept as its `mlflow.runName` tag.
    pub run_name: String,
    /// Who started the run. Default: the `USER` environment variable.
    pub user_id: String,
    /// Where the run is in its life: RUNNING until it ends.
    pub status: RunStatus,
    /// When the run started, in milliseconds since the Unix epoch.
    pub start_time: i64,
    /// When the run ended, in milliseconds since the Unix epoch; `None` while
    /// it has not.
    pub end_time: Option<i64>,
    /// Whether the run is active or soft-deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Where the run's artifacts go. Default:
    /// `<experiment artifact location>/<run_id>/artifacts`.
    pub artifact_uri: String,
}

/// A run with everything logged to it, as `get_run` returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// The run's metadata.
    pub info: RunInfo,
    /// The run's params, by key; each is logged once and never changes.
    pub params: BTreeMap<String, String>,
    /// The run's tags, by key, `mlflow.*` system tags included.
    pub tags: BTreeMap<String, String>,
    /// The latest value of each metric, by key, with its minimum, maximum
    /// and point count.
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
    /// Tags set with the run, in the same transaction. Default: none; a
    /// `mlflow.runName` tag here names the run when `run_name` is `None`.
    pub tags: Vec<(String, String)>,
    /// Params logged with the run, in the same transaction.
    pub params: Vec<(String, String)>,
    /// The parent of a nested run; recorded as the `mlflow.parentRunId` tag too.
    pub parent_run_id: Option<String>,
}

/// The fields of a run that `update_run` may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RunUpdate {
    /// The new status; a terminal one flushes the run's metrics first.
    pub status: Option<RunStatus>,
    /// The new end time, in milliseconds since the Unix epoch.
    pub end_time: Option<i64>,
    /// The new name; the `mlflow.runName` tag follows it.
    pub run_name: Option<String>,
}
