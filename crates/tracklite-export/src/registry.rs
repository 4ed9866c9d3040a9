//! The model registry: registered models (description, tags), their
//! versions in local version order (source rewritten to the remote run's
//! `runs:/<id>/<path>` or the remote logged model's `models:/<id>`,
//! description, tags), then stages and aliases.
//!
//! The server numbers versions itself, so the journal maps each local
//! (name, version) to the remote number; each remote version also carries
//! the store's id and its local number as tags, so one made by an export
//! whose answer was lost is found again, never made twice. A version whose
//! run or logged model is not on the server, or whose source the server
//! cannot find yet (its artifacts are not uploaded), waits for a later
//! export; the rest of the export goes on.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use tracklite::{ModelVersion, ModelVersionStage, RegisteredModel};

use crate::api::STORE_ID_TAG;
use crate::error::{ExportError, Result};
use crate::local_models::{all_registered_models, versions_of};
use crate::objects::{digest, key_values, Objects, ObjectsSummary};

/// The tag naming the local version number of a remote version.
pub const MODEL_VERSION_TAG: &str = "tracklite.model_version";

/// Journal kind: name → digest of the description and tags sent.
const REGISTERED_MODEL: &str = "registered_model";
/// Journal kind: `<name>/<local version>` → remote version number.
const MODEL_VERSION: &str = "model_version";
/// Journal kind: `<name>/<local version>` → digest of the stage,
/// description and tags sent.
const MODEL_VERSION_STATE: &str = "model_version_state";
/// Journal kind: `<name>/<alias>` → remote version number.
const ALIAS: &str = "alias";

/// A dry run's counts: registered models and versions the journal does
/// not show as made.
pub(crate) fn dry_run(ctx: &Objects<'_>, summary: &mut ObjectsSummary) -> Result<()> {
    let sent = ctx.journal.objects(REGISTERED_MODEL)?;
    let versions_sent = ctx.journal.objects(MODEL_VERSION)?;
    for rm in all_registered_models(ctx.store)? {
        if !sent.contains_key(&rm.name) {
            summary.registered_models_created += 1;
        }
        for v in versions_of(ctx.store, &rm.name)? {
            if !versions_sent.contains_key(&format!("{}/{}", rm.name, v.version)) {
                summary.versions_created += 1;
            }
        }
    }
    Ok(())
}

/// Exports every registered model of the store.
pub(crate) fn export_registry(ctx: &Objects<'_>, summary: &mut ObjectsSummary) -> Result<()> {
    let models = all_registered_models(ctx.store)?;
    if models.is_empty() {
        return Ok(());
    }
    let sent = ctx.journal.objects(REGISTERED_MODEL)?;
    let versions_sent = ctx.journal.objects(MODEL_VERSION)?;
    let states_sent = ctx.journal.objects(MODEL_VERSION_STATE)?;
    let aliases_sent = ctx.journal.objects(ALIAS)?;
    for rm in &models {
        let result = (|| -> Result<()> {
            registered_model(ctx, rm, sent.get(&rm.name), summary)?;
            let mut remote_versions: BTreeMap<i64, String> = BTreeMap::new();
            // Versions are made in local order, so that the server numbers
            // them in the same order: after one that waits, the next wait.
            let mut waiting: Option<i64> = None;
            for v in versions_of(ctx.store, &rm.name)? {
                let key = format!("{}/{}", rm.name, v.version);
                let remote = match (versions_sent.get(&key), waiting) {
                    (Some(r), _) => Some((r.clone(), false)),
                    (None, Some(w)) => {
                        summary.versions_waiting.push(format!(
                            "{} version {}: made after version {w}, which waits",
                            rm.name, v.version
                        ));
                        None
                    }
                    (None, None) => create_version(ctx, &v, summary)?,
                };
                if remote.is_none() && waiting.is_none() {
                    waiting = Some(v.version);
                }
                let Some((remote, created)) = remote else {
                    continue;
                };
                if versions_sent.get(&key) != Some(&remote) {
                    ctx.journal.record_object(MODEL_VERSION, &key, &remote)?;
                }
                version_state(ctx, &v, &remote, created, states_sent.get(&key), summary)?;
                remote_versions.insert(v.version, remote);
            }
            for (alias, local) in &rm.aliases {
                let key = format!("{}/{alias}", rm.name);
                let Some(remote) = remote_versions.get(local) else {
                    continue;
                };
                if aliases_sent.get(&key) == Some(remote) {
                    continue;
                }
                let body = json!({"name": rm.name, "alias": alias, "version": remote});
                ctx.client
                    .post("registered-models/alias", &body.to_string())?;
                ctx.journal.record_object(ALIAS, &key, remote)?;
                summary.registry_updates += 1;
            }
            Ok(())
        })();
        if let Err(e) = result {
            summary
                .failures
                .push(format!("registered model {:?}: {e}", rm.name));
        }
    }
    Ok(())
}

/// Makes the registered model if the server lacks it, else sends its
/// description and the tags that differ.
fn registered_model(
    ctx: &Objects<'_>,
    rm: &RegisteredModel,
    sent: Option<&String>,
    summary: &mut ObjectsSummary,
) -> Result<()> {
    let state = json!({"description": rm.description, "tags": rm.tags});
    let state_digest = digest(&state);
    if sent == Some(&state_digest) {
        return Ok(());
    }
    let remote = match ctx
        .client
        .get("registered-models/get", &[("name", &rm.name)])
    {
        Ok(answer) => answer.get("registered_model").cloned(),
        Err(e) if e.code() == Some("RESOURCE_DOES_NOT_EXIST") => None,
        Err(e) => return Err(e),
    };
    match remote {
        None => {
            let mut body = json!({"name": rm.name, "tags": key_values(&rm.tags)});
            if let Some(d) = &rm.description {
                body["description"] = json!(d);
            }
            ctx.client
                .post("registered-models/create", &body.to_string())?;
            summary.registered_models_created += 1;
        }
        Some(remote) => {
            let remote_description = remote.get("description").and_then(Value::as_str);
            if let Some(d) = &rm.description {
                if remote_description != Some(d.as_str()) {
                    let body = json!({"name": rm.name, "description": d});
                    ctx.client
                        .patch("registered-models/update", &body.to_string())?;
                }
            }
            let remote_tags = tag_map(remote.get("tags"));
            for (k, v) in &rm.tags {
                if remote_tags.get(k) != Some(v) {
                    let body = json!({"name": rm.name, "key": k, "value": v});
                    ctx.client
                        .post("registered-models/set-tag", &body.to_string())?;
                }
            }
        }
    }
    ctx.journal
        .record_object(REGISTERED_MODEL, &rm.name, &state_digest)?;
    Ok(())
}

fn tag_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|kv| {
            Some((
                kv.get("key")?.as_str()?.to_string(),
                kv.get("value")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ))
        })
        .collect()
}

/// A version's source, run and logged model on the server; `Err` says why
/// the version must wait.
pub(crate) struct RemoteSource {
    pub source: String,
    pub run_id: Option<String>,
    pub model_id: Option<String>,
}

/// Rewrites a local version's source to the server's ids: `runs:/<local
/// run>/<path>` → `runs:/<remote run>/<path>`, `models:/<local model>` →
/// `models:/<remote model>`, a path under the run's (or model's) artifact
/// root → the same under the remote run (or model); any other URI as is.
pub(crate) fn remote_source(
    ctx: &Objects<'_>,
    v: &ModelVersion,
) -> std::result::Result<RemoteSource, String> {
    let run = |id: &str| {
        ctx.runs
            .get(id)
            .cloned()
            .ok_or_else(|| format!("its run {id} is not on the server"))
    };
    let model = |id: &str| {
        ctx.models
            .get(id)
            .cloned()
            .ok_or_else(|| format!("its logged model {id} is not on the server"))
    };
    let run_id = v.run_id.as_deref().map(run).transpose()?;
    let model_id = v.model_id.as_deref().map(model).transpose()?;
    let source = if let Some(rest) = v.source.strip_prefix("runs:/") {
        let (id, path) = rest.split_once('/').unwrap_or((rest, ""));
        let remote = run(id)?;
        if path.is_empty() {
            format!("runs:/{remote}")
        } else {
            format!("runs:/{remote}/{path}")
        }
    } else if let Some(rest) = v.source.strip_prefix("models:/m-") {
        let (id, path) = rest.split_once('/').unwrap_or((rest, ""));
        let remote = model(&format!("m-{id}"))?;
        if path.is_empty() {
            format!("models:/{remote}")
        } else {
            format!("models:/{remote}/{path}")
        }
    } else if let Some(rel) = v
        .run_id
        .as_deref()
        .and_then(|r| ctx.store.get_run(r).ok())
        .and_then(|r| under(&v.source, &r.info.artifact_uri))
    {
        let remote = run_id.clone().expect("mapped above");
        format!("runs:/{remote}/{rel}")
            .trim_end_matches('/')
            .to_string()
    } else if let (Some(rel), Some(remote)) = (
        v.model_id
            .as_deref()
            .and_then(|m| ctx.store.get_logged_model(m, true).ok())
            .and_then(|m| under(&v.source, &m.artifact_location)),
        model_id.clone(),
    ) {
        format!("models:/{remote}/{rel}")
            .trim_end_matches('/')
            .to_string()
    } else {
        v.source.clone()
    };
    Ok(RemoteSource {
        source,
        run_id,
        model_id,
    })
}

/// `path` relative to `root`, when it is under it (file URIs or paths).
fn under(path: &str, root: &str) -> Option<String> {
    let strip = |s: &str| {
        s.strip_prefix("file://")
            .unwrap_or(s)
            .trim_end_matches('/')
            .to_string()
    };
    let (path, root) = (strip(path), strip(root));
    if path == root {
        return Some(String::new());
    }
    path.strip_prefix(&format!("{root}/")).map(str::to_string)
}

/// Whether a create-version error says the source is not there yet.
fn source_missing(e: &ExportError) -> bool {
    match e {
        ExportError::Server {
            status, message, ..
        } if (400..500).contains(status) => {
            let m = message.to_ascii_lowercase();
            m.contains("source")
                && (m.contains("does not exist")
                    || m.contains("not found")
                    || m.contains("no such file")
                    || m.contains("unable to fetch"))
        }
        _ => false,
    }
}

/// Finds the remote version an earlier export made of `v`, or makes it:
/// its number, and whether it was made now; `None` when it waits.
fn create_version(
    ctx: &Objects<'_>,
    v: &ModelVersion,
    summary: &mut ObjectsSummary,
) -> Result<Option<(String, bool)>> {
    let label = format!("{} version {}", v.name, v.version);
    let src = match remote_source(ctx, v) {
        Ok(s) => s,
        Err(why) => {
            summary.versions_waiting.push(format!("{label}: {why}"));
            return Ok(None);
        }
    };
    if !v.name.contains('\'') {
        let filter = format!(
            "name = '{}' AND tags.`{STORE_ID_TAG}` = '{}' AND tags.`{MODEL_VERSION_TAG}` = '{}'",
            v.name, ctx.store_id, v.version
        );
        let answer = ctx.client.get(
            "model-versions/search",
            &[("filter", &filter), ("max_results", "10")],
        )?;
        let found = answer
            .get("model_versions")
            .and_then(Value::as_array)
            .and_then(|vs| vs.first())
            .and_then(|mv| mv.get("version"))
            .and_then(|n| {
                n.as_str()
                    .map(str::to_string)
                    .or_else(|| n.as_i64().map(|n| n.to_string()))
            });
        if let Some(n) = found {
            return Ok(Some((n, false)));
        }
    }
    let mut tags = v.tags.clone();
    tags.insert(STORE_ID_TAG.into(), ctx.store_id.clone());
    tags.insert(MODEL_VERSION_TAG.into(), v.version.to_string());
    let mut body = json!({
        "name": v.name,
        "source": src.source,
        "tags": key_values(&tags),
    });
    if let Some(r) = &src.run_id {
        body["run_id"] = json!(r);
    }
    if let Some(m) = &src.model_id {
        body["model_id"] = json!(m);
    }
    if let Some(d) = &v.description {
        body["description"] = json!(d);
    }
    if let Some(l) = &v.run_link {
        body["run_link"] = json!(l);
    }
    match ctx.client.post("model-versions/create", &body.to_string()) {
        Ok(answer) => {
            let n = answer
                .get("model_version")
                .and_then(|mv| mv.get("version"))
                .and_then(|n| {
                    n.as_str()
                        .map(str::to_string)
                        .or_else(|| n.as_i64().map(|n| n.to_string()))
                })
                .ok_or_else(|| ExportError::BadResponse {
                    endpoint: "model-versions/create".into(),
                    reason: "no model_version.version".into(),
                })?;
            summary.versions_created += 1;
            Ok(Some((n, true)))
        }
        Err(e) if source_missing(&e) => {
            summary.versions_waiting.push(format!(
                "{label}: its source {} is not on the server yet: {e}",
                src.source
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Sends a version's stage, description and tags when they changed since
/// last sent (or, for a version made now, its stage).
fn version_state(
    ctx: &Objects<'_>,
    v: &ModelVersion,
    remote: &str,
    created: bool,
    sent: Option<&String>,
    summary: &mut ObjectsSummary,
) -> Result<()> {
    let state = json!({
        "stage": v.current_stage.as_str(),
        "description": v.description,
        "tags": v.tags,
    });
    let state_digest = digest(&state);
    if sent == Some(&state_digest) {
        return Ok(());
    }
    let key = format!("{}/{}", v.name, v.version);
    if !created {
        let answer = ctx.client.get(
            "model-versions/get",
            &[("name", &v.name), ("version", remote)],
        )?;
        let mv = answer.get("model_version").cloned().unwrap_or_default();
        if let Some(d) = &v.description {
            if mv.get("description").and_then(Value::as_str) != Some(d.as_str()) {
                let body = json!({"name": v.name, "version": remote, "description": d});
                ctx.client
                    .patch("model-versions/update", &body.to_string())?;
                summary.registry_updates += 1;
            }
        }
        let remote_tags = tag_map(mv.get("tags"));
        for (k, val) in &v.tags {
            if remote_tags.get(k) != Some(val) {
                let body = json!({"name": v.name, "version": remote, "key": k, "value": val});
                ctx.client
                    .post("model-versions/set-tag", &body.to_string())?;
                summary.registry_updates += 1;
            }
        }
        let remote_stage = mv.get("current_stage").and_then(Value::as_str);
        if remote_stage != Some(v.current_stage.as_str()) {
            transition(ctx, v, remote)?;
            summary.registry_updates += 1;
        }
    } else if v.current_stage != ModelVersionStage::None {
        transition(ctx, v, remote)?;
        summary.registry_updates += 1;
    }
    ctx.journal
        .record_object(MODEL_VERSION_STATE, &key, &state_digest)?;
    Ok(())
}

fn transition(ctx: &Objects<'_>, v: &ModelVersion, remote: &str) -> Result<()> {
    let body = json!({
        "name": v.name,
        "version": remote,
        "stage": v.current_stage.as_str(),
        "archive_existing_versions": false,
    });
    ctx.client
        .post("model-versions/transition-stage", &body.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_an_artifact_root() {
        let root = "file:///s/artifacts/1/abc/artifacts";
        assert_eq!(
            under("/s/artifacts/1/abc/artifacts/model", root).as_deref(),
            Some("model")
        );
        assert_eq!(
            under("file:///s/artifacts/1/abc/artifacts/", root).as_deref(),
            Some("")
        );
        assert_eq!(under("/s/artifacts/1/abcd/artifacts/model", root), None);
    }

    #[test]
    fn a_missing_source_waits_other_errors_fail() {
        let server = |status, message: &str| ExportError::Server {
            method: "POST",
            endpoint: "model-versions/create".into(),
            status,
            code: Some("INVALID_PARAMETER_VALUE".into()),
            message: message.into(),
        };
        assert!(source_missing(&server(
            400,
            "Unable to fetch model from model URI source artifact location 'models:/m-1'"
        )));
        assert!(source_missing(&server(
            404,
            "source runs:/x/model does not exist"
        )));
        assert!(!source_missing(&server(
            400,
            "Invalid model version source: 'x'"
        )));
        assert!(!source_missing(&server(500, "source does not exist")));
    }
}
