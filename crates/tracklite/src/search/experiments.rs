//! What identifiers mean in an experiment search, after MLflow's
//! `SearchExperimentsUtils`: the attributes `name` (`= != LIKE ILIKE`),
//! `experiment_id` (`= != IN NOT IN`), `creation_time` and
//! `last_update_time` (numeric, integers), with no prefix or the prefix
//! `attribute.`; and `tags.<key>` / `tag.<key>` (`= != LIKE ILIKE IS NULL
//! IS NOT NULL`). Experiments are ordered by attributes only.

use super::ast::{
    ExperimentClause, ExperimentSortKey, Number, OrderBy, IDENTITY, KEYED_TEXT, NUMERIC, TEXT,
};
use super::lexer::{Literal, Scan, Spanned, SyntaxError};
use super::parser::{self, Identifier, RawClause, RawValue};
use super::values::{check_comparator, key_test, non_empty_key, num_test, text_test};
use crate::error::Result;

const ATTRIBUTES: &str = "name, experiment_id, creation_time, last_update_time";

enum Field {
    Attribute(ExperimentSortKey),
    Tag,
}

fn field(ident: &Identifier) -> Scan<Field> {
    if let Some(entity) = &ident.entity {
        match entity.value.as_str() {
            "attribute" => {}
            "tag" | "tags" => return Ok(Field::Tag),
            other => {
                return Err(SyntaxError::at(
                    entity,
                    format!(
                        "invalid entity type '{other}'; experiments are searched by attribute.<key>, tag.<key> or tags.<key>"
                    ),
                ))
            }
        }
    }
    let key = &ident.key;
    Ok(Field::Attribute(match key.value.as_str() {
        "name" => ExperimentSortKey::Name,
        "experiment_id" => ExperimentSortKey::ExperimentId,
        "creation_time" => ExperimentSortKey::CreationTime,
        "last_update_time" => ExperimentSortKey::LastUpdateTime,
        other => {
            return Err(SyntaxError::at(
                key,
                format!("invalid attribute key '{other}'; expected one of {ATTRIBUTES}"),
            ))
        }
    }))
}

fn experiment_id(at: &Spanned<Literal>) -> Scan<i64> {
    let text = match &at.value {
        Literal::Text(t, _) => t.as_str(),
        Literal::Number { text, .. } => text.as_str(),
        Literal::Bare(b) => b.as_str(),
    };
    text.parse().map_err(|_| {
        SyntaxError::at(
            at,
            format!("invalid experiment id '{text}': an experiment id is an integer"),
        )
    })
}

fn experiment_ids(clause: &RawClause) -> Scan<Vec<i64>> {
    let value = clause.value.as_ref().expect("= != IN NOT IN carry a value");
    match &value.value {
        RawValue::List(items) => items.iter().map(experiment_id).collect(),
        RawValue::Scalar(lit) => Ok(vec![experiment_id(&Spanned {
            value: lit.clone(),
            pos: value.pos,
            text: value.text.clone(),
        })?]),
    }
}

fn resolve(clause: &RawClause) -> Scan<ExperimentClause> {
    Ok(match field(&clause.ident)? {
        Field::Tag => {
            let key = non_empty_key(&clause.ident.key, "tag")?;
            let name = format!("tag '{key}'");
            check_comparator(clause, KEYED_TEXT, &name)?;
            ExperimentClause::Tag {
                test: key_test(clause, &name)?,
                key,
            }
        }
        Field::Attribute(ExperimentSortKey::Name) => {
            check_comparator(clause, TEXT, "attribute name")?;
            ExperimentClause::Name(text_test(clause, "attribute name")?)
        }
        Field::Attribute(ExperimentSortKey::ExperimentId) => {
            check_comparator(clause, IDENTITY, "attribute experiment_id")?;
            ExperimentClause::Id {
                op: clause.op.value,
                ids: experiment_ids(clause)?,
            }
        }
        Field::Attribute(time) => {
            let name = if time == ExperimentSortKey::CreationTime {
                "attribute creation_time"
            } else {
                "attribute last_update_time"
            };
            check_comparator(clause, NUMERIC, name)?;
            let test = num_test(clause, name, true)?;
            debug_assert!(matches!(test.value, Number::Int(_)));
            if time == ExperimentSortKey::CreationTime {
                ExperimentClause::CreationTime(test)
            } else {
                ExperimentClause::LastUpdateTime(test)
            }
        }
    })
}

/// Parses an experiment filter; an empty (or blank) filter has no clauses.
pub fn parse_filter(input: &str) -> Result<Vec<ExperimentClause>> {
    let invalid = |e| super::invalid("filter", input, e);
    let raw = parser::filter(input).map_err(invalid)?;
    raw.iter().map(|c| resolve(c).map_err(invalid)).collect()
}

/// Parses order_by clauses for experiments.
pub fn parse_order_by(clauses: &[&str]) -> Result<Vec<OrderBy<ExperimentSortKey>>> {
    let mut out = Vec::with_capacity(clauses.len());
    for input in clauses {
        let invalid = |e| super::invalid("order_by clause", input, e);
        let (ident, ascending) = parser::order_by(input).map_err(invalid)?;
        match field(&ident).map_err(invalid)? {
            Field::Attribute(key) => out.push(OrderBy { key, ascending }),
            Field::Tag => {
                return Err(invalid(SyntaxError::at(
                    &ident.whole,
                    format!("experiments can only be ordered by {ATTRIBUTES}"),
                )))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::ast::{Comparator, KeyTest, NumTest, TextTest};

    #[test]
    fn clauses() {
        let c = parse_filter(
            "name LIKE 'a%' AND attribute.experiment_id IN ('1', '2') AND tags.t IS NULL AND creation_time > 5",
        )
        .unwrap();
        assert_eq!(c[0], ExperimentClause::Name(TextTest::Like("a%".into())));
        assert_eq!(
            c[1],
            ExperimentClause::Id {
                op: Comparator::In,
                ids: vec![1, 2]
            }
        );
        assert_eq!(
            c[2],
            ExperimentClause::Tag {
                key: "t".into(),
                test: KeyTest::IsNull
            }
        );
        assert_eq!(
            c[3],
            ExperimentClause::CreationTime(NumTest {
                op: Comparator::Gt,
                value: Number::Int(5)
            })
        );
    }

    #[test]
    fn errors() {
        for bad in [
            "attr.name = 'x'",
            "params.x = 'a'",
            "name IN ('a')",
            "name > 'a'",
            "creation_time > 5.5",
            "experiment_id = 'x'",
            "name IS NULL",
            "tags.x > 'a'",
            "lifecycle_stage = 'active'",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
        assert!(parse_order_by(&["tags.x"]).is_err());
        assert!(parse_order_by(&["attribute.name DESC", "experiment_id"]).is_ok());
    }
}
