//! What identifiers mean in searches of the model registry, after MLflow's
//! `SearchModelUtils` (registered models) and `SearchModelVersionUtils`
//! (model versions):
//!
//! | identifier                                  | searched | comparators | value |
//! |---------------------------------------------|----------|-------------|-------|
//! | `name`                                      | both     | `= != LIKE ILIKE IN NOT IN` | quoted text or list |
//! | `run_id`                                    | versions | `= != LIKE ILIKE IN NOT IN` | quoted text or list |
//! | `source_path`                               | versions | `= != LIKE ILIKE`           | quoted text |
//! | `version_number`                            | versions | `= != < <= > >=`            | integer, or an integer quoted |
//! | `tags.<key>` (`tag.<key>`)                  | both     | `= != LIKE ILIKE`           | quoted text |
//!
//! An attribute may be written `attribute.<name>`. Registered models are
//! ordered by `name` and `last_updated_timestamp` (or `timestamp`), as
//! MLflow's SQL registry takes them (ties by name); versions also by `version_number` (ties by name, then
//! newest version first).

use super::ast::{
    NumTest, Number, RegistryClause, RegistryOrder, RegistrySortKey, NUMERIC, TEXT, TEXT_OR_LIST,
};
use super::lexer::{Literal, Scan, SyntaxError};
use super::logged_models::split_order_clause;
use super::parser::{self, RawClause, RawValue};
use super::values::{check_comparator, non_empty_key, text_test};
use crate::error::{Error, Result};

/// Which registry entity a search is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Searched {
    RegisteredModels,
    ModelVersions,
}

impl Searched {
    fn attributes(self) -> &'static str {
        match self {
            Searched::RegisteredModels => "name",
            Searched::ModelVersions => "name, run_id, source_path, version_number",
        }
    }

    fn sort_keys(self) -> &'static str {
        match self {
            Searched::RegisteredModels => "name, last_updated_timestamp (or timestamp)",
            Searched::ModelVersions => {
                "name, version_number, creation_timestamp, last_updated_timestamp"
            }
        }
    }
}

/// The number of a `version_number` clause: an integer, written bare or
/// quoted, as MLflow takes it.
fn version_number(clause: &RawClause) -> Scan<NumTest> {
    let value = clause
        .value
        .as_ref()
        .expect("numeric comparators carry a value");
    let parsed = match &value.value {
        RawValue::Scalar(Literal::Number {
            text,
            integer: true,
        }) => text.parse::<i64>().ok(),
        RawValue::Scalar(Literal::Text(text, _)) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    match parsed {
        Some(n) => Ok(NumTest {
            op: clause.op.value,
            value: Number::Int(n),
        }),
        None => Err(SyntaxError::at(
            value,
            format!(
                "invalid value for numeric attribute 'version_number': {}; expected an integer",
                value.text
            ),
        )),
    }
}

fn resolve(clause: &RawClause, searched: Searched) -> Scan<RegistryClause> {
    let key = &clause.ident.key;
    let is_tag = match &clause.ident.entity {
        None => false,
        Some(e) => match e.value.as_str() {
            "tags" | "tag" => true,
            "attribute" | "attributes" | "attr" => false,
            other => {
                return Err(SyntaxError::at(
                    e,
                    format!("invalid entity type '{other}'; expected one of attribute, tags"),
                ))
            }
        },
    };
    if is_tag {
        let name = non_empty_key(key, "tag")?;
        let field = format!("tag '{name}'");
        check_comparator(clause, TEXT, &field)?;
        return Ok(RegistryClause::Tag {
            test: text_test(clause, &field)?,
            key: name,
        });
    }
    let versions = searched == Searched::ModelVersions;
    let field = format!("attribute {}", key.value);
    Ok(match key.value.as_str() {
        "name" => {
            check_comparator(clause, TEXT_OR_LIST, &field)?;
            RegistryClause::Name(text_test(clause, &field)?)
        }
        "run_id" if versions => {
            check_comparator(clause, TEXT_OR_LIST, &field)?;
            RegistryClause::RunId(text_test(clause, &field)?)
        }
        "source_path" if versions => {
            check_comparator(clause, TEXT, &field)?;
            RegistryClause::SourcePath(text_test(clause, &field)?)
        }
        "version_number" if versions => {
            check_comparator(clause, NUMERIC, &field)?;
            RegistryClause::Version(version_number(clause)?)
        }
        other => {
            return Err(SyntaxError::at(
                key,
                format!(
                    "invalid attribute key '{other}'; expected one of {}, or tags.<key>",
                    searched.attributes()
                ),
            ))
        }
    })
}

/// Parses a registry filter; an empty (or blank) filter has no clauses.
pub fn parse_filter(input: &str, searched: Searched) -> Result<Vec<RegistryClause>> {
    let invalid = |e| super::invalid("filter", input, e);
    let raw = parser::filter(input).map_err(invalid)?;
    raw.iter()
        .map(|c| resolve(c, searched).map_err(invalid))
        .collect()
}

fn order_error(clause: &str, message: String) -> Error {
    Error::InvalidFilter {
        what: "order_by clause",
        input: clause.to_string(),
        position: 0,
        token: clause.to_string(),
        message,
    }
}

/// Resolves order_by clauses written as text (`name ASC`,
/// `version_number DESC`); a field given twice is an error.
pub fn parse_order_by(order_by: &[String], searched: Searched) -> Result<Vec<RegistryOrder>> {
    let mut out: Vec<RegistryOrder> = Vec::with_capacity(order_by.len());
    for clause in order_by {
        let (field, ascending) = split_order_clause(clause)?;
        let bare = field
            .strip_prefix("attribute.")
            .or_else(|| field.strip_prefix("attributes."))
            .unwrap_or(field)
            .trim_matches('`');
        let key = match bare {
            "name" => RegistrySortKey::Name,
            "version_number" if searched == Searched::ModelVersions => RegistrySortKey::Version,
            // MLflow's registered-model order does not take it.
            "creation_timestamp" if searched == Searched::ModelVersions => {
                RegistrySortKey::CreationTime
            }
            "last_updated_timestamp" => RegistrySortKey::LastUpdatedTime,
            // MLflow's registered-model order also takes `timestamp`.
            "timestamp" if searched == Searched::RegisteredModels => {
                RegistrySortKey::LastUpdatedTime
            }
            _ => {
                return Err(order_error(
                    clause,
                    format!(
                        "invalid order_by field '{field}'; expected one of {}",
                        searched.sort_keys()
                    ),
                ))
            }
        };
        if out.iter().any(|o| o.key == key) {
            return Err(order_error(
                clause,
                format!("order_by names the field '{bare}' twice"),
            ));
        }
        out.push(RegistryOrder { key, ascending });
    }
    Ok(out)
}

/// MLflow's tag that marks a registered model (and its versions) as a
/// prompt. Searches leave prompts out unless the filter asks for them.
pub const IS_PROMPT_TAG: &str = "mlflow.prompt.is_prompt";

/// Whether a filter asks for prompts, as MLflow decides it: its first
/// clause on the prompt tag is `= 'true'` or `!= 'false'` (in any case).
/// When it does not, clauses on the prompt tag are dropped and prompts
/// are left out.
pub fn split_prompt_clauses(clauses: Vec<RegistryClause>) -> (Vec<RegistryClause>, bool) {
    use super::ast::TextTest;
    let asks = clauses.iter().find_map(|c| match c {
        RegistryClause::Tag { key, test } if key == IS_PROMPT_TAG => Some(match test {
            TextTest::Eq(v) => v.eq_ignore_ascii_case("true"),
            TextTest::Ne(v) => v.eq_ignore_ascii_case("false"),
            _ => false,
        }),
        _ => None,
    });
    let prompts = asks.unwrap_or(false);
    if prompts {
        return (clauses, true);
    }
    let kept = clauses
        .into_iter()
        .filter(|c| !matches!(c, RegistryClause::Tag { key, .. } if key == IS_PROMPT_TAG))
        .collect();
    (kept, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::ast::{Comparator, TextTest};

    fn one(input: &str, searched: Searched) -> RegistryClause {
        let mut v = parse_filter(input, searched).unwrap();
        assert_eq!(v.len(), 1, "{input}");
        v.remove(0)
    }

    #[test]
    fn filters() {
        use Searched::*;
        assert_eq!(
            one("name = 'iris'", RegisteredModels),
            RegistryClause::Name(TextTest::Eq("iris".into()))
        );
        assert_eq!(
            one("tags.`a b` ILIKE '%x%'", RegisteredModels),
            RegistryClause::Tag {
                key: "a b".into(),
                test: TextTest::ILike("%x%".into())
            }
        );
        assert_eq!(
            one("version_number >= '3'", ModelVersions),
            RegistryClause::Version(NumTest {
                op: Comparator::Ge,
                value: Number::Int(3)
            })
        );
        assert_eq!(
            one("run_id IN ('a', 'b')", ModelVersions),
            RegistryClause::RunId(TextTest::In(vec!["a".into(), "b".into()]))
        );
        for bad in [
            "run_id = 'x'",
            "version_number = 1",
            "tags.x IN ('a')",
            "name > 'a'",
            "foo.x = 'a'",
            "tags.x IS NULL",
        ] {
            assert!(parse_filter(bad, RegisteredModels).is_err(), "{bad}");
        }
        for bad in [
            "version_number = 1.5",
            "version_number = 'x'",
            "source_path IN ('a')",
            "creation_timestamp > 1",
            "name = 'a' OR name = 'b'",
        ] {
            assert!(parse_filter(bad, ModelVersions).is_err(), "{bad}");
        }
    }

    #[test]
    fn order_by() {
        let o = |f: &[&str], s| {
            let v: Vec<String> = f.iter().map(|x| x.to_string()).collect();
            parse_order_by(&v, s)
        };
        let got = o(&["version_number DESC", "name"], Searched::ModelVersions).unwrap();
        assert_eq!(got[0].key, RegistrySortKey::Version);
        assert!(!got[0].ascending && got[1].ascending);
        assert!(o(&["version_number"], Searched::RegisteredModels).is_err());
        assert!(o(&["creation_timestamp"], Searched::RegisteredModels).is_err());
        assert!(o(&["creation_timestamp"], Searched::ModelVersions).is_ok());
        assert!(o(&["name", "name DESC"], Searched::ModelVersions).is_err());
        assert!(o(&["size"], Searched::ModelVersions).is_err());
    }

    #[test]
    fn prompts_are_left_out_unless_asked_for() {
        let parse = |f| parse_filter(f, Searched::RegisteredModels).unwrap();
        let (kept, prompts) =
            split_prompt_clauses(parse("tags.`mlflow.prompt.is_prompt` = 'TRUE'"));
        assert!(prompts && kept.len() == 1);
        let (kept, prompts) = split_prompt_clauses(parse(
            "name = 'a' AND tags.`mlflow.prompt.is_prompt` = 'false'",
        ));
        assert!(!prompts && kept.len() == 1);
    }
}
