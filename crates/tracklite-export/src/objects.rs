//! What the export of objects other than runs did: dataset inputs, logged
//! models and their metrics, run outputs, and the model registry. These go
//! after the runs, whose remote ids they need.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};
use tracklite::{ExportJournal, Store};

use crate::client::Client;
use crate::digests::Digests;
use crate::error::Result;

/// Counts of the objects sent, and what could not be.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ObjectsSummary {
    /// Dataset (and model) inputs of runs logged.
    pub inputs: u64,
    /// Logged models made on the server.
    pub logged_models_created: u64,
    /// Logged models whose status, params or tags were updated.
    pub logged_models_updated: u64,
    /// Artifact files of logged models uploaded.
    pub model_files: u64,
    /// Their bytes.
    pub model_bytes: u64,
    /// Metric points of logged models sent.
    pub model_metrics: u64,
    /// Metric points of logged models that cannot be sent: MLflow records a
    /// model's metric through a run, and these have none on the server.
    pub model_metrics_without_run: u64,
    /// Run outputs (run → logged model) logged.
    pub outputs: u64,
    /// Registered models made on the server.
    pub registered_models_created: u64,
    /// Model versions made on the server.
    pub versions_created: u64,
    /// Stage transitions, alias and tag changes sent for versions.
    pub registry_updates: u64,
    /// Versions not made yet, with why: their source is not on the server
    /// yet (artifacts not uploaded), or their run or model is not exported.
    /// The next export makes them.
    pub versions_waiting: Vec<String>,
    /// What failed, loudly.
    pub failures: Vec<String>,
}

/// What the object exports share.
pub(crate) struct Objects<'a> {
    pub store: &'a Store,
    pub client: &'a Client,
    pub journal: &'a ExportJournal,
    pub store_id: String,
    /// Local run id → remote run id, for every run on the server.
    pub runs: HashMap<String, String>,
    /// Local experiment id → remote experiment id.
    pub experiments: HashMap<String, String>,
    /// Local logged model id → remote model id (filled by the models step).
    pub models: HashMap<String, String>,
    /// Digests of artifact files hashed by earlier passes.
    pub digests: &'a Digests,
}

/// Exports inputs, logged models, outputs and the registry, after the runs
/// `exported` (local ids) were exported.
pub(crate) fn export_objects(
    store: &Store,
    client: &Client,
    journal: &ExportJournal,
    store_id: &str,
    exported: &[String],
    digests: &Digests,
) -> Result<ObjectsSummary> {
    let runs = journal
        .runs()?
        .into_iter()
        .map(|(local, j)| (local, j.remote_id))
        .collect();
    let mut ctx = Objects {
        store,
        client,
        journal,
        store_id: store_id.to_string(),
        runs,
        experiments: journal.experiments()?,
        models: journal.objects(crate::models::LOGGED_MODEL)?,
        digests,
    };
    let mut summary = ObjectsSummary::default();
    crate::models::export_logged_models(&mut ctx, &mut summary)?;
    for run_id in exported {
        if let Err(e) = crate::inputs::export_run_io(&ctx, run_id, &mut summary) {
            summary
                .failures
                .push(format!("run {run_id}: inputs and outputs: {e}"));
        }
    }
    crate::models::export_model_metrics(&ctx, &mut summary)?;
    crate::registry::export_registry(&ctx, &mut summary)?;
    Ok(summary)
}

/// What a dry run counts of the objects: logged models, registered models
/// and versions that the journal does not show as made, for the local
/// experiments `experiments`. Nothing is asked of the server.
pub(crate) fn dry_run(
    store: &Store,
    client: &Client,
    journal: &ExportJournal,
    experiments: impl IntoIterator<Item = String>,
) -> Result<ObjectsSummary> {
    let digests = Digests::default();
    let ctx = Objects {
        store,
        client,
        journal,
        store_id: String::new(),
        runs: HashMap::new(),
        experiments: experiments
            .into_iter()
            .map(|e| (e, String::new()))
            .collect(),
        models: journal.objects(crate::models::LOGGED_MODEL)?,
        digests: &digests,
    };
    let mut summary = ObjectsSummary::default();
    crate::models::dry_run(&ctx, &mut summary)?;
    crate::registry::dry_run(&ctx, &mut summary)?;
    Ok(summary)
}

/// `[{key, value}, ...]` of a map.
pub(crate) fn key_values<'a>(items: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
    Value::Array(
        items
            .into_iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

/// The digest the journal keeps of a JSON value sent.
pub(crate) fn digest(v: &Value) -> String {
    format!("{:016x}", tracklite::value_digest(&v.to_string()))
}

/// A metric value as MLflow's JSON takes it (NaN and ±inf as strings).
pub(crate) fn metric_value(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v.is_infinite() {
        json!(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(v)
    }
}
