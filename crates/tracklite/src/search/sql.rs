//! Compiling parsed searches into SQL over the index. Every key and value
//! from the user is a bound parameter; the SQL text is made only of this
//! file's fixed pieces.
//!
//! How MLflow's semantics map onto the index:
//! - a clause on a param, tag, metric or dataset holds when the run has a
//!   row for the key that passes (so `!=` never matches a run without the
//!   key); `IS NULL` holds when it has none;
//! - a metric's latest value is `metric_series.last_value`, NULL when it is
//!   NaN: NaN passes only `!=`. MLflow's SQL store keeps ±inf as ±f64::MAX,
//!   which only shows when a bound is ±f64::MAX or beyond; then the value
//!   is clamped the same way before comparing;
//! - LIKE is `GLOB` with the wildcards translated (case-sensitive, as
//!   MLflow's SQLite store sets `case_sensitive_like`); ILIKE is the same
//!   on `lower()` of both sides, which folds ASCII letters only, as in
//!   MLflow's SQLite store;
//! - ordering puts missing values last in both directions, and for metrics
//!   NaN after every number and before missing values; ties fall back to
//!   `start_time DESC` (unless ordered by start time) and then `run_id`.
//!   Metrics are ordered by their true values, so that the metric index
//!   can give the order: +inf sorts after f64::MAX (MLflow's SQL store,
//!   holding both as f64::MAX, ties them).

use rusqlite::types::Value;

use super::ast::{
    Comparator, DatasetField, ExperimentClause, ExperimentSortKey, KeyTest, NumAttribute, NumTest,
    Number, OrderBy, RunClause, RunSortKey, TextAttribute, TextTest,
};
use super::experiments::id_sql;
use crate::index::runs::RUN_NAME_TAG;

/// The input tag that holds a dataset input's context.
pub const CONTEXT_TAG: &str = "mlflow.data.context";

/// MLflow's SQL store keeps +inf and -inf as these.
const F64_MAX: f64 = f64::MAX;

/// SQL text with its parameters, in order.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Value>,
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.params.push(v.into());
        self
    }

    fn append(&mut self, other: &Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.params.extend(other.params.iter().cloned());
        self
    }

    /// `(?, ?, ...)` for a few values; for many, one JSON array read by
    /// `json_each` (SQLite limits the number of parameters).
    fn bind_list<T: Into<Value> + Clone + serde::Serialize>(&mut self, values: &[T]) -> &mut Self {
        if values.len() > 256 {
            let json = serde_json::to_string(values).expect("strings and integers serialise");
            return self
                .push("(SELECT value FROM json_each(")
                .bind(json)
                .push("))");
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

    fn plain(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            params: Vec::new(),
        }
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

/// `column <test>`.
fn text_test(sql: &mut Sql, column: &Sql, test: &TextTest) {
    match test {
        TextTest::Eq(v) => sql.append(column).push(" = ").bind(v.clone()),
        TextTest::Ne(v) => sql.append(column).push(" != ").bind(v.clone()),
        TextTest::Like(p) => sql.append(column).push(" GLOB ").bind(like_to_glob(p)),
        TextTest::ILike(p) => sql
            .push("lower(")
            .append(column)
            .push(") GLOB ")
            .bind(like_to_glob(&p.to_ascii_lowercase())),
        TextTest::In(vs) => sql.append(column).push(" IN ").bind_list(vs),
        TextTest::NotIn(vs) => sql.append(column).push(" NOT IN ").bind_list(vs),
    };
}

fn number_value(n: Number) -> Value {
    match n {
        Number::Int(i) => Value::Integer(i),
        Number::Float(f) => Value::Real(f),
    }
}

fn op_sql(op: Comparator) -> &'static str {
    op.numeric_sql()
        .expect("numeric tests carry a numeric comparator")
}

/// A test of a metric's latest value, on the alias `x` of `metric_series`.
fn metric_test(sql: &mut Sql, test: &NumTest) {
    let bound = match test.value {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
    };
    let value = if bound.abs() >= F64_MAX {
        let mut v = Sql::plain("max(min(x.last_value, ");
        v.bind(F64_MAX).push("), ").bind(-F64_MAX).push(")");
        v
    } else {
        Sql::plain("x.last_value")
    };
    if test.op == Comparator::Ne {
        // NaN (a NULL value of a series that has points) differs from everything.
        sql.push("(")
            .append(&value)
            .push(" != ")
            .bind(bound)
            .push(" OR (x.last_value IS NULL AND x.last_bits IS NOT NULL))");
    } else {
        // A NULL value (NaN, or no point yet) passes no comparison.
        sql.append(&value)
            .push(" ")
            .push(op_sql(test.op))
            .push(" ")
            .bind(bound);
    }
}

/// A clause on rows of another table that belong to the run: its params,
/// tags, metric summaries or dataset inputs.
struct Keyed {
    /// The tables; `x` is the alias of the one holding `run_uuid`.
    from: &'static str,
    /// What the rows must satisfy.
    conds: Sql,
    /// The run must have no such row (`IS NULL`) rather than one.
    absent: bool,
    /// Rows may name a run more than once.
    repeats: bool,
    /// How likely the clause is to match few runs, most likely first; the
    /// likeliest drives the query when it has no run ids to start from.
    rank: u8,
}

impl Keyed {
    fn new(from: &'static str, key_column: &str, key: &str) -> Keyed {
        let mut conds = Sql::default();
        conds.push(key_column).push(" = ").bind(key.to_string());
        Keyed {
            from,
            conds,
            absent: false,
            repeats: false,
            rank: 4,
        }
    }

    fn and_text(mut self, column: &str, test: &TextTest) -> Keyed {
        self.conds.push(" AND ");
        text_test(&mut self.conds, &Sql::plain(column), test);
        self.rank = match test {
            TextTest::Eq(_) | TextTest::In(_) => 1,
            TextTest::Like(p) if !p.starts_with(['%', '_']) => 2,
            _ => 4,
        };
        self
    }

    /// The ids of the runs with a matching row.
    fn candidates(&self) -> Sql {
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
    fn probe(&self, run_column: &str) -> Sql {
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
    let k = Keyed::new(table, "x.key", key);
    match test {
        KeyTest::Value(t) => k.and_text("x.value", t),
        KeyTest::IsNull => Keyed { absent: true, ..k },
        KeyTest::IsNotNull => k,
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

fn text_column(a: TextAttribute, artifact_root: &str) -> Sql {
    match a {
        TextAttribute::RunId => Sql::plain("r.run_uuid"),
        TextAttribute::RunName => Sql::plain("r.name"),
        TextAttribute::Status => Sql::plain("r.status"),
        TextAttribute::UserId => Sql::plain("r.user_id"),
        TextAttribute::ArtifactUri => artifact_uri(artifact_root),
    }
}

fn num_column(a: NumAttribute) -> &'static str {
    match a {
        NumAttribute::StartTime => "r.start_time",
        NumAttribute::EndTime => "r.end_time",
    }
}

/// A run clause: a test of rows in another table, or a condition on `r`.
enum Compiled {
    Keyed(Keyed),
    Plain(Sql),
}

fn run_clause(clause: &RunClause, artifact_root: &str) -> Compiled {
    match clause {
        RunClause::Metric { key, test } => {
            let mut k = Keyed::new("metric_series x", "x.key", key);
            k.conds.push(" AND ");
            metric_test(&mut k.conds, test);
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
            text_test(&mut sql, &text_column(*attribute, artifact_root), test);
            Compiled::Plain(sql)
        }
        RunClause::Numeric { attribute, test } => {
            let mut sql = Sql::default();
            sql.push(num_column(*attribute))
                .push(" ")
                .push(op_sql(test.op))
                .push(" ")
                .bind(number_value(test.value));
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
            );
            Compiled::Keyed(Keyed {
                repeats: true,
                ..k.and_text("t.value", test)
            })
        }
        RunClause::Dataset { field, test } => {
            let mut conds = Sql::default();
            let column = if *field == DatasetField::Name {
                "d.name"
            } else {
                "d.digest"
            };
            text_test(&mut conds, &Sql::plain(column), test);
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

/// True for `run_id = ...` and `run_id IN (...)`: the runs' own primary
/// key then finds the few candidates.
fn looks_up_run_ids(clause: &RunClause) -> bool {
    matches!(
        clause,
        RunClause::Text {
            attribute: TextAttribute::RunId,
            test: TextTest::Eq(_) | TextTest::In(_),
        }
    )
}

fn uses_artifact_uri(clauses: &[RunClause], order: &[OrderBy<RunSortKey>]) -> bool {
    clauses.iter().any(|c| {
        matches!(
            c,
            RunClause::Text {
                attribute: TextAttribute::ArtifactUri,
                ..
            }
        )
    }) || order
        .iter()
        .any(|o| o.key == RunSortKey::Text(TextAttribute::ArtifactUri))
}

fn direction(ascending: bool) -> &'static str {
    if ascending {
        ""
    } else {
        " DESC"
    }
}

/// A run search, ready to compile.
pub struct RunQuery<'a> {
    pub experiment_ids: &'a [i64],
    /// The lifecycle stage runs must be in; None for any.
    pub stage: Option<&'static str>,
    /// Only runs with a rowid up to this one: runs created after the first
    /// page do not shift later pages.
    pub snapshot: i64,
    pub clauses: &'a [RunClause],
    pub order: &'a [OrderBy<RunSortKey>],
    pub artifact_root: &'a str,
    pub limit: usize,
    pub offset: usize,
}

/// Where the rows of a run query come from.
#[derive(Clone, Copy)]
enum Start {
    /// The runs of the experiments, by the experiment index (which also
    /// gives the default start-time order).
    Runs,
    /// The runs that clause `i` of the filter matches.
    Candidates(usize),
    /// The runs with a number (not NaN) for the first order key, a metric,
    /// read in order from the metric index.
    MetricOrder,
}

/// The join and ORDER BY terms of the order keys; in `MetricOrder` the
/// first key is the starting table `o0` itself.
fn order_terms(q: &RunQuery<'_>, start: Start) -> (Sql, Sql) {
    let mut joins = Sql::default();
    let mut order = Sql::default();
    for (n, o) in q.order.iter().enumerate() {
        let alias = format!("o{n}");
        let dir = direction(o.ascending);
        match &o.key {
            RunSortKey::Metric(_) if n == 0 && matches!(start, Start::MetricOrder) => {
                order.push(&format!("o0.last_value{dir}, "));
            }
            RunSortKey::Metric(key) => {
                joins
                    .push(&format!(
                        " LEFT JOIN metric_series {alias} ON {alias}.run_uuid = r.run_uuid AND {alias}.key = "
                    ))
                    .bind(key.clone());
                // Numbers first, then NaN, then runs without the metric.
                order.push(&format!(
                    "CASE WHEN {alias}.last_bits IS NULL THEN 2 WHEN {alias}.last_value IS NULL THEN 1 ELSE 0 END, {alias}.last_value{dir}, "
                ));
            }
            RunSortKey::Param(key) | RunSortKey::Tag(key) => {
                let table = if matches!(o.key, RunSortKey::Param(_)) {
                    "params"
                } else {
                    "tags"
                };
                joins
                    .push(&format!(
                        " LEFT JOIN {table} {alias} ON {alias}.run_uuid = r.run_uuid AND {alias}.key = "
                    ))
                    .bind(key.clone());
                order.push(&format!("{alias}.value IS NULL, {alias}.value{dir}, "));
            }
            RunSortKey::Text(a) => {
                let column = text_column(*a, q.artifact_root);
                order.append(&column).push(" IS NULL, ");
                order.append(&column).push(dir).push(", ");
            }
            RunSortKey::Numeric(a) => {
                let column = num_column(*a);
                order.push(&format!("{column} IS NULL, {column}{dir}, "));
            }
        }
    }
    if !q
        .order
        .iter()
        .any(|o| o.key == RunSortKey::Numeric(NumAttribute::StartTime))
    {
        order.push("r.start_time DESC, ");
    }
    order.push("r.run_uuid");
    (joins, order)
}

fn assemble(q: &RunQuery<'_>, compiled: &[Compiled], start: Start) -> Sql {
    let (joins, order) = order_terms(q, start);
    let mut sql = Sql::plain("SELECT r.run_uuid FROM ");
    // Probes name the starting table's run id where there is one, so that
    // they can reject a candidate before its run row is read.
    let run_column = match start {
        Start::Runs => {
            sql.push("runs r");
            "r.run_uuid"
        }
        Start::Candidates(i) => {
            let Compiled::Keyed(k) = &compiled[i] else {
                unreachable!("only keyed clauses start a query")
            };
            sql.push("(")
                .append(&k.candidates())
                .push(") AS c CROSS JOIN runs r ON r.run_uuid = c.run_uuid");
            "c.run_uuid"
        }
        Start::MetricOrder => {
            sql.push("metric_series o0 CROSS JOIN runs r ON r.run_uuid = o0.run_uuid");
            "o0.run_uuid"
        }
    };
    if uses_artifact_uri(q.clauses, q.order) {
        sql.push(" JOIN experiments e ON e.experiment_id = r.experiment_id");
    }
    sql.append(&joins).push(" WHERE ");
    if let Start::MetricOrder = start {
        let RunSortKey::Metric(key) = &q.order[0].key else {
            unreachable!("MetricOrder starts from a metric order key")
        };
        sql.push("o0.key = ")
            .bind(key.clone())
            .push(" AND o0.last_value IS NOT NULL AND ");
    }
    sql.push("+r.rowid <= ").bind(q.snapshot).push(" AND ");
    sql.push("r.experiment_id IN ").bind_list(q.experiment_ids);
    if let Some(stage) = q.stage {
        sql.push(" AND +r.lifecycle_stage = ")
            .bind(stage.to_string());
    }
    for (i, c) in compiled.iter().enumerate() {
        if matches!(start, Start::Candidates(d) if d == i) {
            continue;
        }
        sql.push(" AND ");
        match c {
            Compiled::Keyed(k) => sql.append(&k.probe(run_column)),
            Compiled::Plain(p) => sql.append(p),
        };
    }
    sql.push(" ORDER BY ").append(&order);
    sql.push(" LIMIT ")
        .bind(q.limit as i64)
        .push(" OFFSET ")
        .bind(q.offset as i64);
    sql
}

/// The clause likeliest to match few runs, to start from; None when the
/// filter names run ids (the runs' own key finds them) or has no clause
/// with rows to start from.
fn candidate_clause(q: &RunQuery<'_>, compiled: &[Compiled]) -> Option<usize> {
    if q.clauses.iter().any(looks_up_run_ids) {
        return None;
    }
    compiled
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Compiled::Keyed(k) if !k.absent => Some((k.rank, i)),
            _ => None,
        })
        .min()
        .map(|(_, i)| i)
}

/// `SELECT r.run_uuid ...` for one page of a run search.
///
/// Without statistics SQLite cannot tell which clause matches fewest runs,
/// so the query says where to start: from run ids when the filter names
/// them, else from the rows of the clause likeliest to match few runs (the
/// other clauses are then probed per candidate through the tables' (run,
/// key) keys), else from the runs of the experiments. Unary `+` keeps
/// SQLite from starting elsewhere.
pub fn runs(q: &RunQuery<'_>) -> Sql {
    let compiled: Vec<Compiled> = q
        .clauses
        .iter()
        .map(|c| run_clause(c, q.artifact_root))
        .collect();
    let start = match candidate_clause(q, &compiled) {
        Some(i) => Start::Candidates(i),
        None => Start::Runs,
    };
    assemble(q, &compiled, start)
}

/// A quicker query for a page of an unfiltered search ordered first by a
/// metric: it reads the metric index in order and stops at the page's end.
/// It sees only runs with a number for the metric, which come first in the
/// full order, so its answer is the full query's whenever it fills the page
/// (`limit` rows); otherwise the page reaches NaN or missing values and the
/// full query must run. (With a filter, a scan of the metric index could
/// pass many runs the filter rejects; the full query starts from the
/// filter instead.)
pub fn runs_in_metric_order(q: &RunQuery<'_>) -> Option<Sql> {
    let first_is_metric = matches!(
        q.order.first(),
        Some(OrderBy {
            key: RunSortKey::Metric(_),
            ..
        })
    );
    if !first_is_metric || !q.clauses.is_empty() {
        return None;
    }
    Some(assemble(q, &[], Start::MetricOrder))
}

/// An experiment search, ready to compile.
pub struct ExperimentQuery<'a> {
    pub stage: Option<&'static str>,
    /// Only experiments with an id up to this one.
    pub snapshot: i64,
    pub clauses: &'a [ExperimentClause],
    pub order: &'a [OrderBy<ExperimentSortKey>],
    pub limit: usize,
    pub offset: usize,
}

fn experiment_column(k: ExperimentSortKey) -> &'static str {
    match k {
        ExperimentSortKey::Name => "e.name",
        ExperimentSortKey::ExperimentId => "e.experiment_id",
        ExperimentSortKey::CreationTime => "e.creation_time",
        ExperimentSortKey::LastUpdateTime => "e.last_update_time",
    }
}

fn experiment_clause(sql: &mut Sql, clause: &ExperimentClause) {
    match clause {
        ExperimentClause::Name(t) => text_test(sql, &Sql::plain("e.name"), t),
        ExperimentClause::Id { op, ids } => {
            sql.push("e.experiment_id ")
                .push(id_sql(*op))
                .push(" ")
                .bind_list(ids);
        }
        ExperimentClause::CreationTime(t) | ExperimentClause::LastUpdateTime(t) => {
            let column = if matches!(clause, ExperimentClause::CreationTime(_)) {
                "e.creation_time"
            } else {
                "e.last_update_time"
            };
            sql.push(column)
                .push(" ")
                .push(op_sql(t.op))
                .push(" ")
                .bind(number_value(t.value));
        }
        ExperimentClause::Tag { key, test } => {
            let negate = matches!(test, KeyTest::IsNull);
            sql.push(if negate {
                "e.experiment_id NOT IN"
            } else {
                "e.experiment_id IN"
            })
            .push(" (SELECT t.experiment_id FROM experiment_tags t WHERE t.key = ")
            .bind(key.clone());
            if let KeyTest::Value(v) = test {
                sql.push(" AND ");
                text_test(sql, &Sql::plain("t.value"), v);
            }
            sql.push(")");
        }
    }
}

/// `SELECT e.experiment_id ...` for one page of an experiment search.
/// With no order_by, the order is MLflow's: newest first, then by id; a
/// given order_by ends with `experiment_id DESC` unless it names the id.
pub fn experiments(q: &ExperimentQuery<'_>) -> Sql {
    let default = [
        OrderBy {
            key: ExperimentSortKey::CreationTime,
            ascending: false,
        },
        OrderBy {
            key: ExperimentSortKey::ExperimentId,
            ascending: true,
        },
    ];
    let order_by = if q.order.is_empty() {
        &default[..]
    } else {
        q.order
    };
    let mut sql = Sql::plain("SELECT e.experiment_id FROM experiments e WHERE e.experiment_id <= ");
    sql.bind(q.snapshot);
    if let Some(stage) = q.stage {
        sql.push(" AND e.lifecycle_stage = ")
            .bind(stage.to_string());
    }
    for clause in q.clauses {
        sql.push(" AND ");
        experiment_clause(&mut sql, clause);
    }
    sql.push(" ORDER BY ");
    for o in order_by {
        sql.push(experiment_column(o.key))
            .push(direction(o.ascending))
            .push(", ");
    }
    if !order_by
        .iter()
        .any(|o| o.key == ExperimentSortKey::ExperimentId)
    {
        sql.push("e.experiment_id DESC, ");
    }
    sql.text.truncate(sql.text.len() - 2);
    sql.push(" LIMIT ")
        .bind(q.limit as i64)
        .push(" OFFSET ")
        .bind(q.offset as i64);
    sql
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
    fn user_text_is_never_in_the_sql() {
        let clauses = super::super::runs::parse_filter(
            "params.`x'; DROP TABLE runs; --` = 'y''; DROP' AND tags.\"t\" LIKE '%z'",
        )
        .unwrap();
        let order = super::super::runs::parse_order_by(&["params.`evil'key` DESC"]).unwrap();
        let sql = runs(&RunQuery {
            experiment_ids: &[0],
            stage: Some("active"),
            snapshot: 10,
            clauses: &clauses,
            order: &order,
            artifact_root: "/root'x",
            limit: 10,
            offset: 0,
        });
        for needle in ["DROP", "evil", "'%z", "root"] {
            assert!(!sql.text.contains(needle), "{needle} in {}", sql.text);
        }
        assert_eq!(sql.text.matches('?').count(), sql.params.len());
    }
}
