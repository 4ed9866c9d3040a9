//! Whole records of experiments, runs, logged models and registered models, as they are kept
//! elsewhere (an MLflow folder, a tracking server): what an import writes
//! into a store with their own ids, names, times and stages, and what an
//! export reads back out of one.

use super::{
    DatasetInput, LifecycleStage, LoggedModelOutput, LoggedModelStatus, ModelMetric, ModelVersion,
    RunStatus,
};

/// An experiment to import, with everything it has.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentRecord {
    /// Decimal digits, kept as they are (MLflow's file store uses large
    /// random numbers).
    pub experiment_id: String,
    /// The experiment's name, unique in the store.
    pub name: String,
    /// None: the store's own `artifacts/<experiment_id>` folder.
    pub artifact_location: Option<String>,
    /// Whether the experiment is active or soft-deleted.
    pub lifecycle_stage: LifecycleStage,
    /// When the experiment was created, in milliseconds since the Unix epoch.
    pub creation_time: i64,
    /// When the experiment was last changed, in milliseconds since the Unix epoch.
    pub last_update_time: i64,
    /// The experiment's tags.
    pub tags: Vec<(String, String)>,
}

/// A run to import, with everything but its metric points and artifacts.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The run's id: 32 lowercase hex digits.
    pub run_id: String,
    /// The id of the experiment the run belongs to.
    pub experiment_id: String,
    /// The run's display name.
    pub run_name: String,
    /// Who started the run.
    pub user_id: String,
    /// The run's status, kept as it is.
    pub status: RunStatus,
    /// When the run started, in milliseconds since the Unix epoch.
    pub start_time: i64,
    /// When the run ended, in milliseconds since the Unix epoch; `None` if it
    /// has not.
    pub end_time: Option<i64>,
    /// Whether the run is active or soft-deleted.
    pub lifecycle_stage: LifecycleStage,
    /// When the run was deleted, for a deleted run.
    pub deleted_time: Option<i64>,
    /// None: `<experiment artifact location>/<run_id>/artifacts`.
    pub artifact_uri: Option<String>,
    /// The run's params.
    pub params: Vec<(String, String)>,
    /// Stored exactly as given: no `mlflow.runName` tag is added.
    pub tags: Vec<(String, String)>,
    /// Datasets the run used, with the tags of each use.
    pub inputs: Vec<DatasetInput>,
    /// Ids of logged models the run used.
    pub model_inputs: Vec<String>,
    /// Logged models the run produced.
    pub model_outputs: Vec<LoggedModelOutput>,
}

/// A logged model to import, with its tags, params and metric points.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModelRecord {
    /// `m-` and 32 lowercase hex digits.
    pub model_id: String,
    /// The id of the experiment the model belongs to.
    pub experiment_id: String,
    /// The model's name.
    pub name: String,
    /// None: `<experiment artifact location>/models/<model_id>/artifacts`.
    pub artifact_location: Option<String>,
    /// When the model was created, in milliseconds since the Unix epoch.
    pub creation_timestamp: i64,
    /// When the model was last changed, in milliseconds since the Unix epoch.
    pub last_updated_timestamp: i64,
    /// A free-form kind of model, such as `agent`; `None` when not given.
    pub model_type: Option<String>,
    /// The run that produced the model, when known.
    pub source_run_id: Option<String>,
    /// PENDING, READY or FAILED, kept as it is.
    pub status: LoggedModelStatus,
    /// Whether the model is active or soft-deleted.
    pub lifecycle_stage: LifecycleStage,
    /// The model's tags.
    pub tags: Vec<(String, String)>,
    /// The model's params.
    pub params: Vec<(String, String)>,
    /// Every point, each naming its model (this one).
    pub metrics: Vec<ModelMetric>,
}

/// A registered model to import, with its versions, tags and aliases.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModelRecord {
    /// The model's name, unique in the store.
    pub name: String,
    /// When the model was registered, in milliseconds since the Unix epoch.
    pub creation_timestamp: i64,
    /// When the model last changed, in milliseconds since the Unix epoch.
    pub last_updated_timestamp: i64,
    /// The model's description.
    pub description: Option<String>,
    /// The model's tags.
    pub tags: Vec<(String, String)>,
    /// Each alias and the version it names; the versions must be among
    /// `versions`.
    pub aliases: Vec<(String, i64)>,
    /// The versions, each naming this model; their `aliases` are ignored
    /// (`aliases` above says them).
    pub versions: Vec<ModelVersion>,
    /// The greatest version number the model ever gave (deleted versions
    /// included), so that new versions continue after it; at least the
    /// greatest of `versions`.
    pub last_version: i64,
}
