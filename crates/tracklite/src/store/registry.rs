//! The model registry (MLflow's): registered models, their versions,
//! stages, tags and aliases, and the searches over them.
//!
//! The rules are those of MLflow's SQL registry: a new version is one more
//! than the greatest the model ever gave (a deleted version's number is
//! never given again); `archive_existing_versions` applies to Staging and
//! Production only; an alias names one version, `latest` and `v<digits>`
//! are reserved, and deleting a version drops its aliases; the download
//! URI of a version is its storage location, or else its source.

use super::Store;
use crate::entities::{
    now_ms, ModelVersion, ModelVersionStage, NewModelVersion, RegisteredModel,
    RegisteredModelRecord,
};
use crate::error::{Error, Result, ValidationError};
use crate::search::ast::{RegistryClause, RegistryOrder};
use crate::search::page_token::PageToken;
use crate::search::registry::{parse_filter, parse_order_by, split_prompt_clauses, Searched};
use crate::search::sql::RegistryQuery;
use crate::validate;

/// Registered models a search returns when the caller has no preference, as
/// in MLflow.
pub const SEARCH_REGISTERED_MODELS_MAX_RESULTS_DEFAULT: usize = 100;
/// The most registered models one page may hold, as in MLflow.
pub const SEARCH_REGISTERED_MODELS_MAX_RESULTS_LIMIT: usize = 1000;
/// Model versions a search returns when the caller has no preference, as
/// in MLflow.
pub const SEARCH_MODEL_VERSIONS_MAX_RESULTS_DEFAULT: usize = 10_000;
/// The most model versions one page may hold, as in MLflow.
pub const SEARCH_MODEL_VERSIONS_MAX_RESULTS_LIMIT: usize = 200_000;

/// The order of a version search when none is given, as in MLflow.
const DEFAULT_VERSION_ORDER: [&str; 3] = [
    "last_updated_timestamp DESC",
    "name ASC",
    "version_number DESC",
];

/// One page of [`Store::search_registered_models`].
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModelPage {
    /// The models of this page, in the order asked for.
    pub models: Vec<RegisteredModel>,
    /// Pass this to the next call for the next page; None on the last page.
    pub next_page_token: Option<String>,
}

/// One page of [`Store::search_model_versions`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersionPage {
    /// The versions of this page, in the order asked for.
    pub versions: Vec<ModelVersion>,
    /// Pass this to the next call for the next page; None on the last page.
    pub next_page_token: Option<String>,
}

fn check_max_results(max_results: usize, limit: usize) -> Result<()> {
    if (1..=limit).contains(&max_results) {
        return Ok(());
    }
    Err(validate::invalid(
        "max_results",
        &max_results.to_string(),
        format!("it must be a positive integer of at most {limit}"),
    )
    .into())
}

/// Where a `models:/` URI points, once parsed.
enum ModelsUri<'a> {
    /// `models:/m-<id>`: a logged model.
    Logged(&'a str),
    /// `models:/<name>/<version, stage or latest>` or `models:/<name>@<alias>`.
    Registered {
        name: &'a str,
        selector: Selector<'a>,
    },
}

enum Selector<'a> {
    Version(i64),
    Stage(ModelVersionStage),
    Latest,
    Alias(&'a str),
}

fn parse_models_uri(uri: &str) -> Result<ModelsUri<'_>> {
    let bad = |rule: &str| Error::from(validate::invalid("models URI", uri, rule.to_string()));
    let rest = uri
        .strip_prefix("models:/")
        .ok_or_else(|| bad("must start with models:/"))?;
    let rest = rest.trim_start_matches('/').trim_end_matches('/');
    if let Some((name, alias)) = rest.split_once('@') {
        if name.is_empty() || alias.is_empty() || alias.contains('/') {
            return Err(bad("the alias form is models:/<name>@<alias>"));
        }
        return Ok(ModelsUri::Registered {
            name,
            selector: Selector::Alias(alias),
        });
    }
    match rest.split_once('/') {
        None if rest.starts_with("m-") => Ok(ModelsUri::Logged(rest)),
        None => Err(bad(
            "expected models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest, models:/<name>@<alias> or models:/<model_id>",
        )),
        Some((name, what)) if !name.is_empty() && !what.contains('/') => {
            let selector = if let Ok(v) = what.parse::<i64>() {
                Selector::Version(v)
            } else if what.eq_ignore_ascii_case("latest") {
                Selector::Latest
            } else {
                Selector::Stage(what.parse()?)
            };
            Ok(ModelsUri::Registered { name, selector })
        }
        Some(_) => Err(bad("expected models:/<name>/<version, stage or latest>")),
    }
}

impl Store {
    /// Registers a model with no versions yet. A name already taken is
    /// [`Error::AlreadyExists`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{NewModelVersion, Store};
    /// let store = Store::open(dir.path())?;
    /// store.create_registered_model("iris", &[], Some("flowers"))?;
    /// let v = store.create_model_version(NewModelVersion {
    ///     name: "iris".into(),
    ///     source: "/models/iris".into(),
    ///     ..NewModelVersion::default()
    /// })?;
    /// assert_eq!(v.version, 1);
    /// store.set_registered_model_alias("iris", "champion", 1)?;
    /// assert_eq!(store.get_model_version_by_alias("iris", "champion")?.version, 1);
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn create_registered_model(
        &self,
        name: &str,
        tags: &[(String, String)],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        validate::registered_model_name(name)?;
        for (k, v) in tags {
            validate::registry_tag(k, v)?;
        }
        validate::registry_description(description)?;
        self.inner
            .index()?
            .create_registered_model(name, description, tags, now_ms())?;
        self.get_registered_model(name)
    }

    /// The model with its tags, aliases and the newest version of each
    /// stage.
    pub fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        validate::registered_model_name(name)?;
        self.inner.index()?.registered_model(name)
    }

    /// Sets (or, with None, clears) a model's description.
    pub fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        validate::registered_model_name(name)?;
        validate::registry_description(description)?;
        self.inner
            .index()?
            .update_registered_model(name, description, now_ms())?;
        self.get_registered_model(name)
    }

    /// Renames a model; its versions, tags and aliases follow.
    pub fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        validate::registered_model_name(name)?;
        validate::registered_model_name(new_name)?;
        self.inner
            .index()?
            .rename_registered_model(name, new_name, now_ms())?;
        self.get_registered_model(new_name)
    }

    /// Deletes a model with all its versions, tags and aliases. The runs and
    /// files the versions came from are left as they are.
    pub fn delete_registered_model(&self, name: &str) -> Result<()> {
        validate::registered_model_name(name)?;
        self.inner.index()?.delete_registered_model(name)
    }

    /// Sets a model's tag.
    pub fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        validate::registered_model_name(name)?;
        validate::registry_tag(key, value)?;
        self.inner
            .index()?
            .set_registered_model_tag(name, (key, value))
    }

    /// Deletes a model's tag; one that is not set is no error.
    pub fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        validate::registered_model_name(name)?;
        validate::key("registry tag", key)?;
        self.inner.index()?.delete_registered_model_tag(name, key)
    }

    /// Searches registered models (prompts are left out unless the filter
    /// asks for them with `tags.\`mlflow.prompt.is_prompt\` = 'true'`).
    ///
    /// - `filter`: `name` (`= != LIKE ILIKE IN NOT IN`) and `tags.<key>`
    ///   (`= != LIKE ILIKE`), joined by AND;
    /// - `max_results`: 1 to 1000 (MLflow's default: 100);
    /// - `order_by`: `name`, `last_updated_timestamp` (or `timestamp`), each
    ///   with `ASC` or `DESC`; ties by name;
    /// - `page_token`: None, then the token of the previous page.
    pub fn search_registered_models(
        &self,
        filter: &str,
        max_results: usize,
        order_by: &[String],
        page_token: Option<&str>,
    ) -> Result<RegisteredModelPage> {
        check_max_results(max_results, SEARCH_REGISTERED_MODELS_MAX_RESULTS_LIMIT)?;
        let order = parse_order_by(order_by, Searched::RegisteredModels)?;
        let search = Prepared::new(filter, order, page_token, Searched::RegisteredModels)?;
        let mut q = search.query(max_results);
        let page = self.inner.index()?.search_registered_models(&mut q)?;
        Ok(RegisteredModelPage {
            models: page.models,
            next_page_token: page.more.then(|| next_token(&q, page.snapshot)),
        })
    }

    /// Creates the next version of a registered model. The number is taken
    /// in the same write transaction that writes the version, so processes
    /// registering at once get distinct numbers with no gap.
    ///
    /// A `models:/` source is resolved as MLflow resolves it: to the
    /// logged model's artifact location (and its run, when no run is
    /// given) for `models:/m-<id>`, or to the named version's download URI.
    pub fn create_model_version(&self, mut new: NewModelVersion) -> Result<ModelVersion> {
        validate::registered_model_name(&new.name)?;
        for (k, v) in &new.tags {
            validate::registry_tag(k, v)?;
        }
        validate::registry_description(new.description.as_deref())?;
        if new.storage_location.is_none() && new.source.starts_with("models:/") {
            match parse_models_uri(&new.source)? {
                ModelsUri::Logged(id) => {
                    let model = self.get_logged_model(id, true)?;
                    new.storage_location = Some(model.artifact_location.clone());
                    new.run_id = new.run_id.or(model.source_run_id);
                    new.model_id = new.model_id.or(Some(model.model_id));
                }
                ModelsUri::Registered { .. } => {
                    let resolved = self.model_version_for_uri(&new.source)?;
                    new.storage_location = Some(resolved.download_uri().to_string());
                }
            }
        }
        if let (None, Some(id)) = (&new.run_id, &new.model_id) {
            if let Ok(model) = self.get_logged_model(id, true) {
                new.run_id = model.source_run_id;
            }
        }
        let name = new.name.clone();
        let version = self.inner.index()?.create_model_version(&new, now_ms())?;
        self.get_model_version(&name, version)
    }

    /// The version with its tags and aliases.
    pub fn get_model_version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        validate::registered_model_name(name)?;
        self.inner.index()?.model_version(name, version)
    }

    /// Sets (or, with None, clears) a version's description.
    pub fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: Option<&str>,
    ) -> Result<ModelVersion> {
        validate::registered_model_name(name)?;
        validate::registry_description(description)?;
        self.inner
            .index()?
            .update_model_version(name, version, description, now_ms())?;
        self.get_model_version(name, version)
    }

    /// Moves a version to a stage. With `archive_existing_versions` (for
    /// Staging and Production only), the model's other versions in that
    /// stage are archived in the same transaction.
    pub fn transition_model_version_stage(
        &self,
        name: &str,
        version: i64,
        stage: ModelVersionStage,
        archive_existing_versions: bool,
    ) -> Result<ModelVersion> {
        validate::registered_model_name(name)?;
        if archive_existing_versions && !stage.is_active() {
            return Err(ValidationError::InvalidValue {
                field: "archive_existing_versions",
                value: "true".into(),
                rule: format!(
                    "existing versions can only be archived by a move to Staging or Production, not to {stage}"
                ),
            }
            .into());
        }
        self.inner.index()?.transition_model_version_stage(
            name,
            version,
            stage,
            archive_existing_versions,
            now_ms(),
        )?;
        self.get_model_version(name, version)
    }

    /// Deletes a version, its tags and the aliases that name it. Its number
    /// is never given again.
    pub fn delete_model_version(&self, name: &str, version: i64) -> Result<()> {
        validate::registered_model_name(name)?;
        self.inner
            .index()?
            .delete_model_version(name, version, now_ms())
    }

    /// Where the version's files are: its storage location, or its source.
    pub fn get_model_version_download_uri(&self, name: &str, version: i64) -> Result<String> {
        Ok(self
            .get_model_version(name, version)?
            .download_uri()
            .to_string())
    }

    /// Sets a version's tag.
    pub fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
        value: &str,
    ) -> Result<()> {
        validate::registered_model_name(name)?;
        validate::registry_tag(key, value)?;
        self.inner
            .index()?
            .set_model_version_tag(name, version, (key, value))
    }

    /// Deletes a version's tag; one that is not set is no error.
    pub fn delete_model_version_tag(&self, name: &str, version: i64, key: &str) -> Result<()> {
        validate::registered_model_name(name)?;
        validate::key("registry tag", key)?;
        self.inner
            .index()?
            .delete_model_version_tag(name, version, key)
    }

    /// Points an alias at a version (moving it if it named another). The
    /// version must exist; `latest` and `v<digits>` are reserved.
    pub fn set_registered_model_alias(&self, name: &str, alias: &str, version: i64) -> Result<()> {
        validate::registered_model_name(name)?;
        validate::settable_alias(alias)?;
        self.inner
            .index()?
            .set_registered_model_alias(name, alias, version)
    }

    /// Removes an alias; one that is not set is no error.
    pub fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        validate::registered_model_name(name)?;
        validate::alias_name(alias)?;
        self.inner
            .index()?
            .delete_registered_model_alias(name, alias)
    }

    /// The version an alias names; `latest` (in any case) is the newest
    /// version. An alias the model does not have is an invalid value, as in
    /// MLflow.
    pub fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        validate::registered_model_name(name)?;
        validate::alias_name(alias)?;
        if alias.eq_ignore_ascii_case("latest") {
            let latest = self.get_latest_versions(name, &[])?;
            return latest.into_iter().max_by_key(|v| v.version).ok_or_else(|| {
                Error::not_found(
                    crate::EntityKind::ModelVersion,
                    format!("latest version of {name}"),
                )
            });
        }
        self.inner
            .index()?
            .model_version_by_alias(name, alias)?
            .ok_or_else(|| {
                validate::invalid(
                    "alias",
                    alias,
                    format!("registered model {name:?} has no such alias"),
                )
                .into()
            })
    }

    /// The newest version in each of `stages` (every stage when empty) that
    /// has one, by ascending version.
    pub fn get_latest_versions(
        &self,
        name: &str,
        stages: &[ModelVersionStage],
    ) -> Result<Vec<ModelVersion>> {
        validate::registered_model_name(name)?;
        self.inner.index()?.latest_model_versions(name, stages)
    }

    /// The version a `models:/` URI names: `models:/<name>/<version>`,
    /// `models:/<name>/<stage>` (the newest version in it),
    /// `models:/<name>/latest` and `models:/<name>@<alias>`.
    pub fn model_version_for_uri(&self, uri: &str) -> Result<ModelVersion> {
        match parse_models_uri(uri)? {
            ModelsUri::Logged(_) => Err(validate::invalid(
                "models URI",
                uri,
                "names a logged model, not a registered model version",
            )
            .into()),
            ModelsUri::Registered { name, selector } => match selector {
                Selector::Version(v) => self.get_model_version(name, v),
                Selector::Alias(a) => self.get_model_version_by_alias(name, a),
                Selector::Latest => self.get_model_version_by_alias(name, "latest"),
                Selector::Stage(stage) => self
                    .get_latest_versions(name, &[stage])?
                    .pop()
                    .ok_or_else(|| {
                        Error::not_found(
                            crate::EntityKind::ModelVersion,
                            format!("{name} in stage {stage}"),
                        )
                    }),
            },
        }
    }

    /// Searches model versions (prompts are left out unless the filter asks
    /// for them).
    ///
    /// - `filter`: `name`, `run_id` (`= != LIKE ILIKE IN NOT IN`),
    ///   `source_path` (`= != LIKE ILIKE`), `version_number`
    ///   (`= != < <= > >=`) and `tags.<key>` (`= != LIKE ILIKE`), joined by
    ///   AND;
    /// - `max_results`: 1 to 200,000 (MLflow's default: 10,000);
    /// - `order_by`: `name`, `version_number`, `creation_timestamp`,
    ///   `last_updated_timestamp`; default: last updated first, then name,
    ///   then newest version; ties by name, then newest version;
    /// - `page_token`: None, then the token of the previous page.
    pub fn search_model_versions(
        &self,
        filter: &str,
        max_results: usize,
        order_by: &[String],
        page_token: Option<&str>,
    ) -> Result<ModelVersionPage> {
        check_max_results(max_results, SEARCH_MODEL_VERSIONS_MAX_RESULTS_LIMIT)?;
        let order = if order_by.is_empty() {
            let default: Vec<String> = DEFAULT_VERSION_ORDER.map(String::from).to_vec();
            parse_order_by(&default, Searched::ModelVersions)?
        } else {
            parse_order_by(order_by, Searched::ModelVersions)?
        };
        let search = Prepared::new(filter, order, page_token, Searched::ModelVersions)?;
        let mut q = search.query(max_results);
        let page = self.inner.index()?.search_model_versions(&mut q)?;
        Ok(ModelVersionPage {
            versions: page.versions,
            next_page_token: page.more.then(|| next_token(&q, page.snapshot)),
        })
    }

    /// The model versions (model name, version) that a run backs: made
    /// from the run (its id, or a `runs:/<id>/...` source), or with their
    /// files under the run's artifacts (given as a path or a `file:` URI).
    pub fn model_versions_of_run(&self, run_id: &str) -> Result<Vec<(String, i64)>> {
        validate::run_id(run_id)?;
        let artifact_uri = self.get_run_info(run_id)?.artifact_uri;
        self.inner
            .index()?
            .versions_backed_by_run(run_id, &artifact_uri, self.path())
    }

    /// Writes a whole registered model from elsewhere (an import) with its
    /// own times, versions, stages, tags and aliases. A model of that name
    /// already in the store is left as it is: the result is false.
    pub fn import_registered_model(&self, record: &RegisteredModelRecord) -> Result<bool> {
        validate::registered_model_name(&record.name)?;
        for (k, v) in &record.tags {
            validate::registry_tag(k, v)?;
        }
        for v in &record.versions {
            if v.name != record.name {
                return Err(validate::invalid(
                    "model version",
                    &format!("{} version {}", v.name, v.version),
                    format!("belongs to another model than {:?}", record.name),
                )
                .into());
            }
            for (k, value) in &v.tags {
                validate::registry_tag(k, value)?;
            }
        }
        for (alias, _) in &record.aliases {
            validate::settable_alias(alias)?;
        }
        self.inner.index()?.put_registered_model_record(record)
    }
}

/// A registry search's filter and order, parsed, and where its page starts.
struct Prepared {
    clauses: Vec<RegistryClause>,
    prompts: bool,
    order: Vec<RegistryOrder>,
    token: Option<PageToken>,
}

impl Prepared {
    fn new(
        filter: &str,
        order: Vec<RegistryOrder>,
        page_token: Option<&str>,
        searched: Searched,
    ) -> Result<Prepared> {
        let (clauses, prompts) = split_prompt_clauses(parse_filter(filter, searched)?);
        let token = page_token.map(PageToken::decode).transpose()?;
        Ok(Prepared {
            clauses,
            prompts,
            order,
            token,
        })
    }

    fn query(&self, limit: usize) -> RegistryQuery<'_> {
        RegistryQuery {
            clauses: &self.clauses,
            prompts: self.prompts,
            order: &self.order,
            snapshot: self.token.and_then(|t| t.snapshot).unwrap_or(i64::MAX),
            limit,
            offset: self.token.map_or(0, |t| t.offset),
        }
    }
}

fn next_token(q: &RegistryQuery<'_>, snapshot: i64) -> String {
    PageToken {
        offset: q.offset + q.limit,
        snapshot: Some(snapshot),
    }
    .encode()
}
