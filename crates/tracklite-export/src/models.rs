//! Logged models (MLflow 3): made on the server by
//! `POST /api/2.0/mlflow/logged-models` (which takes no id: the server
//! gives one, journaled as local id → remote id), with their experiment,
//! name, source run (its remote id), model type, params and tags, then
//! finalized (`PATCH .../logged-models/{id}`) with the store's status.
//! Each remote model is tagged with the store's id and its local id, so a
//! model made by an export whose answer was lost is found, not made twice.
//!
//! Their metric points go through runs/log-batch with `model_id`, which is
//! how MLflow records them: each point needs its run on the server.
//!
//! Their artifact files go to the remote model's `artifact_uri` before it
//! is finalized, journaled by path, size and SHA-256 as a run's are.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};
use tracklite::{LoggedModel, LoggedModelOrder, LoggedModelStatus};

use crate::artifacts::{model_destination, upload, Source};
use crate::error::{ExportError, Result};
use crate::objects::{digest, key_values, metric_value, Objects, ObjectsSummary};

/// Journal kind: local model id → remote model id.
pub(crate) const LOGGED_MODEL: &str = "logged_model";
/// Journal kind: local model id → digest of the status, params and tags sent.
const LOGGED_MODEL_STATE: &str = "logged_model_state";
/// Journal kind: local model id → how many of its points (in logged order)
/// were sent or cannot be.
const LOGGED_MODEL_METRICS: &str = "logged_model_metrics";
/// The tag naming the local model a remote logged model is.
pub const MODEL_ID_TAG: &str = "tracklite.model_id";

fn proto_status(s: LoggedModelStatus) -> &'static str {
    match s {
        LoggedModelStatus::Pending => "LOGGED_MODEL_PENDING",
        LoggedModelStatus::Ready => "LOGGED_MODEL_READY",
        LoggedModelStatus::Failed => "LOGGED_MODEL_UPLOAD_FAILED",
    }
}

/// A dry run's count: logged models of the exported experiments that the
/// journal does not show as made.
pub(crate) fn dry_run(ctx: &Objects<'_>, summary: &mut ObjectsSummary) -> Result<()> {
    summary.logged_models_created = local_models(ctx)?
        .iter()
        .filter(|m| !ctx.models.contains_key(&m.model_id))
        .count() as u64;
    Ok(())
}

/// Every active logged model of the exported experiments.
fn local_models(ctx: &Objects<'_>) -> Result<Vec<LoggedModel>> {
    let experiments: Vec<&str> = ctx.experiments.keys().map(String::as_str).collect();
    let mut out = Vec::new();
    if experiments.is_empty() {
        return Ok(out);
    }
    let order = [LoggedModelOrder::new("creation_timestamp", true)];
    let mut token: Option<String> = None;
    loop {
        let page = ctx.store.search_logged_models(
            &experiments,
            "",
            &[],
            tracklite::SEARCH_MAX_RESULTS_LIMIT,
            &order,
            token.as_deref(),
        )?;
        out.extend(page.models);
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

fn model_id_of(endpoint: &str, answer: &Value) -> Result<String> {
    answer
        .get("model")
        .and_then(|m| m.get("info"))
        .and_then(|i| i.get("model_id"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ExportError::BadResponse {
            endpoint: endpoint.to_string(),
            reason: "no model.info.model_id".into(),
        })
}

/// The remote model of this store tagged as local `model_id`, if any.
fn find_remote(ctx: &Objects<'_>, experiment: &str, model_id: &str) -> Result<Option<String>> {
    const EP: &str = "logged-models/search";
    let body = json!({
        "experiment_ids": [experiment],
        "filter": format!(
            "tags.`{}` = '{}' AND tags.`{MODEL_ID_TAG}` = '{model_id}'",
            crate::api::STORE_ID_TAG,
            ctx.store_id
        ),
        "max_results": 10,
    });
    let answer = ctx.client.post(EP, &body.to_string())?;
    Ok(answer
        .get("models")
        .and_then(Value::as_array)
        .and_then(|m| m.first())
        .and_then(|m| m.get("info"))
        .and_then(|i| i.get("model_id"))
        .and_then(Value::as_str)
        .map(str::to_string))
}

/// Makes (or finds) each logged model on the server, then sends what
/// changed of its params, tags and status.
pub(crate) fn export_logged_models(
    ctx: &mut Objects<'_>,
    summary: &mut ObjectsSummary,
) -> Result<()> {
    let states = ctx.journal.objects(LOGGED_MODEL_STATE)?;
    for model in local_models(ctx)? {
        if let Err(e) = export_one(ctx, &model, states.get(&model.model_id), summary) {
            summary.failures.push(format!(
                "logged model {} ({}): {e}",
                model.model_id, model.name
            ));
        }
    }
    Ok(())
}

fn export_one(
    ctx: &mut Objects<'_>,
    model: &LoggedModel,
    state_sent: Option<&String>,
    summary: &mut ObjectsSummary,
) -> Result<()> {
    let Some(experiment) = ctx.experiments.get(&model.experiment_id).cloned() else {
        return Ok(());
    };
    let mut tags: BTreeMap<String, String> = model.tags.clone();
    tags.insert(crate::api::STORE_ID_TAG.into(), ctx.store_id.clone());
    tags.insert(MODEL_ID_TAG.into(), model.model_id.clone());
    let source_run = model
        .source_run_id
        .as_ref()
        .and_then(|r| ctx.runs.get(r))
        .cloned();
    let state = json!({
        "status": model.status.as_str(),
        "params": model.params,
        "tags": tags,
    });
    let state_digest = digest(&state);
    if state_sent == Some(&state_digest) && ctx.models.contains_key(&model.model_id) {
        return Ok(());
    }
    let mut created = false;
    let remote = match ctx.models.get(&model.model_id) {
        Some(r) => r.clone(),
        None => {
            let remote = match find_remote(ctx, &experiment, &model.model_id)? {
                Some(r) => r,
                None => {
                    const EP: &str = "logged-models";
                    let mut body = json!({
                        "experiment_id": experiment,
                        "name": model.name,
                        "params": key_values(&model.params),
                        "tags": key_values(&tags),
                    });
                    if let Some(t) = &model.model_type {
                        body["model_type"] = json!(t);
                    }
                    if let Some(r) = &source_run {
                        body["source_run_id"] = json!(r);
                    }
                    let answer = ctx.client.post(EP, &body.to_string())?;
                    created = true;
                    summary.logged_models_created += 1;
                    model_id_of(EP, &answer)?
                }
            };
            ctx.journal
                .record_object(LOGGED_MODEL, &model.model_id, &remote)?;
            ctx.models.insert(model.model_id.clone(), remote.clone());
            remote
        }
    };
    let endpoint = format!("logged-models/{remote}");
    if !created {
        // Params and tags the server lacks (params never change).
        let answer = ctx.client.get(&endpoint, &[])?;
        let data = answer.get("model").and_then(|m| m.get("data"));
        let remote_kv = |field: &str| -> BTreeMap<String, String> {
            data.and_then(|d| d.get(field))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|kv| {
                    Some((
                        kv.get("key")?.as_str()?.to_string(),
                        kv.get("value")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    ))
                })
                .collect()
        };
        let remote_params = remote_kv("params");
        let remote_tags = remote_kv("tags");
        let new_params: BTreeMap<&String, &String> = model
            .params
            .iter()
            .filter(|(k, _)| !remote_params.contains_key(*k))
            .collect();
        if !new_params.is_empty() {
            let body = json!({"model_id": remote, "params": key_values(new_params)});
            ctx.client
                .post(&format!("{endpoint}/params"), &body.to_string())?;
        }
        let new_tags: BTreeMap<&String, &String> = tags
            .iter()
            .filter(|(k, v)| remote_tags.get(*k) != Some(*v))
            .collect();
        if !new_tags.is_empty() {
            let body = json!({"model_id": remote, "tags": key_values(new_tags)});
            ctx.client
                .patch(&format!("{endpoint}/tags"), &body.to_string())?;
        }
        summary.logged_models_updated += 1;
    }
    // Files first, as MLflow's client does: a model is READY once they are
    // all there (and a version of it can be registered).
    let source = Source::Folder {
        key: &model.model_id,
        root: PathBuf::from(&model.artifact_location),
    };
    let destination = || model_destination(ctx.client, &remote);
    let sent = upload(
        ctx.client,
        ctx.journal,
        &source,
        &destination,
        ctx.digests,
        &|_, _| {},
    )?;
    summary.model_files += sent.files;
    summary.model_bytes += sent.bytes;
    if model.status != LoggedModelStatus::Pending {
        let body = json!({"model_id": remote, "status": proto_status(model.status)});
        ctx.client.patch(&endpoint, &body.to_string())?;
    }
    ctx.journal
        .record_object(LOGGED_MODEL_STATE, &model.model_id, &state_digest)?;
    Ok(())
}

/// Sends the metric points of logged models not sent yet, grouped by run,
/// at most 1000 per runs/log-batch.
pub(crate) fn export_model_metrics(ctx: &Objects<'_>, summary: &mut ObjectsSummary) -> Result<()> {
    let done = ctx.journal.objects(LOGGED_MODEL_METRICS)?;
    for (local, remote) in &ctx.models {
        let model = match ctx.store.get_logged_model(local, false) {
            Ok(m) => m,
            Err(tracklite::Error::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let from: usize = done.get(local).and_then(|d| d.parse().ok()).unwrap_or(0);
        if model.metrics.len() <= from {
            continue;
        }
        // Nothing journaled: points the server has (an earlier export whose
        // journal is lost) are not sent again.
        let there = if from == 0 {
            remote_points(ctx, remote)?
        } else {
            Vec::new()
        };
        let points = &model.metrics[from..];
        let mut sent = from;
        let mut i = 0;
        while i < points.len() {
            let run = points[i].run_id.as_ref().and_then(|r| ctx.runs.get(r));
            let mut j = i + 1;
            while j < points.len()
                && j - i < crate::batch::MAX_METRICS
                && points[j].run_id == points[i].run_id
            {
                j += 1;
            }
            match run {
                // Never to be sent: MLflow takes a model's point with a run.
                None if points[i].run_id.is_none() => {
                    summary.model_metrics_without_run += (j - i) as u64
                }
                // Its run is not on the server (yet): the next export that
                // exports it sends these.
                None => {
                    summary.model_metrics_without_run += (points.len() - i) as u64;
                    break;
                }
                Some(remote_run) => {
                    let metrics: Vec<Value> = points[i..j]
                        .iter()
                        .filter(|p| {
                            !there.contains(&point_id(
                                &p.key,
                                p.timestamp,
                                p.step,
                                p.value,
                                Some(remote_run.as_str()),
                            ))
                        })
                        .map(|p| {
                            let mut m = json!({
                                "key": p.key,
                                "value": metric_value(p.value),
                                "timestamp": p.timestamp,
                                "step": p.step,
                                "model_id": remote,
                            });
                            if let Some(n) = &p.dataset_name {
                                m["dataset_name"] = json!(n);
                            }
                            if let Some(d) = &p.dataset_digest {
                                m["dataset_digest"] = json!(d);
                            }
                            m
                        })
                        .collect();
                    if !metrics.is_empty() {
                        let n = metrics.len() as u64;
                        let body = json!({"run_id": remote_run, "metrics": metrics});
                        ctx.client.post("runs/log-batch", &body.to_string())?;
                        summary.model_metrics += n;
                    }
                }
            }
            sent += j - i;
            ctx.journal
                .record_object(LOGGED_MODEL_METRICS, local, &sent.to_string())?;
            i = j;
        }
    }
    Ok(())
}

/// A model metric point as compared with the server's: key, timestamp,
/// step, value (as text: NaN and ±inf as the server gives them back) and run.
type PointId = (String, i64, i64, String, Option<String>);

fn point_id(key: &str, timestamp: i64, step: i64, value: f64, run: Option<&str>) -> PointId {
    let value = if value.is_nan() {
        "NaN".to_string()
    } else if value.is_infinite() {
        // The server keeps ±inf as ±f64::MAX.
        format!("{:?}", f64::MAX.copysign(value))
    } else {
        format!("{value:?}")
    };
    (
        key.to_string(),
        timestamp,
        step,
        value,
        run.map(str::to_string),
    )
}

/// The metric points the server has for remote model `remote`.
fn remote_points(ctx: &Objects<'_>, remote: &str) -> Result<Vec<PointId>> {
    let answer = ctx.client.get(&format!("logged-models/{remote}"), &[])?;
    let int = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(v) => v.as_i64().unwrap_or(0),
        None => 0,
    };
    Ok(answer
        .pointer("/model/data/metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let value = match m.get("value")? {
                Value::String(s) if s == "NaN" => f64::NAN,
                Value::String(s) if s == "Infinity" => f64::INFINITY,
                Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
                v => v.as_f64()?,
            };
            Some(point_id(
                m.get("key")?.as_str()?,
                int(m.get("timestamp")),
                int(m.get("step")),
                value,
                m.get("run_id").and_then(Value::as_str),
            ))
        })
        .collect())
}
