//! A run's inputs and outputs, as MLflow's `log_inputs` and `log_outputs`
//! write them: each dataset once per experiment (by name and digest), an
//! input edge dataset → run with its tags, edges run → logged model for
//! model inputs and outputs. The ids MLflow makes at random (uuid4 hex)
//! are derived here from what they join, so that a repeated export finds
//! its own rows.

use postgres::Transaction;
use tracklite::{Run, Store};

use crate::artifacts::sha256_hex;
use crate::error::{ExportError, Result};

type ErrFn<'a> = dyn Fn(&str, &dyn std::error::Error) -> ExportError + 'a;

/// A 32-hex id derived from `parts`.
pub(crate) fn derived_id(parts: &[&str]) -> String {
    let mut text = String::new();
    for p in parts {
        text.push_str(p);
        text.push('\u{0}');
    }
    sha256_hex(text.as_bytes())[..32].to_string()
}

/// Writes the inputs and outputs of `run` that the database lacks; how
/// many were written.
pub(crate) fn write_run(
    tx: &mut Transaction<'_>,
    store: &Store,
    run: &Run,
    experiment: i32,
    err: &ErrFn<'_>,
) -> Result<u64> {
    let id = run.info.run_id.as_str();
    let mut written = 0;
    let experiment_text = experiment.to_string();
    for input in &run.inputs {
        let d = &input.dataset;
        let what = format!("dataset {:?} ({})", d.name, d.digest);
        let new_uuid = derived_id(&["dataset", &experiment_text, &d.name, &d.digest]);
        tx.execute(
            "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, \
             dataset_source_type, dataset_source, dataset_schema, dataset_profile) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (experiment_id, name, digest) DO NOTHING",
            &[
                &new_uuid,
                &experiment,
                &d.name,
                &d.digest,
                &d.source_type,
                &d.source,
                &d.schema,
                &d.profile,
            ],
        )
        .map_err(|e| err(&format!("writing {what}"), &e))?;
        let dataset: String = tx
            .query_one(
                "SELECT dataset_uuid FROM datasets \
                 WHERE experiment_id = $1 AND name = $2 AND digest = $3",
                &[&experiment, &d.name, &d.digest],
            )
            .map_err(|e| err(&format!("reading {what}"), &e))?
            .get(0);
        let input_uuid = derived_id(&["input", id, &dataset]);
        let made = tx
            .execute(
                "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, \
                 destination_id, step) VALUES ($1, 'DATASET', $2, 'RUN', $3, 0) \
                 ON CONFLICT DO NOTHING",
                &[&input_uuid, &dataset, &id],
            )
            .map_err(|e| err(&format!("writing the input of {what}"), &e))?;
        if made == 1 {
            let (names, values): (Vec<&str>, Vec<&str>) = input
                .tags
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .unzip();
            tx.execute(
                "INSERT INTO input_tags (input_uuid, name, value) \
                 SELECT $1, n, v FROM UNNEST($2::text[], $3::text[]) AS t(n, v) \
                 ON CONFLICT DO NOTHING",
                &[&input_uuid, &names, &values],
            )
            .map_err(|e| err(&format!("writing the input tags of {what}"), &e))?;
            written += 1;
        }
    }
    for model_id in store.run_model_inputs(id)? {
        let edge = derived_id(&["model_input", id, &model_id]);
        written += tx
            .execute(
                "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, \
                 destination_id, step) VALUES ($1, 'RUN_INPUT', $2, 'MODEL_INPUT', $3, 0) \
                 ON CONFLICT DO NOTHING",
                &[&edge, &id, &model_id],
            )
            .map_err(|e| err(&format!("writing its model input {model_id}"), &e))?;
    }
    for output in store.run_outputs(id)? {
        let edge = derived_id(&["model_output", id, &output.model_id]);
        written += tx
            .execute(
                "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, \
                 destination_id, step) VALUES ($1, 'RUN_OUTPUT', $2, 'MODEL_OUTPUT', $3, $4) \
                 ON CONFLICT DO NOTHING",
                &[&edge, &id, &output.model_id, &output.step],
            )
            .map_err(|e| err(&format!("writing its output {}", output.model_id), &e))?;
    }
    Ok(written)
}
