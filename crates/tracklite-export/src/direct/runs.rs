//! One run, in a savepoint of its batch's transaction: its row (as MLflow's
//! `create_run` makes it, but with the local id, times, status and user),
//! the params the database lacks (one it holds with another value fails the
//! run before anything is written), the tags that differ, inputs and
//! outputs (the batch then writes the metric points and `latest_metrics`). The journal is
//! written after the commit; then the artifact files go to the bucket.

use std::collections::HashMap;

use postgres::Transaction;
use tracklite::{Run, Store};

use super::experiments::RemoteExperiment;
use super::{artifacts, inputs, metrics, Context};
use crate::error::{ExportError, Result};
use crate::summary::RunOutcome;

/// The tag MLflow's `create_run` adds with the run's name.
const RUN_NAME_TAG: &str = "mlflow.runName";

/// What was written for a run.
#[derive(Debug, Default)]
pub(crate) struct RunWrite {
    pub created: bool,
    /// Status, end time or name changed on an existing run.
    pub updated: bool,
    pub params: u64,
    pub tags: u64,
    pub points: u64,
    pub infinite: u64,
    pub inputs: u64,
    pub artifact_files: u64,
    pub artifact_bytes: u64,
}

impl RunWrite {
    /// The outcome as the export summary counts it.
    pub fn outcome(&self) -> RunOutcome {
        if self.created {
            RunOutcome::Created
        } else if self.updated
            || self.params + self.tags + self.points + self.inputs + self.artifact_files > 0
        {
            RunOutcome::Updated
        } else {
            RunOutcome::Skipped
        }
    }
}

/// Writes run `run` into remote experiment `experiment` within `tx` (a
/// savepoint of its batch's transaction): its row, locked until the
/// commit, params, tags and inputs; its metric points are written with
/// the batch's (see [`metrics::write_runs`]). The answer, with the
/// artifact URI the database holds.
pub(crate) fn write_run(
    tx: &mut Transaction<'_>,
    store: &Store,
    run: &Run,
    experiment: &RemoteExperiment,
    err: &ErrFn<'_>,
) -> Result<(RunWrite, String)> {
    let info = &run.info;
    let id = info.run_id.as_str();
    let mut w = RunWrite::default();
    let run_error = |reason: String| ExportError::Run {
        run_id: id.to_string(),
        reason,
    };

    let artifact_uri = format!("{}/{id}/artifacts", experiment.location);
    let end_time = info.end_time;
    w.created = tx
        .execute(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, \
             user_id, status, start_time, end_time, source_version, lifecycle_stage, \
             artifact_uri, experiment_id, deleted_time) \
             VALUES ($1, $2, 'UNKNOWN', '', '', $3, $4, $5, $6, '', 'active', $7, $8, NULL) \
             ON CONFLICT (run_uuid) DO NOTHING",
            &[
                &id,
                &info.run_name,
                &info.user_id,
                &info.status.as_str(),
                &info.start_time,
                &end_time,
                &artifact_uri,
                &experiment.id,
            ],
        )
        .map_err(|e| err("creating it", &e))?
        == 1;
    // Locked until the commit: a second exporter of this run waits here.
    let row = tx
        .query_one(
            "SELECT experiment_id, status, end_time, lifecycle_stage, artifact_uri, name \
             FROM runs WHERE run_uuid = $1 FOR UPDATE",
            &[&id],
        )
        .map_err(|e| err("reading it", &e))?;
    let remote_experiment: Option<i32> = row.get(0);
    if remote_experiment != Some(experiment.id) {
        return Err(run_error(format!(
            "it is in experiment {} on the server, not {}",
            remote_experiment.map_or("none".into(), |e| e.to_string()),
            experiment.id
        )));
    }
    if row.get::<_, Option<String>>(3).as_deref() == Some("deleted") {
        return Err(run_error(
            "it is deleted on the server; restore it there (or delete it for good with \
             `mlflow gc`) and export again"
                .into(),
        ));
    }
    let remote_uri: Option<String> = row.get(4);
    let artifact_uri = remote_uri.unwrap_or(artifact_uri);
    if !w.created {
        let status: Option<String> = row.get(1);
        let remote_end: Option<i64> = row.get(2);
        let name: Option<String> = row.get(5);
        if status.as_deref() != Some(info.status.as_str())
            || remote_end != end_time
            || name.as_deref() != Some(info.run_name.as_str())
        {
            tx.execute(
                "UPDATE runs SET status = $2, end_time = $3, name = $4 WHERE run_uuid = $1",
                &[&id, &info.status.as_str(), &end_time, &info.run_name],
            )
            .map_err(|e| err("updating its status and end time", &e))?;
            w.updated = true;
        }
    }

    // A run this transaction created has no params or tags yet: nothing
    // to read back.
    w.params = write_params(tx, run, !w.created, err)?;
    w.tags = write_tags(tx, run, !w.created, err)?;
    w.inputs = inputs::write_run(tx, store, run, experiment.id, err)?;
    Ok((w, artifact_uri))
}

/// After the commit of its batch: the journal of run `run` (it only hints
/// the next export, see the module docs), then its artifact files.
pub(crate) fn finish_run(
    ctx: &Context<'_>,
    run: &Run,
    mut w: RunWrite,
    m: &metrics::MetricsWritten,
    artifact_uri: &str,
) -> Result<RunWrite> {
    let id = run.info.run_id.as_str();
    w.points = m.points;
    w.infinite = m.infinite;
    ctx.journal.record_run(id, id)?;
    let params: Vec<(String, String)> = run.params.clone().into_iter().collect();
    let tags: Vec<(String, String)> = run.tags.clone().into_iter().collect();
    ctx.journal.record_sent(id, &params, &tags, &m.series)?;
    ctx.journal
        .record_end(id, run.info.status, run.info.end_time)?;

    let (files, bytes) = artifacts::upload_run(
        ctx.store,
        &ctx.journal,
        id,
        artifact_uri,
        &ctx.artifact_root,
    )?;
    w.artifact_files = files;
    w.artifact_bytes = bytes;
    Ok(w)
}

pub(crate) type ErrFn<'a> = dyn Fn(&str, &dyn std::error::Error) -> ExportError + 'a;

/// Inserts the params the run lacks; fails on one held with another value.
fn write_params(
    tx: &mut Transaction<'_>,
    run: &Run,
    existed: bool,
    err: &ErrFn<'_>,
) -> Result<u64> {
    let id = run.info.run_id.as_str();
    let held: HashMap<String, String> = if !existed {
        HashMap::new()
    } else {
        tx.query("SELECT key, value FROM params WHERE run_uuid = $1", &[&id])
            .map_err(|e| err("reading its params", &e))?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for (k, v) in &run.params {
        match held.get(k) {
            Some(remote) if remote != v => {
                return Err(ExportError::ParamConflict {
                    run_id: id.to_string(),
                    remote_run_id: id.to_string(),
                    key: k.clone(),
                    local: v.clone(),
                    remote: remote.clone(),
                })
            }
            Some(_) => {}
            None => {
                keys.push(k.as_str());
                values.push(v.as_str());
            }
        }
    }
    if keys.is_empty() {
        return Ok(0);
    }
    tx.execute(
        "INSERT INTO params (key, value, run_uuid) \
         SELECT k, v, $3 FROM UNNEST($1::text[], $2::text[]) AS t(k, v)",
        &[&keys, &values, &id],
    )
    .map_err(|e| err("writing its params", &e))?;
    Ok(keys.len() as u64)
}

/// The run's tags as MLflow keeps them: the local ones, with
/// `mlflow.runName` when the store has none.
pub(crate) fn tags_of(run: &Run) -> Vec<(&str, &str)> {
    let mut tags: Vec<(&str, &str)> = run
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if !run.tags.contains_key(RUN_NAME_TAG) {
        tags.push((RUN_NAME_TAG, run.info.run_name.as_str()));
    }
    tags
}

/// Writes the tags that the database lacks or holds with another value.
fn write_tags(tx: &mut Transaction<'_>, run: &Run, existed: bool, err: &ErrFn<'_>) -> Result<u64> {
    let id = run.info.run_id.as_str();
    let held: HashMap<String, Option<String>> = if !existed {
        HashMap::new()
    } else {
        tx.query("SELECT key, value FROM tags WHERE run_uuid = $1", &[&id])
            .map_err(|e| err("reading its tags", &e))?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    let (keys, values): (Vec<&str>, Vec<&str>) = tags_of(run)
        .into_iter()
        .filter(|(k, v)| held.get(*k).map(|h| h.as_deref()) != Some(Some(*v)))
        .unzip();
    if keys.is_empty() {
        return Ok(0);
    }
    tx.execute(
        "INSERT INTO tags (key, value, run_uuid) \
         SELECT k, v, $3 FROM UNNEST($1::text[], $2::text[]) AS t(k, v) \
         ON CONFLICT (key, run_uuid) DO UPDATE SET value = EXCLUDED.value",
        &[&keys, &values, &id],
    )
    .map_err(|e| err("writing its tags", &e))?;
    Ok(keys.len() as u64)
}
