//! Datasets and run inputs in the index.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Transaction};

use super::runs::ensure_active;
use super::Index;
use crate::entities::{Dataset, DatasetInput};
use crate::error::Result;

impl Index {
    /// Records datasets as inputs of a run. A dataset already known in the
    /// run's experiment (same name and digest) is reused; an input already
    /// logged for the run keeps its first tags, as MLflow does.
    pub fn log_inputs(&mut self, run_id: &str, inputs: &[DatasetInput]) -> Result<()> {
        let tx = self.write()?;
        ensure_active(&tx, run_id)?;
        let experiment_id: i64 = tx.query_row(
            "SELECT experiment_id FROM runs WHERE run_uuid = ?1",
            [run_id],
            |r| r.get(0),
        )?;
        put_inputs(&tx, experiment_id, run_id, inputs)?;
        tx.commit()?;
        Ok(())
    }

    /// The datasets a run used, in the order first logged.
    pub fn inputs(&self, run_id: &str) -> Result<Vec<DatasetInput>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.input_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
             FROM inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid
             WHERE i.run_uuid = ?1 ORDER BY i.rowid",
        )?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Dataset {
                        name: r.get(1)?,
                        digest: r.get(2)?,
                        source_type: r.get(3)?,
                        source: r.get(4)?,
                        schema: r.get(5)?,
                        profile: r.get(6)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut tags_of = self
            .conn
            .prepare_cached("SELECT key, value FROM input_tags WHERE input_uuid = ?1")?;
        let mut out = Vec::with_capacity(rows.len());
        for (input_uuid, dataset) in rows {
            let tags = tags_of
                .query_map([&input_uuid], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<BTreeMap<_, _>>>()?;
            out.push(DatasetInput { dataset, tags });
        }
        Ok(out)
    }
}

/// Records datasets as inputs of a run inside the caller's transaction,
/// whatever the run's stage: a dataset already known in the experiment
/// (same name and digest) is reused, and an input already logged for the
/// run keeps its first tags.
pub(crate) fn put_inputs(
    tx: &Transaction<'_>,
    experiment_id: i64,
    run_id: &str,
    inputs: &[DatasetInput],
) -> Result<()> {
    for input in inputs {
        let d = &input.dataset;
        let existing: Option<String> = tx
            .query_row(
                "SELECT dataset_uuid FROM datasets WHERE experiment_id = ?1 AND name = ?2 AND digest = ?3",
                params![experiment_id, d.name, d.digest],
                |r| r.get(0),
            )
            .optional()?;
        let dataset_uuid = match existing {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                tx.execute(
                    "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![id, experiment_id, d.name, d.digest, d.source_type, d.source, d.schema, d.profile],
                )?;
                id
            }
        };
        let input_uuid = uuid::Uuid::new_v4().simple().to_string();
        let added = tx.execute(
            "INSERT OR IGNORE INTO inputs (input_uuid, dataset_uuid, run_uuid) VALUES (?1, ?2, ?3)",
            params![input_uuid, dataset_uuid, run_id],
        )?;
        if added == 1 {
            for (k, v) in &input.tags {
                tx.execute(
                    "INSERT OR REPLACE INTO input_tags (input_uuid, key, value) VALUES (?1, ?2, ?3)",
                    params![input_uuid, k, v],
                )?;
            }
        }
    }
    Ok(())
}
