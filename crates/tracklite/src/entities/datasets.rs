//! Datasets and the inputs that tie them to runs.

use std::collections::BTreeMap;

use serde::Serialize;

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
