//! Run searches in SQL: where a query starts, how it is ordered and paged.
//! [`clauses`] compiles each clause of the filter.
//!
//! Ordering puts missing values last in both directions, and for metrics
//! NaN after every number and before missing values; ties fall back to
//! `start_time DESC` (unless ordered by start time) and then `run_id`.
//! Metrics are ordered by their true values, so that the metric index can
//! give the order: +inf sorts after f64::MAX (MLflow's SQL store, holding
//! both as f64::MAX, ties them).

mod clauses;
mod metric_window;
mod start_window;
mod value_window;
mod window;

use super::{direction, Sql};
use crate::search::ast::{NumAttribute, OrderBy, RunClause, RunSortKey, TextAttribute, TextTest};
use clauses::{metric_test, num_column, run_clause, text_column, Compiled};

pub use metric_window::MetricWindow;
pub use start_window::StartWindow;
pub use value_window::ValueWindow;
pub use window::Window;

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
enum Start<'b> {
    /// The runs of the experiments, by the experiment index (which also
    /// gives the default start-time order).
    Runs,
    /// The runs that clause `i` of the filter matches.
    Candidates(usize),
    /// The runs with a number (not NaN) for the first order key, a metric,
    /// read in order from the metric index; with a bound, only those whose
    /// number is at or before it in that order.
    MetricOrder(Option<f64>),
    /// The runs of the experiments in the default order (newest first),
    /// read from `runs_by_start`; with a bound, only those that started at
    /// or after it.
    NewestFirst(Option<i64>),
    /// The runs with a value for the first order key, a param or a tag
    /// (the table named), read in order from that table's (key, value)
    /// index; with a bound, only those whose value is at or before it.
    ValueOrder(&'static str, Option<&'b str>),
}

/// The join and ORDER BY terms of the order keys; in `MetricOrder` the
/// first key is the starting table `o0` itself.
fn order_terms(q: &RunQuery<'_>, start: Start<'_>) -> (Sql, Sql) {
    let mut joins = Sql::default();
    let mut order = Sql::default();
    for (n, o) in q.order.iter().enumerate() {
        let alias = format!("o{n}");
        let dir = direction(o.ascending);
        match &o.key {
            RunSortKey::Metric(_) if n == 0 && matches!(start, Start::MetricOrder(_)) => {
                order.push(&format!("o0.last_value{dir}, "));
            }
            RunSortKey::Param(_) | RunSortKey::Tag(_)
                if n == 0 && matches!(start, Start::ValueOrder(..)) =>
            {
                order.push(&format!("o0.value{dir}, "));
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

fn assemble(q: &RunQuery<'_>, compiled: &[Compiled], start: Start<'_>) -> Sql {
    let (joins, order) = order_terms(q, start);
    // The start time too: a merge of per-experiment pages orders by it.
    let mut sql = Sql::plain("SELECT r.run_uuid, r.start_time FROM ");
    // Probes name the starting table's run id where there is one, so that
    // they can reject a candidate before its run row is read.
    let run_column = match start {
        Start::Runs | Start::NewestFirst(_) => {
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
        Start::MetricOrder(_) => {
            sql.push("metric_series o0 CROSS JOIN runs r ON r.run_uuid = o0.run_uuid");
            "o0.run_uuid"
        }
        Start::ValueOrder(table, _) => {
            sql.push(table)
                .push(" o0 CROSS JOIN runs r ON r.run_uuid = o0.run_uuid");
            "o0.run_uuid"
        }
    };
    if uses_artifact_uri(q.clauses, q.order) {
        sql.push(" JOIN experiments e ON e.experiment_id = r.experiment_id");
    }
    sql.append(&joins).push(" WHERE ");
    if let Start::MetricOrder(bound) = start {
        let RunSortKey::Metric(key) = &q.order[0].key else {
            unreachable!("MetricOrder starts from a metric order key")
        };
        sql.push("o0.key = ")
            .bind(key.clone())
            .push(" AND o0.last_value IS NOT NULL AND ");
        if let Some(bound) = bound {
            let op = if q.order[0].ascending { "<=" } else { ">=" };
            sql.push(&format!("o0.last_value {op} "))
                .bind(bound)
                .push(" AND ");
        }
    }
    if let Start::ValueOrder(_, bound) = start {
        let (RunSortKey::Param(key) | RunSortKey::Tag(key)) = &q.order[0].key else {
            unreachable!("ValueOrder starts from a param or tag order key")
        };
        sql.push("o0.key = ").bind(key.clone()).push(" AND ");
        if let Some(bound) = bound {
            let op = if q.order[0].ascending { "<=" } else { ">=" };
            sql.push(&format!("o0.value {op} "))
                .bind(bound.to_string())
                .push(" AND ");
        }
    }
    sql.push("+r.rowid <= ").bind(q.snapshot).push(" AND ");
    sql.push("r.experiment_id IN ").bind_list(q.experiment_ids);
    if let Start::NewestFirst(Some(bound)) = start {
        sql.push(" AND r.start_time >= ").bind(bound);
    }
    if let Some(stage) = q.stage {
        sql.push(" AND +r.lifecycle_stage = ")
            .bind(stage.to_string());
    }
    for (i, c) in compiled.iter().enumerate() {
        if matches!(start, Start::Candidates(d) if d == i) {
            continue;
        }
        sql.push(" AND ");
        // A test of the metric the rows are read in the order of is a test
        // of the starting row itself (one row per run and key).
        if let (Start::MetricOrder(_), RunClause::Metric { key, test }) = (start, &q.clauses[i]) {
            if q.order[0].key == RunSortKey::Metric(key.clone()) {
                metric_test(&mut sql, "o0", test);
                continue;
            }
        }
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

/// Searches of at most this many experiments in the default order merge
/// one page per experiment ([`merged_by_start`]); wider ones sort every
/// match.
const MERGED_EXPERIMENTS: usize = 64;

/// One page in the default order (start time, newest first, then run id)
/// over several experiments: each experiment's first `offset + limit`
/// matches, read in that order from the `runs_by_start` index and so
/// stopping there, then merged. One experiment's page alone would be read
/// the same way; an `IN` list of several makes SQLite sort all their runs.
fn merged_by_start(q: &RunQuery<'_>, compiled: &[Compiled], experiments: &[i64]) -> Sql {
    let mut sql = Sql::plain("SELECT run_uuid FROM (");
    for (i, e) in experiments.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        let one = RunQuery {
            experiment_ids: std::slice::from_ref(e),
            limit: q.limit + q.offset,
            offset: 0,
            ..*q
        };
        sql.push("SELECT * FROM (")
            .append(&assemble(&one, compiled, Start::Runs))
            .push(")");
    }
    sql.push(") ORDER BY start_time DESC, run_uuid LIMIT ")
        .bind(q.limit as i64)
        .push(" OFFSET ")
        .bind(q.offset as i64);
    sql
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
    if matches!(start, Start::Runs) && q.order.is_empty() && !q.clauses.iter().any(looks_up_run_ids)
    {
        let mut experiments = q.experiment_ids.to_vec();
        experiments.sort_unstable();
        experiments.dedup();
        if (2..=MERGED_EXPERIMENTS).contains(&experiments.len()) {
            return merged_by_start(q, &compiled, &experiments);
        }
    }
    assemble(q, &compiled, start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::runs::{parse_filter, parse_order_by};

    #[test]
    fn user_text_is_never_in_the_sql() {
        let clauses =
            parse_filter("params.`x'; DROP TABLE runs; --` = 'y''; DROP' AND tags.\"t\" LIKE '%z'")
                .unwrap();
        let order = parse_order_by(&["params.`evil'key` DESC"]).unwrap();
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
