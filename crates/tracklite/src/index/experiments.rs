//! Experiments in the index.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::stored::Stored;
use super::Index;
use crate::entities::{now_ms, Experiment, LifecycleStage, ViewType};
use crate::error::{EntityKind, Error, Result};

/// An experiment row before its tags and default location are filled in.
struct ExperimentRow {
    id: i64,
    name: String,
    artifact_location: Option<String>,
    stage: LifecycleStage,
    creation_time: i64,
    last_update_time: i64,
}

const COLUMNS: &str =
    "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

fn row(r: &Row<'_>) -> rusqlite::Result<ExperimentRow> {
    Ok(ExperimentRow {
        id: r.get(0)?,
        name: r.get(1)?,
        artifact_location: r.get(2)?,
        stage: r.get::<_, Stored<LifecycleStage>>(3)?.0,
        creation_time: r.get(4)?,
        last_update_time: r.get(5)?,
    })
}

/// An experiment's row as stored: every field already checked and every
/// default filled in.
pub struct StoredExperiment<'a> {
    pub experiment_id: i64,
    pub name: &'a str,
    /// None: the store's own `artifacts/<experiment_id>` folder.
    pub artifact_location: Option<&'a str>,
    pub lifecycle_stage: LifecycleStage,
    pub creation_time: i64,
    pub last_update_time: i64,
}

/// What [`Index::put_experiment_record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// It was new to the store.
    Created,
    /// The store had an experiment of that id and name with no runs and no
    /// tags (such as its own Default experiment): it now has the record.
    Replaced,
    /// The store had it, with runs or tags: left as it is.
    Present,
}

/// Writes an experiment's row: the one INSERT of `experiments`.
fn insert_experiment(conn: &Connection, e: &StoredExperiment<'_>) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage,
             creation_time, last_update_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        e.experiment_id,
        e.name,
        e.artifact_location,
        e.lifecycle_stage.as_str(),
        e.creation_time,
        e.last_update_time
    ])?;
    Ok(())
}

/// Sets experiment tags, replacing values of keys it has.
fn put_tags(conn: &Connection, id: i64, tags: &[(String, String)]) -> Result<()> {
    let mut put = conn.prepare_cached(
        "INSERT OR REPLACE INTO experiment_tags (experiment_id, key, value) VALUES (?1, ?2, ?3)",
    )?;
    for (k, v) in tags {
        put.execute(params![id, k, v])?;
    }
    Ok(())
}

/// The id of the experiment called `name`, deleted or not.
fn id_named(conn: &Connection, name: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT experiment_id FROM experiments WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

fn name_of(conn: &Connection, id: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT name FROM experiments WHERE experiment_id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

pub(crate) fn tags_of(conn: &Connection, id: i64) -> Result<BTreeMap<String, String>> {
    let mut stmt =
        conn.prepare_cached("SELECT key, value FROM experiment_tags WHERE experiment_id = ?1")?;
    let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Index {
    fn complete(&self, row: ExperimentRow, default_root: &str) -> Result<Experiment> {
        Ok(Experiment {
            experiment_id: row.id.to_string(),
            artifact_location: row
                .artifact_location
                .unwrap_or_else(|| format!("{default_root}/{}", row.id)),
            name: row.name,
            lifecycle_stage: row.stage,
            creation_time: row.creation_time,
            last_update_time: row.last_update_time,
            tags: tags_of(&self.conn, row.id)?,
        })
    }

    /// Creates an experiment; its name must be new, even among deleted ones.
    pub fn create_experiment(
        &mut self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<i64> {
        let tx = self.write()?;
        let taken = id_named(&tx, name)?;
        if taken.is_some() {
            return Err(Error::AlreadyExists {
                kind: EntityKind::Experiment,
                name: name.to_string(),
            });
        }
        let now = now_ms();
        let id: i64 = tx.query_row(
            "SELECT coalesce(max(experiment_id), 0) + 1 FROM experiments",
            [],
            |r| r.get(0),
        )?;
        insert_experiment(
            &tx,
            &StoredExperiment {
                experiment_id: id,
                name,
                artifact_location,
                lifecycle_stage: LifecycleStage::Active,
                creation_time: now,
                last_update_time: now,
            },
        )?;
        put_tags(&tx, id, tags)?;
        tx.commit()?;
        Ok(id)
    }

    /// Writes an experiment with its own id, name, times and stage. An
    /// experiment of that id and name already in the store is kept (see
    /// [`PutOutcome`]); the id or the name taken by another
    /// experiment is an AlreadyExists error, and nothing is written.
    pub fn put_experiment_record(
        &mut self,
        e: &StoredExperiment<'_>,
        tags: &[(String, String)],
    ) -> Result<PutOutcome> {
        let tx = self.write()?;
        let outcome = match name_of(&tx, e.experiment_id)? {
            Some(name) if name != e.name => {
                return Err(Error::Conflict {
                    kind: EntityKind::Experiment,
                    id: e.experiment_id.to_string(),
                    reason: format!(
                        "the store's experiment {} is named {name:?}, not {:?}; experiment ids \
                         must not change in an import, so this experiment is left out",
                        e.experiment_id, e.name
                    ),
                })
            }
            Some(_) => {
                let (runs, tag_count): (i64, i64) = tx.query_row(
                    "SELECT (SELECT count(*) FROM runs WHERE experiment_id = ?1),
                            (SELECT count(*) FROM experiment_tags WHERE experiment_id = ?1)",
                    [e.experiment_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                if runs > 0 || tag_count > 0 {
                    return Ok(PutOutcome::Present);
                }
                // Only a record that differs changes the row.
                let changed = tx.execute(
                    "UPDATE experiments SET artifact_location = ?2, lifecycle_stage = ?3,
                         creation_time = ?4, last_update_time = ?5
                     WHERE experiment_id = ?1 AND NOT (artifact_location IS ?2
                         AND lifecycle_stage = ?3 AND creation_time = ?4 AND last_update_time = ?5)",
                    params![
                        e.experiment_id,
                        e.artifact_location,
                        e.lifecycle_stage.as_str(),
                        e.creation_time,
                        e.last_update_time
                    ],
                )?;
                if changed == 0 && tags.is_empty() {
                    return Ok(PutOutcome::Present);
                }
                PutOutcome::Replaced
            }
            None => {
                let other = id_named(&tx, e.name)?;
                if let Some(other) = other {
                    return Err(Error::Conflict {
                        kind: EntityKind::Experiment,
                        id: e.experiment_id.to_string(),
                        reason: format!(
                            "the store's experiment {other} is already named {:?}; rename one of \
                             the two to import it",
                            e.name
                        ),
                    });
                }
                insert_experiment(&tx, e)?;
                PutOutcome::Created
            }
        };
        put_tags(&tx, e.experiment_id, tags)?;
        tx.commit()?;
        Ok(outcome)
    }

    pub fn get_experiment(&self, id: i64, default_root: &str) -> Result<Experiment> {
        let found = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM experiments WHERE experiment_id = ?1"),
                [id],
                row,
            )
            .optional()?;
        match found {
            Some(r) => self.complete(r, default_root),
            None => Err(Error::not_found(EntityKind::Experiment, id.to_string())),
        }
    }

    pub fn get_experiment_by_name(
        &self,
        name: &str,
        default_root: &str,
    ) -> Result<Option<Experiment>> {
        let found = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM experiments WHERE name = ?1"),
                [name],
                row,
            )
            .optional()?;
        found.map(|r| self.complete(r, default_root)).transpose()
    }

    pub fn list_experiments(&self, view: ViewType, default_root: &str) -> Result<Vec<Experiment>> {
        let stages = view.stages();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM experiments WHERE lifecycle_stage IN (?1, ?2) ORDER BY experiment_id"
        ))?;
        let rows = stmt
            .query_map([stages[0], stages[stages.len() - 1]], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(stmt);
        rows.into_iter()
            .map(|r| self.complete(r, default_root))
            .collect()
    }

    /// The experiment's lifecycle stage, or NotFound.
    pub fn experiment_stage(conn: &Connection, id: i64) -> Result<LifecycleStage> {
        let stage: Option<Stored<LifecycleStage>> = conn
            .prepare_cached("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        stage
            .map(|s| s.0)
            .ok_or_else(|| Error::not_found(EntityKind::Experiment, id.to_string()))
    }

    pub fn rename_experiment(&mut self, id: i64, new_name: &str) -> Result<()> {
        let tx = self.write()?;
        if Self::experiment_stage(&tx, id)? != LifecycleStage::Active {
            return Err(Error::Deleted {
                kind: EntityKind::Experiment,
                id: id.to_string(),
                rule: "restore it before renaming it",
            });
        }
        let taken = id_named(&tx, new_name)?;
        match taken {
            Some(other) if other != id => {
                return Err(Error::AlreadyExists {
                    kind: EntityKind::Experiment,
                    name: new_name.to_string(),
                })
            }
            _ => {}
        }
        tx.execute(
            "UPDATE experiments SET name = ?2, last_update_time = ?3 WHERE experiment_id = ?1",
            params![id, new_name, now_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Soft-deletes or restores an experiment and, as MLflow does, its runs.
    pub fn set_experiment_stage(&mut self, id: i64, stage: LifecycleStage) -> Result<()> {
        let tx = self.write()?;
        let current = Self::experiment_stage(&tx, id)?;
        if current == stage {
            return Err(Error::AlreadyInStage {
                kind: EntityKind::Experiment,
                id: id.to_string(),
                stage,
            });
        }
        let now = now_ms();
        tx.execute(
            "UPDATE experiments SET lifecycle_stage = ?2, last_update_time = ?3 WHERE experiment_id = ?1",
            params![id, stage.as_str(), now],
        )?;
        let deleted_time = (stage == LifecycleStage::Deleted).then_some(now);
        tx.execute(
            "UPDATE runs SET lifecycle_stage = ?2, deleted_time = ?3 WHERE experiment_id = ?1",
            params![id, stage.as_str(), deleted_time],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn set_experiment_tag(&mut self, id: i64, key: &str, value: &str) -> Result<()> {
        let tx = self.write()?;
        if Self::experiment_stage(&tx, id)? != LifecycleStage::Active {
            return Err(Error::Deleted {
                kind: EntityKind::Experiment,
                id: id.to_string(),
                rule: "restore it before setting tags",
            });
        }
        put_tags(&tx, id, &[(key.to_owned(), value.to_owned())])?;
        tx.commit()?;
        Ok(())
    }

    pub fn delete_experiment_tag(&mut self, id: i64, key: &str) -> Result<()> {
        let tx = self.write()?;
        Self::experiment_stage(&tx, id)?;
        let n = tx.execute(
            "DELETE FROM experiment_tags WHERE experiment_id = ?1 AND key = ?2",
            params![id, key],
        )?;
        if n == 0 {
            return Err(Error::not_found(
                EntityKind::ExperimentTag,
                format!("{key} (experiment {id})"),
            ));
        }
        tx.commit()?;
        Ok(())
    }

    /// Permanently removes soft-deleted experiments that no longer hold a
    /// run (their runs are removed first), with their tags and datasets.
    /// The Default experiment ("0") is kept: new runs fall back to it.
    pub fn purge_deleted_experiments(&mut self) -> Result<Vec<i64>> {
        let tx = self.write()?;
        let doomed: Vec<i64> = {
            let mut stmt = tx.prepare(
                "SELECT experiment_id FROM experiments e
                 WHERE lifecycle_stage = 'deleted' AND experiment_id != 0
                   AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.experiment_id = e.experiment_id)
                 ORDER BY experiment_id",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for id in &doomed {
            for table in ["experiment_tags", "datasets", "experiments"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE experiment_id = ?1"),
                    [id],
                )?;
            }
        }
        tx.commit()?;
        Ok(doomed)
    }
}
