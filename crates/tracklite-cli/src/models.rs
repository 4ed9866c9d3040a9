//! `models`: the model registry, as a list of registered models or one
//! model with every version.
//!
//! Prompts (registered models tagged `mlflow.prompt.is_prompt = true`) are
//! left out of the list, as MLflow's searches leave them out; `models NAME`
//! shows one all the same.
//!
//! JSON: `models --json` is an array of registered models in the library's
//! serde form (name, times, description, `latest_versions`, `tags`,
//! `aliases`), by name; `models NAME --json` is
//! `{"model": <registered model>, "versions": [<model version>, ...]}`, the
//! versions newest first.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use tracklite::{ModelVersion, RegisteredModel, Store};

use crate::errors::Missing;
use crate::format::{clip, datetime};
use crate::json;
use crate::table::{Align, Table};

/// Longest description or source in a table cell; `models NAME` and
/// `--json` show them whole.
const MAX_CELL: usize = 48;
/// At most this many names are suggested when a model does not exist.
const NAMES_SUGGESTED: usize = 10;

/// Every registered model (prompts aside), by name, page by page.
fn all_models(store: &Store) -> Result<Vec<RegisteredModel>> {
    let order = ["name ASC".to_string()];
    let mut models = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store.search_registered_models(
            "",
            tracklite::SEARCH_REGISTERED_MODELS_MAX_RESULTS_LIMIT,
            &order,
            token.as_deref(),
        )?;
        models.extend(page.models);
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => return Ok(models),
        }
    }
}

/// Every version of `model`, newest first. They are read by number, from
/// the newest down (deleted numbers are skipped): a version search would
/// need the name quoted in a filter (a name may hold both quote
/// characters), and leaves out the versions of prompts.
fn all_versions(store: &Store, model: &RegisteredModel) -> Result<Vec<ModelVersion>> {
    let newest = model.latest_versions.iter().map(|v| v.version).max();
    let mut versions = Vec::new();
    for number in (1..=newest.unwrap_or(0)).rev() {
        match store.get_model_version(&model.name, number) {
            Ok(v) => versions.push(v),
            Err(tracklite::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(versions)
}

/// `Production: 3, None: 4`: the newest version of each stage that has
/// one, in MLflow's order of stages.
fn latest_by_stage(model: &RegisteredModel) -> String {
    let mut latest: Vec<&ModelVersion> = model.latest_versions.iter().collect();
    latest.sort_by_key(|v| v.current_stage);
    join_or_dash(
        latest
            .iter()
            .map(|v| format!("{}: {}", v.current_stage, v.version)),
    )
}

/// `champion: 3, dev: 4`, by alias.
fn aliases(aliases: &BTreeMap<String, i64>) -> String {
    join_or_dash(aliases.iter().map(|(a, v)| format!("{a}: {v}")))
}

fn join_or_dash(items: impl Iterator<Item = String>) -> String {
    let joined = items.collect::<Vec<_>>().join(", ");
    if joined.is_empty() {
        "-".into()
    } else {
        joined
    }
}

/// Lists the registered models.
pub fn list(store: &Store, as_json: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let models = all_models(store)?;
    if as_json {
        json::write(out, &serde_json::to_value(&models)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if models.is_empty() {
        writeln!(out, "no registered models")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new([
        ("NAME", Align::Left),
        ("LATEST VERSIONS", Align::Left),
        ("ALIASES", Align::Left),
        ("UPDATED (UTC)", Align::Left),
        ("DESCRIPTION", Align::Left),
    ]);
    for m in &models {
        table.push(vec![
            m.name.clone(),
            latest_by_stage(m),
            aliases(&m.aliases),
            datetime(m.last_updated_timestamp),
            clip(m.description.as_deref().unwrap_or("-"), MAX_CELL),
        ]);
    }
    table.write(out)?;
    Ok(ExitCode::SUCCESS)
}

/// The model `name`, or an error that names it (and the models there are,
/// when they are few).
fn find_model(store: &Store, name: &str) -> Result<RegisteredModel> {
    match store.get_registered_model(name) {
        Ok(model) => Ok(model),
        Err(tracklite::Error::NotFound { .. }) => {
            let names: Vec<String> = all_models(store)?.into_iter().map(|m| m.name).collect();
            let known = match names.len() {
                0 => "the store has no registered models".to_string(),
                n if n <= NAMES_SUGGESTED => format!("its models are: {}", names.join(", ")),
                n => format!("it has {n} models; `tracklite models` lists them"),
            };
            Err(Missing(format!("registered model {name:?} does not exist; {known}")).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Shows one model and every version of it.
pub fn show(store: &Store, name: &str, as_json: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let model = find_model(store, name)?;
    let versions = all_versions(store, &model)?;
    if as_json {
        json::write(out, &json!({ "model": model, "versions": versions }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let fields = [
        ("name", model.name.clone()),
        (
            "description",
            model.description.clone().unwrap_or_else(|| "-".into()),
        ),
        ("created (UTC)", datetime(model.creation_timestamp)),
        ("updated (UTC)", datetime(model.last_updated_timestamp)),
        ("latest versions", latest_by_stage(&model)),
    ];
    let mut table = Table::new([("", Align::Left), ("", Align::Left)]).hide_header();
    for (label, value) in fields {
        table.push(vec![label.into(), value]);
    }
    table.write(out)?;

    writeln!(out, "\ntags ({})", model.tags.len())?;
    if !model.tags.is_empty() {
        let mut t = Table::new([("KEY", Align::Left), ("VALUE", Align::Left)]).indent(2);
        for (k, v) in &model.tags {
            t.push(vec![k.clone(), v.clone()]);
        }
        t.write(out)?;
    }
    writeln!(out, "\naliases ({})", model.aliases.len())?;
    if !model.aliases.is_empty() {
        let mut t = Table::new([("ALIAS", Align::Left), ("VERSION", Align::Right)]).indent(2);
        for (alias, version) in &model.aliases {
            t.push(vec![alias.clone(), version.to_string()]);
        }
        t.write(out)?;
    }

    writeln!(out, "\nversions ({})", versions.len())?;
    if versions.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new([
        ("VERSION", Align::Right),
        ("STAGE", Align::Left),
        ("ALIASES", Align::Left),
        ("CREATED (UTC)", Align::Left),
        ("RUN ID", Align::Left),
        ("SOURCE", Align::Left),
    ])
    .indent(2);
    for v in &versions {
        t.push(vec![
            v.version.to_string(),
            v.current_stage.to_string(),
            join_or_dash(v.aliases.iter().cloned()),
            datetime(v.creation_timestamp),
            v.run_id.clone().unwrap_or_else(|| "-".into()),
            clip(&v.source, MAX_CELL),
        ]);
    }
    t.write(out)?;
    for v in &versions {
        version_details(v, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What the versions table leaves out of a version: each field it has,
/// then its tags.
fn version_details(v: &ModelVersion, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "\nversion {}", v.version)?;
    let optional = |label: &'static str, value: &Option<String>| {
        value.as_ref().map(|value| (label, value.clone()))
    };
    let storage = v
        .storage_location
        .as_ref()
        .filter(|s| **s != v.source)
        .cloned();
    let fields: Vec<(&str, String)> = [
        Some(("source", v.source.clone())),
        optional("storage location", &storage),
        optional("description", &v.description),
        optional("user", &v.user_id),
        Some(("status", v.status.clone())),
        optional("status message", &v.status_message),
        optional("run link", &v.run_link),
        optional("model id", &v.model_id),
        Some(("updated (UTC)", datetime(v.last_updated_timestamp))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut table = Table::new([("", Align::Left), ("", Align::Left)])
        .hide_header()
        .indent(2);
    for (label, value) in fields {
        table.push(vec![label.into(), value]);
    }
    if v.tags.is_empty() {
        table.push(vec!["tags".into(), "-".into()]);
    }
    table.write(out)?;
    if !v.tags.is_empty() {
        writeln!(out, "  tags ({})", v.tags.len())?;
        let mut t = Table::new([("KEY", Align::Left), ("VALUE", Align::Left)]).indent(4);
        for (k, value) in &v.tags {
            t.push(vec![k.clone(), value.clone()]);
        }
        t.write(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracklite::ModelVersionStage;

    fn version(n: i64, stage: ModelVersionStage) -> ModelVersion {
        ModelVersion {
            name: "m".into(),
            version: n,
            creation_timestamp: 0,
            last_updated_timestamp: 0,
            description: None,
            user_id: None,
            current_stage: stage,
            source: "/m".into(),
            storage_location: None,
            run_id: None,
            run_link: None,
            model_id: None,
            status: "READY".into(),
            status_message: None,
            tags: BTreeMap::new(),
            aliases: Vec::new(),
        }
    }

    #[test]
    fn latest_versions_in_stage_order() {
        let model = RegisteredModel {
            name: "m".into(),
            creation_timestamp: 0,
            last_updated_timestamp: 0,
            description: None,
            latest_versions: vec![
                version(2, ModelVersionStage::Production),
                version(5, ModelVersionStage::None),
            ],
            tags: BTreeMap::new(),
            aliases: BTreeMap::from([("b".into(), 5), ("a".into(), 2)]),
        };
        assert_eq!(latest_by_stage(&model), "None: 5, Production: 2");
        assert_eq!(aliases(&model.aliases), "a: 2, b: 5");
        assert_eq!(aliases(&BTreeMap::new()), "-");
    }
}
