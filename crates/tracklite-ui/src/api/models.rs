//! `GET /api/models` (registered models, searched) and `GET /api/model`
//! (one model with all its versions).

use serde_json::{json, Value};
use tracklite::{
    ModelVersion, RegisteredModel, Store, SEARCH_REGISTERED_MODELS_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODELS_MAX_RESULTS_LIMIT,
};

use crate::json;
use crate::query::Query;
use crate::reply::{ApiError, Reply};

/// Versions read per search page when listing a model's versions.
const VERSIONS_PAGE: usize = 10_000;

/// One page of registered models, filtered with MLflow's registry search
/// language (`name LIKE '%net%'`, `tags.team = 'cv'`).
pub(super) fn search(store: &Store, q: &Query) -> Result<Reply, ApiError> {
    let max_results = q.count(
        "max_results",
        SEARCH_REGISTERED_MODELS_MAX_RESULTS_DEFAULT,
        SEARCH_REGISTERED_MODELS_MAX_RESULTS_LIMIT,
    )?;
    let order_by: Vec<String> = q.all("order_by").iter().map(|s| s.to_string()).collect();
    let page = store.search_registered_models(
        q.get("filter").unwrap_or(""),
        max_results,
        &order_by,
        q.get("page_token").filter(|t| !t.is_empty()),
    )?;
    let models: Vec<Value> = page.models.iter().map(model).collect();
    Ok(Reply::json(&json!({
        "registered_models": models,
        "next_page_token": page.next_page_token,
    })))
}

/// One registered model and every version of it, newest first.
pub(super) fn get(store: &Store, q: &Query) -> Result<Reply, ApiError> {
    let name = q.required("name")?;
    let registered = store.get_registered_model(name)?;
    let mut versions = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store.search_model_versions(
            &name_filter(name),
            VERSIONS_PAGE,
            &["version_number DESC".to_string()],
            token.as_deref(),
        )?;
        versions.extend(page.versions.into_iter().filter(|v| v.name == name));
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
    }
    let versions: Vec<Value> = versions.iter().map(version).collect();
    Ok(Reply::json(&json!({
        "registered_model": model(&registered),
        "versions": versions,
    })))
}

/// A filter on exactly `name`. The search language has no escapes: a
/// name holding `'` is quoted with `"`; one holding both quotes matches
/// every version, and the caller keeps those of the name.
fn name_filter(name: &str) -> String {
    if !name.contains('\'') {
        format!("name = '{name}'")
    } else if !name.contains('"') {
        format!("name = \"{name}\"")
    } else {
        String::new()
    }
}

fn model(m: &RegisteredModel) -> Value {
    let latest: Vec<Value> = m.latest_versions.iter().map(version).collect();
    json!({
        "name": m.name,
        "description": m.description,
        "creation_timestamp": m.creation_timestamp,
        "last_updated_timestamp": m.last_updated_timestamp,
        "tags": json::strings(&m.tags),
        "aliases": m.aliases,
        "latest_versions": latest,
    })
}

fn version(v: &ModelVersion) -> Value {
    json!({
        "name": v.name,
        "version": v.version,
        "current_stage": v.current_stage.as_str(),
        "status": v.status,
        "run_id": v.run_id,
        "source": v.source,
        "creation_timestamp": v.creation_timestamp,
        "last_updated_timestamp": v.last_updated_timestamp,
        "description": v.description,
        "tags": json::strings(&v.tags),
        "aliases": v.aliases,
    })
}
