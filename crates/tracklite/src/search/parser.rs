//! The grammar shared by run and experiment searches:
//!
//! ```text
//! filter     := [clause (AND clause)*]          AND in any case
//! clause     := identifier comparator [value]
//! identifier := part ['.' key]                  part, key: bare word or quoted
//! comparator := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN
//!             | IS NULL | IS NOT NULL
//! value      := 'text' | "text" | number | '(' text {',' text} [','] ')'
//! order_by   := identifier [ASC | DESC]
//! ```
//!
//! A bare key may hold dots (`params.a.b` is the key `a.b`); a key with
//! other punctuation or spaces is quoted with backticks or double quotes.
//! Redundant `AND`s (leading, trailing or doubled) are tolerated, as MLflow
//! tolerates them. What an identifier means, and which comparators and
//! values it takes, is decided by the caller (`runs` or `experiments`).

use super::ast::Comparator;
use super::lexer::{Literal, Quoting, Scan, Scanner, Spanned, SyntaxError};

/// `entity.key`, or a bare `key`.
#[derive(Debug, Clone, PartialEq)]
pub struct Identifier {
    /// The part before the first dot, unquoted.
    pub entity: Option<Spanned<String>>,
    /// The key, unquoted.
    pub key: Spanned<String>,
    /// The whole identifier as written.
    pub whole: Spanned<()>,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Scalar(Literal),
    List(Vec<Spanned<Literal>>),
}

/// A clause before its identifier is given a meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct RawClause {
    pub ident: Identifier,
    pub op: Spanned<Comparator>,
    /// None for `IS NULL` and `IS NOT NULL`.
    pub value: Option<Spanned<RawValue>>,
}

const COMPARATORS: &str = "=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL";

/// Parses an identifier at the cursor.
pub fn identifier(s: &mut Scanner<'_>) -> Scan<Identifier> {
    let start_pos = s.pos();
    let mut text = String::new();
    let Some((first, _)) = s.identifier_part()? else {
        return Err(s.error_here(format!(
            "expected an identifier such as metrics.<key>, params.<key>, tags.<key> or an attribute name, found {}",
            s.found()
        )));
    };
    text.push_str(&first.text);
    if !s.dot() {
        return Ok(Identifier {
            whole: Spanned {
                value: (),
                pos: start_pos,
                text,
            },
            entity: None,
            key: first,
        });
    }
    text.push('.');
    let Some((mut key, key_quoting)) = s.identifier_part()? else {
        return Err(s.error_here(format!(
            "expected a key after '{}.', found {}",
            first.text,
            s.found()
        )));
    };
    text.push_str(&key.text);
    if key_quoting == Quoting::Bare {
        // `params.a.b`: the key is `a.b`.
        loop {
            let mark = s.mark();
            if s.dot() {
                if let Some((next, Quoting::Bare)) = s.identifier_part()? {
                    key.value.push('.');
                    key.value.push_str(&next.value);
                    key.text.push('.');
                    key.text.push_str(&next.text);
                    text.push('.');
                    text.push_str(&next.text);
                    continue;
                }
            }
            s.reset(mark);
            break;
        }
    }
    Ok(Identifier {
        entity: Some(first),
        key,
        whole: Spanned {
            value: (),
            pos: start_pos,
            text,
        },
    })
}

/// Parses a comparator at the cursor.
fn comparator(s: &mut Scanner<'_>) -> Scan<Spanned<Comparator>> {
    let with = |span: Spanned<String>, value| Spanned {
        value,
        pos: span.pos,
        text: span.text,
    };
    if let Some(op) = s.operator() {
        let c = match op.value.as_str() {
            "=" => Comparator::Eq,
            "!=" => Comparator::Ne,
            "<" => Comparator::Lt,
            "<=" => Comparator::Le,
            ">" => Comparator::Gt,
            ">=" => Comparator::Ge,
            other => {
                return Err(SyntaxError::at(
                    &op,
                    format!("unknown comparator '{other}'; expected one of {COMPARATORS}"),
                ))
            }
        };
        return Ok(with(op, c));
    }
    for (word, c) in [
        ("LIKE", Comparator::Like),
        ("ILIKE", Comparator::ILike),
        ("IN", Comparator::In),
    ] {
        if let Some(k) = s.keyword(word) {
            return Ok(with(k, c));
        }
    }
    if let Some(not) = s.keyword("NOT") {
        s.skip_whitespace();
        return match s.keyword("IN") {
            Some(_) => Ok(Spanned {
                value: Comparator::NotIn,
                pos: not.pos,
                text: "NOT IN".into(),
            }),
            None => Err(s.error_here(format!(
                "expected IN after NOT, found {}; the only negated comparators are NOT IN and IS NOT NULL",
                s.found()
            ))),
        };
    }
    if let Some(is) = s.keyword("IS") {
        s.skip_whitespace();
        if s.keyword("NULL").is_some() {
            return Ok(Spanned {
                value: Comparator::IsNull,
                pos: is.pos,
                text: "IS NULL".into(),
            });
        }
        if s.keyword("NOT").is_some() {
            s.skip_whitespace();
            if s.keyword("NULL").is_some() {
                return Ok(Spanned {
                    value: Comparator::IsNotNull,
                    pos: is.pos,
                    text: "IS NOT NULL".into(),
                });
            }
        }
        return Err(s.error_here(format!(
            "expected NULL or NOT NULL after IS, found {}",
            s.found()
        )));
    }
    Err(s.error_here(format!(
        "expected a comparator ({COMPARATORS}), found {}",
        s.found()
    )))
}

/// Parses `( 'a', 'b' )` at the cursor, after IN or NOT IN.
fn list(s: &mut Scanner<'_>, op: &Spanned<Comparator>) -> Scan<Spanned<RawValue>> {
    let start = s.pos();
    let Some(open) = s.punct('(') else {
        return Err(s.error_here(format!(
            "expected '(' and a list of quoted strings after {}, found {}",
            op.value,
            s.found()
        )));
    };
    let mut items = Vec::new();
    let mut text = open.text;
    loop {
        s.skip_whitespace();
        if let Some(close) = s.punct(')') {
            if items.is_empty() {
                return Err(SyntaxError::at(
                    &close,
                    "expected a non-empty list of quoted strings, found an empty list",
                ));
            }
            text.push_str(&close.text);
            break;
        }
        let Some(item) = s.literal()? else {
            return Err(s.error_here(format!(
                "expected a quoted string in the list, found {}",
                s.found()
            )));
        };
        text.push_str(&item.text);
        items.push(item);
        s.skip_whitespace();
        if let Some(comma) = s.punct(',') {
            text.push_str(&comma.text);
            continue;
        }
        if s.peek() != Some(')') {
            return Err(s.error_here(format!(
                "expected ',' or ')' in the list, found {}",
                s.found()
            )));
        }
    }
    Ok(Spanned {
        value: RawValue::List(items),
        pos: start,
        text,
    })
}

fn clause(s: &mut Scanner<'_>) -> Scan<RawClause> {
    let ident = identifier(s)?;
    s.skip_whitespace();
    let op = comparator(s)?;
    s.skip_whitespace();
    let value = match op.value {
        Comparator::IsNull | Comparator::IsNotNull => None,
        Comparator::In | Comparator::NotIn => Some(list(s, &op)?),
        _ => match s.literal()? {
            Some(lit) => Some(Spanned {
                value: RawValue::Scalar(lit.value),
                pos: lit.pos,
                text: lit.text,
            }),
            None => {
                return Err(s.error_here(format!(
                    "expected a value (a quoted string or a number) after {}, found {}",
                    op.value,
                    s.found()
                )))
            }
        },
    };
    Ok(RawClause { ident, op, value })
}

/// Skips any number of `AND` keywords; true when there was at least one.
fn ands(s: &mut Scanner<'_>) -> bool {
    let mut any = false;
    loop {
        s.skip_whitespace();
        if s.keyword("AND").is_none() {
            return any;
        }
        any = true;
    }
}

/// Parses a whole filter into its clauses.
pub fn filter(input: &str) -> Scan<Vec<RawClause>> {
    let mut s = Scanner::new(input);
    let mut clauses = Vec::new();
    ands(&mut s);
    s.skip_whitespace();
    while !s.at_end() {
        clauses.push(clause(&mut s)?);
        let joined = ands(&mut s);
        s.skip_whitespace();
        if s.at_end() {
            break;
        }
        if !joined {
            let message = match s.peek_word() {
                Some(w) if w.eq_ignore_ascii_case("OR") => {
                    "OR is not supported: clauses can only be joined with AND".to_string()
                }
                _ => format!(
                    "expected AND or the end of the filter after a clause, found {}",
                    s.found()
                ),
            };
            return Err(s.error_here(message));
        }
    }
    Ok(clauses)
}

/// Parses one order_by clause: an identifier and an optional direction.
/// Returns the identifier and true for ascending.
pub fn order_by(input: &str) -> Scan<(Identifier, bool)> {
    let mut s = Scanner::new(input);
    s.skip_whitespace();
    if s.at_end() {
        return Err(s.error_here(
            "an order_by clause names a field and an optional direction, such as `metrics.f1 DESC`",
        ));
    }
    let ident = identifier(&mut s)?;
    let spaced = s.skip_whitespace();
    let mut ascending = true;
    if spaced && !s.at_end() {
        if s.keyword("ASC").is_some() {
        } else if s.keyword("DESC").is_some() {
            ascending = false;
        } else {
            return Err(s.error_here(format!(
                "expected ASC or DESC after the field, found {}",
                s.found()
            )));
        }
        s.skip_whitespace();
    }
    if !s.at_end() {
        return Err(s.error_here(format!(
            "expected the end of the order_by clause, found {}; give each field as its own clause",
            s.found()
        )));
    }
    Ok((ident, ascending))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idents(input: &str) -> Vec<(Option<String>, String)> {
        filter(input)
            .unwrap()
            .into_iter()
            .map(|c| (c.ident.entity.map(|e| e.value), c.ident.key.value))
            .collect()
    }

    #[test]
    fn identifiers() {
        let got = idents(
            "params.a.b = 'x' AND `params`.`k y` = 'x' and metrics.\"m.n\" > 1 AND status = 'x' AND `run name` = 'y'",
        );
        let want = [
            (Some("params"), "a.b"),
            (Some("params"), "k y"),
            (Some("metrics"), "m.n"),
            (None, "status"),
            (None, "run name"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(e, k)| (e.map(String::from), k.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn comparators_and_values() {
        let c = filter("run_id NOT IN ('a', \"b\",) AND tags.x is not null AND metrics.m>=-1.5")
            .unwrap();
        assert_eq!(c[0].op.value, Comparator::NotIn);
        assert_eq!(c[0].op.pos, 7);
        match &c[0].value.as_ref().unwrap().value {
            RawValue::List(items) => assert_eq!(items.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(c[1].op.value, Comparator::IsNotNull);
        assert!(c[1].value.is_none());
        assert_eq!(c[2].op.value, Comparator::Ge);
    }

    #[test]
    fn redundant_ands_are_tolerated() {
        assert_eq!(
            filter("AND params.x = 'a' AND AND params.y = 'b' AND")
                .unwrap()
                .len(),
            2
        );
        assert!(filter("   ").unwrap().is_empty());
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = filter("params.x = 'a' OR params.y = 'b'").unwrap_err();
        assert_eq!((e.pos, e.token.as_str()), (15, "OR"));
        let e = filter("params.x == 'a'").unwrap_err();
        assert_eq!((e.pos, e.token.as_str()), (9, "=="));
        let e = filter("params.x IN 'a'").unwrap_err();
        assert_eq!(e.pos, 12);
        let e = filter("metrics.x >").unwrap_err();
        assert_eq!((e.pos, e.token.as_str()), (11, ""));
    }

    #[test]
    fn order_by_clauses() {
        let (i, asc) = order_by("metrics.`f 1`  desc").unwrap();
        assert_eq!(i.key.value, "f 1");
        assert!(!asc);
        assert!(order_by("start_time").unwrap().1);
        let e = order_by("metrics.f1 DESCENDING").unwrap_err();
        assert_eq!(e.token, "DESCENDING");
        assert!(order_by("metrics.f1 ASC x").is_err());
        assert!(order_by("").is_err());
    }
}
