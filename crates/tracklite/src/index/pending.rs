//! The pending-run protocol: how a run kept elsewhere (an import now, a
//! sync later) is written in two transactions with its metric points in
//! between, and how a write cut short is found and undone.
//!
//! [`Index::begin_run_record`] writes the run's row, active, and a marker
//! in `meta` (`import-pending:<run_id>` = the writing process's id);
//! [`Index::finish_run_record`] writes the rest of the run, sets its final
//! lifecycle stage and removes the marker. A run whose marker is still
//! there, owned by a process that is gone, was cut short: the next writer
//! of the run removes what it had written and starts it again. This file
//! owns only the marker; every entity row goes through its entity's file.

use rusqlite::{params, Connection, OptionalExtension};

use super::runs::{insert_run, put_new_params, put_plain_tags, remove_run_rows, StoredRun};
use super::Index;
use crate::entities::{DatasetInput, LifecycleStage, LoggedModelOutput, MetricDatasetLink};
use crate::error::{EntityKind, Error, Result};

/// Prefix of the `meta` keys that mark runs being written.
const PENDING_PREFIX: &str = "import-pending:";

/// What [`Index::begin_run_record`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunBegin {
    /// The run is new: its row and marker are written.
    Started,
    /// An earlier write of the run was cut short; what it had written is
    /// removed and the run started again.
    Restarted,
    /// The store has the run, complete: nothing was written.
    Present,
    /// Another living process is writing the run right now.
    Busy {
        /// That process's id.
        pid: u32,
    },
}

/// The rest of a run, written when its metric points are in.
pub struct RunRest<'a> {
    pub run_id: &'a str,
    pub lifecycle_stage: LifecycleStage,
    pub deleted_time: Option<i64>,
    pub params: &'a [(String, String)],
    /// Stored exactly as given (the run's name stays the one its row has).
    pub tags: &'a [(String, String)],
    pub inputs: &'a [DatasetInput],
    pub model_inputs: &'a [String],
    pub model_outputs: &'a [LoggedModelOutput],
    /// The datasets of metric points, by key, each list sorted by ordinal.
    pub metric_links: &'a [(String, Vec<MetricDatasetLink>)],
}

fn marker_key(run_id: &str) -> String {
    format!("{PENDING_PREFIX}{run_id}")
}

/// The process that marked the run, when it is marked.
fn marker_owner(conn: &Connection, run_id: &str) -> Result<Option<u32>> {
    let owner: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [marker_key(run_id)],
            |r| r.get(0),
        )
        .optional()?;
    // An unreadable owner is treated as a process that is gone.
    Ok(owner.map(|o| o.parse::<u32>().unwrap_or(0)))
}

fn set_marker(conn: &Connection, run_id: &str) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
        params![marker_key(run_id), std::process::id().to_string()],
    )?;
    Ok(())
}

fn clear_marker(conn: &Connection, run_id: &str) -> Result<usize> {
    Ok(conn.execute("DELETE FROM meta WHERE key = ?1", [marker_key(run_id)])?)
}

impl Index {
    /// Starts writing a run kept elsewhere: its row, active so that its
    /// metrics can be written, and its marker. A run left marked by a
    /// write that was cut short is removed and started again.
    pub fn begin_run_record(&mut self, run: &StoredRun<'_>) -> Result<RunBegin> {
        let tx = self.write()?;
        Self::experiment_stage(&tx, run.experiment_id)?;
        let exists: bool = tx.query_row(
            "SELECT count(*) > 0 FROM runs WHERE run_uuid = ?1",
            [run.run_id],
            |r| r.get(0),
        )?;
        let begin = match (exists, marker_owner(&tx, run.run_id)?) {
            (true, None) => return Ok(RunBegin::Present),
            (_, Some(pid)) => {
                if pid != 0 && pid != std::process::id() && crate::process::pid_is_alive(pid) {
                    return Ok(RunBegin::Busy { pid });
                }
                remove_run_rows(&tx, run.run_id)?;
                RunBegin::Restarted
            }
            (false, None) => RunBegin::Started,
        };
        insert_run(&tx, run)?;
        set_marker(&tx, run.run_id)?;
        tx.commit()?;
        Ok(begin)
    }

    /// Completes a run begun with [`Index::begin_run_record`] in one
    /// transaction: params, tags, inputs, model inputs and outputs, the
    /// dataset links of its metric points, the final lifecycle stage, and
    /// the marker removed.
    pub fn finish_run_record(&mut self, rest: &RunRest<'_>) -> Result<()> {
        let tx = self.write()?;
        let run_id = rest.run_id;
        let experiment_id: i64 = tx
            .query_row(
                "SELECT experiment_id FROM runs WHERE run_uuid = ?1",
                [run_id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| Error::not_found(EntityKind::Run, run_id))?;
        put_new_params(&tx, run_id, rest.params)?;
        put_plain_tags(&tx, run_id, rest.tags)?;
        super::datasets::put_inputs(&tx, experiment_id, run_id, rest.inputs)?;
        super::logged_models::put_model_inputs(&tx, run_id, rest.model_inputs)?;
        super::logged_models::put_outputs(&tx, run_id, rest.model_outputs)?;
        super::links::put_links(&tx, run_id, rest.metric_links)?;
        tx.execute(
            "UPDATE runs SET lifecycle_stage = ?2, deleted_time = ?3 WHERE run_uuid = ?1",
            params![run_id, rest.lifecycle_stage.as_str(), rest.deleted_time],
        )?;
        clear_marker(&tx, run_id)?;
        tx.commit()?;
        Ok(())
    }

    /// Removes a run whose write failed part way, with its marker; a run
    /// that is not marked is left alone.
    pub fn abandon_run_record(&mut self, run_id: &str) -> Result<()> {
        let tx = self.write()?;
        if marker_owner(&tx, run_id)?.is_some() {
            remove_run_rows(&tx, run_id)?;
            clear_marker(&tx, run_id)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Ids of the runs whose write has not completed.
    pub fn pending_runs(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT substr(key, ?1) FROM meta WHERE substr(key, 1, ?2) = ?3 ORDER BY key",
        )?;
        let n = PENDING_PREFIX.len() as i64;
        let rows = stmt.query_map(params![n + 1, n, PENDING_PREFIX], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
