//! The database must hold MLflow's schema at a revision this mode writes:
//! the tables and columns are MLflow 3.17's (alembic head `dc11669786a5`),
//! checked before anything is written.

use postgres::Client;

use super::target::PgTarget;
use crate::error::{ExportError, Result};

/// The alembic revisions whose schema the direct mode writes, with the
/// MLflow release that made each. MLflow 3.18's head (`f4a9b2c7d1e6`) is
/// not among them: its schema has not been checked against what this mode
/// writes.
pub const SUPPORTED_REVISIONS: &[(&str, &str)] = &[("dc11669786a5", "MLflow 3.17")];

/// The tables written, each with the columns relied on.
const TABLES: &[(&str, &[&str])] = &[
    (
        "experiments",
        &["experiment_id", "name", "artifact_location", "workspace"],
    ),
    ("experiment_tags", &["key", "value", "experiment_id"]),
    (
        "runs",
        &[
            "run_uuid",
            "name",
            "artifact_uri",
            "experiment_id",
            "deleted_time",
        ],
    ),
    ("tags", &["key", "value", "run_uuid"]),
    ("params", &["key", "value", "run_uuid"]),
    (
        "metrics",
        &["key", "value", "timestamp", "run_uuid", "step", "is_nan"],
    ),
    (
        "latest_metrics",
        &["key", "value", "timestamp", "step", "is_nan", "run_uuid"],
    ),
    (
        "datasets",
        &["dataset_uuid", "experiment_id", "name", "digest"],
    ),
    (
        "inputs",
        &[
            "input_uuid",
            "source_type",
            "source_id",
            "destination_type",
            "step",
        ],
    ),
    ("input_tags", &["input_uuid", "name", "value"]),
    (
        "logged_models",
        &["model_id", "status", "artifact_location", "source_run_id"],
    ),
    (
        "logged_model_params",
        &["model_id", "experiment_id", "param_key", "param_value"],
    ),
    (
        "logged_model_tags",
        &["model_id", "experiment_id", "tag_key", "tag_value"],
    ),
    (
        "logged_model_metrics",
        &["model_id", "metric_name", "run_id", "dataset_digest"],
    ),
    ("registered_models", &["name", "workspace", "description"]),
    (
        "registered_model_tags",
        &["key", "value", "name", "workspace"],
    ),
    (
        "model_versions",
        &["name", "version", "storage_location", "workspace"],
    ),
    (
        "model_version_tags",
        &["key", "value", "name", "version", "workspace"],
    ),
    (
        "registered_model_aliases",
        &["alias", "version", "name", "workspace"],
    ),
];

/// Checks the alembic revision, then that every table and column written
/// is there.
pub(crate) fn check(client: &mut Client, target: &PgTarget) -> Result<String> {
    let rows = client
        .query("SELECT version_num FROM alembic_version", &[])
        .map_err(|e| ExportError::UnsupportedSchema {
            target: target.shown.clone(),
            found: format!("none ({})", target.scrub(&e.to_string())),
            supported: supported(),
        })?;
    let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let known = found.len() == 1 && SUPPORTED_REVISIONS.iter().any(|(r, _)| *r == found[0]);
    if !known {
        return Err(ExportError::UnsupportedSchema {
            target: target.shown.clone(),
            found: if found.is_empty() {
                "none".into()
            } else {
                found.join(", ")
            },
            supported: supported(),
        });
    }
    let columns = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema()",
            &[],
        )
        .map_err(|e| target.error("reading the schema", &e))?;
    let have: std::collections::HashSet<(String, String)> =
        columns.iter().map(|r| (r.get(0), r.get(1))).collect();
    for (table, cols) in TABLES {
        for col in *cols {
            if !have.contains(&(table.to_string(), col.to_string())) {
                return Err(ExportError::UnsupportedSchema {
                    target: target.shown.clone(),
                    found: format!("{} without column {table}.{col}", found[0]),
                    supported: supported(),
                });
            }
        }
    }
    Ok(found[0].clone())
}

fn supported() -> String {
    SUPPORTED_REVISIONS
        .iter()
        .map(|(r, m)| format!("{r} ({m})"))
        .collect::<Vec<_>>()
        .join(", ")
}
