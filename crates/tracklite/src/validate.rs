//! MLflow's validation rules, enforced with errors that name the value and the
//! limit. Nothing is ever truncated to fit.

use crate::error::ValidationError;

/// Longest param, metric or tag key.
pub const MAX_KEY_LENGTH: usize = 250;
/// Longest param value.
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// Longest run tag value.
pub const MAX_TAG_VALUE_LENGTH: usize = 8000;
/// Longest experiment tag value.
pub const MAX_EXPERIMENT_TAG_VALUE_LENGTH: usize = 20000;
/// Longest experiment name.
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
/// Longest run name (MLflow stores it as the `mlflow.runName` tag).
pub const MAX_RUN_NAME_LENGTH: usize = MAX_TAG_VALUE_LENGTH;
/// Most metrics in one batch.
pub const MAX_BATCH_METRICS: usize = 1000;
/// Most params in one batch.
pub const MAX_BATCH_PARAMS: usize = 100;
/// Most tags in one batch.
pub const MAX_BATCH_TAGS: usize = 100;
/// Most entries of all kinds in one batch.
pub const MAX_BATCH_TOTAL: usize = 1000;

/// Checks a param, metric or tag key: 1 to 250 characters among letters,
/// digits, `_ - . / :` and space, and a path that stays where it is
/// (no `..`, no leading `/`, no `//` or `./` that would normalise away).
pub fn key(kind: &'static str, key: &str) -> Result<(), ValidationError> {
    let fail = |rule: &str| {
        Err(ValidationError::InvalidKey {
            kind,
            key: key.to_string(),
            rule: rule.to_string(),
        })
    };
    if key.is_empty() {
        return fail("a key must not be empty");
    }
    let length = key.chars().count();
    if length > MAX_KEY_LENGTH {
        return fail(&format!(
            "it is {length} characters long; the limit is {MAX_KEY_LENGTH}"
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|&c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' ' | ':')))
    {
        return fail(&format!(
            "character {c:?} is not allowed; keys may contain letters, digits, '_', '-', '.', '/', ':' and spaces"
        ));
    }
    if !is_normal_relative_path(key) {
        return fail("a key must be a normalised relative path: no leading '/', no '.' or '..' segments, no empty segments");
    }
    Ok(())
}

/// True when `p` is what Python's `posixpath.normpath` leaves unchanged and
/// does not climb out of its directory: MLflow's `path_not_unique` rule.
fn is_normal_relative_path(p: &str) -> bool {
    if p.starts_with('/') || p.ends_with('/') {
        return false;
    }
    p.split('/')
        .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Checks that a value is within a length limit, counted in characters.
pub fn length(
    field: &'static str,
    key: &str,
    value: &str,
    limit: usize,
) -> Result<(), ValidationError> {
    // Counting chars is only needed when the byte length could exceed the limit.
    if value.len() <= limit {
        return Ok(());
    }
    let length = value.chars().count();
    if length > limit {
        return Err(ValidationError::TooLong {
            field,
            key: key.to_string(),
            length,
            limit,
        });
    }
    Ok(())
}

/// Checks a param: its key, and a value of at most 6000 characters.
pub fn param(key: &str, value: &str) -> Result<(), ValidationError> {
    self::key("param", key)?;
    length("param value", key, value, MAX_PARAM_VALUE_LENGTH)
}

/// Checks a run tag: its key, and a value of at most 8000 characters.
pub fn tag(key: &str, value: &str) -> Result<(), ValidationError> {
    self::key("tag", key)?;
    length("tag value", key, value, MAX_TAG_VALUE_LENGTH)
}

/// Checks an experiment tag: its key, and a value of at most 20000 characters.
pub fn experiment_tag(key: &str, value: &str) -> Result<(), ValidationError> {
    self::key("experiment tag", key)?;
    length(
        "experiment tag value",
        key,
        value,
        MAX_EXPERIMENT_TAG_VALUE_LENGTH,
    )
}

/// Checks an experiment name: not blank, at most 500 characters.
pub fn experiment_name(name: &str) -> Result<(), ValidationError> {
    if name.trim().is_empty() {
        return Err(ValidationError::InvalidValue {
            field: "experiment name",
            value: name.to_string(),
            rule: "must not be empty".into(),
        });
    }
    length("experiment name", name, name, MAX_EXPERIMENT_NAME_LENGTH)
}

/// Checks a run name: at most 8000 characters.
pub fn run_name(name: &str) -> Result<(), ValidationError> {
    length("run name", name, name, MAX_RUN_NAME_LENGTH)
}

/// A malformed value: the field, the value and the rule it breaks.
pub(crate) fn invalid(
    field: &'static str,
    value: &str,
    rule: impl Into<String>,
) -> ValidationError {
    ValidationError::InvalidValue {
        field,
        value: value.to_string(),
        rule: rule.into(),
    }
}

/// True for MLflow's id characters: a letter or digit, then up to 255
/// letters, digits, `_` or `-`. Such an id can name a folder.
fn is_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && id.len() <= 256
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

const ID_RULE: &str =
    "must be 1 to 256 characters: a letter or digit, then letters, digits, '_' or '-'";

/// Checks a run id as MLflow does: a letter or digit, then up to 255 letters,
/// digits, `_` or `-`. New runs get 32 lowercase hex characters.
pub fn run_id(id: &str) -> Result<(), ValidationError> {
    if is_id(id) {
        Ok(())
    } else {
        Err(invalid("run id", id, ID_RULE))
    }
}

/// Longest logged model name, as MLflow allows.
pub const MAX_LOGGED_MODEL_NAME_LENGTH: usize = 500;
/// Longest logged model type.
pub const MAX_MODEL_TYPE_LENGTH: usize = 500;
/// Characters MLflow refuses in a new logged model's name.
const MODEL_NAME_FORBIDDEN: &[char] = &['/', ':', '.', '%', '"', '\''];

/// Checks a logged model id: the characters of a run id, so that it can
/// name a folder. New models get `m-` and 32 hex digits.
pub fn logged_model_id(id: &str) -> Result<(), ValidationError> {
    if is_id(id) {
        Ok(())
    } else {
        Err(invalid(
            "logged model id",
            id,
            format!("{ID_RULE} (new models get 'm-' and 32 hex digits)"),
        ))
    }
}

/// Checks a new logged model's name as MLflow does: not empty, none of
/// `/ : . % " '`, at most 500 characters.
pub fn logged_model_name(name: &str) -> Result<(), ValidationError> {
    if name.is_empty() || name.contains(MODEL_NAME_FORBIDDEN) {
        return Err(invalid(
            "logged model name",
            name,
            "must be a non-empty string without any of the characters / : . % \" '",
        ));
    }
    length(
        "logged model name",
        name,
        name,
        MAX_LOGGED_MODEL_NAME_LENGTH,
    )
}

/// Checks a logged model's tag keys.
pub fn logged_model_tags(tags: &[(String, String)]) -> Result<(), ValidationError> {
    for (k, _) in tags {
        key("logged model tag", k)?;
    }
    Ok(())
}

/// Checks a logged model's metric point: the model id, the key, the run
/// id and the dataset, when given.
pub fn logged_model_metric(m: &crate::entities::ModelMetric) -> Result<(), ValidationError> {
    logged_model_id(&m.model_id)?;
    key("metric", &m.key)?;
    if let Some(id) = &m.run_id {
        run_id(id)?;
    }
    if let Some(name) = &m.dataset_name {
        length("dataset name", &m.key, name, MAX_DATASET_NAME_LENGTH)?;
    }
    if let Some(digest) = &m.dataset_digest {
        length("dataset digest", &m.key, digest, MAX_DATASET_DIGEST_LENGTH)?;
    }
    Ok(())
}

/// Checks params for one call: MLflow's param rules, and one value per key
/// (the same key and value twice is accepted).
pub fn params(params: &[(String, String)]) -> Result<(), ValidationError> {
    for (k, v) in params {
        param(k, v)?;
    }
    for (i, (k, v)) in params.iter().enumerate() {
        if let Some((_, other)) = params[..i].iter().find(|(k2, v2)| k2 == k && v2 != v) {
            return Err(duplicate_param(k, other, v));
        }
    }
    Ok(())
}

/// Checks an experiment id: a string of decimal digits.
pub fn experiment_id(id: &str) -> Result<i64, ValidationError> {
    let fail = || ValidationError::InvalidValue {
        field: "experiment id",
        value: id.to_string(),
        rule: "must be a string of decimal digits, such as \"0\"".into(),
    };
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail());
    }
    id.parse::<i64>().map_err(|_| fail())
}

/// Checks the sizes of a `log_batch` call against MLflow's limits.
pub fn batch(metrics: usize, params: usize, tags: usize) -> Result<(), ValidationError> {
    let over = |what, count, limit| {
        (count > limit).then_some(ValidationError::BatchTooLarge { what, count, limit })
    };
    if let Some(e) = over("metrics", metrics, MAX_BATCH_METRICS)
        .or_else(|| over("params", params, MAX_BATCH_PARAMS))
        .or_else(|| over("tags", tags, MAX_BATCH_TAGS))
        .or_else(|| {
            over(
                "entries (metrics, params and tags together)",
                metrics + params + tags,
                MAX_BATCH_TOTAL,
            )
        })
    {
        return Err(e);
    }
    Ok(())
}

/// Longest dataset name.
pub const MAX_DATASET_NAME_LENGTH: usize = 500;
/// Longest dataset digest.
pub const MAX_DATASET_DIGEST_LENGTH: usize = 36;
/// Longest dataset source description.
pub const MAX_DATASET_SOURCE_LENGTH: usize = 65535;
/// Longest dataset schema.
pub const MAX_DATASET_SCHEMA_LENGTH: usize = 1_048_575;
/// Longest dataset profile.
pub const MAX_DATASET_PROFILE_LENGTH: usize = 16_777_215;
/// Longest input tag key.
pub const MAX_INPUT_TAG_KEY_LENGTH: usize = 255;
/// Longest input tag value.
pub const MAX_INPUT_TAG_VALUE_LENGTH: usize = 500;

/// Checks a dataset's fields against MLflow's limits.
pub fn dataset(d: &crate::entities::Dataset) -> Result<(), ValidationError> {
    length("dataset name", &d.name, &d.name, MAX_DATASET_NAME_LENGTH)?;
    length(
        "dataset digest",
        &d.name,
        &d.digest,
        MAX_DATASET_DIGEST_LENGTH,
    )?;
    length(
        "dataset source",
        &d.name,
        &d.source,
        MAX_DATASET_SOURCE_LENGTH,
    )?;
    if let Some(schema) = &d.schema {
        length("dataset schema", &d.name, schema, MAX_DATASET_SCHEMA_LENGTH)?;
    }
    if let Some(profile) = &d.profile {
        length(
            "dataset profile",
            &d.name,
            profile,
            MAX_DATASET_PROFILE_LENGTH,
        )?;
    }
    Ok(())
}

/// Checks an input tag: key up to 255 characters, value up to 500.
pub fn input_tag(key: &str, value: &str) -> Result<(), ValidationError> {
    length("input tag key", key, key, MAX_INPUT_TAG_KEY_LENGTH)?;
    length("input tag value", key, value, MAX_INPUT_TAG_VALUE_LENGTH)
}

/// The error for one batch that gives a param two different values.
pub fn duplicate_param(key: &str, first: &str, second: &str) -> ValidationError {
    ValidationError::InvalidValue {
        field: "param",
        value: key.to_string(),
        rule: format!(
            "the batch gives it two values, {first:?} and {second:?}; a param has one value"
        ),
    }
}

/// Checks an artifact path: relative, '/'-separated, each component a plain
/// name. Absolute paths, `.` and `..` components, empty components (a
/// leading, trailing or doubled '/'), backslashes and NUL are refused.
pub fn artifact_path(path: &str) -> Result<(), ValidationError> {
    let fail = |rule: &str| {
        Err(ValidationError::InvalidValue {
            field: "artifact path",
            value: path.to_string(),
            rule: rule.to_string(),
        })
    };
    if path.starts_with('/') {
        return fail(
            "must be relative to the run's artifact directory; absolute paths are refused",
        );
    }
    if path.contains('\\') {
        return fail("must use '/' as its separator; backslashes are refused");
    }
    if path.contains('\0') {
        return fail("must not contain NUL characters");
    }
    for component in path.split('/') {
        match component {
            "" => return fail("must not have empty components (a leading, trailing or doubled '/')"),
            ".." => return fail("must not contain '..' components; artifacts stay inside the run's artifact directory"),
            "." => return fail("must not contain '.' components"),
            _ => {}
        }
    }
    Ok(())
}

/// Longest registered model name: the column MLflow's SQL registry gives it.
pub const MAX_REGISTERED_MODEL_NAME_LENGTH: usize = 256;
/// Longest description of a registered model or a model version.
pub const MAX_REGISTRY_DESCRIPTION_LENGTH: usize = 5000;
/// Longest registry tag value (registered models and model versions).
pub const MAX_REGISTRY_TAG_VALUE_LENGTH: usize = 100_000;
/// Longest alias name.
pub const MAX_ALIAS_LENGTH: usize = 255;

/// Checks a registered model's name as MLflow does: not blank, neither
/// `/` nor `:`, and not a path that would move (`.`, `..`, `..x`); at most
/// 256 characters.
pub fn registered_model_name(name: &str) -> Result<(), ValidationError> {
    if name.trim().is_empty() {
        return Err(invalid("registered model name", name, "must not be empty"));
    }
    if name.contains(['/', ':']) {
        return Err(invalid(
            "registered model name",
            name,
            "names cannot contain '/' or ':'",
        ));
    }
    if name == "." || name.starts_with("..") {
        return Err(invalid(
            "registered model name",
            name,
            "must not be '.' or start with '..'",
        ));
    }
    length(
        "registered model name",
        name,
        name,
        MAX_REGISTERED_MODEL_NAME_LENGTH,
    )
}

/// Checks a registry tag (of a registered model or a model version): its
/// key as a run tag's, and a value of at most 100,000 characters.
pub fn registry_tag(key: &str, value: &str) -> Result<(), ValidationError> {
    self::key("registry tag", key)?;
    length(
        "registry tag value",
        key,
        value,
        MAX_REGISTRY_TAG_VALUE_LENGTH,
    )
}

/// Checks a registry description: at most 5000 characters.
pub fn registry_description(description: Option<&str>) -> Result<(), ValidationError> {
    match description {
        Some(d) => length(
            "description",
            "description",
            d,
            MAX_REGISTRY_DESCRIPTION_LENGTH,
        ),
        None => Ok(()),
    }
}

/// Checks an alias name as MLflow does: 1 to 255 letters, digits, `_` or
/// `-`.
pub fn alias_name(alias: &str) -> Result<(), ValidationError> {
    if alias.is_empty() {
        return Err(invalid("alias", alias, "an alias name must not be empty"));
    }
    if let Some(c) = alias
        .chars()
        .find(|&c| !(c.is_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(invalid(
            "alias",
            alias,
            format!("character {c:?} is not allowed; names may only contain letters, digits, underscores (_) and dashes (-)"),
        ));
    }
    length("alias", alias, alias, MAX_ALIAS_LENGTH)
}

/// Checks an alias that is to be set: a valid name that is not reserved.
/// `latest` (in any case) names a model's newest version and `v<digits>`
/// (`v3`, `V12`) names a version by number, so neither can be set.
pub fn settable_alias(alias: &str) -> Result<(), ValidationError> {
    alias_name(alias)?;
    if alias.eq_ignore_ascii_case("latest") {
        return Err(invalid(
            "alias",
            alias,
            "'latest' (in any case) is reserved: it names the model's newest version",
        ));
    }
    if is_version_alias(alias) {
        return Err(invalid(
            "alias",
            alias,
            "'v' followed by digits is reserved: it names a version by its number",
        ));
    }
    Ok(())
}

/// True for `v<digits>` or `V<digits>`.
fn is_version_alias(alias: &str) -> bool {
    let mut chars = alias.chars();
    matches!(chars.next(), Some('v' | 'V')) && alias.len() > 1 && chars.all(|c| c.is_ascii_digit())
}

/// Checks a model version number given as text, as MLflow takes it: an
/// integer (`"3"`).
pub fn model_version(version: &str) -> Result<i64, ValidationError> {
    version
        .trim()
        .parse::<i64>()
        .map_err(|_| invalid("model version", version, "must be an integer, such as 3"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_mlflow_rules() {
        for good in [
            "loss",
            "val/acc",
            "a b:c-d_e.f",
            "ünïcode",
            "x".repeat(250).as_str(),
        ] {
            key("metric", good).unwrap();
        }
        for bad in [
            "",
            "/abs",
            "a/../b",
            "..",
            "./a",
            "a//b",
            "a/",
            "semi;colon",
            "x".repeat(251).as_str(),
        ] {
            let err = key("metric", bad).unwrap_err();
            assert!(matches!(err, ValidationError::InvalidKey { ref key, .. } if key == bad));
        }
        let msg = key("param", "a;b").unwrap_err().to_string();
        assert!(
            msg.contains("param key \"a;b\"") && msg.contains("';'"),
            "{msg}"
        );
    }

    #[test]
    fn registry_names_and_aliases() {
        for good in ["iris-classifier", "a b", "ünï", "x.y", ".x"] {
            registered_model_name(good).unwrap();
        }
        for bad in ["", "  ", "a/b", "a:b", ".", "..", "..x"] {
            assert!(registered_model_name(bad).is_err(), "{bad}");
        }
        for good in ["champion", "a-b_c", "v", "vx1", "ünï"] {
            settable_alias(good).unwrap();
        }
        for bad in ["", "latest", "LaTeSt", "v1", "V22", "a b", "a.b"] {
            assert!(settable_alias(bad).is_err(), "{bad}");
        }
        alias_name("latest").unwrap();
        assert!(alias_name(&"a".repeat(256)).is_err());
        assert_eq!(model_version(" 3").unwrap(), 3);
        assert!(model_version("x").is_err());
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        param("k", &"é".repeat(6000)).unwrap();
        let err = param("k", &"é".repeat(6001)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "param value for key \"k\" is 6001 characters long; the limit is 6000"
        );
        tag("t", &"x".repeat(8000)).unwrap();
        assert!(tag("t", &"x".repeat(8001)).is_err());
        experiment_tag("t", &"x".repeat(20000)).unwrap();
        assert!(experiment_tag("t", &"x".repeat(20001)).is_err());
    }

    #[test]
    fn batch_limits() {
        batch(1000, 0, 0).unwrap();
        batch(900, 50, 50).unwrap();
        assert_eq!(
            batch(1001, 0, 0).unwrap_err().to_string(),
            "a batch may hold at most 1000 metrics, this one holds 1001"
        );
        assert!(batch(0, 101, 0).is_err());
        assert!(batch(0, 0, 101).is_err());
        assert!(batch(950, 30, 30).is_err());
    }

    #[test]
    fn ids() {
        run_id("0123456789abcdef0123456789abcdef").unwrap();
        assert!(run_id("").is_err());
        assert!(run_id("../etc").is_err());
        assert_eq!(experiment_id("42").unwrap(), 42);
        assert!(experiment_id("4a").is_err());
        assert!(experiment_id("").is_err());
    }
}
