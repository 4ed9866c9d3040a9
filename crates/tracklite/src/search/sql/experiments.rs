//! Experiment searches in SQL: the attributes are columns of
//! `experiments e`, tags rows of `experiment_tags`.

use super::{direction, key_rows, num_test, text_test, value_test, Lists, Sql};
use crate::search::ast::{Comparator, ExperimentClause, ExperimentSortKey, KeyTest, OrderBy};

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
        ExperimentClause::Name(t) => text_test(sql, &Sql::plain("e.name"), t, Lists::Inline),
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
            num_test(sql, column, t);
        }
        ExperimentClause::Tag { key, test } => {
            let negate = matches!(test, KeyTest::IsNull);
            sql.push(if negate {
                "e.experiment_id NOT IN"
            } else {
                "e.experiment_id IN"
            })
            .push(" (SELECT t.experiment_id FROM experiment_tags t WHERE ");
            key_rows(
                sql,
                "t.key",
                key,
                value_test("t.value", test),
                Lists::Inline,
            );
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

/// `IN` and `NOT IN` with one id behave as `=` and `!=`.
fn id_sql(op: Comparator) -> &'static str {
    match op {
        Comparator::Eq | Comparator::In => "IN",
        _ => "NOT IN",
    }
}
