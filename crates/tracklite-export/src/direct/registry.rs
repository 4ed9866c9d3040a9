//! The model registry, in the default workspace: registered models
//! (description, tags), versions under their local numbers (so a version
//! number means the same thing locally and on the server), their tags,
//! stages and aliases. A version whose run is not in the database waits
//! for a later export. Each registered model is one transaction.

use std::collections::HashMap;

use tracklite::{ModelVersion, RegisteredModel};

use super::experiments::WORKSPACE;
use super::{Context, DirectSummary};
use crate::error::{ExportError, Result};
use crate::local_models::{all_registered_models, versions_of};

/// `path` relative to `root` when it is under it (paths or `file://`).
fn under(path: &str, root: &str) -> Option<String> {
    let strip = |s: &str| {
        s.strip_prefix("file://")
            .unwrap_or(s)
            .trim_end_matches('/')
            .to_string()
    };
    let (path, root) = (strip(path), strip(root));
    if root.is_empty() {
        return None;
    }
    if path == root {
        return Some(String::new());
    }
    path.strip_prefix(&format!("{root}/")).map(str::to_string)
}

/// `location` of a local run or model moved to its remote `root`.
fn moved(location: &str, local_root: &str, remote_root: &str) -> Option<String> {
    under(location, local_root).map(|rel| {
        if rel.is_empty() {
            remote_root.to_string()
        } else {
            format!("{remote_root}/{rel}")
        }
    })
}

/// Where a version's files are on the server: `runs:/` and `models:/`
/// URIs as they are (the ids are kept); a path under its run's (or
/// model's) local artifact folder, under the remote one.
fn remote_location(
    ctx: &Context<'_>,
    location: &str,
    v: &ModelVersion,
    run_uri: Option<&str>,
    models: &HashMap<String, String>,
) -> String {
    if location.starts_with("runs:/") || location.starts_with("models:/") {
        return location.to_string();
    }
    if let (Some(run_id), Some(remote)) = (&v.run_id, run_uri) {
        if let Some(m) = ctx
            .store
            .get_run_info(run_id)
            .ok()
            .and_then(|r| moved(location, &r.artifact_uri, remote))
        {
            return m;
        }
    }
    if let Some(model_id) = &v.model_id {
        if let (Some(remote), Ok(local)) = (
            models.get(model_id),
            ctx.store.get_logged_model(model_id, true),
        ) {
            if let Some(m) = moved(location, &local.artifact_location, remote) {
                return m;
            }
        }
    }
    location.to_string()
}

/// Writes every registered model of the store.
pub(crate) fn export_registry(
    ctx: &mut Context<'_>,
    models: &HashMap<String, String>,
    summary: &mut DirectSummary,
) -> Result<()> {
    for rm in all_registered_models(ctx.store)? {
        let versions = versions_of(ctx.store, &rm.name)?;
        if let Err(e) = export_one(ctx, &rm, &versions, models, summary) {
            summary
                .export
                .objects
                .failures
                .push(format!("registered model {:?}: {e}", rm.name));
        }
    }
    Ok(())
}

fn export_one(
    ctx: &mut Context<'_>,
    rm: &RegisteredModel,
    versions: &[ModelVersion],
    models: &HashMap<String, String>,
    summary: &mut DirectSummary,
) -> Result<()> {
    let name = rm.name.as_str();
    // Each version's run's artifact URI on the server (None: not there).
    let mut run_uris: HashMap<String, Option<String>> = HashMap::new();
    for run in versions.iter().filter_map(|v| v.run_id.as_deref()) {
        if !run_uris.contains_key(run) {
            let row = ctx
                .client
                .query_opt("SELECT artifact_uri FROM runs WHERE run_uuid = $1", &[&run])
                .map_err(|e| {
                    ctx.error(format!("registered model {name:?}: reading run {run}"), &e)
                })?;
            run_uris.insert(run.to_string(), row.map(|r| r.get(0)));
        }
    }
    let locations: Vec<Option<(String, Option<String>)>> = versions
        .iter()
        .map(|v| {
            let run_uri = match &v.run_id {
                Some(r) => Some(run_uris[r].clone()?),
                None => None,
            };
            let source = remote_location(ctx, &v.source, v, run_uri.as_deref(), models);
            let storage = v
                .storage_location
                .as_deref()
                .map(|s| remote_location(ctx, s, v, run_uri.as_deref(), models));
            Some((source, storage))
        })
        .collect();

    let target = &ctx.target;
    let err = |what: &str, e: &dyn std::error::Error| {
        target.error(format!("registered model {name:?}: {what}"), e)
    };
    let mut tx = ctx
        .client
        .transaction()
        .map_err(|e| err("starting a transaction", &e))?;
    let created: bool = tx
        .query_one(
            "INSERT INTO registered_models (name, creation_time, last_updated_time, description, \
             workspace) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (workspace, name) DO UPDATE SET \
                 description = COALESCE(EXCLUDED.description, registered_models.description) \
             RETURNING (xmax = 0)",
            &[
                &name,
                &rm.creation_timestamp,
                &rm.last_updated_timestamp,
                &rm.description,
                &WORKSPACE,
            ],
        )
        .map_err(|e| err("writing it", &e))?
        .get(0);
    let o = &mut summary.export.objects;
    o.registered_models_created += u64::from(created);
    let (keys, values): (Vec<&str>, Vec<&str>) = rm
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .unzip();
    o.registry_updates += tx
        .execute(
            "INSERT INTO registered_model_tags (key, value, name, workspace) \
             SELECT k, v, $3, $4 FROM UNNEST($1::text[], $2::text[]) AS t(k, v) \
             ON CONFLICT (workspace, key, name) DO UPDATE SET value = EXCLUDED.value \
             WHERE registered_model_tags.value IS DISTINCT FROM EXCLUDED.value",
            &[&keys, &values, &name, &WORKSPACE],
        )
        .map_err(|e| err("writing its tags", &e))?;

    let mut present: Vec<i64> = Vec::new();
    for (v, location) in versions.iter().zip(locations) {
        let label = format!("{name} version {}", v.version);
        let Some((source, storage)) = location else {
            o.versions_waiting.push(format!(
                "{label}: its run {} is not on the server",
                v.run_id.as_deref().unwrap_or("")
            ));
            continue;
        };
        let version = i32::try_from(v.version).map_err(|_| ExportError::Selection {
            reason: format!("{label}: the number does not fit MLflow's integer column"),
        })?;
        let storage =
            storage.unwrap_or_else(|| match (&v.model_id, source.starts_with("models:/")) {
                (Some(m), true) => models.get(m).cloned().unwrap_or_else(|| source.clone()),
                _ => source.clone(),
            });
        let made = tx
            .execute(
                "INSERT INTO model_versions (name, version, creation_time, last_updated_time, \
                 description, user_id, current_stage, source, run_id, status, status_message, \
                 run_link, storage_location, workspace) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (workspace, name, version) DO NOTHING",
                &[
                    &name,
                    &version,
                    &v.creation_timestamp,
                    &v.last_updated_timestamp,
                    &v.description,
                    &v.user_id,
                    &v.current_stage.as_str(),
                    &source,
                    &v.run_id,
                    &v.status,
                    &v.status_message,
                    &v.run_link,
                    &storage,
                    &WORKSPACE,
                ],
            )
            .map_err(|e| err(&format!("writing version {}", v.version), &e))?;
        if made == 1 {
            o.versions_created += 1;
            if let Some(model_id) = v.model_id.as_deref().filter(|m| models.contains_key(*m)) {
                note_version_on_model(&mut tx, model_id, name, v.version, &err)?;
            }
        } else {
            let row = tx
                .query_one(
                    "SELECT source, run_id FROM model_versions \
                     WHERE workspace = $1 AND name = $2 AND version = $3",
                    &[&WORKSPACE, &name, &version],
                )
                .map_err(|e| err(&format!("reading version {}", v.version), &e))?;
            let (remote_source, remote_run): (Option<String>, Option<String>) =
                (row.get(0), row.get(1));
            if remote_source.as_deref() != Some(source.as_str()) || remote_run != v.run_id {
                o.failures.push(format!(
                    "{label}: the server has another version {} (source {:?}, run {:?}); it \
                     was left as it is",
                    v.version,
                    remote_source.unwrap_or_default(),
                    remote_run.unwrap_or_default()
                ));
                continue;
            }
            o.registry_updates += tx
                .execute(
                    "UPDATE model_versions SET current_stage = $4, \
                         description = COALESCE($5, description), last_updated_time = $6 \
                     WHERE workspace = $1 AND name = $2 AND version = $3 \
                       AND (current_stage IS DISTINCT FROM $4 \
                            OR description IS DISTINCT FROM COALESCE($5, description))",
                    &[
                        &WORKSPACE,
                        &name,
                        &version,
                        &v.current_stage.as_str(),
                        &v.description,
                        &v.last_updated_timestamp,
                    ],
                )
                .map_err(|e| err(&format!("updating version {}", v.version), &e))?;
        }
        let (keys, values): (Vec<&str>, Vec<&str>) =
            v.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).unzip();
        o.registry_updates += tx
            .execute(
                "INSERT INTO model_version_tags (key, value, name, version, workspace) \
                 SELECT k, v, $3, $4, $5 FROM UNNEST($1::text[], $2::text[]) AS t(k, v) \
                 ON CONFLICT (workspace, key, name, version) DO UPDATE SET value = EXCLUDED.value \
                 WHERE model_version_tags.value IS DISTINCT FROM EXCLUDED.value",
                &[&keys, &values, &name, &version, &WORKSPACE],
            )
            .map_err(|e| err(&format!("writing the tags of version {}", v.version), &e))?;
        present.push(v.version);
    }
    for (alias, version) in &rm.aliases {
        if !present.contains(version) {
            continue;
        }
        let version = *version as i32;
        o.registry_updates += tx
            .execute(
                "INSERT INTO registered_model_aliases (alias, version, name, workspace) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace, name, alias) DO UPDATE SET version = EXCLUDED.version \
                 WHERE registered_model_aliases.version <> EXCLUDED.version",
                &[alias, &version, &name, &WORKSPACE],
            )
            .map_err(|e| err(&format!("writing alias {alias:?}"), &e))?;
    }
    tx.commit().map_err(|e| err("committing", &e))?;
    Ok(())
}

/// The tag MLflow puts on a logged model registered as versions: a JSON
/// list of `{"name": ..., "version": ...}`.
const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

/// `entries` as Python's `json.dumps` writes such a list (MLflow writes
/// the tag with it).
fn versions_json(entries: &[(String, String)]) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("a string serialises");
    let items: Vec<String> = entries
        .iter()
        .map(|(n, v)| format!("{{\"name\": {}, \"version\": {}}}", quote(n), quote(v)))
        .collect();
    format!("[{}]", items.join(", "))
}

/// Adds version `version` of `name` to the `mlflow.modelVersions` tag of
/// logged model `model_id`, as MLflow does when it registers one.
fn note_version_on_model(
    tx: &mut postgres::Transaction<'_>,
    model_id: &str,
    name: &str,
    version: i64,
    err: &dyn Fn(&str, &dyn std::error::Error) -> ExportError,
) -> Result<()> {
    let held: Option<String> = tx
        .query_opt(
            "SELECT tag_value FROM logged_model_tags WHERE model_id = $1 AND tag_key = $2",
            &[&model_id, &MODEL_VERSIONS_TAG],
        )
        .map_err(|e| err("reading the versions of its logged model", &e))?
        .map(|r| r.get(0));
    let mut entries: Vec<(String, String)> = held
        .and_then(|h| serde_json::from_str::<Vec<serde_json::Value>>(&h).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            let version = match &e["version"] {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            Some((e["name"].as_str()?.to_string(), version))
        })
        .collect();
    let entry = (name.to_string(), version.to_string());
    if entries.contains(&entry) {
        return Ok(());
    }
    entries.push(entry);
    tx.execute(
        "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) \
         SELECT model_id, experiment_id, $2, $3 FROM logged_models WHERE model_id = $1 \
         ON CONFLICT (model_id, tag_key) DO UPDATE SET tag_value = EXCLUDED.tag_value",
        &[&model_id, &MODEL_VERSIONS_TAG, &versions_json(&entries)],
    )
    .map_err(|e| err("tagging its logged model", &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_move_under_the_remote_root() {
        let local = "file:///s/artifacts/1/abc/artifacts";
        let remote = "s3://b/p/3/abc/artifacts";
        assert_eq!(
            moved("/s/artifacts/1/abc/artifacts/model", local, remote).as_deref(),
            Some("s3://b/p/3/abc/artifacts/model")
        );
        assert_eq!(moved(local, local, remote).as_deref(), Some(remote));
        assert_eq!(moved("/s/artifacts/1/abcd/artifacts", local, remote), None);
    }

    #[test]
    fn the_model_versions_tag_is_written_as_python_writes_it() {
        let entries = [
            ("iris".to_string(), "1".to_string()),
            ("a\"b".into(), "2".into()),
        ];
        assert_eq!(
            versions_json(&entries),
            r#"[{"name": "iris", "version": "1"}, {"name": "a\"b", "version": "2"}]"#
        );
    }
}
