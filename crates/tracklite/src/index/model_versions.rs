//! Model versions in the index: their rows, tags and stages, how a version
//! is numbered, and how a page of versions is read whole. Every change is
//! one write transaction (IMMEDIATE), so that processes registering
//! versions of one model at once each get the next number, with no gap and
//! no retry.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::load::{json_ids, page_ids};
use super::registered_models::model_key;
use super::stored::Stored;
use super::Index;
use crate::artifacts::uri;
use crate::entities::{BackingRun, ModelVersion, ModelVersionStage, NewModelVersion};
use crate::error::{EntityKind, Error, Result};
use crate::search::sql::{self, RegistryQuery, VERSION_COLUMNS};

/// A version as read, with the key of its model.
pub(super) struct VersionRow {
    pub model_key: i64,
    pub version: ModelVersion,
}

/// Reads a row of [`VERSION_COLUMNS`].
fn read_version(r: &Row<'_>) -> rusqlite::Result<VersionRow> {
    let stage: Stored<ModelVersionStage> = r.get(7)?;
    Ok(VersionRow {
        model_key: r.get(0)?,
        version: ModelVersion {
            name: r.get(1)?,
            version: r.get(2)?,
            creation_timestamp: r.get(3)?,
            last_updated_timestamp: r.get(4)?,
            description: r.get(5)?,
            user_id: r.get(6)?,
            current_stage: stage.0,
            source: r.get(8)?,
            storage_location: r.get(9)?,
            run_id: r.get(10)?,
            run_link: r.get(11)?,
            model_id: r.get(12)?,
            status: r.get(13)?,
            status_message: r.get(14)?,
            tags: BTreeMap::new(),
            aliases: Vec::new(),
        },
    })
}

/// Up to this many versions, tags are read version by version (one seek
/// each); beyond it, every tag of their models is read in one pass.
const FEW_VERSIONS: usize = 1000;

/// Runs a query of [`VERSION_COLUMNS`] and fills in the versions' tags and
/// aliases.
pub(super) fn load_versions(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<VersionRow>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt
        .query_map(params, read_version)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_tags_and_aliases(conn, &mut rows)?;
    Ok(rows)
}

/// Fills in the tags and aliases of `rows`, with one query per table over
/// the models the rows belong to.
pub(super) fn attach_tags_and_aliases(conn: &Connection, rows: &mut [VersionRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let place: HashMap<(i64, i64), usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.model_key, r.version.version), i))
        .collect();
    let mut keys: Vec<i64> = rows.iter().map(|r| r.model_key).collect();
    keys.sort_unstable();
    keys.dedup();
    let keys = json_ids(&keys);
    // A few versions: their own tags, by key. Many: every tag of their
    // models, in one pass over each model's rows (a page of that many
    // versions is most of its models' versions).
    let (sql, selection) = if rows.len() <= FEW_VERSIONS {
        let pairs: Vec<[i64; 2]> = rows
            .iter()
            .map(|r| [r.model_key, r.version.version])
            .collect();
        (
            "SELECT t.model_key, t.version, t.key, t.value FROM json_each(?1) p
             JOIN model_version_tags t ON t.model_key = p.value ->> 0 AND t.version = p.value ->> 1",
            json_ids(&pairs),
        )
    } else {
        (
            "SELECT model_key, version, key, value FROM model_version_tags
             WHERE model_key IN (SELECT value FROM json_each(?1))",
            keys.clone(),
        )
    };
    let mut tags = conn.prepare_cached(sql)?;
    let mut found = tags.query([&selection])?;
    while let Some(r) = found.next()? {
        if let Some(&i) = place.get(&(r.get(0)?, r.get(1)?)) {
            rows[i].version.tags.insert(r.get(2)?, r.get(3)?);
        }
    }
    let mut aliases = conn.prepare_cached(
        "SELECT model_key, version, alias FROM registered_model_aliases
         WHERE model_key IN (SELECT value FROM json_each(?1)) ORDER BY alias",
    )?;
    let mut found = aliases.query([&keys])?;
    while let Some(r) = found.next()? {
        if let Some(&i) = place.get(&(r.get(0)?, r.get(1)?)) {
            rows[i].version.aliases.push(r.get(2)?);
        }
    }
    Ok(())
}

/// The version, or NotFound (naming the model and the number).
pub(super) fn version_in(conn: &Connection, name: &str, version: i64) -> Result<ModelVersion> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM model_versions v
         JOIN registered_models m ON m.model_key = v.model_key
         WHERE m.name = ?1 AND v.version = ?2"
    );
    load_versions(conn, &sql, params![name, version])?
        .pop()
        .map(|r| r.version)
        .ok_or_else(|| not_found(name, version))
}

fn not_found(name: &str, version: i64) -> Error {
    Error::not_found(
        EntityKind::ModelVersion,
        format!("{name} version {version}"),
    )
}

/// The key of the model and checks that the version exists.
fn existing_version(conn: &Connection, name: &str, version: i64) -> Result<i64> {
    let key = model_key(conn, name)?;
    let found: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM model_versions WHERE model_key = ?1 AND version = ?2")?
        .query_row(params![key, version], |r| r.get(0))
        .optional()?;
    found.map(|_| key).ok_or_else(|| not_found(name, version))
}

/// Writes a version's tags (a key given twice: the last value).
pub(super) fn put_version_tags(
    conn: &Connection,
    key: i64,
    version: i64,
    tags: &[(String, String)],
) -> Result<()> {
    let mut put = conn.prepare_cached(
        "INSERT OR REPLACE INTO model_version_tags (model_key, version, key, value)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (k, v) in tags {
        put.execute(params![key, version, k, v])?;
    }
    Ok(())
}

/// Writes a version's row: the one INSERT of `model_versions`, for versions
/// created here and versions imported.
pub(super) fn insert_version(conn: &Connection, key: i64, v: &ModelVersion) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO model_versions (model_key, version, creation_time, last_updated_time,
             description, user_id, current_stage, source, storage_location, run_id, run_link,
             model_id, status, status_message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        key,
        v.version,
        v.creation_timestamp,
        v.last_updated_timestamp,
        v.description,
        v.user_id,
        v.current_stage.as_str(),
        v.source,
        v.storage_location,
        v.run_id,
        v.run_link,
        v.model_id,
        v.status,
        v.status_message
    ])?;
    put_version_tags(
        conn,
        key,
        v.version,
        &v.tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>(),
    )
}

/// Sets the model's update time.
pub(super) fn touch_model(conn: &Connection, key: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE registered_models SET last_updated_time = ?2 WHERE model_key = ?1",
    )?
    .execute(params![key, now])?;
    Ok(())
}

/// One page of a version search.
pub struct VersionPage {
    pub versions: Vec<ModelVersion>,
    /// The bound that later pages keep to.
    pub snapshot: i64,
    /// True when more versions follow this page.
    pub more: bool,
}

impl Index {
    /// Creates the next version of a registered model and returns its
    /// number: one more than the greatest the model ever gave, taken and
    /// written in one write transaction.
    pub fn create_model_version(&mut self, new: &NewModelVersion, now: i64) -> Result<i64> {
        let tx = self.write()?;
        let key = model_key(&tx, &new.name)?;
        let version: i64 = tx
            .prepare_cached(
                "UPDATE registered_models SET last_version = last_version + 1,
                     last_updated_time = ?2
                 WHERE model_key = ?1 RETURNING last_version",
            )?
            .query_row(params![key, now], |r| r.get(0))?;
        insert_version(
            &tx,
            key,
            &ModelVersion {
                name: new.name.clone(),
                version,
                creation_timestamp: now,
                last_updated_timestamp: now,
                description: new.description.clone(),
                user_id: new.user_id.clone(),
                current_stage: ModelVersionStage::None,
                source: new.source.clone(),
                storage_location: new.storage_location.clone(),
                run_id: new.run_id.clone(),
                run_link: new.run_link.clone(),
                model_id: new.model_id.clone(),
                status: "READY".into(),
                status_message: None,
                tags: new.tags.iter().cloned().collect(),
                aliases: Vec::new(),
            },
        )?;
        tx.commit()?;
        Ok(version)
    }

    /// The version with its tags and aliases.
    pub fn model_version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        let tx = self.conn.unchecked_transaction()?;
        let found = version_in(&tx, name, version)?;
        tx.commit()?;
        Ok(found)
    }

    /// Sets (or, with None, clears) a version's description.
    pub fn update_model_version(
        &mut self,
        name: &str,
        version: i64,
        description: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let tx = self.write()?;
        let key = existing_version(&tx, name, version)?;
        tx.execute(
            "UPDATE model_versions SET description = ?3, last_updated_time = ?4
             WHERE model_key = ?1 AND version = ?2",
            params![key, version, description, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Moves a version to `stage`; with `archive_existing`, the model's other
    /// versions in that stage move to Archived, in the same transaction.
    pub fn transition_model_version_stage(
        &mut self,
        name: &str,
        version: i64,
        stage: ModelVersionStage,
        archive_existing: bool,
        now: i64,
    ) -> Result<()> {
        let tx = self.write()?;
        let key = existing_version(&tx, name, version)?;
        if archive_existing {
            tx.execute(
                "UPDATE model_versions SET current_stage = 'Archived', last_updated_time = ?4
                 WHERE model_key = ?1 AND version != ?2 AND current_stage = ?3",
                params![key, version, stage.as_str(), now],
            )?;
        }
        tx.execute(
            "UPDATE model_versions SET current_stage = ?3, last_updated_time = ?4
             WHERE model_key = ?1 AND version = ?2",
            params![key, version, stage.as_str(), now],
        )?;
        touch_model(&tx, key, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a version with its tags and the aliases that name it. Its
    /// number is not given again.
    pub fn delete_model_version(&mut self, name: &str, version: i64, now: i64) -> Result<()> {
        let tx = self.write()?;
        let key = existing_version(&tx, name, version)?;
        for table in [
            "model_versions",
            "model_version_tags",
            "registered_model_aliases",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE model_key = ?1 AND version = ?2"),
                params![key, version],
            )?;
        }
        touch_model(&tx, key, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Sets a version's tag.
    pub fn set_model_version_tag(
        &mut self,
        name: &str,
        version: i64,
        tag: (&str, &str),
    ) -> Result<()> {
        let tx = self.write()?;
        let key = existing_version(&tx, name, version)?;
        put_version_tags(&tx, key, version, &[(tag.0.into(), tag.1.into())])?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a version's tag; a tag that is not set is no error, as in
    /// MLflow.
    pub fn delete_model_version_tag(&mut self, name: &str, version: i64, tag: &str) -> Result<()> {
        let tx = self.write()?;
        let key = existing_version(&tx, name, version)?;
        tx.execute(
            "DELETE FROM model_version_tags WHERE model_key = ?1 AND version = ?2 AND key = ?3",
            params![key, version, tag],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The version an alias names; None when the model has no such alias.
    pub fn model_version_by_alias(&self, name: &str, alias: &str) -> Result<Option<ModelVersion>> {
        let tx = self.conn.unchecked_transaction()?;
        let key = model_key(&tx, name)?;
        let version: Option<i64> = tx
            .prepare_cached(
                "SELECT version FROM registered_model_aliases WHERE model_key = ?1 AND alias = ?2",
            )?
            .query_row(params![key, alias], |r| r.get(0))
            .optional()?;
        let found = match version {
            Some(v) => Some(version_in(&tx, name, v)?),
            None => None,
        };
        tx.commit()?;
        Ok(found)
    }

    /// The newest version in each of `stages` (every stage when empty) that
    /// has one, by ascending version.
    pub fn latest_model_versions(
        &self,
        name: &str,
        stages: &[ModelVersionStage],
    ) -> Result<Vec<ModelVersion>> {
        let tx = self.conn.unchecked_transaction()?;
        let key = model_key(&tx, name)?;
        let versions = latest_in(&tx, &[key])?
            .into_iter()
            .map(|r| r.version)
            .filter(|v| stages.is_empty() || stages.contains(&v.current_stage))
            .collect();
        tx.commit()?;
        Ok(versions)
    }

    /// One page of a version search.
    pub fn search_model_versions(&self, q: &mut RegistryQuery<'_>) -> Result<VersionPage> {
        let tx = self.conn.unchecked_transaction()?;
        if q.snapshot == i64::MAX {
            q.snapshot = tx.query_row(
                "SELECT ifnull(max(rowid), 0) FROM model_versions",
                [],
                |r| r.get(0),
            )?;
        }
        let query = sql::model_versions(q);
        let (rowids, more) = page_ids::<i64>(&tx, &query, q.limit)?;
        // The rows, put in the order of the rowids by json_each's key (the
        // position in the array): sorting them in SQL would copy every
        // whole row through a temporary B-tree.
        let sql = format!(
            "SELECT {VERSION_COLUMNS}, p.key FROM json_each(?1) p
             JOIN model_versions v ON v.rowid = p.value
             JOIN registered_models m ON m.model_key = v.model_key"
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        let mut placed = stmt
            .query_map([json_ids(&rowids)], |r| {
                Ok((r.get::<_, i64>(15)?, read_version(r)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        drop(stmt);
        // Already in order in practice (json_each is scanned first); a
        // stable sort of sorted input is one pass.
        placed.sort_by_key(|(position, _)| *position);
        let mut rows: Vec<VersionRow> = placed.into_iter().map(|(_, row)| row).collect();
        attach_tags_and_aliases(&tx, &mut rows)?;
        tx.commit()?;
        Ok(VersionPage {
            versions: rows.into_iter().map(|r| r.version).collect(),
            snapshot: q.snapshot,
            more,
        })
    }

    /// The versions (model name, number) that the run backs: see
    /// [`versions_backed_by`].
    pub fn versions_backed_by_run(
        &self,
        run_id: &str,
        artifact_uri: &str,
        store_root: &Path,
    ) -> Result<Vec<(String, i64)>> {
        let runs = [(run_id.to_string(), artifact_uri.to_string())];
        Ok(versions_backed_by(&self.conn, &runs, store_root)?
            .pop()
            .map(|backing| backing.versions)
            .unwrap_or_default())
    }
}

/// The runs of `runs` (id, artifact URI) that model versions use, each
/// with those versions (model name, number), in the order of `runs`. A
/// version uses a run when it was made from it (its run id, or a
/// `runs:/<id>` source) or when its source or storage location lies in the
/// run's artifact folder, however spelled: the URI as the run has it, or
/// the same folder as a path or a `file:` URI (as MLflow's clients give
/// it). Every version is read once, whatever the number of runs.
pub(super) fn versions_backed_by(
    conn: &Connection,
    runs: &[(String, String)],
    store_root: &Path,
) -> Result<Vec<BackingRun>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.name, v.version, v.run_id, v.source, v.storage_location
         FROM model_versions v JOIN registered_models m ON m.model_key = v.model_key
         ORDER BY m.name, v.version",
    )?;
    let versions = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = Vec::new();
    for (run_id, artifact_uri) in runs {
        let folder = uri::local_dir(artifact_uri, store_root, run_id).ok();
        let runs_uri = format!("runs:/{run_id}");
        let backed: Vec<(String, i64)> = versions
            .iter()
            .filter(|(_, _, run, source, storage)| {
                run.as_deref() == Some(run_id.as_str())
                    || under(source, &runs_uri)
                    || [Some(source), storage.as_ref()]
                        .into_iter()
                        .flatten()
                        .any(|l| {
                            under(l, artifact_uri)
                                || folder.as_deref().is_some_and(|f| {
                                    local_path(l, store_root).is_some_and(|p| p.starts_with(f))
                                })
                        })
            })
            .map(|(name, version, ..)| (name.clone(), *version))
            .collect();
        if !backed.is_empty() {
            out.push(BackingRun {
                run_id: run_id.clone(),
                versions: backed,
            });
        }
    }
    Ok(out)
}

/// True when `location` is `prefix` or lies under it ('/' between them).
fn under(location: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    location
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The local path a location names, when it is a path or a `file:` URI.
fn local_path(location: &str, store_root: &Path) -> Option<PathBuf> {
    if location.is_empty() {
        return None;
    }
    uri::local_dir(location, store_root, "").ok()
}

/// The newest version of each stage of each model of `keys`: for each
/// model and stage, one seek in `model_versions_by_stage` for the greatest
/// version, rather than a pass over every version.
pub(super) fn latest_in(conn: &Connection, keys: &[i64]) -> Result<Vec<VersionRow>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM
           (SELECT k.value AS key,
                   (SELECT max(w.version) FROM model_versions w
                    WHERE w.model_key = k.value AND w.current_stage = s.stage) AS top
            FROM json_each(?1) k,
                 (SELECT 'None' AS stage UNION ALL SELECT 'Staging'
                  UNION ALL SELECT 'Production' UNION ALL SELECT 'Archived') s) l
         JOIN model_versions v ON v.model_key = l.key AND v.version = l.top
         JOIN registered_models m ON m.model_key = v.model_key
         ORDER BY v.model_key, v.version"
    );
    load_versions(conn, &sql, [json_ids(keys)])
}
