//! Logged models of the exported experiments, as MLflow's
//! `create_logged_model` writes them but under their own `m-<32 hex>` ids,
//! times and status, with params, tags, metrics (those whose run is in the
//! database: `logged_model_metrics` refers to it) and artifact files.

use std::collections::HashMap;

use tracklite::{LoggedModel, LoggedModelOrder, LoggedModelStatus};

use super::experiments::RemoteExperiment;
use super::values::stored_value;
use super::{artifacts, Context, DirectSummary};
use crate::error::Result;

/// MLflow's `LoggedModelStatus` numbers, as the `status` column holds them.
pub(crate) fn status_number(s: LoggedModelStatus) -> i32 {
    match s {
        LoggedModelStatus::Pending => 1,
        LoggedModelStatus::Ready => 2,
        LoggedModelStatus::Failed => 3,
    }
}

/// Every logged model of the local experiments `experiments`.
fn local_models(ctx: &Context<'_>, experiments: &[&str]) -> Result<Vec<LoggedModel>> {
    let mut out = Vec::new();
    if experiments.is_empty() {
        return Ok(out);
    }
    let order = [LoggedModelOrder::new("creation_timestamp", true)];
    let mut token: Option<String> = None;
    loop {
        let page = ctx.store.search_logged_models(
            experiments,
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

/// Writes the logged models; their remote artifact locations by id.
pub(crate) fn export_logged_models(
    ctx: &mut Context<'_>,
    experiments: &HashMap<String, RemoteExperiment>,
    summary: &mut DirectSummary,
) -> Result<HashMap<String, String>> {
    let ids: Vec<&str> = experiments.keys().map(String::as_str).collect();
    let mut locations = HashMap::new();
    for model in local_models(ctx, &ids)? {
        let remote = &experiments[&model.experiment_id];
        match export_one(ctx, &model, remote, summary) {
            Ok(location) => {
                locations.insert(model.model_id.clone(), location);
            }
            Err(e) => summary.export.objects.failures.push(format!(
                "logged model {} ({}): {e}",
                model.model_id, model.name
            )),
        }
    }
    Ok(locations)
}

fn export_one(
    ctx: &mut Context<'_>,
    model: &LoggedModel,
    experiment: &RemoteExperiment,
    summary: &mut DirectSummary,
) -> Result<String> {
    let id = model.model_id.as_str();
    let target = &ctx.target;
    let err = |what: &str, e: &dyn std::error::Error| {
        target.error(format!("logged model {id}: {what}"), e)
    };
    let mut tx = ctx
        .client
        .transaction()
        .map_err(|e| err("starting a transaction", &e))?;
    let location = format!("{}/models/{id}/artifacts", experiment.location);
    let status = status_number(model.status);
    let stage = model.lifecycle_stage.as_str();
    let row = tx
        .query_one(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, \
             creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, \
             model_type, source_run_id, status_message) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL) \
             ON CONFLICT (model_id) DO UPDATE SET status = EXCLUDED.status, \
                 last_updated_timestamp_ms = GREATEST(logged_models.last_updated_timestamp_ms, \
                     EXCLUDED.last_updated_timestamp_ms) \
             RETURNING (xmax = 0), artifact_location",
            &[
                &id,
                &experiment.id,
                &model.name,
                &location,
                &model.creation_timestamp,
                &model.last_updated_timestamp,
                &status,
                &stage,
                &model.model_type,
                &model.source_run_id,
            ],
        )
        .map_err(|e| err("writing it", &e))?;
    let created: bool = row.get(0);
    let location: String = row.get(1);
    let (keys, values): (Vec<&str>, Vec<&str>) = model
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .unzip();
    let params = tx
        .execute(
            "INSERT INTO logged_model_params (model_id, experiment_id, param_key, param_value) \
             SELECT $1, $2, k, v FROM UNNEST($3::text[], $4::text[]) AS t(k, v) \
             ON CONFLICT (model_id, param_key) DO NOTHING",
            &[&id, &experiment.id, &keys, &values],
        )
        .map_err(|e| err("writing its params", &e))?;
    let (keys, values): (Vec<&str>, Vec<&str>) = model
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .unzip();
    let tags = tx
        .execute(
            "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) \
             SELECT $1, $2, k, v FROM UNNEST($3::text[], $4::text[]) AS t(k, v) \
             ON CONFLICT (model_id, tag_key) DO UPDATE SET tag_value = EXCLUDED.tag_value \
             WHERE logged_model_tags.tag_value <> EXCLUDED.tag_value",
            &[&id, &experiment.id, &keys, &values],
        )
        .map_err(|e| err("writing its tags", &e))?;

    // Points whose run is in the database (MLflow records a model's metric
    // through a run); the others are counted.
    let runs: Vec<&str> = model
        .metrics
        .iter()
        .filter_map(|m| m.run_id.as_deref())
        .collect();
    let present: std::collections::HashSet<String> = tx
        .query(
            "SELECT run_uuid FROM runs WHERE run_uuid = ANY($1)",
            &[&runs],
        )
        .map_err(|e| err("reading the runs of its metrics", &e))?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    let mut points = 0;
    for m in &model.metrics {
        let Some(run) = m.run_id.as_deref().filter(|r| present.contains(*r)) else {
            summary.export.objects.model_metrics_without_run += 1;
            continue;
        };
        let (value, _) = stored_value(m.value);
        points += tx
            .execute(
                "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, \
                 metric_step, metric_value, experiment_id, run_id, dataset_uuid, dataset_name, \
                 dataset_digest) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, \
                     (SELECT dataset_uuid FROM datasets WHERE experiment_id = $6 \
                      AND name = $8 AND digest = $9), $8, $9) \
                 ON CONFLICT DO NOTHING",
                &[
                    &id,
                    &m.key,
                    &m.timestamp,
                    &m.step,
                    &value,
                    &experiment.id,
                    &run,
                    &m.dataset_name,
                    &m.dataset_digest,
                ],
            )
            .map_err(|e| err("writing its metrics", &e))?;
    }
    tx.commit().map_err(|e| err("committing", &e))?;
    let o = &mut summary.export.objects;
    o.model_metrics += points;
    if created {
        o.logged_models_created += 1;
    } else if params + tags > 0 {
        o.logged_models_updated += 1;
    }
    let (files, bytes) = artifacts::upload_model(
        &ctx.journal,
        id,
        &model.artifact_location,
        &location,
        &ctx.artifact_root,
    )?;
    summary.artifact_files += files;
    summary.artifact_bytes += bytes;
    Ok(location)
}
