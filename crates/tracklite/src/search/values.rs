//! Turning the values written in a clause into typed tests, with errors
//! that name the field and show the value.

use super::ast::{list_comparators, Comparator, KeyTest, NumTest, Number, TextTest};
use super::lexer::{Literal, Scan, Spanned, SyntaxError};
use super::parser::{RawClause, RawValue};

fn scalar(clause: &RawClause) -> (&Spanned<RawValue>, Option<&Literal>) {
    let value = clause
        .value
        .as_ref()
        .expect("comparators other than IS [NOT] NULL carry a value");
    match &value.value {
        RawValue::Scalar(lit) => (value, Some(lit)),
        RawValue::List(_) => (value, None),
    }
}

fn not_quoted(at: &Spanned<RawValue>, bare: &str) -> SyntaxError {
    SyntaxError::at(
        at,
        format!("the value {bare} is not quoted; quote text values with single or double quotes"),
    )
}

fn literal_text(at: &Spanned<RawValue>, lit: &Literal, field: &str) -> Scan<String> {
    match lit {
        Literal::Text(t, _) => Ok(t.clone()),
        Literal::Number { text, .. } => Err(SyntaxError::at(
            at,
            format!("expected a quoted string for {field} (such as 'my-value'), found {text}"),
        )),
        Literal::Bare(b) => Err(not_quoted(at, b)),
    }
}

/// Checks that `clause`'s comparator is one of `allowed` for `field`.
pub fn check_comparator(clause: &RawClause, allowed: &[Comparator], field: &str) -> Scan<()> {
    if allowed.contains(&clause.op.value) {
        return Ok(());
    }
    let message = match clause.op.value {
        Comparator::IsNull | Comparator::IsNotNull => format!(
            "{} is only supported for tags and params, not for {field}",
            clause.op.value
        ),
        op => format!(
            "comparator {op} is not allowed for {field}; expected one of {}",
            list_comparators(allowed)
        ),
    };
    Err(SyntaxError::at(&clause.op, message))
}

/// A text test (`=`, `!=`, `LIKE`, `ILIKE`, `IN`, `NOT IN`) of `field`.
pub fn text_test(clause: &RawClause, field: &str) -> Scan<TextTest> {
    let (at, lit) = scalar(clause);
    let op = clause.op.value;
    if let RawValue::List(items) = &at.value {
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            let item_at = Spanned {
                value: RawValue::Scalar(item.value.clone()),
                pos: item.pos,
                text: item.text.clone(),
            };
            values.push(literal_text(&item_at, &item.value, field)?);
        }
        return Ok(match op {
            Comparator::In => TextTest::In(values),
            _ => TextTest::NotIn(values),
        });
    }
    let text = literal_text(at, lit.expect("a scalar"), field)?;
    Ok(match op {
        Comparator::Eq => TextTest::Eq(text),
        Comparator::Ne => TextTest::Ne(text),
        Comparator::Like => TextTest::Like(text),
        Comparator::ILike => TextTest::ILike(text),
        // The parser gives IN and NOT IN a list, and callers check the
        // comparator first.
        _ => unreachable!("{op} is not a scalar text comparator"),
    })
}

/// A test of a param or tag.
pub fn key_test(clause: &RawClause, field: &str) -> Scan<KeyTest> {
    Ok(match clause.op.value {
        Comparator::IsNull => KeyTest::IsNull,
        Comparator::IsNotNull => KeyTest::IsNotNull,
        _ => KeyTest::Value(text_test(clause, field)?),
    })
}

/// The number a clause compares with; `integer_only` refuses fractions.
pub fn number(clause: &RawClause, field: &str, integer_only: bool) -> Scan<Number> {
    let (at, lit) = scalar(clause);
    match lit.expect("numeric comparators carry a scalar") {
        Literal::Number {
            text,
            integer: true,
        } => Ok(match text.parse::<i64>() {
            Ok(i) => Number::Int(i),
            Err(_) if !integer_only => Number::Float(text.parse().unwrap_or(f64::NAN)),
            Err(_) => {
                return Err(SyntaxError::at(
                    at,
                    format!("{text} is too large for {field}"),
                ))
            }
        }),
        Literal::Number { text, .. } if integer_only => Err(SyntaxError::at(
            at,
            format!("expected an integer for {field}, found {text}"),
        )),
        Literal::Number { text, .. } => Ok(Number::Float(
            text.parse()
                .expect("the scanner only accepts valid numbers"),
        )),
        _ => Err(SyntaxError::at(
            at,
            format!("expected a number for {field}, found {}", at.text),
        )),
    }
}

/// A numeric test of `field`.
pub fn num_test(clause: &RawClause, field: &str, integer_only: bool) -> Scan<NumTest> {
    Ok(NumTest {
        op: clause.op.value,
        value: number(clause, field, integer_only)?,
    })
}

/// A key must not be empty.
pub fn non_empty_key(key: &Spanned<String>, field: &str) -> Scan<String> {
    if key.value.is_empty() {
        return Err(SyntaxError::at(key, format!("the {field} key is empty")));
    }
    Ok(key.value.clone())
}
