//! What identifiers mean in a logged-model search, after MLflow's
//! `SearchLoggedModelsUtils`:
//!
//! | entity (aliases)                           | comparators                                   | value |
//! |--------------------------------------------|-----------------------------------------------|-------|
//! | `attributes` (`attribute`, `attr`, none): `name`, `model_id`, `status`, `model_type`, `source_run_id`, `artifact_location` | `= != LIKE ILIKE IN NOT IN` | quoted text or list |
//! | `attributes`: `creation_timestamp` (`creation_time`), `last_updated_timestamp` | `= != < <= > >=` | number |
//! | `metrics` (`metric`)                       | `= != < <= > >=`                              | number |
//! | `params` (`param`, `parameter(s)`), `tags` (`tag`) | `= != LIKE ILIKE IN NOT IN IS NULL IS NOT NULL` | quoted text or list |
//!
//! Models are ordered by attributes and by `metrics.<key>`, optionally on
//! a dataset; see [`crate::LoggedModelOrder`].

use super::ast::{
    ModelClause, ModelOrder, ModelSortKey, ModelText, ModelTime, KEYED_TEXT_OR_LIST, NUMERIC,
    TEXT_OR_LIST,
};
use super::lexer::{Scan, SyntaxError};
use super::parser::{self, RawClause};
use super::values::{check_comparator, key_test, non_empty_key, num_test, text_test};
use crate::error::{Error, Result};
use crate::LoggedModelOrder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attribute {
    Text(ModelText),
    Time(ModelTime),
}

impl Attribute {
    fn sort_key(self) -> ModelSortKey {
        match self {
            Attribute::Text(a) => ModelSortKey::Text(a),
            Attribute::Time(a) => ModelSortKey::Time(a),
        }
    }
}

const ATTRIBUTES: &str = "name, model_id, status, model_type, source_run_id, artifact_location, creation_timestamp, last_updated_timestamp";

/// A model attribute, by any of MLflow's spellings.
fn attribute(name: &str) -> Option<Attribute> {
    Some(match name {
        "name" => Attribute::Text(ModelText::Name),
        "model_id" => Attribute::Text(ModelText::ModelId),
        "status" => Attribute::Text(ModelText::Status),
        "model_type" => Attribute::Text(ModelText::ModelType),
        "source_run_id" => Attribute::Text(ModelText::SourceRunId),
        "artifact_location" | "artifact_uri" => Attribute::Text(ModelText::ArtifactLocation),
        "creation_timestamp" | "creation_time" | "creation_timestamp_ms" => {
            Attribute::Time(ModelTime::Creation)
        }
        "last_updated_timestamp" | "last_updated_timestamp_ms" => {
            Attribute::Time(ModelTime::LastUpdated)
        }
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Attribute,
    Metric,
    Param,
    Tag,
}

const ENTITIES: &str = "attributes, metrics, params, tags";

fn entity(name: &str) -> Option<Entity> {
    Some(match name {
        "attributes" | "attribute" | "attr" => Entity::Attribute,
        "metrics" | "metric" => Entity::Metric,
        "params" | "param" | "parameters" | "parameter" => Entity::Param,
        "tags" | "tag" => Entity::Tag,
        _ => return None,
    })
}

fn resolve(clause: &RawClause) -> Scan<ModelClause> {
    let key = &clause.ident.key;
    let which = match &clause.ident.entity {
        None => Entity::Attribute,
        Some(e) => entity(&e.value).ok_or_else(|| {
            SyntaxError::at(
                e,
                format!(
                    "invalid entity type '{}'; expected one of {ENTITIES}",
                    e.value
                ),
            )
        })?,
    };
    Ok(match which {
        Entity::Metric => {
            let name = non_empty_key(key, "metric")?;
            let field = format!("metric '{name}'");
            check_comparator(clause, NUMERIC, &field)?;
            ModelClause::Metric {
                test: num_test(clause, &field, false)?,
                key: name,
            }
        }
        Entity::Param | Entity::Tag => {
            let kind = if which == Entity::Param {
                "param"
            } else {
                "tag"
            };
            let name = non_empty_key(key, kind)?;
            let field = format!("{kind} '{name}'");
            check_comparator(clause, KEYED_TEXT_OR_LIST, &field)?;
            let test = key_test(clause, &field)?;
            if which == Entity::Param {
                ModelClause::Param { key: name, test }
            } else {
                ModelClause::Tag { key: name, test }
            }
        }
        Entity::Attribute => match attribute(&key.value) {
            Some(Attribute::Text(a)) => {
                let field = format!("attribute {}", key.value);
                check_comparator(clause, TEXT_OR_LIST, &field)?;
                ModelClause::Text {
                    attribute: a,
                    test: text_test(clause, &field)?,
                }
            }
            Some(Attribute::Time(a)) => {
                let field = format!("attribute {}", key.value);
                check_comparator(clause, NUMERIC, &field)?;
                ModelClause::Time {
                    attribute: a,
                    test: num_test(clause, &field, false)?,
                }
            }
            None => {
                return Err(SyntaxError::at(
                    key,
                    format!(
                        "invalid attribute key '{}'; expected one of {ATTRIBUTES}",
                        key.value
                    ),
                ))
            }
        },
    })
}

/// Parses a model filter; an empty (or blank) filter has no clauses.
pub fn parse_filter(input: &str) -> Result<Vec<ModelClause>> {
    let invalid = |e| super::invalid("filter", input, e);
    let raw = parser::filter(input).map_err(invalid)?;
    raw.iter().map(|c| resolve(c).map_err(invalid)).collect()
}

/// Splits an order_by clause written as text into its field and its
/// direction: a field, then `ASC` or `DESC` (any case; default ascending).
pub fn split_order_clause(clause: &str) -> Result<(&str, bool)> {
    let clause = clause.trim();
    let (field, ascending) = match clause.rsplit_once(char::is_whitespace) {
        Some((f, d)) if d.eq_ignore_ascii_case("asc") => (f.trim_end(), true),
        Some((f, d)) if d.eq_ignore_ascii_case("desc") => (f.trim_end(), false),
        _ => (clause, true),
    };
    if field.is_empty() {
        return Err(order_error(
            clause,
            "an order_by clause names a field and an optional direction, such as `metrics.accuracy DESC`",
        ));
    }
    Ok((field, ascending))
}

fn order_error(field: &str, message: impl Into<String>) -> Error {
    Error::InvalidFilter {
        what: "order_by clause",
        input: field.to_string(),
        position: 0,
        token: field.to_string(),
        message: message.into(),
    }
}

/// Strips one pair of backticks or double quotes around a key.
fn unquote(key: &str) -> &str {
    for q in ['`', '"'] {
        if let Some(inner) = key.strip_prefix(q).and_then(|k| k.strip_suffix(q)) {
            if !inner.is_empty() {
                return inner;
            }
        }
    }
    key
}

/// Resolves order_by clauses. As in MLflow, a field with a dot is an
/// entity and a key (`metrics.<key>`, the key taken as written), one
/// without is an attribute.
pub fn parse_order_by(order_by: &[LoggedModelOrder]) -> Result<Vec<ModelOrder>> {
    order_by
        .iter()
        .map(|o| {
            let field = o.field.trim();
            let key = match field.split_once('.') {
                None => match attribute(unquote(field)).map(Attribute::sort_key) {
                    Some(key) => key,
                    None => {
                        return Err(order_error(
                            field,
                            format!("invalid order_by field '{field}'; expected one of {ATTRIBUTES}, or metrics.<key>"),
                        ))
                    }
                },
                Some((e, k)) => match (entity(unquote(e)), unquote(k)) {
                    (Some(Entity::Metric), k) if !k.is_empty() => ModelSortKey::Metric {
                        key: k.to_string(),
                        dataset_name: o.dataset_name.clone(),
                        dataset_digest: o.dataset_digest.clone(),
                    },
                    (Some(Entity::Attribute), k) => match attribute(k).map(Attribute::sort_key) {
                        Some(key) => key,
                        None => {
                            return Err(order_error(
                                field,
                                format!("invalid attribute '{k}'; expected one of {ATTRIBUTES}"),
                            ))
                        }
                    },
                    _ => {
                        return Err(order_error(
                            field,
                            format!("invalid order_by field '{field}'; models are ordered by attributes ({ATTRIBUTES}) or metrics.<key>"),
                        ))
                    }
                },
            };
            let is_metric = matches!(key, ModelSortKey::Metric { .. });
            if !is_metric && (o.dataset_name.is_some() || o.dataset_digest.is_some()) {
                return Err(order_error(
                    field,
                    "dataset_name and dataset_digest may only be given when ordering by a metric",
                ));
            }
            if o.dataset_digest.is_some() && o.dataset_name.is_none() {
                return Err(order_error(
                    field,
                    "dataset_digest may only be given with dataset_name",
                ));
            }
            Ok(ModelOrder {
                key,
                ascending: o.ascending,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::ast::{Comparator, KeyTest, NumTest, Number, TextTest};

    fn one(input: &str) -> ModelClause {
        let mut v = parse_filter(input).unwrap();
        assert_eq!(v.len(), 1, "{input}");
        v.remove(0)
    }

    #[test]
    fn filters() {
        assert_eq!(
            one("name = 'm'"),
            ModelClause::Text {
                attribute: ModelText::Name,
                test: TextTest::Eq("m".into())
            }
        );
        assert_eq!(
            one("attributes.creation_time >= 5"),
            ModelClause::Time {
                attribute: ModelTime::Creation,
                test: NumTest {
                    op: Comparator::Ge,
                    value: Number::Int(5)
                }
            }
        );
        assert_eq!(
            one("tags.`a b` IN ('x', 'y')"),
            ModelClause::Tag {
                key: "a b".into(),
                test: KeyTest::Value(TextTest::In(vec!["x".into(), "y".into()]))
            }
        );
        assert!(matches!(
            one("params.lr IS NULL"),
            ModelClause::Param {
                test: KeyTest::IsNull,
                ..
            }
        ));
        assert!(matches!(
            one("metrics.acc > 0.5"),
            ModelClause::Metric { .. }
        ));
        for bad in [
            "foo = 'x'",
            "runs.x = 'a'",
            "metrics.acc LIKE 'a'",
            "name > 'a'",
            "creation_time = 'x'",
            "name = 'a' OR name = 'b'",
        ] {
            assert!(
                matches!(parse_filter(bad), Err(Error::InvalidFilter { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn order_by() {
        let o = |f: &str| parse_order_by(&[LoggedModelOrder::new(f, false)]);
        assert_eq!(
            o("creation_timestamp").unwrap()[0].key,
            ModelSortKey::Time(ModelTime::Creation)
        );
        assert_eq!(
            o("metrics.f1 score").unwrap()[0].key,
            ModelSortKey::Metric {
                key: "f1 score".into(),
                dataset_name: None,
                dataset_digest: None
            }
        );
        assert!(o("params.x").is_err());
        assert!(o("size").is_err());
        let mut with_dataset = LoggedModelOrder::new("name", true);
        with_dataset.dataset_name = Some("d".into());
        assert!(parse_order_by(&[with_dataset]).is_err());
        let parsed = LoggedModelOrder::parse("  metrics.`a b`   desc ").unwrap();
        assert_eq!(parsed, LoggedModelOrder::new("metrics.`a b`", false));
        assert!(LoggedModelOrder::parse(" ").is_err());
        assert_eq!(split_order_clause("name").unwrap(), ("name", true));
    }
}
