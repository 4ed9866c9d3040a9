//! The model registry (MLflow's): registered models, their numbered
//! versions, the stages a version moves through and the aliases that name
//! a version.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::ValidationError;

/// The stage of a model version, as MLflow names them. Stages are
/// MLflow's older way of promoting versions (aliases are the newer one);
/// both are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ModelVersionStage {
    /// Not in any stage: where every new version starts.
    None,
    /// Being tried.
    Staging,
    /// Serving.
    Production,
    /// Retired.
    Archived,
}

impl ModelVersionStage {
    /// Every stage, in MLflow's order.
    pub const ALL: [ModelVersionStage; 4] = [
        ModelVersionStage::None,
        ModelVersionStage::Staging,
        ModelVersionStage::Production,
        ModelVersionStage::Archived,
    ];

    /// MLflow's spelling, such as `Production`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelVersionStage::None => "None",
            ModelVersionStage::Staging => "Staging",
            ModelVersionStage::Production => "Production",
            ModelVersionStage::Archived => "Archived",
        }
    }

    /// Staging and Production: the stages `archive_existing_versions`
    /// applies to, and the default stages of "latest versions" in MLflow.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ModelVersionStage::Staging | ModelVersionStage::Production
        )
    }
}

impl fmt::Display for ModelVersionStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ModelVersionStage {
    type Err = ValidationError;

    /// A stage in any case, as MLflow accepts them (`production`, `PRODUCTION`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelVersionStage::ALL
            .into_iter()
            .find(|stage| stage.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ValidationError::InvalidValue {
                field: "model version stage",
                value: s.to_string(),
                rule: "must be one of None, Staging, Production, Archived (in any case)".into(),
            })
    }
}

/// A registered model: a name under which versions of a model are kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisteredModel {
    /// Unique in the store.
    pub name: String,
    /// When the model was registered, in milliseconds since the Unix epoch.
    pub creation_timestamp: i64,
    /// When the model, or one of its versions, last changed.
    pub last_updated_timestamp: i64,
    /// Free text; None when never set.
    pub description: Option<String>,
    /// The newest version in each stage that has one, by ascending version.
    pub latest_versions: Vec<ModelVersion>,
    /// The model's tags.
    pub tags: BTreeMap<String, String>,
    /// Each alias and the version it names, by alias.
    pub aliases: BTreeMap<String, i64>,
}

/// One version of a registered model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// 1, 2, ...: one more than the greatest number the model ever gave,
    /// so a deleted version's number is never given again.
    pub version: i64,
    /// When the version was created, in milliseconds since the Unix epoch.
    pub creation_timestamp: i64,
    /// When the version last changed.
    pub last_updated_timestamp: i64,
    /// Free text; None when never set.
    pub description: Option<String>,
    /// Who registered the version, when known.
    pub user_id: Option<String>,
    /// The version's stage.
    pub current_stage: ModelVersionStage,
    /// Where the model came from, as given: `runs:/<run_id>/model`,
    /// `models:/m-<id>`, a path or a URI.
    pub source: String,
    /// Where the model's files are: the source resolved to a location,
    /// when it was a `runs:/` or `models:/` URI that could be resolved.
    pub storage_location: Option<String>,
    /// The run that produced the model, when known.
    pub run_id: Option<String>,
    /// A link to the run, as the client gave it.
    pub run_link: Option<String>,
    /// The logged model (MLflow 3) the version was made from, when known.
    pub model_id: Option<String>,
    /// Always `READY`: a version is whole once created.
    pub status: String,
    /// A note on the status, when one was given.
    pub status_message: Option<String>,
    /// The version's tags.
    pub tags: BTreeMap<String, String>,
    /// The aliases that name this version, sorted.
    pub aliases: Vec<String>,
}

impl ModelVersion {
    /// Where the model's files are for a download: the storage location
    /// when there is one, else the source.
    pub fn download_uri(&self) -> &str {
        self.storage_location.as_deref().unwrap_or(&self.source)
    }
}

/// What [`crate::Store::create_model_version`] takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewModelVersion {
    /// The registered model, which must exist.
    pub name: String,
    /// Where the model came from (see [`ModelVersion::source`]).
    pub source: String,
    /// The run that produced the model.
    pub run_id: Option<String>,
    /// Tags of the new version.
    pub tags: Vec<(String, String)>,
    /// A link to the run.
    pub run_link: Option<String>,
    /// The version's description.
    pub description: Option<String>,
    /// The logged model the version is made from.
    pub model_id: Option<String>,
    /// Who registers the version.
    pub user_id: Option<String>,
    /// Where the model's files are, when the caller resolved the source.
    pub storage_location: Option<String>,
}

/// A run whose artifacts registered model versions use: what a gc that
/// would remove it for good reports (see [`crate::Store::gc`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackingRun {
    /// The run.
    pub run_id: String,
    /// The versions, as (model name, version), by name then version.
    pub versions: Vec<(String, i64)>,
}
