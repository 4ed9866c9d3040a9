//! The export journal in the index (schema 9): what was sent to which
//! export target. No network here: rows are recorded and read only.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::stored::Stored;
use super::Index;
use crate::entities::RunStatus;
use crate::error::{Error, FormatError, Result};
use crate::store::{value_digest, JournaledRun};

const PARAM: &str = "param";
const TAG: &str = "tag";

/// The id of target `url`: None when it has no row (nothing was ever
/// journaled for it) and `create` is false.
fn target_id(conn: &Connection, url: &str, create: bool) -> Result<Option<i64>> {
    if create {
        conn.prepare_cached("INSERT OR IGNORE INTO export_targets (url) VALUES (?1)")?
            .execute([url])?;
    }
    Ok(conn
        .prepare_cached("SELECT target_id FROM export_targets WHERE url = ?1")?
        .query_row([url], |r| r.get(0))
        .optional()?)
}

/// Removes what the journal holds for one run of a target.
fn clear_run(conn: &Connection, target: i64, run_id: &str) -> Result<()> {
    for table in [
        "export_runs",
        "export_values",
        "export_series",
        "export_artifacts",
    ] {
        conn.prepare_cached(&format!(
            "DELETE FROM {table} WHERE target_id = ?1 AND run_uuid = ?2"
        ))?
        .execute(params![target, run_id])?;
    }
    Ok(())
}

impl Index {
    /// The store's id (`meta.store_id`), made by the schema 9 migration.
    pub fn store_id(&self) -> Result<String> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = 'store_id'", [], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| {
                FormatError::NotAStore {
                    what: "index",
                    path: self.path.clone(),
                    reason: "its meta table has no store_id (schema 9 makes one)".into(),
                }
                .into()
            })
    }

    /// The URLs of every target something was journaled for, in order.
    pub fn export_targets(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT url FROM export_targets ORDER BY url")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    }

    /// Local experiment id → remote experiment id, for target `url`.
    pub fn journaled_experiments(&self, url: &str) -> Result<HashMap<String, String>> {
        let Some(target) = target_id(&self.conn, url, false)? else {
            return Ok(HashMap::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT experiment_id, remote_id FROM export_experiments WHERE target_id = ?1",
        )?;
        let rows = stmt.query_map([target], |r| {
            Ok((r.get::<_, i64>(0)?.to_string(), r.get::<_, String>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
    }

    /// Records that local experiment `experiment_id` is `remote_id` on `url`.
    pub fn journal_experiment(
        &mut self,
        url: &str,
        experiment_id: i64,
        remote_id: &str,
    ) -> Result<()> {
        let tx = self.write()?;
        let target = target_id(&tx, url, true)?.expect("made above");
        tx.prepare_cached(
            "INSERT OR REPLACE INTO export_experiments (target_id, experiment_id, remote_id)
             VALUES (?1, ?2, ?3)",
        )?
        .execute(params![target, experiment_id, remote_id])?;
        tx.commit()?;
        Ok(())
    }

    /// Every run journaled for `url`, by local run id.
    pub fn journaled_runs(&self, url: &str) -> Result<HashMap<String, JournaledRun>> {
        let Some(target) = target_id(&self.conn, url, false)? else {
            return Ok(HashMap::new());
        };
        let mut runs = HashMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT run_uuid, remote_id, status, end_time FROM export_runs WHERE target_id = ?1",
        )?;
        let rows = stmt.query_map([target], |r| {
            Ok((
                r.get::<_, String>(0)?,
                JournaledRun {
                    remote_id: r.get(1)?,
                    status: r.get::<_, Option<Stored<RunStatus>>>(2)?.map(|s| s.0),
                    end_time: r.get(3)?,
                    ..JournaledRun::default()
                },
            ))
        })?;
        for row in rows {
            let (id, run) = row?;
            runs.insert(id, run);
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT run_uuid, kind, key, digest FROM export_values WHERE target_id = ?1",
        )?;
        let rows = stmt.query_map([target], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (id, kind, key, digest) = row?;
            let Some(run) = runs.get_mut(&id) else {
                continue;
            };
            let map = match kind.as_str() {
                PARAM => &mut run.params,
                TAG => &mut run.tags,
                other => {
                    return Err(FormatError::UnknownStoredValue {
                        what: "export journal value kind",
                        value: other.to_string(),
                        expected: "param, tag",
                    }
                    .into())
                }
            };
            map.insert(key, digest as u64);
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT run_uuid, key, exported FROM export_series WHERE target_id = ?1",
        )?;
        let rows = stmt.query_map([target], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (id, key, exported) = row?;
            if let Some(run) = runs.get_mut(&id) {
                run.series.insert(key, exported as u64);
            }
        }
        Ok(runs)
    }

    /// Records that local run `run_id` is `remote_id` on `url`. A run
    /// journaled with another remote id starts over: what was recorded as
    /// sent to the other one is forgotten.
    pub fn journal_run(&mut self, url: &str, run_id: &str, remote_id: &str) -> Result<()> {
        let tx = self.write()?;
        let target = target_id(&tx, url, true)?.expect("made above");
        let known: Option<String> = tx
            .prepare_cached(
                "SELECT remote_id FROM export_runs WHERE target_id = ?1 AND run_uuid = ?2",
            )?
            .query_row(params![target, run_id], |r| r.get(0))
            .optional()?;
        if known.as_deref() != Some(remote_id) {
            clear_run(&tx, target, run_id)?;
            tx.prepare_cached(
                "INSERT INTO export_runs (target_id, run_uuid, remote_id) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![target, run_id, remote_id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets everything journaled for run `run_id` on `url`.
    pub fn forget_journaled_run(&mut self, url: &str, run_id: &str) -> Result<()> {
        let tx = self.write()?;
        if let Some(target) = target_id(&tx, url, false)? {
            clear_run(&tx, target, run_id)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records, in one transaction, params and tags sent for a run (by the
    /// digest of their values) and the number of points of series sent.
    pub fn journal_sent(
        &mut self,
        url: &str,
        run_id: &str,
        params_sent: &[(String, String)],
        tags_sent: &[(String, String)],
        series: &[(String, u64)],
    ) -> Result<()> {
        let tx = self.write()?;
        let target = journaled_target(&tx, url, run_id)?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO export_values (target_id, run_uuid, kind, key, digest)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (kind, values) in [(PARAM, params_sent), (TAG, tags_sent)] {
                for (k, v) in values {
                    put.execute(params![target, run_id, kind, k, value_digest(v) as i64])?;
                }
            }
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO export_series (target_id, run_uuid, key, exported)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (key, exported) in series {
                put.execute(params![target, run_id, key, *exported as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records the status and end time sent for a run by runs/update.
    pub fn journal_run_end(
        &mut self,
        url: &str,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<()> {
        let tx = self.write()?;
        let target = journaled_target(&tx, url, run_id)?;
        tx.prepare_cached(
            "UPDATE export_runs SET status = ?3, end_time = ?4
             WHERE target_id = ?1 AND run_uuid = ?2",
        )?
        .execute(params![target, run_id, status.as_str(), end_time])?;
        tx.commit()?;
        Ok(())
    }
}

impl Index {
    /// The artifact files of run `run_id` uploaded to `url`: path →
    /// (size, SHA-256 in lower-case hex).
    pub fn journaled_artifacts(
        &self,
        url: &str,
        run_id: &str,
    ) -> Result<HashMap<String, (u64, String)>> {
        let Some(target) = target_id(&self.conn, url, false)? else {
            return Ok(HashMap::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, size, sha256 FROM export_artifacts
             WHERE target_id = ?1 AND run_uuid = ?2",
        )?;
        let rows = stmt.query_map(params![target, run_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (r.get::<_, i64>(1)? as u64, r.get::<_, String>(2)?),
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
    }

    /// Records that the artifact file `path` of run `run_id`, of `size`
    /// bytes and SHA-256 `sha256`, was uploaded to `url` whole.
    pub fn journal_artifact(
        &mut self,
        url: &str,
        run_id: &str,
        path: &str,
        size: u64,
        sha256: &str,
    ) -> Result<()> {
        let tx = self.write()?;
        let target = journaled_target(&tx, url, run_id)?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO export_artifacts (target_id, run_uuid, path, size, sha256)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![target, run_id, path, size as i64, sha256])?;
        tx.commit()?;
        Ok(())
    }
}

/// The target id of `url`, which must have run `run_id` journaled (by
/// [`Index::journal_run`]) before anything sent for it is recorded.
fn journaled_target(conn: &Connection, url: &str, run_id: &str) -> Result<i64> {
    let not_journaled = || Error::NotFound {
        kind: crate::error::EntityKind::Run,
        id: format!("{run_id} in the export journal of {url}"),
    };
    let target = target_id(conn, url, false)?.ok_or_else(not_journaled)?;
    let known: bool = conn
        .prepare_cached(
            "SELECT count(*) > 0 FROM export_runs WHERE target_id = ?1 AND run_uuid = ?2",
        )?
        .query_row(params![target, run_id], |r| r.get(0))?;
    if known {
        Ok(target)
    } else {
        Err(not_journaled())
    }
}

impl Index {
    /// Every object of `kind` journaled for `url`: local key → value.
    pub fn journaled_objects(&self, url: &str, kind: &str) -> Result<HashMap<String, String>> {
        let Some(target) = target_id(&self.conn, url, false)? else {
            return Ok(HashMap::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT local_key, value FROM export_objects WHERE target_id = ?1 AND kind = ?2",
        )?;
        let rows = stmt.query_map(params![target, kind], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
    }

    /// Records (or replaces) object `local_key` of `kind` for `url`.
    pub fn journal_object(
        &mut self,
        url: &str,
        kind: &str,
        local_key: &str,
        value: &str,
    ) -> Result<()> {
        let tx = self.write()?;
        let target = target_id(&tx, url, true)?.expect("made above");
        tx.prepare_cached(
            "INSERT OR REPLACE INTO export_objects (target_id, kind, local_key, value)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![target, kind, local_key, value])?;
        tx.commit()?;
        Ok(())
    }
}
