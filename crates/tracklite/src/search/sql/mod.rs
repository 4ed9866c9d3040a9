//! Compiling parsed searches into SQL over the index: one builder for
//! every entity. Every key and value from the user is a bound parameter;
//! the SQL text is made only of these files' fixed pieces.
//!
//! This module holds the builder ([`Sql`]) and the pieces every entity
//! shares: text tests (LIKE and ILIKE as GLOB), numeric comparisons, tests
//! of a key and its value, and the direction of an order term. One file
//! per entity compiles that entity's clauses and order:
//! - [`runs`]: run searches (params, tags, latest metrics, datasets);
//! - [`experiments`]: experiment searches;
//! - [`logged_models`]: logged-model searches;
//! - [`registry`]: registered-model and model-version searches.
//!
//! The semantics shared by every entity, after MLflow's SQL store:
//! - LIKE is `GLOB` with the wildcards translated (case-sensitive, as
//!   MLflow's SQLite store sets `case_sensitive_like`); ILIKE is the same
//!   on `lower()` of both sides, which folds ASCII letters only, as in
//!   MLflow's SQLite store;
//! - a clause on a tag or param holds when the entity has a row for the
//!   key that passes (so `!=` never matches one without the key);
//!   `IS NULL` holds when it has none;
//! - ordering puts missing values last in both directions, and for metrics
//!   NaN after every number and before missing values.

mod experiments;
mod logged_models;
mod registry;
mod runs;

use rusqlite::types::Value;

use super::ast::{Comparator, KeyTest, NumTest, Number, TextTest};

pub use experiments::{experiments, ExperimentQuery};
pub use logged_models::{logged_models, ModelQuery};
pub use registry::{model_versions, registered_models, RegistryQuery, VERSION_COLUMNS};
pub use runs::{runs, MetricWindow, RunQuery, StartWindow, ValueWindow, Window};

/// Lists longer than this are bound as one JSON array: SQLite limits the
/// number of parameters of a statement.
const INLINE_LIST_MAX: usize = 256;

/// SQL text with its parameters, in order.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Value>,
}

impl Sql {
    /// SQL text with no parameter.
    fn plain(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            params: Vec::new(),
        }
    }

    /// Appends fixed SQL text.
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a `?` bound to `v`.
    fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.params.push(v.into());
        self
    }

    /// Appends another piece, text and parameters.
    fn append(&mut self, other: &Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.params.extend(other.params.iter().cloned());
        self
    }

    /// `(?, ?, ...)` for a few values; for many, as [`Sql::bind_json_list`].
    fn bind_list<T: Into<Value> + Clone + serde::Serialize>(&mut self, values: &[T]) -> &mut Self {
        if values.len() > INLINE_LIST_MAX {
            return self.bind_json_list(values);
        }
        self.push("(");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v.clone());
        }
        self.push(")")
    }

    /// A list of values, bound as `lists` says.
    fn bind_values<T: Into<Value> + Clone + serde::Serialize>(
        &mut self,
        values: &[T],
        lists: Lists,
    ) -> &mut Self {
        match lists {
            Lists::Inline => self.bind_list(values),
            Lists::Json => self.bind_json_list(values),
        }
    }

    /// `(SELECT value FROM json_each(?))`: a list of any length as one
    /// parameter, one statement text for every length.
    fn bind_json_list<T: serde::Serialize>(&mut self, values: &[T]) -> &mut Self {
        let json = serde_json::to_string(values).expect("strings and integers serialise");
        self.push("(SELECT value FROM json_each(")
            .bind(json)
            .push("))")
    }
}

/// A LIKE pattern (`%`, `_`) as a GLOB pattern (`*`, `?`), with GLOB's own
/// special characters made literal.
pub fn like_to_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    for c in pattern.chars() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
    }
    out
}

/// The text range every match of a LIKE pattern lies in, when the pattern
/// starts with a literal prefix: from the prefix up to (not including) the
/// prefix with its last character made the next one. Text compares by
/// bytes, and UTF-8's byte order is code-point order, so every string that
/// starts with the prefix lies in the range.
fn prefix_range(pattern: &str) -> Option<(String, String)> {
    let prefix: String = pattern
        .chars()
        .take_while(|c| !matches!(c, '%' | '_'))
        .collect();
    let mut upper: Vec<char> = prefix.chars().collect();
    while let Some(last) = upper.pop() {
        // The next code point that is a char (surrogates are skipped).
        if let Some(next) = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32) {
            upper.push(next);
            return Some((prefix, upper.into_iter().collect()));
        }
    }
    None
}

/// How a text test binds a list of values (`IN`, `NOT IN`).
#[derive(Clone, Copy)]
enum Lists {
    /// [`Sql::bind_list`]: inline parameters for short lists.
    Inline,
    /// [`Sql::bind_json_list`]: always one JSON parameter.
    Json,
}

/// `column <test>`.
fn text_test(sql: &mut Sql, column: &Sql, test: &TextTest, lists: Lists) {
    match test {
        TextTest::Eq(v) => sql.append(column).push(" = ").bind(v.clone()),
        TextTest::Ne(v) => sql.append(column).push(" != ").bind(v.clone()),
        TextTest::Like(p) => {
            sql.push("(")
                .append(column)
                .push(" GLOB ")
                .bind(like_to_glob(p));
            // The range of the pattern's literal prefix, written out: the
            // index walks only it. (SQLite would derive it from a bound
            // pattern only by re-planning at every binding, which the
            // index's connections turn off.)
            if let Some((low, high)) = prefix_range(p) {
                sql.push(" AND ")
                    .append(column)
                    .push(" >= ")
                    .bind(low)
                    .push(" AND ")
                    .append(column)
                    .push(" < ")
                    .bind(high);
            }
            sql.push(")")
        }
        TextTest::ILike(p) => sql
            .push("lower(")
            .append(column)
            .push(") GLOB ")
            .bind(like_to_glob(&p.to_ascii_lowercase())),
        TextTest::In(vs) => sql.append(column).push(" IN ").bind_values(vs, lists),
        TextTest::NotIn(vs) => sql.append(column).push(" NOT IN ").bind_values(vs, lists),
    };
}

/// `key_column = ?` and, when `value` gives a column and its test,
/// ` AND column <test>`: the rows of a key/value table (tags, params) that
/// a clause looks for.
fn key_rows(
    sql: &mut Sql,
    key_column: &str,
    key: &str,
    value: Option<(&str, &TextTest)>,
    lists: Lists,
) {
    sql.push(key_column).push(" = ").bind(key.to_string());
    if let Some((column, test)) = value {
        sql.push(" AND ");
        text_test(sql, &Sql::plain(column), test, lists);
    }
}

/// The value test of a tag or param test, on `column`; None for `IS NULL`
/// and `IS NOT NULL`, which test the key alone.
fn value_test<'a>(column: &'a str, test: &'a KeyTest) -> Option<(&'a str, &'a TextTest)> {
    match test {
        KeyTest::Value(t) => Some((column, t)),
        KeyTest::IsNull | KeyTest::IsNotNull => None,
    }
}

/// A number of a filter as an SQL value: integers stay exact.
fn number_value(n: Number) -> Value {
    match n {
        Number::Int(i) => Value::Integer(i),
        Number::Float(f) => Value::Real(f),
    }
}

/// A number of a filter as a float, for comparing with stored floats.
fn float_value(n: Number) -> f64 {
    match n {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
    }
}

/// The SQL operator of a numeric comparator.
fn op_sql(op: Comparator) -> &'static str {
    op.numeric_sql()
        .expect("numeric tests carry a numeric comparator")
}

/// `column <op> ?`, the number bound as written.
fn num_test(sql: &mut Sql, column: &str, test: &NumTest) {
    sql.push(column)
        .push(" ")
        .push(op_sql(test.op))
        .push(" ")
        .bind(number_value(test.value));
}

/// The SQL direction of an order term: nothing for ascending.
fn direction(ascending: bool) -> &'static str {
    if ascending {
        ""
    } else {
        " DESC"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert_eq!(like_to_glob("a%b_c"), "a*b?c");
        assert_eq!(like_to_glob("*?[]"), "[*][?][[]]");
    }

    #[test]
    fn prefix_ranges() {
        let range = prefix_range;
        assert_eq!(range("abc%"), Some(("abc".into(), "abd".into())));
        assert_eq!(range("ab_d"), Some(("ab".into(), "ac".into())));
        assert_eq!(range("exact"), Some(("exact".into(), "exacu".into())));
        assert_eq!(range("%abc"), None);
        assert_eq!(range(""), None);
        // The last code point has no successor: the range ends one up.
        assert_eq!(
            range("a\u{10FFFF}%"),
            Some(("a\u{10FFFF}".into(), "b".into()))
        );
        assert_eq!(range("\u{10FFFF}%"), None);
        // Surrogates are not chars: the next one after U+D7FF is U+E000.
        assert_eq!(
            range("\u{D7FF}"),
            Some(("\u{D7FF}".into(), "\u{E000}".into()))
        );
        // Every string with the prefix lies in the range, by byte order.
        let (low, high) = prefix_range("é%").unwrap();
        for s in ["é", "éa", "é\u{10FFFF}", "é\u{10FFFF}\u{10FFFF}"] {
            assert!(low.as_str() <= s && s < high.as_str(), "{s:?}");
        }
    }
}
