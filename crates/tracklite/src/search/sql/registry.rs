//! Registry searches in SQL: registered models (`registered_models m`) and
//! model versions (`model_versions v` joined with their model `m`).
//!
//! MLflow's semantics (its SQL registry store):
//! - a tag clause holds when the entity has the tag with a value that
//!   passes; several clauses on one tag must all hold;
//! - prompts (models with the tag `mlflow.prompt.is_prompt = 'true'`, on
//!   the model or, for versions, on any version of the model) are left out
//!   unless the filter asks for them (see `search::registry`);
//! - the order asked for is followed by the name (ascending) and, for
//!   versions, the version number (newest first), unless already named.

use super::{direction, num_test, text_test, Lists, Sql};
use crate::search::ast::{RegistryClause, RegistryOrder, RegistrySortKey, TextTest};
use crate::search::registry::IS_PROMPT_TAG;

/// A registry search, ready to compile.
pub struct RegistryQuery<'a> {
    pub clauses: &'a [RegistryClause],
    /// False: models tagged as prompts are left out.
    pub prompts: bool,
    pub order: &'a [RegistryOrder],
    /// The greatest rowid the first page could see.
    pub snapshot: i64,
    pub limit: usize,
    pub offset: usize,
}

/// The columns a version is read from, in `read_version`'s order.
pub const VERSION_COLUMNS: &str = "v.model_key, m.name, v.version, v.creation_time,
    v.last_updated_time, v.description, v.user_id, v.current_stage, v.source,
    v.storage_location, v.run_id, v.run_link, v.model_id, v.status, v.status_message";

/// A tag clause: `EXISTS` a row of `table` (aliased `x`) for the key whose
/// value passes, `owner` saying which rows are the entity's.
fn tag_clause(s: &mut Sql, table: &str, owner: &str, key: &str, test: &TextTest) {
    s.push("EXISTS (SELECT 1 FROM ")
        .push(table)
        .push(" x WHERE ")
        .push(owner)
        .push(" AND x.key = ")
        .bind(key.to_string())
        .push(" AND ");
    text_test(s, &Sql::plain("x.value"), test, Lists::Json);
    s.push(")");
}

/// Leaves out the models (`owner`, a model key column) that have a row of
/// `table` tagging them as prompts. The set of prompt models is read once
/// per query, not once per row.
fn without_prompts(s: &mut Sql, table: &str, owner: &str) {
    s.push(" AND ")
        .push(owner)
        .push(" NOT IN (SELECT x.model_key FROM ")
        .push(table)
        .push(" x WHERE x.key = ")
        .bind(IS_PROMPT_TAG.to_string())
        .push(" AND x.value = 'true')");
}

fn sort_column(key: RegistrySortKey, versions: bool) -> &'static str {
    match key {
        RegistrySortKey::Name => "m.name",
        RegistrySortKey::Version => "v.version",
        RegistrySortKey::CreationTime if versions => "v.creation_time",
        RegistrySortKey::CreationTime => "m.creation_time",
        RegistrySortKey::LastUpdatedTime if versions => "v.last_updated_time",
        RegistrySortKey::LastUpdatedTime => "m.last_updated_time",
    }
}

fn order_and_page(s: &mut Sql, q: &RegistryQuery<'_>, versions: bool) {
    s.push(" ORDER BY ");
    for o in q.order {
        s.push(sort_column(o.key, versions))
            .push(direction(o.ascending))
            .push(", ");
    }
    let named = |k| q.order.iter().any(|o| o.key == k);
    if versions {
        if !named(RegistrySortKey::Name) {
            s.push("m.name, ");
        }
        if !named(RegistrySortKey::Version) {
            s.push("v.version DESC, ");
        }
        s.push("v.rowid");
    } else {
        if !named(RegistrySortKey::Name) {
            s.push("m.name, ");
        }
        s.push("m.model_key");
    }
    s.push(" LIMIT ")
        .bind(q.limit as i64 + 1)
        .push(" OFFSET ")
        .bind(q.offset as i64);
}

/// The query of a page's registered model keys, one more than the page
/// holds, to tell whether another page follows.
pub fn registered_models(q: &RegistryQuery<'_>) -> Sql {
    let mut s = Sql::plain("SELECT m.model_key FROM registered_models m WHERE m.model_key <= ");
    s.bind(q.snapshot);
    for c in q.clauses {
        s.push(" AND ");
        match c {
            RegistryClause::Name(test) => {
                text_test(&mut s, &Sql::plain("m.name"), test, Lists::Json)
            }
            RegistryClause::Tag { key, test } => tag_clause(
                &mut s,
                "registered_model_tags",
                "x.model_key = m.model_key",
                key,
                test,
            ),
            // The grammar gives registered models no other clause.
            RegistryClause::Version(_)
            | RegistryClause::RunId(_)
            | RegistryClause::SourcePath(_) => {
                s.push("0");
            }
        }
    }
    if !q.prompts {
        without_prompts(&mut s, "registered_model_tags", "m.model_key");
    }
    order_and_page(&mut s, q, false);
    s
}

/// The query of a page's version rowids, in order, one more than the page
/// holds. (Sorting the rowids alone, rather than whole rows, keeps the
/// sort narrow; the rows are read afterwards.)
pub fn model_versions(q: &RegistryQuery<'_>) -> Sql {
    let mut s = Sql::plain(
        "SELECT v.rowid FROM model_versions v JOIN registered_models m ON m.model_key = v.model_key
          WHERE v.rowid <= ",
    );
    s.bind(q.snapshot);
    for c in q.clauses {
        s.push(" AND ");
        match c {
            RegistryClause::Name(test) => {
                text_test(&mut s, &Sql::plain("m.name"), test, Lists::Json)
            }
            RegistryClause::RunId(test) => {
                text_test(&mut s, &Sql::plain("v.run_id"), test, Lists::Json)
            }
            RegistryClause::SourcePath(test) => {
                text_test(&mut s, &Sql::plain("v.source"), test, Lists::Json)
            }
            RegistryClause::Version(test) => num_test(&mut s, "v.version", test),
            RegistryClause::Tag { key, test } => tag_clause(
                &mut s,
                "model_version_tags",
                "x.model_key = v.model_key AND x.version = v.version",
                key,
                test,
            ),
        }
    }
    if !q.prompts {
        without_prompts(&mut s, "model_version_tags", "v.model_key");
    }
    order_and_page(&mut s, q, true);
    s
}
