//! MLflow's REST calls that the export makes, over [`Client`]: requests
//! written as JSON, answers read from `serde_json` values.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::client::Client;
use crate::error::{ExportError, Result};

/// The tag naming the store a remote run came from.
pub const STORE_ID_TAG: &str = "tracklite.store_id";
/// The tag naming the local run a remote run is.
pub const RUN_ID_TAG: &str = "tracklite.run_id";

/// An experiment on the server.
pub(crate) struct RemoteExperiment {
    pub id: String,
    pub deleted: bool,
    pub tags: BTreeMap<String, String>,
}

/// A run on the server, as runs/get and runs/search give it.
pub(crate) struct RemoteRun {
    pub id: String,
    pub deleted: bool,
    pub status: String,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub metric_keys: Vec<String>,
}

fn bad(endpoint: &str, reason: impl Into<String>) -> ExportError {
    ExportError::BadResponse {
        endpoint: endpoint.to_string(),
        reason: reason.into(),
    }
}

/// A string field, or an int64 that protobuf's JSON spells as a string.
fn int_field(v: &Value, name: &str) -> Option<i64> {
    match v.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn str_field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// `[{key, value}, ...]` as a map.
fn key_values(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some((
                        str_field(i, "key")?.to_string(),
                        str_field(i, "value").unwrap_or("").to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn key_value_list<'a>(items: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
    Value::Array(
        items
            .into_iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

fn parse_run(endpoint: &str, run: &Value) -> Result<RemoteRun> {
    let info = run
        .get("info")
        .ok_or_else(|| bad(endpoint, "a run without info"))?;
    let id = str_field(info, "run_id")
        .or_else(|| str_field(info, "run_uuid"))
        .ok_or_else(|| bad(endpoint, "a run without run_id"))?;
    let data = run.get("data");
    Ok(RemoteRun {
        id: id.to_string(),
        deleted: str_field(info, "lifecycle_stage") == Some("deleted"),
        status: str_field(info, "status").unwrap_or("").to_string(),
        start_time: int_field(info, "start_time"),
        end_time: int_field(info, "end_time"),
        params: key_values(data.and_then(|d| d.get("params"))),
        tags: key_values(data.and_then(|d| d.get("tags"))),
        metric_keys: data
            .and_then(|d| d.get("metrics"))
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(|p| str_field(p, "key").map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

impl Client {
    /// The experiment named `name`, if the server has one (deleted or not).
    pub fn experiment_by_name(&self, name: &str) -> Result<Option<RemoteExperiment>> {
        const EP: &str = "experiments/get-by-name";
        let answer = match self.get(EP, &[("experiment_name", name)]) {
            Ok(a) => a,
            Err(e) if e.code() == Some("RESOURCE_DOES_NOT_EXIST") => return Ok(None),
            Err(e) => return Err(e),
        };
        let e = answer
            .get("experiment")
            .ok_or_else(|| bad(EP, "no experiment"))?;
        Ok(Some(RemoteExperiment {
            id: str_field(e, "experiment_id")
                .ok_or_else(|| bad(EP, "no experiment_id"))?
                .to_string(),
            deleted: str_field(e, "lifecycle_stage") == Some("deleted"),
            tags: key_values(e.get("tags")),
        }))
    }

    /// Creates an experiment with its tags; its id.
    pub fn create_experiment(&self, name: &str, tags: &BTreeMap<String, String>) -> Result<String> {
        const EP: &str = "experiments/create";
        let body = json!({"name": name, "tags": key_value_list(tags)});
        let answer = self.post(EP, &body.to_string())?;
        Ok(str_field(&answer, "experiment_id")
            .ok_or_else(|| bad(EP, "no experiment_id"))?
            .to_string())
    }

    /// Sets one tag of an experiment.
    pub fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        let body = json!({"experiment_id": experiment_id, "key": key, "value": value});
        self.post("experiments/set-experiment-tag", &body.to_string())?;
        Ok(())
    }

    /// Every run of `experiment_id` (deleted ones too) tagged with store
    /// `store_id`: local run id → remote run.
    pub fn runs_of_store(
        &self,
        experiment_id: &str,
        store_id: &str,
    ) -> Result<BTreeMap<String, RemoteRun>> {
        const EP: &str = "runs/search";
        let mut out = BTreeMap::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut body = json!({
                "experiment_ids": [experiment_id],
                "filter": format!("tags.`{STORE_ID_TAG}` = '{store_id}'"),
                "run_view_type": "ALL",
                "max_results": 1000,
            });
            if let Some(t) = &page_token {
                body["page_token"] = json!(t);
            }
            let answer = self.post(EP, &body.to_string())?;
            for run in answer
                .get("runs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let run = parse_run(EP, run)?;
                if let Some(local) = run.tags.get(RUN_ID_TAG).cloned() {
                    // Two remote runs of one local run cannot be made by
                    // this exporter; should someone copy one, the older
                    // one (first in the default order? no: the smaller id)
                    // is kept so that the choice is stable.
                    match out.get(&local) {
                        Some(known) if known_is_preferred(known, &run) => {}
                        _ => {
                            out.insert(local, run);
                        }
                    }
                }
            }
            match str_field(&answer, "next_page_token").filter(|t| !t.is_empty()) {
                Some(t) => page_token = Some(t.to_string()),
                None => return Ok(out),
            }
        }
    }

    /// One run, with its params, tags and latest metrics.
    pub fn get_run(&self, run_id: &str) -> Result<RemoteRun> {
        const EP: &str = "runs/get";
        let answer = self.get(EP, &[("run_id", run_id)])?;
        parse_run(EP, answer.get("run").ok_or_else(|| bad(EP, "no run"))?)
    }

    /// runs/update: status, end time and name.
    pub fn update_run(
        &self,
        run_id: &str,
        status: &str,
        end_time: Option<i64>,
        run_name: &str,
    ) -> Result<()> {
        let mut body = json!({"run_id": run_id, "status": status, "run_name": run_name});
        if let Some(t) = end_time {
            body["end_time"] = json!(t);
        }
        self.post("runs/update", &body.to_string())?;
        Ok(())
    }

    /// Whether the server holds exactly `count` points of metric `key` of a
    /// run, asked in one small request instead of reading the history: the
    /// page of at most one point that starts at offset `count - 1` must
    /// hold a point and name no next page. The offset travels in the page
    /// token as MLflow's SQL and file stores make it (base64 of
    /// `{"offset": N}`); a server that reads tokens otherwise answers with
    /// an error, or with a page that fails the test, and the caller then
    /// counts the whole history ([`Client::metric_count`]).
    pub fn metric_count_is(&self, run_id: &str, key: &str, count: u64) -> Result<bool> {
        const EP: &str = "metrics/get-history";
        if count == 0 {
            return Ok(false);
        }
        let token = base64::engine::general_purpose::STANDARD
            .encode(json!({ "offset": count - 1 }).to_string());
        let query = [
            ("run_id", run_id),
            ("metric_key", key),
            ("max_results", "1"),
            ("page_token", token.as_str()),
        ];
        let answer = match self.get(EP, &query) {
            Ok(a) => a,
            Err(e) if e.code() == Some("INVALID_PARAMETER_VALUE") => return Ok(false),
            Err(e) => return Err(e),
        };
        let points = answer
            .get("metrics")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let more = str_field(&answer, "next_page_token").is_some_and(|t| !t.is_empty());
        Ok(points == 1 && !more)
    }

    /// How many points the server has for metric `key` of a run.
    pub fn metric_count(&self, run_id: &str, key: &str) -> Result<u64> {
        const EP: &str = "metrics/get-history";
        let answer = self.get(EP, &[("run_id", run_id), ("metric_key", key)])?;
        Ok(answer
            .get("metrics")
            .and_then(Value::as_array)
            .map_or(0, |m| m.len() as u64))
    }
}

/// Of two remote runs of one local run, whether to keep the first.
fn known_is_preferred(known: &RemoteRun, other: &RemoteRun) -> bool {
    match (known.deleted, other.deleted) {
        (false, true) => true,
        (true, false) => false,
        _ => known.id <= other.id,
    }
}

/// The body of runs/create.
pub(crate) fn create_run_body(
    experiment_id: &str,
    user_id: &str,
    run_name: &str,
    start_time: i64,
    tags: &[(String, String)],
) -> String {
    json!({
        "experiment_id": experiment_id,
        "user_id": user_id,
        "run_name": run_name,
        "start_time": start_time,
        "tags": key_value_list(tags.iter().map(|(k, v)| (k, v))),
    })
    .to_string()
}

/// The run id in runs/create's answer.
pub(crate) fn created_run_id(answer: &Value) -> Result<String> {
    answer
        .get("run")
        .and_then(|r| r.get("info"))
        .and_then(|i| str_field(i, "run_id").or_else(|| str_field(i, "run_uuid")))
        .map(str::to_string)
        .ok_or_else(|| bad("runs/create", "no run id"))
}
