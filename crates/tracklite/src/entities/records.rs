//! Whole records of experiments, runs and logged models, as they are kept
//! elsewhere (an MLflow folder, a tracking server): what an import writes
//! into a store with their own ids, names, times and stages, and what an
//! export reads back out of one.

use super::{
    DatasetInput, LifecycleStage, LoggedModelOutput, LoggedModelStatus, ModelMetric, RunStatus,
};

/// An experiment to import, with everything it has.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentRecord {
    /// Decimal digits, kept as they are (MLflow's file store uses large
    /// random numbers).
    pub experiment_id: String,
    pub name: String,
    /// None: the store's own `artifacts/<experiment_id>` folder.
    pub artifact_location: Option<String>,
    pub lifecycle_stage: LifecycleStage,
    pub creation_time: i64,
    pub last_update_time: i64,
    pub tags: Vec<(String, String)>,
}

/// A run to import, with everything but its metric points and artifacts.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub run_id: String,
    pub experiment_id: String,
    pub run_name: String,
    pub user_id: String,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub lifecycle_stage: LifecycleStage,
    /// When the run was deleted, for a deleted run.
    pub deleted_time: Option<i64>,
    /// None: `<experiment artifact location>/<run_id>/artifacts`.
    pub artifact_uri: Option<String>,
    pub params: Vec<(String, String)>,
    /// Stored exactly as given: no `mlflow.runName` tag is added.
    pub tags: Vec<(String, String)>,
    pub inputs: Vec<DatasetInput>,
    /// Ids of logged models the run used.
    pub model_inputs: Vec<String>,
    /// Logged models the run produced.
    pub model_outputs: Vec<LoggedModelOutput>,
}

/// A logged model to import, with its tags, params and metric points.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModelRecord {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    /// None: `<experiment artifact location>/models/<model_id>/artifacts`.
    pub artifact_location: Option<String>,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub status: LoggedModelStatus,
    pub lifecycle_stage: LifecycleStage,
    pub tags: Vec<(String, String)>,
    pub params: Vec<(String, String)>,
    /// Every point, each naming its model (this one).
    pub metrics: Vec<ModelMetric>,
}
