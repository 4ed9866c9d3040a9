//! The JSON API: one function per endpoint, each reading the store and
//! building its answer (see docs/ui.md for the contract).

mod artifacts;
mod experiments;
mod metrics;
mod models;
mod runs;

use serde_json::json;
use tracklite::{Store, ViewType};

use crate::query::Query;
use crate::reply::{ApiError, Reply};

/// Answers `GET /api/<endpoint>?<query>`.
pub(crate) fn handle(store: &Store, endpoint: &str, q: &Query) -> Result<Reply, ApiError> {
    match endpoint {
        "health" => Ok(health(store)),
        "experiments" => experiments::list(store, q),
        "runs" => runs::search(store, q),
        "run" => runs::get(store, q),
        "artifacts" => artifacts::list(store, q),
        "artifact" => artifacts::read(store, q),
        "metric-history" => metrics::history(store, q),
        "metric-keys" => metrics::keys(store, q),
        "models" => models::search(store, q),
        "model" => models::get(store, q),
        _ => Err(ApiError {
            status: 404,
            code: "ENDPOINT_NOT_FOUND",
            message: format!("no API endpoint /api/{endpoint}"),
        }),
    }
}

fn health(store: &Store) -> Reply {
    Reply::json(&json!({
        "version": env!("CARGO_PKG_VERSION"),
        "store": store.path().display().to_string(),
        "read_only": true,
    }))
}

/// The `view` parameter: active (default), deleted or all.
fn view(q: &Query) -> Result<ViewType, ApiError> {
    Ok(match q.choice("view", &["active", "deleted", "all"])? {
        "deleted" => ViewType::DeletedOnly,
        "all" => ViewType::All,
        _ => ViewType::ActiveOnly,
    })
}
