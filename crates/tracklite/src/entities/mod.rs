//! The entities a store holds, shaped after MLflow's: one file per entity
//! family, all re-exported here.

mod datasets;
mod experiments;
mod logged_models;
mod metrics;
mod records;
mod registry;
mod runs;

pub use datasets::{Dataset, DatasetInput};
pub use experiments::{Experiment, LifecycleStage, ViewType};
pub use logged_models::{
    LoggedModel, LoggedModelOutput, LoggedModelStatus, ModelMetric, NewLoggedModel,
};
pub use metrics::{now_ms, Metric, MetricColumns, MetricDatasetLink, MetricPoint, MetricSummary};
pub use records::{ExperimentRecord, LoggedModelRecord, RegisteredModelRecord, RunRecord};
pub use registry::{BackingRun, ModelVersion, ModelVersionStage, NewModelVersion, RegisteredModel};
pub use runs::{NewRun, Run, RunInfo, RunStatus, RunUpdate};
