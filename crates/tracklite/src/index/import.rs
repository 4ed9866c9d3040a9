//! Imports into the index: experiments and runs written with the ids,
//! names, times and stages they already have elsewhere (an MLflow folder),
//! rather than new ones.
//!
//! A run is imported in two transactions with its metric points written in
//! between: [`Index::begin_run_import`] writes the run's row, active, and a
//! marker in `meta` (`import-pending:<run_id>`); [`Index::finish_run_import`]
//! writes its params, tags, inputs and the dataset links of its metric
//! points, sets its final lifecycle stage and removes the marker. A run
//! whose marker is still there was cut short: the next import removes what
//! it had written and starts it again.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::datasets::put_inputs;
use super::Index;
use crate::error::{Error, Result};
use crate::model::{
    DatasetInput, LifecycleStage, LoggedModelOutput, LoggedModelStatus, MetricDatasetLink,
    ModelMetric, RunStatus,
};

/// Prefix of the `meta` keys that mark runs being imported.
const PENDING_PREFIX: &str = "import-pending:";

/// An experiment as it is to be imported; every field already checked.
pub struct ExperimentRow<'a> {
    pub experiment_id: i64,
    pub name: &'a str,
    /// None: the store's own `artifacts/<experiment_id>` folder.
    pub artifact_location: Option<&'a str>,
    pub lifecycle_stage: LifecycleStage,
    pub creation_time: i64,
    pub last_update_time: i64,
    pub tags: &'a [(String, String)],
}

/// What importing an experiment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExperimentOutcome {
    /// It was new to the store.
    Created,
    /// The store had an experiment of that id and name with no runs and no
    /// tags (such as its own Default experiment): it now has the imported
    /// record.
    Replaced,
    /// The store had it, with runs or tags: left as it is.
    Present,
}

/// A run's row as it is to be imported; every field already checked.
pub struct ImportRunRow<'a> {
    pub run_id: &'a str,
    pub experiment_id: i64,
    pub name: &'a str,
    pub user_id: &'a str,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
    /// None: `<experiment artifact location>/<run_id>/artifacts`.
    pub artifact_uri: Option<&'a str>,
    pub parent_run_id: Option<&'a str>,
}

/// The rest of a run, written when its metrics are in.
pub struct ImportRunRest<'a> {
    pub run_id: &'a str,
    pub lifecycle_stage: LifecycleStage,
    pub deleted_time: Option<i64>,
    pub params: &'a [(String, String)],
    pub tags: &'a [(String, String)],
    pub inputs: &'a [DatasetInput],
    pub model_inputs: &'a [String],
    pub model_outputs: &'a [LoggedModelOutput],
    /// The datasets of metric points, by key, each list sorted by ordinal.
    pub metric_links: &'a [(String, Vec<MetricDatasetLink>)],
}

/// A logged model as it is to be imported; every field already checked.
pub struct ImportModelRow<'a> {
    pub model_id: &'a str,
    pub experiment_id: i64,
    pub name: &'a str,
    /// None: `<experiment artifact location>/models/<model_id>/artifacts`.
    pub artifact_location: Option<&'a str>,
    pub creation_time: i64,
    pub last_updated_time: i64,
    pub source_run_id: Option<&'a str>,
    pub status: LoggedModelStatus,
    pub model_type: Option<&'a str>,
    pub lifecycle_stage: LifecycleStage,
    pub tags: &'a [(String, String)],
    pub params: &'a [(String, String)],
    pub metrics: &'a [ModelMetric],
}

/// What [`Index::begin_run_import`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunBegin {
    /// The run is new: its row and marker are written.
    Started,
    /// An earlier import of the run was cut short; what it had written is
    /// removed and the run started again.
    Restarted,
    /// The store has the run, complete: nothing was written.
    Present,
    /// Another living process is importing the run right now.
    Busy { pid: u32 },
}

fn pending_key(run_id: &str) -> String {
    format!("{PENDING_PREFIX}{run_id}")
}

fn pid_is_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn experiment_name_of(tx: &Connection, id: i64) -> Result<Option<String>> {
    Ok(tx
        .query_row(
            "SELECT name FROM experiments WHERE experiment_id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

fn put_experiment_tags(tx: &Transaction<'_>, id: i64, tags: &[(String, String)]) -> Result<()> {
    let mut put = tx.prepare_cached(
        "INSERT OR REPLACE INTO experiment_tags (experiment_id, key, value) VALUES (?1, ?2, ?3)",
    )?;
    for (k, v) in tags {
        put.execute(params![id, k, v])?;
    }
    Ok(())
}

impl Index {
    /// Writes an experiment with its own id, name, times and stage. An
    /// experiment of that id and name already in the store is kept (see
    /// [`ExperimentOutcome`]); the id or the name taken by another
    /// experiment is an AlreadyExists error, and nothing is written.
    pub fn import_experiment(&mut self, e: &ExperimentRow<'_>) -> Result<ExperimentOutcome> {
        let tx = self.write()?;
        let outcome = match experiment_name_of(&tx, e.experiment_id)? {
            Some(name) if name != e.name => {
                return Err(Error::InvalidState(format!(
                    "the store's experiment {} is named {name:?}, not {:?}: experiment ids must \
                     not change in an import, so this experiment is left out",
                    e.experiment_id, e.name
                )))
            }
            Some(_) => {
                let (runs, tags): (i64, i64) = tx.query_row(
                    "SELECT (SELECT count(*) FROM runs WHERE experiment_id = ?1),
                            (SELECT count(*) FROM experiment_tags WHERE experiment_id = ?1)",
                    [e.experiment_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                if runs > 0 || tags > 0 {
                    return Ok(ExperimentOutcome::Present);
                }
                let same: bool = tx.query_row(
                    "SELECT artifact_location IS ?2 AND lifecycle_stage = ?3 AND creation_time = ?4
                         AND last_update_time = ?5 FROM experiments WHERE experiment_id = ?1",
                    params![
                        e.experiment_id,
                        e.artifact_location,
                        e.lifecycle_stage.as_str(),
                        e.creation_time,
                        e.last_update_time
                    ],
                    |r| r.get(0),
                )?;
                if same && e.tags.is_empty() {
                    return Ok(ExperimentOutcome::Present);
                }
                tx.execute(
                    "UPDATE experiments SET artifact_location = ?2, lifecycle_stage = ?3,
                         creation_time = ?4, last_update_time = ?5 WHERE experiment_id = ?1",
                    params![
                        e.experiment_id,
                        e.artifact_location,
                        e.lifecycle_stage.as_str(),
                        e.creation_time,
                        e.last_update_time
                    ],
                )?;
                ExperimentOutcome::Replaced
            }
            None => {
                let other: Option<i64> = tx
                    .query_row(
                        "SELECT experiment_id FROM experiments WHERE name = ?1",
                        [e.name],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(other) = other {
                    return Err(Error::InvalidState(format!(
                        "the store's experiment {other} is already named {:?}; rename one of the \
                         two to import experiment {}",
                        e.name, e.experiment_id
                    )));
                }
                tx.execute(
                    "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,
                         creation_time, last_update_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        e.experiment_id,
                        e.name,
                        e.artifact_location,
                        e.lifecycle_stage.as_str(),
                        e.creation_time,
                        e.last_update_time
                    ],
                )?;
                ExperimentOutcome::Created
            }
        };
        put_experiment_tags(&tx, e.experiment_id, e.tags)?;
        tx.commit()?;
        Ok(outcome)
    }

    /// Starts importing a run: writes its row, active so that its metrics
    /// can be written, and its pending marker. A run left pending by an
    /// import that was cut short is removed and started again.
    pub fn begin_run_import(&mut self, run: &ImportRunRow<'_>) -> Result<RunBegin> {
        let tx = self.write()?;
        if experiment_name_of(&tx, run.experiment_id)?.is_none() {
            return Err(Error::not_found(
                "experiment",
                run.experiment_id.to_string(),
            ));
        }
        let key = pending_key(run.run_id);
        let exists: bool = tx.query_row(
            "SELECT count(*) > 0 FROM runs WHERE run_uuid = ?1",
            [run.run_id],
            |r| r.get(0),
        )?;
        let marker: Option<String> = tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [&key], |r| {
                r.get(0)
            })
            .optional()?;
        let begin = match (exists, marker) {
            (true, None) => return Ok(RunBegin::Present),
            (_, Some(owner)) => {
                let pid = owner.parse::<u32>().unwrap_or(0);
                if pid != 0 && pid != std::process::id() && pid_is_alive(pid) {
                    return Ok(RunBegin::Busy { pid });
                }
                super::runs::remove_run_rows(&tx, run.run_id)?;
                RunBegin::Restarted
            }
            (false, None) => RunBegin::Started,
        };
        tx.prepare_cached(
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time,
                 lifecycle_stage, artifact_uri, parent_run_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?9)",
        )?
        .execute(params![
            run.run_id,
            run.experiment_id,
            run.name,
            run.user_id,
            run.status.as_str(),
            run.start_time,
            run.end_time,
            run.artifact_uri,
            run.parent_run_id
        ])?;
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, std::process::id().to_string()],
        )?;
        tx.commit()?;
        Ok(begin)
    }

    /// Completes a run's import in one transaction: params, tags exactly as
    /// given (the run's name stays the one its row has), inputs, the
    /// dataset links of its metric points, the final lifecycle stage, and
    /// the marker removed.
    pub fn finish_run_import(&mut self, rest: &ImportRunRest<'_>) -> Result<()> {
        let tx = self.write()?;
        let run_id = rest.run_id;
        let experiment_id: i64 = tx
            .query_row(
                "SELECT experiment_id FROM runs WHERE run_uuid = ?1",
                [run_id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| Error::not_found("run", run_id))?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO params (run_uuid, key, value) VALUES (?1, ?2, ?3)",
            )?;
            for (k, v) in rest.params {
                put.execute(params![run_id, k, v])?;
            }
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?1, ?2, ?3)",
            )?;
            for (k, v) in rest.tags {
                put.execute(params![run_id, k, v])?;
            }
        }
        put_inputs(&tx, experiment_id, run_id, rest.inputs)?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR IGNORE INTO run_model_inputs (run_uuid, model_id) VALUES (?1, ?2)",
            )?;
            for model_id in rest.model_inputs {
                put.execute(params![run_id, model_id])?;
            }
            let mut put = tx.prepare_cached(
                "INSERT OR IGNORE INTO run_model_outputs (run_uuid, model_id, step) VALUES (?1, ?2, ?3)",
            )?;
            for o in rest.model_outputs {
                put.execute(params![run_id, o.model_id, o.step])?;
            }
        }
        super::links::put_links(&tx, run_id, rest.metric_links)?;
        tx.execute(
            "UPDATE runs SET lifecycle_stage = ?2, deleted_time = ?3 WHERE run_uuid = ?1",
            params![run_id, rest.lifecycle_stage.as_str(), rest.deleted_time],
        )?;
        tx.execute("DELETE FROM meta WHERE key = ?1", [pending_key(run_id)])?;
        tx.commit()?;
        Ok(())
    }

    /// Removes a run whose import failed part way, with its marker.
    pub fn abandon_run_import(&mut self, run_id: &str) -> Result<()> {
        let tx = self.write()?;
        let key = pending_key(run_id);
        let pending: bool = tx.query_row(
            "SELECT count(*) > 0 FROM meta WHERE key = ?1",
            [&key],
            |r| r.get(0),
        )?;
        if pending {
            super::runs::remove_run_rows(&tx, run_id)?;
            tx.execute("DELETE FROM meta WHERE key = ?1", [&key])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Writes a logged model with its own id, times, status and stage, its
    /// tags, params and metric points, in one transaction. False when the
    /// store already has a model of that id: nothing is written.
    pub fn import_logged_model(&mut self, m: &ImportModelRow<'_>) -> Result<bool> {
        let tx = self.write()?;
        if experiment_name_of(&tx, m.experiment_id)?.is_none() {
            return Err(Error::not_found("experiment", m.experiment_id.to_string()));
        }
        let exists: bool = tx.query_row(
            "SELECT count(*) > 0 FROM logged_models WHERE model_id = ?1",
            [m.model_id],
            |r| r.get(0),
        )?;
        if exists {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location,
                 creation_time, last_updated_time, source_run_id, status, model_type, lifecycle_stage)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                m.model_id,
                m.experiment_id,
                m.name,
                m.artifact_location,
                m.creation_time,
                m.last_updated_time,
                m.source_run_id,
                m.status.as_str(),
                m.model_type,
                m.lifecycle_stage.as_str()
            ],
        )?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO logged_model_tags (model_id, key, value) VALUES (?1, ?2, ?3)",
            )?;
            for (k, v) in m.tags {
                put.execute(params![m.model_id, k, v])?;
            }
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO logged_model_params (model_id, key, value) VALUES (?1, ?2, ?3)",
            )?;
            for (k, v) in m.params {
                put.execute(params![m.model_id, k, v])?;
            }
            // The exact f64 in `bits`; `value` is NULL for NaN, as the
            // store's own model metrics are written.
            let mut put = tx.prepare_cached(
                "INSERT OR IGNORE INTO logged_model_metrics (model_id, key, timestamp, step, bits,
                     value, run_uuid, dataset_name, dataset_digest)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for p in m.metrics {
                put.execute(params![
                    m.model_id,
                    p.key,
                    p.timestamp,
                    p.step,
                    p.value.to_bits() as i64,
                    (!p.value.is_nan()).then_some(p.value),
                    p.run_id,
                    p.dataset_name,
                    p.dataset_digest
                ])?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    /// Ids of the runs whose import has not completed.
    pub fn pending_run_imports(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT substr(key, ?1) FROM meta WHERE substr(key, 1, ?2) = ?3 ORDER BY key",
        )?;
        let n = PENDING_PREFIX.len() as i64;
        let rows = stmt.query_map(params![n + 1, n, PENDING_PREFIX], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
