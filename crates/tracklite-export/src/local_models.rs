//! The store's registered models and versions, read whole (every page), for
//! the REST and the direct export alike.

use tracklite::{ModelVersion, RegisteredModel, Store};

use crate::error::Result;

/// Every registered model of the store, by name.
pub(crate) fn all_registered_models(store: &Store) -> Result<Vec<RegisteredModel>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store.search_registered_models(
            "",
            tracklite::SEARCH_REGISTERED_MODELS_MAX_RESULTS_LIMIT,
            &["name ASC".to_string()],
            token.as_deref(),
        )?;
        out.extend(page.models);
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// Every version of registered model `name`, by version number.
pub(crate) fn versions_of(store: &Store, name: &str) -> Result<Vec<ModelVersion>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let filter = format!("name = '{}'", name.replace('\'', "\\'"));
    loop {
        let page = store.search_model_versions(
            &filter,
            tracklite::SEARCH_MODEL_VERSIONS_MAX_RESULTS_DEFAULT,
            &["version_number ASC".to_string()],
            token.as_deref(),
        )?;
        out.extend(page.versions.into_iter().filter(|v| v.name == name));
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    out.sort_by_key(|v| v.version);
    Ok(out)
}
