//! A run's inputs (datasets with their tags, logged models) through
//! runs/log-inputs, and its outputs (logged models at a step) through
//! runs/outputs. Each input or output is journaled once the server took it,
//! so a second export sends none again (the server would keep one anyway).

use serde_json::{json, Value};

use crate::error::Result;
use crate::objects::{digest, key_values, Objects, ObjectsSummary};

/// Journal kind of a dataset input: key `<run>/<name>/<digest>`.
pub(crate) const INPUT: &str = "input";
/// Journal kind of a model input: key `<run>/<model id>`.
pub(crate) const MODEL_INPUT: &str = "model_input";
/// Journal kind of a run output: key `<run>/<model id>/<step>`.
pub(crate) const OUTPUT: &str = "output";

/// Sends the inputs and outputs of exported run `run_id` not sent yet.
pub(crate) fn export_run_io(
    ctx: &Objects<'_>,
    run_id: &str,
    summary: &mut ObjectsSummary,
) -> Result<()> {
    let Some(remote_run) = ctx.runs.get(run_id) else {
        return Ok(());
    };
    let run = ctx.store.get_run(run_id)?;

    let sent = ctx.journal.objects(INPUT)?;
    let mut datasets = Vec::new();
    let mut keys = Vec::new();
    for input in &run.inputs {
        let d = &input.dataset;
        let mut dataset = json!({
            "name": d.name,
            "digest": d.digest,
            "source_type": d.source_type,
            "source": d.source,
        });
        if let Some(s) = &d.schema {
            dataset["schema"] = json!(s);
        }
        if let Some(p) = &d.profile {
            dataset["profile"] = json!(p);
        }
        let entry = json!({"dataset": dataset, "tags": key_values(&input.tags)});
        let key = format!("{run_id}/{}/{}", d.name, d.digest);
        if sent.get(&key) != Some(&digest(&entry)) {
            keys.push((key, digest(&entry)));
            datasets.push(entry);
        }
    }
    let model_sent = ctx.journal.objects(MODEL_INPUT)?;
    let mut models = Vec::new();
    for model_id in ctx.store.run_model_inputs(run_id)? {
        let key = format!("{run_id}/{model_id}");
        if let (false, Some(remote)) = (model_sent.contains_key(&key), ctx.models.get(&model_id)) {
            models.push((key, json!({"model_id": remote})));
        }
    }
    if !datasets.is_empty() || !models.is_empty() {
        let body = json!({
            "run_id": remote_run,
            "datasets": datasets,
            "models": models.iter().map(|(_, m)| m.clone()).collect::<Vec<Value>>(),
        });
        ctx.client.post("runs/log-inputs", &body.to_string())?;
        for (key, d) in &keys {
            ctx.journal.record_object(INPUT, key, d)?;
        }
        for (key, m) in &models {
            ctx.journal
                .record_object(MODEL_INPUT, key, &m["model_id"].to_string())?;
        }
        summary.inputs += (keys.len() + models.len()) as u64;
    }

    let out_sent = ctx.journal.objects(OUTPUT)?;
    let mut outputs = Vec::new();
    for o in ctx.store.run_outputs(run_id)? {
        let key = format!("{run_id}/{}/{}", o.model_id, o.step);
        if let (false, Some(remote)) = (out_sent.contains_key(&key), ctx.models.get(&o.model_id)) {
            outputs.push((key, json!({"model_id": remote, "step": o.step})));
        }
    }
    if !outputs.is_empty() {
        // The server refuses an output it has (a journal lost, or an answer
        // lost): those are journaled, not sent.
        let answer = ctx.client.get("runs/get", &[("run_id", remote_run)])?;
        let there: Vec<(String, i64)> = answer
            .pointer("/run/outputs/model_outputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| {
                let step = match o.get("step") {
                    Some(Value::String(s)) => s.parse().ok(),
                    Some(v) => v.as_i64(),
                    None => Some(0),
                };
                Some((o.get("model_id")?.as_str()?.to_string(), step?))
            })
            .collect();
        outputs.retain(|(key, m)| {
            let pair = (
                m["model_id"].as_str().unwrap_or("").to_string(),
                m["step"].as_i64().unwrap_or(0),
            );
            if there.contains(&pair) {
                let _ = ctx
                    .journal
                    .record_object(OUTPUT, key, &m["model_id"].to_string());
                false
            } else {
                true
            }
        });
    }
    if !outputs.is_empty() {
        let body = json!({
            "run_id": remote_run,
            "models": outputs.iter().map(|(_, m)| m.clone()).collect::<Vec<Value>>(),
        });
        ctx.client.post("runs/outputs", &body.to_string())?;
        for (key, m) in &outputs {
            ctx.journal
                .record_object(OUTPUT, key, &m["model_id"].to_string())?;
        }
        summary.outputs += outputs.len() as u64;
    }
    Ok(())
}
