//! Logged-model searches in SQL, on `logged_models m` joined with its
//! experiment `e`.
//!
//! MLflow's semantics where they are defined:
//! - a metric clause holds when any point of the metric passes (only
//!   points on the search's datasets, when it names some). Points compare
//!   as MLflow's SQL store keeps them: ±inf as ±f64::MAX and NaN as 0
//!   (its logged-model metrics keep no NaN marker that a filter reads);
//! - a tag or param clause holds when the model has the key with a value
//!   that passes; `IS NULL` when it lacks the key;
//! - ordering puts missing values last in both directions; a metric orders
//!   by its latest point (greatest timestamp, then step, then least run
//!   id), NaN after every number and before missing values; ties fall back
//!   to the newest first (creation time, then the order of creation).
//!
//! Lists (`IN`, experiment ids) are always bound as one JSON parameter.

use super::{
    direction, float_value, key_rows, num_test, op_sql, text_test, value_test, Lists, Sql,
};
use crate::search::ast::{KeyTest, ModelClause, ModelOrder, ModelSortKey, ModelText, ModelTime};

/// A model search, ready to compile.
pub struct ModelQuery<'a> {
    pub experiment_ids: &'a [i64],
    pub clauses: &'a [ModelClause],
    /// (name, digest): metric clauses only look at points on these
    /// datasets; with no metric clause, a model needs a point on one.
    pub datasets: &'a [(String, Option<String>)],
    pub order: &'a [ModelOrder],
    /// The greatest model rowid the first page could see; None on the
    /// first page.
    pub snapshot: Option<i64>,
    pub limit: usize,
    pub offset: usize,
    pub artifact_root: &'a str,
}

/// The SQL of a model's text attribute, on the aliases `m` (the model)
/// and `e` (its experiment).
fn text_column(a: ModelText, artifact_root: &str) -> Sql {
    match a {
        ModelText::ModelId => Sql::plain("m.model_id"),
        ModelText::Name => Sql::plain("m.name"),
        ModelText::Status => Sql::plain("m.status"),
        ModelText::ModelType => Sql::plain("m.model_type"),
        ModelText::SourceRunId => Sql::plain("m.source_run_id"),
        // Computed as `get_logged_model` computes it.
        ModelText::ArtifactLocation => {
            let mut s =
                Sql::plain("coalesce(m.artifact_location, rtrim(coalesce(e.artifact_location, ");
            s.bind(artifact_root.to_string()).push(
                " || '/' || m.experiment_id), '/') || '/models/' || m.model_id || '/artifacts')",
            );
            s
        }
    }
}

fn time_column(a: ModelTime) -> &'static str {
    match a {
        ModelTime::Creation => "m.creation_time",
        ModelTime::LastUpdated => "m.last_updated_time",
    }
}

/// `(x.dataset_name = ? [AND x.dataset_digest = ?]) OR ...`, in parentheses.
fn datasets_condition(s: &mut Sql, datasets: &[(String, Option<String>)]) {
    s.push("(");
    for (i, (name, digest)) in datasets.iter().enumerate() {
        if i > 0 {
            s.push(" OR ");
        }
        s.push("(x.dataset_name = ").bind(name.clone());
        if let Some(d) = digest {
            s.push(" AND x.dataset_digest = ").bind(d.clone());
        }
        s.push(")");
    }
    s.push(")");
}

/// A tag or param clause on `table`.
fn key_test(s: &mut Sql, table: &str, key: &str, test: &KeyTest) {
    s.push(if matches!(test, KeyTest::IsNull) {
        "NOT EXISTS"
    } else {
        "EXISTS"
    })
    .push(" (SELECT 1 FROM ")
    .push(table)
    .push(" x WHERE x.model_id = m.model_id AND ");
    key_rows(s, "x.key", key, value_test("x.value", test), Lists::Json);
    s.push(")");
}

fn clause(s: &mut Sql, c: &ModelClause, q: &ModelQuery<'_>) {
    match c {
        ModelClause::Text { attribute, test } => {
            text_test(
                s,
                &text_column(*attribute, q.artifact_root),
                test,
                Lists::Json,
            );
        }
        ModelClause::Time { attribute, test } => num_test(s, time_column(*attribute), test),
        ModelClause::Tag { key, test } => key_test(s, "logged_model_tags", key, test),
        ModelClause::Param { key, test } => key_test(s, "logged_model_params", key, test),
        ModelClause::Metric { key, test } => {
            let bound = float_value(test.value);
            s.push("EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = m.model_id AND x.key = ")
                .bind(key.clone())
                .push(" AND ");
            // The point as MLflow's store compares it: ±inf clamped to
            // ±f64::MAX, NaN (a NULL value here) as 0.
            s.push("coalesce(max(min(x.value, ")
                .bind(f64::MAX)
                .push("), ")
                .bind(-f64::MAX)
                .push("), 0.0) ")
                .push(op_sql(test.op))
                .push(" ")
                .bind(bound);
            if !q.datasets.is_empty() {
                s.push(" AND ");
                datasets_condition(s, q.datasets);
            }
            s.push(")");
        }
    }
}

/// The query of a page's model ids: one more than the page holds, to
/// tell whether another page follows.
pub fn logged_models(q: &ModelQuery<'_>, snapshot: i64) -> Sql {
    let mut s = Sql::default();
    s.push(
        "SELECT m.model_id FROM logged_models m
         LEFT JOIN experiments e ON e.experiment_id = m.experiment_id",
    );
    // The latest point of each metric the order names.
    for (n, o) in q.order.iter().enumerate() {
        if let ModelSortKey::Metric {
            key,
            dataset_name,
            dataset_digest,
        } = &o.key
        {
            s.push(&format!(
                " LEFT JOIN logged_model_metrics o{n} ON o{n}.rowid = (SELECT x.rowid
                   FROM logged_model_metrics x WHERE x.model_id = m.model_id AND x.key = "
            ))
            .bind(key.clone());
            if let Some(name) = dataset_name {
                s.push(" AND x.dataset_name = ").bind(name.clone());
            }
            if let Some(digest) = dataset_digest {
                s.push(" AND x.dataset_digest = ").bind(digest.clone());
            }
            s.push(" ORDER BY x.timestamp DESC, x.step DESC, ifnull(x.run_uuid, '') LIMIT 1)");
        }
    }
    s.push(" WHERE m.rowid <= ")
        .bind(snapshot)
        .push(" AND m.lifecycle_stage = 'active' AND m.experiment_id IN ")
        .bind_json_list(q.experiment_ids);
    for c in q.clauses {
        s.push(" AND ");
        clause(&mut s, c, q);
    }
    let has_metric_clause = q
        .clauses
        .iter()
        .any(|c| matches!(c, ModelClause::Metric { .. }));
    if !q.datasets.is_empty() && !has_metric_clause {
        s.push(
            " AND EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = m.model_id AND ",
        );
        datasets_condition(&mut s, q.datasets);
        s.push(")");
    }
    s.push(" ORDER BY ");
    let mut creation_order = None;
    for (n, o) in q.order.iter().enumerate() {
        let dir = direction(o.ascending);
        match &o.key {
            ModelSortKey::Text(a) => {
                let column = text_column(*a, q.artifact_root);
                s.push("(").append(&column).push(") IS NULL, ");
                s.append(&column).push(dir).push(", ");
            }
            ModelSortKey::Time(a) => {
                if *a == ModelTime::Creation {
                    creation_order = Some(o.ascending);
                }
                s.push(time_column(*a)).push(dir).push(", ");
            }
            ModelSortKey::Metric { .. } => {
                s.push(&format!(
                    "o{n}.rowid IS NULL, o{n}.value IS NULL, o{n}.value{dir}, "
                ));
            }
        }
    }
    match creation_order {
        Some(ascending) => s.push("m.rowid").push(direction(ascending)),
        None => s.push("m.creation_time DESC, m.rowid DESC"),
    };
    s.push(" LIMIT ")
        .bind(q.limit as i64 + 1)
        .push(" OFFSET ")
        .bind(q.offset as i64);
    s
}
