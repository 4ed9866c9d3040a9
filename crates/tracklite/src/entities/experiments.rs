//! Experiments, and the lifecycle stages experiments, runs and logged
//! models share.

use std::collections::BTreeMap;

use serde::Serialize;

/// Whether an experiment or run is live or soft-deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// Live: listed by default and open to changes.
    Active,
    /// Soft-deleted: hidden from default listings; it can be restored until
    /// `gc` removes it for good.
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
    /// Active items only (the default).
    #[default]
    ActiveOnly,
    /// Soft-deleted items only.
    DeletedOnly,
    /// Active and soft-deleted items alike.
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

/// An experiment: a named group of runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    /// The experiment's id: decimal digits; "0" is the Default experiment.
    pub experiment_id: String,
    /// The experiment's name, unique in the store (deleted experiments included).
    pub name: String,
    /// Where the artifacts of the experiment's runs go. Default:
    /// `<store>/artifacts/<experiment_id>`.
    pub artifact_location: String,
    /// Whether the experiment is active or soft-deleted.
    pub lifecycle_stage: LifecycleStage,
    /// When the experiment was created, in milliseconds since the Unix epoch.
    pub creation_time: i64,
    /// When the experiment was last renamed, deleted or restored, in
    /// milliseconds since the Unix epoch; its creation time until then.
    pub last_update_time: i64,
    /// The experiment's tags, by key.
    pub tags: BTreeMap<String, String>,
}
