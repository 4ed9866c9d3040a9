//! `GET /api/experiments`.

use serde_json::{json, Value};
use tracklite::{Experiment, Store, ViewType};

use crate::json;
use crate::query::Query;
use crate::reply::{ApiError, Reply};

/// Every experiment in the view, with its number of active runs.
pub(super) fn list(store: &Store, q: &Query) -> Result<Reply, ApiError> {
    let view = super::view(q)?;
    let experiments = store.list_experiments(view)?;
    let counts = store.count_runs(ViewType::ActiveOnly)?;
    let rows: Vec<Value> = experiments
        .iter()
        .map(|e| experiment(e, counts.get(&e.experiment_id).copied().unwrap_or(0)))
        .collect();
    Ok(Reply::json(&json!({ "experiments": rows })))
}

fn experiment(e: &Experiment, run_count: u64) -> Value {
    json!({
        "experiment_id": e.experiment_id,
        "name": e.name,
        "lifecycle_stage": e.lifecycle_stage.as_str(),
        "artifact_location": e.artifact_location,
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
        "tags": json::strings(&e.tags),
        "run_count": run_count,
    })
}
