//! Registered models in the index: their rows, tags and aliases, renaming
//! and deletion (which take the versions along), how a page of models is
//! read whole, and the one writer of a whole imported model.

use std::collections::HashMap;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::load::json_ids;
use super::model_versions::{insert_version, latest_in, VersionRow};
use super::Index;
use crate::entities::{RegisteredModel, RegisteredModelRecord};
use crate::error::{EntityKind, Error, Result};
use crate::search::sql::{self, RegistryQuery};

/// The key of the registered model called `name`, or NotFound.
pub(super) fn model_key(conn: &Connection, name: &str) -> Result<i64> {
    conn.prepare_cached("SELECT model_key FROM registered_models WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found(EntityKind::RegisteredModel, name))
}

fn put_model_tags(conn: &Connection, key: i64, tags: &[(String, String)]) -> Result<()> {
    let mut put = conn.prepare_cached(
        "INSERT OR REPLACE INTO registered_model_tags (model_key, key, value) VALUES (?1, ?2, ?3)",
    )?;
    for (k, v) in tags {
        put.execute(params![key, k, v])?;
    }
    Ok(())
}

/// Writes a model's row: the one INSERT of `registered_models`. A name
/// already taken is AlreadyExists.
fn insert_model(
    conn: &Connection,
    name: &str,
    description: Option<&str>,
    times: (i64, i64),
    last_version: i64,
) -> Result<i64> {
    let taken: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM registered_models WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    if taken.is_some() {
        return Err(Error::AlreadyExists {
            kind: EntityKind::RegisteredModel,
            name: name.to_string(),
        });
    }
    conn.prepare_cached(
        "INSERT INTO registered_models (name, description, creation_time, last_updated_time,
             last_version)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![name, description, times.0, times.1, last_version])?;
    Ok(conn.last_insert_rowid())
}

/// Loads whole models, in the order of `keys`: tags, aliases and the
/// newest version of each stage.
fn load_models(conn: &Connection, keys: &[i64]) -> Result<Vec<RegisteredModel>> {
    let json = json_ids(keys);
    let mut models: Vec<Option<RegisteredModel>> = keys.iter().map(|_| None).collect();
    let place: HashMap<i64, usize> = keys.iter().enumerate().map(|(i, &k)| (k, i)).collect();
    let mut stmt = conn.prepare_cached(
        "SELECT model_key, name, creation_time, last_updated_time, description
         FROM registered_models WHERE model_key IN (SELECT value FROM json_each(?1))",
    )?;
    let mut rows = stmt.query([&json])?;
    while let Some(r) = rows.next()? {
        let key: i64 = r.get(0)?;
        if let Some(&i) = place.get(&key) {
            models[i] = Some(RegisteredModel {
                name: r.get(1)?,
                creation_timestamp: r.get(2)?,
                last_updated_timestamp: r.get(3)?,
                description: r.get(4)?,
                latest_versions: Vec::new(),
                tags: Default::default(),
                aliases: Default::default(),
            });
        }
    }
    let mut each = |sql: &str,
                    f: &mut dyn FnMut(&mut RegisteredModel, &rusqlite::Row<'_>) -> Result<()>|
     -> Result<()> {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query([&json])?;
        while let Some(r) = rows.next()? {
            let key: i64 = r.get(0)?;
            if let Some(m) = place.get(&key).and_then(|&i| models[i].as_mut()) {
                f(m, r)?;
            }
        }
        Ok(())
    };
    each(
        "SELECT model_key, key, value FROM registered_model_tags
         WHERE model_key IN (SELECT value FROM json_each(?1))",
        &mut |m, r| {
            m.tags.insert(r.get(1)?, r.get(2)?);
            Ok(())
        },
    )?;
    each(
        "SELECT model_key, alias, version FROM registered_model_aliases
         WHERE model_key IN (SELECT value FROM json_each(?1))",
        &mut |m, r| {
            m.aliases.insert(r.get(1)?, r.get(2)?);
            Ok(())
        },
    )?;
    for VersionRow { model_key, version } in latest_in(conn, keys)? {
        if let Some(m) = place.get(&model_key).and_then(|&i| models[i].as_mut()) {
            m.latest_versions.push(version);
        }
    }
    Ok(models.into_iter().flatten().collect())
}

/// One page of a registered-model search.
pub struct RegisteredModelPage {
    pub models: Vec<RegisteredModel>,
    /// The bound that later pages keep to.
    pub snapshot: i64,
    /// True when more models follow this page.
    pub more: bool,
}

impl Index {
    /// Registers a model with no versions.
    pub fn create_registered_model(
        &mut self,
        name: &str,
        description: Option<&str>,
        tags: &[(String, String)],
        now: i64,
    ) -> Result<()> {
        let tx = self.write()?;
        let key = insert_model(&tx, name, description, (now, now), 0)?;
        put_model_tags(&tx, key, tags)?;
        tx.commit()?;
        Ok(())
    }

    /// The model with its tags, aliases and latest versions.
    pub fn registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let tx = self.conn.unchecked_transaction()?;
        let key = model_key(&tx, name)?;
        let found = load_models(&tx, &[key])?.pop();
        tx.commit()?;
        found.ok_or_else(|| Error::not_found(EntityKind::RegisteredModel, name))
    }

    /// Sets (or, with None, clears) a model's description.
    pub fn update_registered_model(
        &mut self,
        name: &str,
        description: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let tx = self.write()?;
        let key = model_key(&tx, name)?;
        tx.execute(
            "UPDATE registered_models SET description = ?2, last_updated_time = ?3
             WHERE model_key = ?1",
            params![key, description, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Renames a model; its versions, tags and aliases follow (they are
    /// kept by the model's key, not its name). The versions' update times
    /// are set, as in MLflow.
    pub fn rename_registered_model(&mut self, name: &str, new_name: &str, now: i64) -> Result<()> {
        let tx = self.write()?;
        let key = model_key(&tx, name)?;
        if name != new_name {
            let taken: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM registered_models WHERE name = ?1",
                    [new_name],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some() {
                return Err(Error::AlreadyExists {
                    kind: EntityKind::RegisteredModel,
                    name: new_name.to_string(),
                });
            }
        }
        tx.execute(
            "UPDATE registered_models SET name = ?2, last_updated_time = ?3 WHERE model_key = ?1",
            params![key, new_name, now],
        )?;
        tx.execute(
            "UPDATE model_versions SET last_updated_time = ?2 WHERE model_key = ?1",
            params![key, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a model with its versions, tags and aliases.
    pub fn delete_registered_model(&mut self, name: &str) -> Result<()> {
        let tx = self.write()?;
        let key = model_key(&tx, name)?;
        for table in [
            "registered_models",
            "registered_model_tags",
            "registered_model_aliases",
            "model_versions",
            "model_version_tags",
        ] {
            tx.execute(&format!("DELETE FROM {table} WHERE model_key = ?1"), [key])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Sets a model's tag.
    pub fn set_registered_model_tag(&mut self, name: &str, tag: (&str, &str)) -> Result<()> {
        let tx = self.write()?;
        let key = model_key(&tx, name)?;
        put_model_tags(&tx, key, &[(tag.0.into(), tag.1.into())])?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes a model's tag; a tag that is not set is no error, as in MLflow.
    pub fn delete_registered_model_tag(&mut self, name: &str, tag: &str) -> Result<()> {
        let tx = self.write()?;
        let key = model_key(&tx, name)?;
        tx.execute(
            "DELETE FROM registered_model_tags WHERE model_key = ?1 AND key = ?2",
            params![key, tag],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Points an alias at a version of the model (moving it, when it named
    /// another): one row, written in one transaction.
    pub fn set_registered_model_alias(
        &mut self,
        name: &str,
        alias: &str,
        version: i64,
    ) -> Result<()> {
        let tx = self.write()?;
        // The version must exist.
        super::model_versions::version_in(&tx, name, version)?;
        let key = model_key(&tx, name)?;
        tx.execute(
            "INSERT OR REPLACE INTO registered_model_aliases (model_key, alias, version)
             VALUES (?1, ?2, ?3)",
            params![key, alias, version],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Removes an alias; an alias that is not set is no error, as in MLflow.
    pub fn delete_registered_model_alias(&mut self, name: &str, alias: &str) -> Result<()> {
        let tx = self.write()?;
        let key = model_key(&tx, name)?;
        tx.execute(
            "DELETE FROM registered_model_aliases WHERE model_key = ?1 AND alias = ?2",
            params![key, alias],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// One page of a registered-model search.
    pub fn search_registered_models(
        &self,
        q: &mut RegistryQuery<'_>,
    ) -> Result<RegisteredModelPage> {
        let tx = self.conn.unchecked_transaction()?;
        if q.snapshot == i64::MAX {
            q.snapshot = tx.query_row(
                "SELECT ifnull(max(model_key), 0) FROM registered_models",
                [],
                |r| r.get(0),
            )?;
        }
        let query = sql::registered_models(q);
        let mut stmt = tx.prepare(&query.text)?;
        let mut keys = stmt
            .query_map(params_from_iter(query.params.iter()), |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        drop(stmt);
        let more = keys.len() > q.limit;
        keys.truncate(q.limit);
        let models = load_models(&tx, &keys)?;
        tx.commit()?;
        Ok(RegisteredModelPage {
            models,
            snapshot: q.snapshot,
            more,
        })
    }

    /// Writes a whole registered model from elsewhere (an import), with its
    /// versions, tags and aliases, in one transaction. A model of the same
    /// name that is already there is left as it is and `false` returned,
    /// which makes an import re-runnable.
    pub fn put_registered_model_record(&mut self, record: &RegisteredModelRecord) -> Result<bool> {
        let tx = self.write()?;
        if model_key(&tx, &record.name).is_ok() {
            return Ok(false);
        }
        let last_version = record
            .versions
            .iter()
            .map(|v| v.version)
            .fold(record.last_version, i64::max);
        let key = insert_model(
            &tx,
            &record.name,
            record.description.as_deref(),
            (record.creation_timestamp, record.last_updated_timestamp),
            last_version,
        )?;
        put_model_tags(&tx, key, &record.tags)?;
        for v in &record.versions {
            insert_version(&tx, key, v)?;
        }
        for (alias, version) in &record.aliases {
            if !record.versions.iter().any(|v| v.version == *version) {
                return Err(Error::Conflict {
                    kind: EntityKind::RegisteredModel,
                    id: record.name.clone(),
                    reason: format!(
                        "alias {alias:?} names version {version}, which it does not have"
                    ),
                });
            }
            tx.execute(
                "INSERT OR REPLACE INTO registered_model_aliases (model_key, alias, version)
                 VALUES (?1, ?2, ?3)",
                params![key, alias, version],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }
}
