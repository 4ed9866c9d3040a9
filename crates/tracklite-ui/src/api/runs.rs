//! `GET /api/runs` (search) and `GET /api/run` (one run, whole).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};
use tracklite::{Run, RunInfo, Store, ViewType, SEARCH_MAX_RESULTS_LIMIT};

use crate::json::{self, LatestValues};
use crate::query::Query;
use crate::reply::{ApiError, Reply};

/// Runs in the run table's first page: enough to fill a screen.
const DEFAULT_MAX_RESULTS: usize = 100;

/// One page of runs of some experiments (default: every active one),
/// filtered and ordered with MLflow's search language.
pub(super) fn search(store: &Store, q: &Query) -> Result<Reply, ApiError> {
    let view = super::view(q)?;
    let mut experiment_ids: Vec<String> = q
        .list("experiment_ids")
        .iter()
        .map(|s| s.to_string())
        .collect();
    if experiment_ids.is_empty() {
        experiment_ids = store
            .list_experiments(ViewType::ActiveOnly)?
            .into_iter()
            .map(|e| e.experiment_id)
            .collect();
    }
    let ids: Vec<&str> = experiment_ids.iter().map(String::as_str).collect();
    let max_results = q.count("max_results", DEFAULT_MAX_RESULTS, SEARCH_MAX_RESULTS_LIMIT)?;
    let page = store.search_runs(
        &ids,
        q.get("filter").unwrap_or(""),
        view,
        max_results,
        &q.all("order_by"),
        q.get("page_token").filter(|t| !t.is_empty()),
    )?;
    Ok(Reply::json(&RunsPage {
        runs: page.runs.iter().map(RunRow::of).collect(),
        next_page_token: page.next_page_token.as_deref(),
    }))
}

/// A page of the run table, serialised straight from the runs (a page may
/// hold tens of thousands).
#[derive(Serialize)]
struct RunsPage<'a> {
    runs: Vec<RunRow<'a>>,
    next_page_token: Option<&'a str>,
}

/// A run as the run table shows it: its latest metric values.
#[derive(Serialize)]
struct RunRow<'a> {
    run_id: &'a str,
    run_name: &'a str,
    experiment_id: &'a str,
    status: &'static str,
    start_time: i64,
    end_time: Option<i64>,
    user_id: &'a str,
    lifecycle_stage: &'static str,
    metrics: LatestValues<'a>,
    params: &'a BTreeMap<String, String>,
    tags: &'a BTreeMap<String, String>,
}

impl<'a> RunRow<'a> {
    fn of(run: &'a Run) -> RunRow<'a> {
        let i = &run.info;
        RunRow {
            run_id: &i.run_id,
            run_name: &i.run_name,
            experiment_id: &i.experiment_id,
            status: i.status.as_str(),
            start_time: i.start_time,
            end_time: i.end_time,
            user_id: &i.user_id,
            lifecycle_stage: i.lifecycle_stage.as_str(),
            metrics: LatestValues(&run.metrics),
            params: &run.params,
            tags: &run.tags,
        }
    }
}

/// One run, with each metric's latest point, min, max and count, and its
/// dataset inputs.
pub(super) fn get(store: &Store, q: &Query) -> Result<Reply, ApiError> {
    let run = store.get_run(q.required("run_id")?)?;
    let metrics: Vec<Value> = run
        .metrics
        .iter()
        .map(|(key, m)| {
            json!({
                "key": key,
                "value": json::float(m.value),
                "step": m.step,
                "timestamp": m.timestamp,
                "min": json::float(m.min),
                "max": json::float(m.max),
                "count": m.count,
            })
        })
        .collect();
    let inputs: Vec<Value> = run
        .inputs
        .iter()
        .map(|input| {
            let d = &input.dataset;
            json!({
                "name": d.name,
                "digest": d.digest,
                "source_type": d.source_type,
                "source": d.source,
                "context": input.tags.get("mlflow.data.context"),
            })
        })
        .collect();
    Ok(Reply::json(&json!({
        "info": info(&run.info),
        "params": json::strings(&run.params),
        "tags": json::strings(&run.tags),
        "metrics": metrics,
        "inputs": inputs,
    })))
}

fn info(i: &RunInfo) -> Value {
    json!({
        "run_id": i.run_id,
        "run_name": i.run_name,
        "experiment_id": i.experiment_id,
        "status": i.status.as_str(),
        "start_time": i.start_time,
        "end_time": i.end_time,
        "user_id": i.user_id,
        "lifecycle_stage": i.lifecycle_stage.as_str(),
        "artifact_uri": i.artifact_uri,
    })
}
