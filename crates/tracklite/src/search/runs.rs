//! What identifiers mean in a run search, and which comparators and values
//! each takes, after MLflow's `SearchUtils`:
//!
//! | entity (aliases)                               | comparators                       | value          |
//! |------------------------------------------------|-----------------------------------|----------------|
//! | `metrics` (`metric`)                           | `= != < <= > >=`                  | number         |
//! | `params` (`param`, `parameter`, `parameters`)  | `= != LIKE ILIKE IS NULL IS NOT NULL` | quoted text |
//! | `tags` (`tag`)                                 | as params                         | quoted text    |
//! | `attributes` (`attribute`, `attr`, `run`, none)| text: `= != LIKE ILIKE` (`run_id`: also `IN`, `NOT IN`); `start_time`, `end_time`, `created`: numeric | |
//! | `datasets` (`dataset`): `name`, `digest`, `context` | `= != LIKE ILIKE IN NOT IN`  | quoted text or list |

use super::ast::{
    DatasetField, NumAttribute, OrderBy, RunClause, RunSortKey, TextAttribute, KEYED_TEXT, NUMERIC,
    TEXT_OR_LIST,
};
use super::lexer::{Scan, Spanned, SyntaxError};
use super::parser::{self, Identifier, RawClause};
use super::values::{check_comparator, key_test, non_empty_key, num_test, text_test};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Metric,
    Param,
    Tag,
    Attribute,
    Dataset,
}

const ENTITIES: &str =
    "metric(s), param(s), parameter(s), tag(s), attribute(s), attr, run, dataset(s)";

fn entity(name: &Spanned<String>) -> Scan<Entity> {
    Ok(match name.value.as_str() {
        "metric" | "metrics" => Entity::Metric,
        "param" | "params" | "parameter" | "parameters" => Entity::Param,
        "tag" | "tags" => Entity::Tag,
        "attribute" | "attributes" | "attr" | "run" => Entity::Attribute,
        "dataset" | "datasets" => Entity::Dataset,
        other => {
            return Err(SyntaxError::at(
                name,
                format!("invalid entity type '{other}'; expected one of {ENTITIES}"),
            ))
        }
    })
}

/// A run attribute, by any of MLflow's spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attribute {
    Text(TextAttribute),
    Numeric(NumAttribute),
}

const FILTER_ATTRIBUTES: &str =
    "run_id, run_name, status, user_id, artifact_uri, start_time, end_time, created";
const ORDER_ATTRIBUTES: &str =
    "run_id, run_name, status, user_id, artifact_uri, start_time, end_time, created";

fn attribute(key: &Spanned<String>, for_order: bool) -> Scan<Attribute> {
    Ok(match key.value.as_str() {
        "run_id" => Attribute::Text(TextAttribute::RunId),
        "run_name" => Attribute::Text(TextAttribute::RunName),
        // MLflow accepts these spellings of the run name in filters only.
        "run name" | "Run name" | "Run Name" if !for_order => {
            Attribute::Text(TextAttribute::RunName)
        }
        "status" => Attribute::Text(TextAttribute::Status),
        "user_id" => Attribute::Text(TextAttribute::UserId),
        "artifact_uri" => Attribute::Text(TextAttribute::ArtifactUri),
        "start_time" | "created" | "Created" => Attribute::Numeric(NumAttribute::StartTime),
        "end_time" => Attribute::Numeric(NumAttribute::EndTime),
        other => {
            let valid = if for_order {
                ORDER_ATTRIBUTES
            } else {
                FILTER_ATTRIBUTES
            };
            return Err(SyntaxError::at(
                key,
                format!("invalid attribute key '{other}'; expected one of {valid}"),
            ));
        }
    })
}

fn text_attribute_name(a: TextAttribute) -> &'static str {
    match a {
        TextAttribute::RunId => "run_id",
        TextAttribute::RunName => "run_name",
        TextAttribute::Status => "status",
        TextAttribute::UserId => "user_id",
        TextAttribute::ArtifactUri => "artifact_uri",
    }
}

fn entity_of(ident: &Identifier) -> Scan<Entity> {
    match &ident.entity {
        Some(e) => entity(e),
        None => Ok(Entity::Attribute),
    }
}

fn resolve(clause: &RawClause) -> Scan<RunClause> {
    let key = &clause.ident.key;
    Ok(match entity_of(&clause.ident)? {
        Entity::Metric => {
            let name = non_empty_key(key, "metric")?;
            let field = format!("metric '{name}'");
            check_comparator(clause, NUMERIC, &field)?;
            RunClause::Metric {
                test: num_test(clause, &field, false)?,
                key: name,
            }
        }
        Entity::Param => {
            let name = non_empty_key(key, "param")?;
            let field = format!("param '{name}'");
            check_comparator(clause, KEYED_TEXT, &field)?;
            RunClause::Param {
                test: key_test(clause, &field)?,
                key: name,
            }
        }
        Entity::Tag => {
            let name = non_empty_key(key, "tag")?;
            let field = format!("tag '{name}'");
            check_comparator(clause, KEYED_TEXT, &field)?;
            RunClause::Tag {
                test: key_test(clause, &field)?,
                key: name,
            }
        }
        Entity::Attribute => match attribute(key, false)? {
            Attribute::Text(a) => {
                let field = format!("attribute {}", text_attribute_name(a));
                check_comparator(clause, TEXT_OR_LIST, &field)?;
                let op = clause.op.value;
                if a != TextAttribute::RunId
                    && matches!(
                        op,
                        super::ast::Comparator::In | super::ast::Comparator::NotIn
                    )
                {
                    return Err(SyntaxError::at(
                        &clause.op,
                        format!("only run_id supports {op} with a list of quoted strings; {field} takes =, !=, LIKE or ILIKE"),
                    ));
                }
                RunClause::Text {
                    attribute: a,
                    test: text_test(clause, &field)?,
                }
            }
            Attribute::Numeric(a) => {
                let field = format!("attribute {}", key.value);
                check_comparator(clause, NUMERIC, &field)?;
                RunClause::Numeric {
                    attribute: a,
                    test: num_test(clause, &field, false)?,
                }
            }
        },
        Entity::Dataset => {
            let field = match key.value.as_str() {
                "name" => DatasetField::Name,
                "digest" => DatasetField::Digest,
                "context" => DatasetField::Context,
                other => {
                    return Err(SyntaxError::at(
                        key,
                        format!(
                            "invalid dataset key '{other}'; expected one of name, digest, context"
                        ),
                    ))
                }
            };
            let name = format!("dataset {}", key.value);
            check_comparator(clause, TEXT_OR_LIST, &name)?;
            RunClause::Dataset {
                field,
                test: text_test(clause, &name)?,
            }
        }
    })
}

/// Parses a run filter; an empty (or blank) filter has no clauses.
pub fn parse_filter(input: &str) -> Result<Vec<RunClause>> {
    let invalid = |e| super::invalid("filter", input, e);
    let raw = parser::filter(input).map_err(invalid)?;
    raw.iter().map(|c| resolve(c).map_err(invalid)).collect()
}

fn sort_key(ident: &Identifier) -> Scan<RunSortKey> {
    let key = &ident.key;
    Ok(match entity_of(ident)? {
        Entity::Metric => RunSortKey::Metric(non_empty_key(key, "metric")?),
        Entity::Param => RunSortKey::Param(non_empty_key(key, "param")?),
        Entity::Tag => RunSortKey::Tag(non_empty_key(key, "tag")?),
        Entity::Attribute => match attribute(key, true)? {
            Attribute::Text(a) => RunSortKey::Text(a),
            Attribute::Numeric(a) => RunSortKey::Numeric(a),
        },
        Entity::Dataset => {
            return Err(SyntaxError::at(
                &ident.whole,
                "runs cannot be ordered by dataset fields; order by metrics, params, tags or attributes",
            ))
        }
    })
}

/// Parses order_by clauses; the same field twice is an error, as in MLflow.
pub fn parse_order_by(clauses: &[&str]) -> Result<Vec<OrderBy<RunSortKey>>> {
    let mut out: Vec<OrderBy<RunSortKey>> = Vec::with_capacity(clauses.len());
    for input in clauses {
        let invalid = |e| super::invalid("order_by clause", input, e);
        let (ident, ascending) = parser::order_by(input).map_err(invalid)?;
        let key = sort_key(&ident).map_err(invalid)?;
        if out.iter().any(|o| o.key == key) {
            return Err(invalid(SyntaxError::at(
                &ident.whole,
                format!(
                    "order_by names the same field twice (order_by: {:?})",
                    clauses
                ),
            )));
        }
        out.push(OrderBy { key, ascending });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::search::ast::{Comparator, KeyTest, NumTest, Number, TextTest};

    fn one(input: &str) -> RunClause {
        let mut v = parse_filter(input).unwrap();
        assert_eq!(v.len(), 1, "{input}");
        v.remove(0)
    }

    fn err(input: &str) -> (usize, String, String) {
        match parse_filter(input).unwrap_err() {
            Error::InvalidFilter {
                position,
                token,
                message,
                ..
            } => (position, token, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn aliases() {
        for prefix in ["metric", "metrics"] {
            assert!(matches!(
                one(&format!("{prefix}.m > 1")),
                RunClause::Metric { .. }
            ));
        }
        for prefix in ["param", "params", "parameter", "parameters", "`params`"] {
            assert!(matches!(
                one(&format!("{prefix}.p = 'a'")),
                RunClause::Param { .. }
            ));
        }
        for prefix in ["attr.", "attribute.", "attributes.", "run.", ""] {
            assert_eq!(
                one(&format!("{prefix}status = 'FINISHED'")),
                RunClause::Text {
                    attribute: TextAttribute::Status,
                    test: TextTest::Eq("FINISHED".into())
                }
            );
        }
        assert_eq!(
            one("created >= 5"),
            RunClause::Numeric {
                attribute: NumAttribute::StartTime,
                test: NumTest {
                    op: Comparator::Ge,
                    value: Number::Int(5)
                }
            }
        );
        assert!(matches!(
            one("`Run Name` LIKE 'a%'"),
            RunClause::Text {
                attribute: TextAttribute::RunName,
                ..
            }
        ));
        assert_eq!(
            one("tags.x IS NULL"),
            RunClause::Tag {
                key: "x".into(),
                test: KeyTest::IsNull
            }
        );
    }

    #[test]
    fn errors() {
        let (pos, token, msg) = err("params.x > 'a'");
        assert_eq!((pos, token.as_str()), (9, ">"));
        assert!(msg.contains("not allowed for param 'x'"), "{msg}");
        let (pos, token, _) = err("foo.x = 'a'");
        assert_eq!((pos, token.as_str()), (0, "foo"));
        let (pos, _, msg) = err("metrics.x = '1'");
        assert_eq!(pos, 12);
        assert!(msg.contains("expected a number"), "{msg}");
        let (_, _, msg) = err("status IN ('a')");
        assert!(msg.contains("only run_id"), "{msg}");
        let (_, _, msg) = err("metrics.x IS NULL");
        assert!(msg.contains("only supported for tags and params"), "{msg}");
        let (pos, token, _) = err("params.x = abc");
        assert_eq!((pos, token.as_str()), (11, "abc"));
    }

    #[test]
    fn order_by() {
        let o = parse_order_by(&["metrics.m DESC", "created", "params.`a b` asc"]).unwrap();
        assert_eq!(o[0].key, RunSortKey::Metric("m".into()));
        assert!(!o[0].ascending);
        assert_eq!(o[1].key, RunSortKey::Numeric(NumAttribute::StartTime));
        assert!(parse_order_by(&["start_time", "created DESC"]).is_err());
        assert!(parse_order_by(&["`run name`"]).is_err());
        assert!(parse_order_by(&["datasets.name"]).is_err());
    }
}
