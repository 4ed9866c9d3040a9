//! How each clause of a run filter compiles: a condition on the run row
//! `r`, or a test of rows in another table that belong to the run.
//!
//! - a clause on a param, tag, metric or dataset holds when the run has a
//!   row for the key that passes (so `!=` never matches a run without the
//!   key); `IS NULL` holds when it has none;
//! - a metric's latest value is `metric_series.last_value`, NULL when it is
//!   NaN: NaN passes only `!=`. MLflow's SQL store keeps ±inf as ±f64::MAX,
//!   which only shows when a bound is ±f64::MAX or beyond; then the value
//!   is clamped the same way before comparing.

use super::super::{float_value, key_rows, num_test, op_sql, text_test, value_test, Lists, Sql};
use crate::index::runs::RUN_NAME_TAG;
use crate::search::ast::{
    Comparator, DatasetField, KeyTest, NumAttribute, NumTest, RunClause, TextAttribute, TextTest,
};

const CONTEXT_TAG: &str = "mlflow.data.context";

/// MLflow's SQL store keeps +inf and -inf as these.
const F64_MAX: f64 = f64::MAX;

/// A test of a metric's latest value, on the alias `alias` of `metric_series`.
pub(super) fn metric_test(sql: &mut Sql, alias: &str, test: &NumTest) {
    let bound = float_value(test.value);
    let last = format!("{alias}.last_value");
    let value = if bound.abs() >= F64_MAX {
        let mut v = Sql::plain(&format!("max(min({last}, "));
        v.bind(F64_MAX).push("), ").bind(-F64_MAX).push(")");
        v
    } else {
        Sql::plain(&last)
    };
    // Each test names `last_value IS NOT NULL` or the NaN condition, which
    // the two partial indexes on (key, ...) are made with: a clause that
    // drives a query reads them rather than every series.
    if test.op == Comparator::Ne {
        // NaN (a NULL value of a series that has points) differs from everything.
        sql.push(&format!("(({last} IS NOT NULL AND "))
            .append(&value)
            .push(" != ")
            .bind(bound)
            .push(&format!(
                ") OR ({last} IS NULL AND {alias}.last_bits IS NOT NULL))"
            ));
    } else {
        // A NULL value (NaN, or no point yet) passes no comparison.
        sql.push(&format!("{last} IS NOT NULL AND "))
            .append(&value)
            .push(" ")
            .push(op_sql(test.op))
            .push(" ")
            .bind(bound);
    }
}

/// A clause on rows of another table that belong to the run: its params,
/// tags, metric summaries or dataset inputs.
pub(super) struct Keyed {
    /// The tables; `x` is the alias of the one holding `run_uuid`.
    from: &'static str,
    /// What the rows must satisfy.
    conds: Sql,
    /// The run must have no such row (`IS NULL`) rather than one.
    pub(super) absent: bool,
    /// Rows may name a run more than once.
    repeats: bool,
    /// How likely the clause is to match few runs, most likely first; the
    /// likeliest drives the query when it has no run ids to start from.
    pub(super) rank: u8,
}

impl Keyed {
    /// The rows of `from` for `key` whose value, when a test is given,
    /// passes it: `value` is the value's column and its test.
    fn new(
        from: &'static str,
        key_column: &str,
        key: &str,
        value: Option<(&str, &TextTest)>,
    ) -> Keyed {
        let mut conds = Sql::default();
        key_rows(&mut conds, key_column, key, value, Lists::Inline);
        let rank = match value {
            Some((_, TextTest::Eq(_) | TextTest::In(_))) => 1,
            Some((_, TextTest::Like(p))) if !p.starts_with(['%', '_']) => 2,
            _ => 4,
        };
        Keyed {
            from,
            conds,
            absent: false,
            repeats: false,
            rank,
        }
    }

    /// The ids of the runs with a matching row.
    pub(super) fn candidates(&self) -> Sql {
        let mut s = Sql::plain(if self.repeats {
            "SELECT DISTINCT x.run_uuid AS run_uuid FROM "
        } else {
            "SELECT x.run_uuid AS run_uuid FROM "
        });
        s.push(self.from).push(" WHERE ").append(&self.conds);
        s
    }

    /// Whether the run `run_column` names has (or, for `IS NULL`, lacks) a
    /// matching row.
    pub(super) fn probe(&self, run_column: &str) -> Sql {
        let mut s = Sql::plain(if self.absent { "NOT EXISTS" } else { "EXISTS" });
        s.push(" (SELECT 1 FROM ")
            .push(self.from)
            .push(" WHERE x.run_uuid = ")
            .push(run_column)
            .push(" AND ")
            .append(&self.conds)
            .push(")");
        s
    }
}

/// A param or tag clause on `table`.
fn key_value(table: &'static str, key: &str, test: &KeyTest) -> Keyed {
    Keyed {
        absent: matches!(test, KeyTest::IsNull),
        ..Keyed::new(table, "x.key", key, value_test("x.value", test))
    }
}

/// The artifact URI of run `r` (joined with its experiment `e`), computed
/// as `get_run` computes it when the run has none of its own.
fn artifact_uri(artifact_root: &str) -> Sql {
    let mut s = Sql::plain("coalesce(r.artifact_uri, rtrim(coalesce(e.artifact_location, ");
    s.bind(artifact_root.to_string())
        .push(" || '/' || r.experiment_id), '/') || '/' || r.run_uuid || '/artifacts')");
    s
}

/// The SQL of a run's text attribute, on the aliases `r` (the run) and
/// `e` (its experiment, joined when the artifact URI is needed).
pub(super) fn text_column(a: TextAttribute, artifact_root: &str) -> Sql {
    match a {
        TextAttribute::RunId => Sql::plain("r.run_uuid"),
        TextAttribute::RunName => Sql::plain("r.name"),
        TextAttribute::Status => Sql::plain("r.status"),
        TextAttribute::UserId => Sql::plain("r.user_id"),
        TextAttribute::ArtifactUri => artifact_uri(artifact_root),
    }
}

/// The column of a run's numeric attribute.
pub(super) fn num_column(a: NumAttribute) -> &'static str {
    match a {
        NumAttribute::StartTime => "r.start_time",
        NumAttribute::EndTime => "r.end_time",
    }
}

/// A run clause: a test of rows in another table, or a condition on `r`.
pub(super) enum Compiled {
    Keyed(Keyed),
    Plain(Sql),
}

/// Compiles one clause of a run filter.
pub(super) fn run_clause(clause: &RunClause, artifact_root: &str) -> Compiled {
    match clause {
        RunClause::Metric { key, test } => {
            let mut k = Keyed::new("metric_series x", "x.key", key, None);
            k.conds.push(" AND ");
            metric_test(&mut k.conds, "x", test);
            k.rank = match test.op {
                Comparator::Eq => 2,
                Comparator::Ne => 4,
                _ => 3,
            };
            Compiled::Keyed(k)
        }
        RunClause::Param { key, test } => Compiled::Keyed(key_value("params x", key, test)),
        RunClause::Tag { key, test } => Compiled::Keyed(key_value("tags x", key, test)),
        // As MLflow does, the run name is searched through its tag.
        RunClause::Text {
            attribute: TextAttribute::RunName,
            test,
        } => Compiled::Keyed(key_value(
            "tags x",
            RUN_NAME_TAG,
            &KeyTest::Value(test.clone()),
        )),
        RunClause::Text { attribute, test } => {
            let mut sql = Sql::default();
            text_test(
                &mut sql,
                &text_column(*attribute, artifact_root),
                test,
                Lists::Inline,
            );
            Compiled::Plain(sql)
        }
        RunClause::Numeric { attribute, test } => {
            let mut sql = Sql::default();
            num_test(&mut sql, num_column(*attribute), test);
            Compiled::Plain(sql)
        }
        RunClause::Dataset {
            field: DatasetField::Context,
            test,
        } => {
            let k = Keyed::new(
                "inputs x JOIN input_tags t ON t.input_uuid = x.input_uuid",
                "t.key",
                CONTEXT_TAG,
                Some(("t.value", test)),
            );
            Compiled::Keyed(Keyed { repeats: true, ..k })
        }
        RunClause::Dataset { field, test } => {
            let mut conds = Sql::default();
            let column = if *field == DatasetField::Name {
                "d.name"
            } else {
                "d.digest"
            };
            text_test(&mut conds, &Sql::plain(column), test, Lists::Inline);
            Compiled::Keyed(Keyed {
                from: "inputs x JOIN datasets d ON d.dataset_uuid = x.dataset_uuid",
                conds,
                absent: false,
                repeats: true,
                rank: 4,
            })
        }
    }
}
