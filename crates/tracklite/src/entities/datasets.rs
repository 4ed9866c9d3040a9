//! Datasets and the inputs that tie them to runs.

use std::collections::BTreeMap;

use serde::Serialize;

/// A dataset, as MLflow describes one: unique in an experiment by name and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dataset {
    /// The dataset's name, such as `train`.
    pub name: String,
    /// A short hash of the dataset's content, which tells apart versions
    /// that share a name.
    pub digest: String,
    /// The kind of source the data came from, such as `local`, `s3` or `http`.
    pub source_type: String,
    /// Where the data came from, as JSON in the form `source_type` calls for.
    pub source: String,
    /// The dataset's schema, as JSON (MLflow writes an `mlflow_colspec`); `None`
    /// when not given.
    pub schema: Option<String>,
    /// Summary statistics of the dataset, as JSON (such as row counts); `None`
    /// when not given.
    pub profile: Option<String>,
}

/// A dataset used by a run, with the input's tags (such as
/// `mlflow.data.context` = `training`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetInput {
    /// The dataset used.
    pub dataset: Dataset,
    /// Tags of this use of the dataset by the run, by key.
    pub tags: BTreeMap<String, String>,
}
