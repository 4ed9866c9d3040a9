//! Logged models (MLflow 3) in the index: the models with their tags,
//! params and metric points, the models runs give as outputs and take as
//! inputs, and the search over models (its SQL, and the semantics it
//! keeps, are in [`crate::search::sql`]'s `logged_models.rs`).

use std::collections::{BTreeMap, HashSet};

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use super::load::{json_ids, key_values, Slots};
use super::runs::{ensure_active, run_stage};
use super::stored::Stored;
use super::Index;
use crate::entities::{
    now_ms, LifecycleStage, LoggedModel, LoggedModelOutput, LoggedModelStatus, ModelMetric,
};
use crate::error::{EntityKind, Error, Result, ValidationError};
use crate::search::sql::{self, ModelQuery};

/// The run tag in which MLflow lists the models logged to a run, as a
/// JSON list of their descriptions.
pub const LOG_MODEL_HISTORY_TAG: &str = "mlflow.log-model.history";

/// A logged model as `create_logged_model` writes it: every default filled in.
pub struct ModelRow<'a> {
    pub model_id: &'a str,
    pub experiment_id: i64,
    pub name: &'a str,
    pub source_run_id: Option<&'a str>,
    pub model_type: Option<&'a str>,
    pub creation_time: i64,
    pub tags: &'a [(String, String)],
    pub params: &'a [(String, String)],
}

/// One page of a model search.
pub struct ModelSearchPage {
    pub models: Vec<LoggedModel>,
    /// The bound that later pages keep to.
    pub snapshot: i64,
    /// True when more models follow this page.
    pub more: bool,
}

/// The model's lifecycle stage, or NotFound.
pub fn model_stage(conn: &Connection, model_id: &str) -> Result<LifecycleStage> {
    let stage: Option<Stored<LifecycleStage>> = conn
        .prepare_cached("SELECT lifecycle_stage FROM logged_models WHERE model_id = ?1")?
        .query_row([model_id], |r| r.get(0))
        .optional()?;
    stage
        .map(|s| s.0)
        .ok_or_else(|| Error::not_found(EntityKind::LoggedModel, model_id))
}

pub(super) fn put_tags(conn: &Connection, model_id: &str, tags: &[(String, String)]) -> Result<()> {
    let mut put = conn.prepare_cached(
        "INSERT OR REPLACE INTO logged_model_tags (model_id, key, value) VALUES (?1, ?2, ?3)",
    )?;
    for (k, v) in tags {
        put.execute(params![model_id, k, v])?;
    }
    Ok(())
}

/// A logged model's row as stored: every field already checked and every
/// default filled in.
pub struct StoredModelRow<'a> {
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
}

/// Writes a model's row: the one INSERT of `logged_models`, for models
/// created here and models imported.
fn insert_model(conn: &Connection, m: &StoredModelRow<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location,
             creation_time, last_updated_time, source_run_id, status, model_type, lifecycle_stage)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
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
    ])?;
    Ok(())
}

/// Writes metric points of models; a point already there (same model,
/// key, timestamp, step, run and dataset) is kept once. The exact f64 is
/// in `bits`; `value` is NULL for NaN.
fn put_metric_points(conn: &Connection, metrics: &[ModelMetric]) -> Result<()> {
    let mut put = conn.prepare_cached(
        "INSERT OR IGNORE INTO logged_model_metrics (model_id, key, timestamp, step, bits,
            value, run_uuid, dataset_name, dataset_digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for m in metrics {
        put.execute(params![
            m.model_id,
            m.key,
            m.timestamp,
            m.step,
            m.value.to_bits() as i64,
            (!m.value.is_nan()).then_some(m.value),
            m.run_id,
            m.dataset_name,
            m.dataset_digest
        ])?;
    }
    Ok(())
}

/// Records models as a run's outputs; one already recorded (same model and
/// step) is kept once.
pub(super) fn put_outputs(
    conn: &Connection,
    run_id: &str,
    outputs: &[LoggedModelOutput],
) -> Result<()> {
    let mut put = conn.prepare_cached(
        "INSERT OR IGNORE INTO run_model_outputs (run_uuid, model_id, step) VALUES (?1, ?2, ?3)",
    )?;
    for o in outputs {
        put.execute(params![run_id, o.model_id, o.step])?;
    }
    Ok(())
}

/// Records models as a run's inputs, each once.
pub(super) fn put_model_inputs<S: AsRef<str>>(
    conn: &Connection,
    run_id: &str,
    model_ids: &[S],
) -> Result<()> {
    let mut put = conn.prepare_cached(
        "INSERT OR IGNORE INTO run_model_inputs (run_uuid, model_id) VALUES (?1, ?2)",
    )?;
    for id in model_ids {
        put.execute(params![run_id, id.as_ref()])?;
    }
    Ok(())
}

/// Logs params; a key already logged with another value is refused.
fn put_params(conn: &Connection, model_id: &str, params: &[(String, String)]) -> Result<()> {
    let mut get = conn
        .prepare_cached("SELECT value FROM logged_model_params WHERE model_id = ?1 AND key = ?2")?;
    let mut put = conn.prepare_cached(
        "INSERT OR IGNORE INTO logged_model_params (model_id, key, value) VALUES (?1, ?2, ?3)",
    )?;
    for (k, v) in params {
        let old: Option<String> = get
            .query_row(params![model_id, k], |r| r.get(0))
            .optional()?;
        match old {
            Some(old) if &old != v => {
                return Err(ValidationError::InvalidValue {
                    field: "logged model param",
                    value: k.clone(),
                    rule: format!(
                        "model {model_id} already has it as {old:?}, it cannot change to {v:?}; params are immutable"
                    ),
                }
                .into())
            }
            Some(_) => {}
            None => {
                put.execute(params![model_id, k, v])?;
            }
        }
    }
    Ok(())
}

const MODEL_SELECT: &str = "SELECT m.model_id, m.experiment_id, m.name, m.artifact_location,
        m.creation_time, m.last_updated_time, m.model_type, m.source_run_id, m.status,
        m.lifecycle_stage, e.artifact_location
    FROM logged_models m LEFT JOIN experiments e ON e.experiment_id = m.experiment_id";

fn model_row(r: &Row<'_>, default_root: &str) -> rusqlite::Result<LoggedModel> {
    let model_id: String = r.get(0)?;
    let experiment_id: i64 = r.get(1)?;
    let location: Option<String> = r.get(3)?;
    let experiment_location: Option<String> = r.get(10)?;
    let artifact_location = location.unwrap_or_else(|| {
        let base = experiment_location.unwrap_or_else(|| format!("{default_root}/{experiment_id}"));
        format!("{}/models/{model_id}/artifacts", base.trim_end_matches('/'))
    });
    Ok(LoggedModel {
        experiment_id: experiment_id.to_string(),
        name: r.get(2)?,
        artifact_location,
        creation_timestamp: r.get(4)?,
        last_updated_timestamp: r.get(5)?,
        model_type: r.get(6)?,
        source_run_id: r.get(7)?,
        status: r.get::<_, Stored<LoggedModelStatus>>(8)?.0,
        lifecycle_stage: r.get::<_, Stored<LifecycleStage>>(9)?.0,
        tags: BTreeMap::new(),
        params: BTreeMap::new(),
        metrics: Vec::new(),
        model_id,
    })
}

/// Loads whole models, in the order of `ids`, with one query per table.
fn load_models(conn: &Connection, ids: &[String], default_root: &str) -> Result<Vec<LoggedModel>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let json = json_ids(ids);
    let mut slots = Slots::new(ids.iter().map(String::as_str));
    let mut stmt = conn.prepare_cached(&format!(
        "{MODEL_SELECT} WHERE m.model_id IN (SELECT value FROM json_each(?1))"
    ))?;
    let mut rows = stmt.query([&json])?;
    while let Some(r) = rows.next()? {
        let model = model_row(r, default_root)?;
        if let Some(i) = slots.place(model.model_id.as_str()) {
            slots.fill(i, model);
        }
    }
    drop(rows);
    key_values(
        conn,
        "logged_model_params",
        "model_id",
        &json,
        &mut slots,
        |m| &mut m.params,
    )?;
    key_values(
        conn,
        "logged_model_tags",
        "model_id",
        &json,
        &mut slots,
        |m| &mut m.tags,
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT model_id, key, bits, timestamp, step, run_uuid, dataset_name, dataset_digest
         FROM logged_model_metrics WHERE model_id IN (SELECT value FROM json_each(?1))
         ORDER BY rowid",
    )?;
    let mut rows = stmt.query([&json])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        if let Some(model) = slots.get_mut(id.as_str()) {
            let metric = ModelMetric {
                key: r.get(1)?,
                value: f64::from_bits(r.get::<_, i64>(2)? as u64),
                timestamp: r.get(3)?,
                step: r.get(4)?,
                run_id: r.get(5)?,
                dataset_name: r.get(6)?,
                dataset_digest: r.get(7)?,
                model_id: id,
            };
            model.metrics.push(metric);
        }
    }
    Ok(slots.into_vec())
}

impl Index {
    /// Creates a PENDING model in an active experiment, with its tags and params.
    pub fn create_logged_model(&mut self, row: &ModelRow<'_>) -> Result<()> {
        let tx = self.write()?;
        if Self::experiment_stage(&tx, row.experiment_id)? != LifecycleStage::Active {
            return Err(Error::Deleted {
                kind: EntityKind::Experiment,
                id: row.experiment_id.to_string(),
                rule: "logged models cannot be created in it",
            });
        }
        if let Some(run_id) = row.source_run_id {
            run_stage(&tx, run_id)?;
        }
        insert_model(
            &tx,
            &StoredModelRow {
                model_id: row.model_id,
                experiment_id: row.experiment_id,
                name: row.name,
                artifact_location: None,
                creation_time: row.creation_time,
                last_updated_time: row.creation_time,
                source_run_id: row.source_run_id,
                status: LoggedModelStatus::Pending,
                model_type: row.model_type,
                lifecycle_stage: LifecycleStage::Active,
            },
        )?;
        put_params(&tx, row.model_id, row.params)?;
        put_tags(&tx, row.model_id, row.tags)?;
        tx.commit()?;
        Ok(())
    }

    /// The model with its tags, params and metrics; NotFound when it is
    /// missing, or deleted and `allow_deleted` is false.
    pub fn logged_model(
        &self,
        model_id: &str,
        allow_deleted: bool,
        default_root: &str,
    ) -> Result<LoggedModel> {
        // One read transaction: the model's rows agree with each other.
        let tx = self.conn.unchecked_transaction()?;
        let found = load_models(&tx, &[model_id.to_string()], default_root)?.pop();
        tx.commit()?;
        match found {
            Some(m) if allow_deleted || m.lifecycle_stage == LifecycleStage::Active => Ok(m),
            _ => Err(Error::not_found(EntityKind::LoggedModel, model_id)),
        }
    }

    /// Soft-deletes a model (again: no change but the update time).
    pub fn delete_logged_model(&mut self, model_id: &str) -> Result<()> {
        let tx = self.write()?;
        model_stage(&tx, model_id)?;
        tx.execute(
            "UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_time = ?2
             WHERE model_id = ?1",
            params![model_id, now_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn finalize_logged_model(
        &mut self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<()> {
        let tx = self.write()?;
        model_stage(&tx, model_id)?;
        tx.execute(
            "UPDATE logged_models SET status = ?2, last_updated_time = ?3 WHERE model_id = ?1",
            params![model_id, status.as_str(), now_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn set_logged_model_tags(
        &mut self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<()> {
        let tx = self.write()?;
        model_stage(&tx, model_id)?;
        put_tags(&tx, model_id, tags)?;
        tx.commit()?;
        Ok(())
    }

    pub fn delete_logged_model_tag(&mut self, model_id: &str, key: &str) -> Result<()> {
        let tx = self.write()?;
        model_stage(&tx, model_id)?;
        let n = tx.execute(
            "DELETE FROM logged_model_tags WHERE model_id = ?1 AND key = ?2",
            params![model_id, key],
        )?;
        if n == 0 {
            return Err(Error::not_found(
                EntityKind::LoggedModelTag,
                format!("{key} (logged model {model_id})"),
            ));
        }
        tx.commit()?;
        Ok(())
    }

    /// Logs params: all or nothing. The same value again is accepted.
    pub fn log_logged_model_params(
        &mut self,
        model_id: &str,
        params: &[(String, String)],
    ) -> Result<()> {
        let tx = self.write()?;
        model_stage(&tx, model_id)?;
        put_params(&tx, model_id, params)?;
        tx.commit()?;
        Ok(())
    }

    /// Records models as outputs of an active run; an output already
    /// recorded (same model and step) is kept once.
    pub fn log_outputs(&mut self, run_id: &str, outputs: &[LoggedModelOutput]) -> Result<()> {
        let tx = self.write()?;
        ensure_active(&tx, run_id)?;
        for o in outputs {
            model_stage(&tx, &o.model_id)?;
        }
        put_outputs(&tx, run_id, outputs)?;
        tx.commit()?;
        Ok(())
    }

    /// Records models as inputs of an active run, each once.
    pub fn log_model_inputs(&mut self, run_id: &str, model_ids: &[&str]) -> Result<()> {
        let tx = self.write()?;
        ensure_active(&tx, run_id)?;
        for id in model_ids {
            model_stage(&tx, id)?;
        }
        put_model_inputs(&tx, run_id, model_ids)?;
        tx.commit()?;
        Ok(())
    }

    /// The models a run gave as outputs, in the order recorded.
    pub fn run_outputs(&self, run_id: &str) -> Result<Vec<LoggedModelOutput>> {
        run_stage(&self.conn, run_id)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT model_id, step FROM run_model_outputs WHERE run_uuid = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            Ok(LoggedModelOutput {
                model_id: r.get(0)?,
                step: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The models a run took as inputs, in the order recorded.
    pub fn run_model_inputs(&self, run_id: &str) -> Result<Vec<String>> {
        run_stage(&self.conn, run_id)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT model_id FROM run_model_inputs WHERE run_uuid = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([run_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Logs metric points of models: all or nothing. Every model must
    /// exist, and every run named must be active. A point logged again
    /// (same model, key, timestamp, step, run and dataset) is kept once.
    pub fn log_model_metrics(&mut self, metrics: &[ModelMetric]) -> Result<()> {
        let tx = self.write()?;
        let mut models = HashSet::new();
        let mut runs = HashSet::new();
        for m in metrics {
            if models.insert(m.model_id.as_str()) {
                model_stage(&tx, &m.model_id)?;
            }
            if let Some(run_id) = m.run_id.as_deref() {
                if runs.insert(run_id) {
                    ensure_active(&tx, run_id)?;
                }
            }
        }
        put_metric_points(&tx, metrics)?;
        tx.commit()?;
        Ok(())
    }

    /// Writes a model kept elsewhere (an import) with its own id, times,
    /// status and stage, its tags, params and metric points, in one
    /// transaction, into an experiment the store has. False when the store
    /// already has a model of that id: nothing is written.
    pub fn put_logged_model_record(
        &mut self,
        row: &StoredModelRow<'_>,
        tags: &[(String, String)],
        params: &[(String, String)],
        metrics: &[ModelMetric],
    ) -> Result<bool> {
        let tx = self.write()?;
        Self::experiment_stage(&tx, row.experiment_id)?;
        let exists: bool = tx.query_row(
            "SELECT count(*) > 0 FROM logged_models WHERE model_id = ?1",
            [row.model_id],
            |r| r.get(0),
        )?;
        if exists {
            return Ok(false);
        }
        insert_model(&tx, row)?;
        put_tags(&tx, row.model_id, tags)?;
        put_params(&tx, row.model_id, params)?;
        put_metric_points(&tx, metrics)?;
        tx.commit()?;
        Ok(true)
    }

    /// Appends a model's description (a JSON object) to the run's
    /// [`LOG_MODEL_HISTORY_TAG`], a JSON list, in one transaction: writers
    /// of one run never lose each other's entries. The list keeps the text
    /// it had (so that MLflow's formatting stays as it was), and the tag
    /// keeps to the run tag limit.
    pub fn record_logged_model(&mut self, run_id: &str, model_json: &str) -> Result<()> {
        let tx = self.write()?;
        ensure_active(&tx, run_id)?;
        let old: Option<String> = tx
            .query_row(
                "SELECT value FROM tags WHERE run_uuid = ?1 AND key = ?2",
                params![run_id, LOG_MODEL_HISTORY_TAG],
                |r| r.get(0),
            )
            .optional()?;
        let value = match old {
            None => format!("[{model_json}]"),
            Some(old) => {
                let entries = serde_json::from_str::<serde_json::Value>(&old)
                    .ok()
                    .and_then(|v| v.as_array().map(Vec::len));
                let body = old.trim_end().strip_suffix(']');
                match (entries, body) {
                    (Some(0), _) => format!("[{model_json}]"),
                    (Some(_), Some(body)) => format!("{body}, {model_json}]"),
                    _ => {
                        return Err(Error::MalformedTag {
                            run_id: run_id.to_owned(),
                            key: LOG_MODEL_HISTORY_TAG,
                            reason: "is not a JSON list; delete or fix it before recording models",
                        })
                    }
                }
            }
        };
        crate::validate::tag(LOG_MODEL_HISTORY_TAG, &value)?;
        tx.execute(
            "INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?1, ?2, ?3)",
            params![run_id, LOG_MODEL_HISTORY_TAG, value],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// One page of a model search, in one read transaction.
    pub fn search_logged_models(&self, q: &ModelQuery<'_>) -> Result<ModelSearchPage> {
        let tx = self.conn.unchecked_transaction()?;
        let snapshot = match q.snapshot {
            Some(s) => s,
            None => tx.query_row(
                "SELECT coalesce(max(rowid), 0) FROM logged_models",
                [],
                |r| r.get(0),
            )?,
        };
        let sql = sql::logged_models(q, snapshot);
        // Not cached: the text varies with the filter's shape.
        let mut stmt = tx.prepare(&sql.text)?;
        let mut ids = stmt
            .query_map(params_from_iter(sql.params.iter()), |r| {
                r.get::<_, String>(0)
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(stmt);
        let more = ids.len() > q.limit;
        ids.truncate(q.limit);
        let models = load_models(&tx, &ids, q.artifact_root)?;
        tx.commit()?;
        Ok(ModelSearchPage {
            models,
            snapshot,
            more,
        })
    }
}
