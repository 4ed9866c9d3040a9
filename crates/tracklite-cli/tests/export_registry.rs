//! `tracklite export` of dataset inputs, logged models (params, tags,
//! status, metrics), run outputs and the model registry (registered
//! models, versions, stages, tags, aliases) against a real `mlflow server`
//! (SQLite, started on a free loopback port), read back with MLflow's own
//! client and compared field by field; a second export makes nothing.
//!
//! Like `export_mlflow.rs`, these tests need a Python environment with
//! MLflow (`$TRACKLITE_TEST_VENV` or the checkout's `.venv`) and pass
//! without running when there is none.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use tracklite::{
    Dataset, DatasetInput, LoggedModelOutput, LoggedModelStatus, ModelMetric, ModelVersionStage,
    NewLoggedModel, NewModelVersion, NewRun, RunStatus, RunUpdate, Store,
};

mod common;

use common::{export, pairs, venv, Server};

const MLMODEL: &[u8] = b"flavors:\n  sklearn: {}\n";
const WEIGHTS: &[u8] = &[0, 1, 2, 3, 254, 255];
const BASE_TIME: i64 = 1_700_000_000_000;

/// What the server holds for this test, read with MLflow's client.
fn dump(venv: &Path, url: &str) -> Value {
    const SCRIPT: &str = r#"
import json, sys
import mlflow.artifacts
from mlflow import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
c = MlflowClient(sys.argv[1])
e = c.get_experiment_by_name("registry")
runs = {}
for r in c.search_runs([e.experiment_id]):
    runs[r.data.tags.get("tracklite.run_id")] = dict(
        remote_id=r.info.run_id,
        inputs=[dict(name=d.dataset.name, digest=d.dataset.digest,
                     source_type=d.dataset.source_type, source=d.dataset.source,
                     schema=d.dataset.schema, profile=d.dataset.profile,
                     tags={t.key: t.value for t in d.tags})
                for d in r.inputs.dataset_inputs],
        model_inputs=[m.model_id for m in (r.inputs.model_inputs or [])],
        outputs=[dict(model_id=o.model_id, step=o.step)
                 for o in (r.outputs.model_outputs if r.outputs else [])],
        metrics={k: [[m.timestamp, m.step, m.value] for m in c.get_metric_history(r.info.run_id, k)]
                 for k in r.data.metrics})
def model_files(model_id, path=None):
    for f in c.list_logged_model_artifacts(model_id, path):
        yield from model_files(model_id, f.path) if f.is_dir else [f.path]
models = {}
for m in c.search_logged_models([e.experiment_id]):
    models[m.tags.get("tracklite.model_id")] = dict(
        remote_id=m.model_id, name=m.name, model_type=m.model_type,
        source_run_id=m.source_run_id, status=str(m.status), params=m.params, tags=m.tags,
        metrics=sorted([m2.key, m2.value, m2.timestamp, m2.step, m2.dataset_name,
                        m2.dataset_digest, m2.run_id] for m2 in m.metrics),
        files={p: open(mlflow.artifacts.download_artifacts(
                   artifact_uri=f"{m.artifact_location}/{p}"), "rb").read().hex()
               for p in model_files(m.model_id)})
rm = c.get_registered_model("iris")
versions = {}
for found in c.search_model_versions("name='iris'"):
    v = c.get_model_version("iris", found.version)
    versions[v.version] = dict(source=v.source, run_id=v.run_id, model_id=v.model_id,
                               description=v.description, tags=v.tags,
                               stage=v.current_stage, aliases=sorted(v.aliases))
print(json.dumps(dict(runs=runs, models=models, versions=versions,
    registered=dict(description=rm.description, tags=rm.tags, aliases=rm.aliases))))
"#;
    let output = Command::new(venv.join("bin/python"))
        .args(["-c", SCRIPT, url])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A run with a dataset input, a logged model (params, tags, metrics on the
/// dataset, finalized READY) that the run gives as output, and a registered
/// model with two versions (one from the run, one from the logged model),
/// a stage, tags and an alias. Returns (store, run id, model id).
fn make_store(path: &Path) -> (Store, String, String) {
    let store = Store::open(path).unwrap();
    let exp = store
        .create_experiment("registry", None, &pairs(&[("team", "ml")]))
        .unwrap();
    let run = store
        .create_run(NewRun {
            experiment_id: Some(exp.clone()),
            run_name: Some("train".into()),
            user_id: Some("alice".into()),
            start_time: Some(BASE_TIME),
            params: pairs(&[("lr", "0.1")]),
            ..NewRun::default()
        })
        .unwrap()
        .run_id;
    let dataset = Dataset {
        name: "iris-train".into(),
        digest: "d1g3st".into(),
        source_type: "local".into(),
        source: r#"{"uri": "/data/iris.csv"}"#.into(),
        schema: Some(r#"{"mlflow_colspec": [{"type": "double", "name": "x"}]}"#.into()),
        profile: Some(r#"{"num_rows": 150}"#.into()),
    };
    store
        .log_inputs(
            &run,
            &[DatasetInput {
                dataset,
                tags: [("mlflow.data.context".to_string(), "training".to_string())].into(),
            }],
        )
        .unwrap();
    let model = store
        .create_logged_model(NewLoggedModel {
            experiment_id: Some(exp),
            name: Some("clf".into()),
            source_run_id: Some(run.clone()),
            model_type: Some("classifier".into()),
            tags: pairs(&[("framework", "sklearn")]),
            params: pairs(&[("alpha", "0.5"), ("depth", "3")]),
        })
        .unwrap()
        .model_id;
    let points: Vec<ModelMetric> = (0..3)
        .map(|i| ModelMetric {
            model_id: model.clone(),
            key: "acc".into(),
            value: 0.5 + 0.125 * i as f64,
            timestamp: BASE_TIME + 100 * i,
            step: i,
            run_id: Some(run.clone()),
            dataset_name: Some("iris-train".into()),
            dataset_digest: Some("d1g3st".into()),
        })
        .collect();
    store.log_model_metrics(&points).unwrap();
    // As MLflow does, the points are in the run's history too.
    for p in &points {
        store
            .log_metric(&run, &p.key, p.value, p.timestamp, p.step)
            .unwrap();
    }
    store
        .log_outputs(
            &run,
            &[LoggedModelOutput {
                model_id: model.clone(),
                step: 2,
            }],
        )
        .unwrap();
    // The model's files, as a flavour writes them before it is finalized.
    let location = store
        .get_logged_model(&model, false)
        .unwrap()
        .artifact_location;
    std::fs::create_dir_all(Path::new(&location).join("data")).unwrap();
    std::fs::write(Path::new(&location).join("MLmodel"), MLMODEL).unwrap();
    std::fs::write(Path::new(&location).join("data/weights.bin"), WEIGHTS).unwrap();
    store
        .finalize_logged_model(&model, LoggedModelStatus::Ready)
        .unwrap();
    store
        .update_run(
            &run,
            RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(BASE_TIME + 10_000),
                run_name: None,
            },
        )
        .unwrap();

    store
        .create_registered_model("iris", &pairs(&[("owner", "cv")]), Some("flowers"))
        .unwrap();
    store
        .create_model_version(NewModelVersion {
            name: "iris".into(),
            source: format!("runs:/{run}/model"),
            run_id: Some(run.clone()),
            tags: pairs(&[("validated", "yes")]),
            description: Some("first".into()),
            ..NewModelVersion::default()
        })
        .unwrap();
    store
        .create_model_version(NewModelVersion {
            name: "iris".into(),
            source: format!("models:/{model}"),
            run_id: Some(run.clone()),
            model_id: Some(model.clone()),
            description: Some("second".into()),
            ..NewModelVersion::default()
        })
        .unwrap();
    store
        .transition_model_version_stage("iris", 1, ModelVersionStage::Production, false)
        .unwrap();
    store
        .set_registered_model_alias("iris", "champion", 2)
        .unwrap();
    store.flush().unwrap();
    (store, run, model)
}

/// The tags MLflow or the export adds, left out of comparisons.
fn own_tags(tags: &Value) -> Value {
    let map = tags.as_object().unwrap();
    Value::Object(
        map.iter()
            .filter(|(k, _)| !k.starts_with("tracklite.") && !k.starts_with("mlflow."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

#[test]
fn inputs_logged_models_and_the_registry_are_exported_once() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    std::fs::create_dir_all(&server_dir).unwrap();
    let server = Server::start(&venv, &server_dir);
    let (_store, run, model) = make_store(&dir.path().join("store"));

    // A dry run counts what would be made, from the journal alone.
    let (output, dry) = export(&dir.path().join("store"), &server.url(), &["--dry-run"]);
    assert!(output.status.success(), "{dry}");
    let o = &dry["objects"];
    assert_eq!(
        (
            &o["logged_models_created"],
            &o["registered_models_created"],
            &o["versions_created"]
        ),
        (&json!(1), &json!(1), &json!(2)),
        "{dry}"
    );

    let (output, summary) = export(&dir.path().join("store"), &server.url(), &[]);
    assert!(
        output.status.success(),
        "{summary}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let o = &summary["objects"];
    assert_eq!(o["failures"], json!([]), "{summary}");
    assert_eq!(o["versions_waiting"], json!([]), "{summary}");
    assert_eq!(o["model_files"], 2, "{summary}");
    assert_eq!(
        o["model_bytes"],
        (MLMODEL.len() + WEIGHTS.len()) as u64,
        "{summary}"
    );
    assert_eq!(o["inputs"], 1, "{summary}");
    assert_eq!(o["outputs"], 1, "{summary}");
    assert_eq!(o["logged_models_created"], 1, "{summary}");
    assert_eq!(o["model_metrics"], 3, "{summary}");
    assert_eq!(o["registered_models_created"], 1, "{summary}");
    assert_eq!(o["versions_created"], 2, "{summary}");

    let remote = dump(&venv, &server.url());
    let r = &remote["runs"][&run];
    let remote_run = r["remote_id"].as_str().unwrap().to_string();
    let m = &remote["models"][&model];
    let remote_model = m["remote_id"].as_str().unwrap().to_string();
    assert!(remote_model.starts_with("m-") && remote_model != model);

    // The run's dataset input, its tags, and its output.
    assert_eq!(
        r["inputs"],
        json!([{
            "name": "iris-train", "digest": "d1g3st", "source_type": "local",
            "source": r#"{"uri": "/data/iris.csv"}"#,
            "schema": r#"{"mlflow_colspec": [{"type": "double", "name": "x"}]}"#,
            "profile": r#"{"num_rows": 150}"#,
            "tags": {"mlflow.data.context": "training"},
        }]),
        "{remote}"
    );
    assert_eq!(r["outputs"], json!([{"model_id": remote_model, "step": 2}]));
    assert_eq!(r["metrics"]["acc"].as_array().unwrap().len(), 3, "{remote}");

    // The logged model.
    assert_eq!(m["name"], "clf");
    assert_eq!(m["model_type"], "classifier");
    assert_eq!(m["source_run_id"], remote_run.as_str());
    assert_eq!(m["status"], "READY", "{m}");
    assert_eq!(m["params"], json!({"alpha": "0.5", "depth": "3"}));
    assert_eq!(own_tags(&m["tags"]), json!({"framework": "sklearn"}));
    let expected_metrics: Vec<Value> = (0..3)
        .map(|i| {
            json!([
                "acc",
                0.5 + 0.125 * i as f64,
                BASE_TIME + 100 * i,
                i,
                "iris-train",
                "d1g3st",
                remote_run
            ])
        })
        .collect();
    assert_eq!(m["metrics"], json!(expected_metrics), "{m}");
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(
        m["files"],
        json!({"MLmodel": hex(MLMODEL), "data/weights.bin": hex(WEIGHTS)}),
        "{m}"
    );

    // The registered model, its versions, stage and alias.
    let rm = &remote["registered"];
    assert_eq!(rm["description"], "flowers");
    assert_eq!(own_tags(&rm["tags"]), json!({"owner": "cv"}));
    assert_eq!(rm["aliases"], json!({"champion": "2"}), "{rm}");
    let v1 = &remote["versions"]["1"];
    assert_eq!(v1["source"], format!("runs:/{remote_run}/model"));
    assert_eq!(v1["run_id"], remote_run.as_str());
    assert_eq!(v1["description"], "first");
    assert_eq!(v1["stage"], "Production");
    assert_eq!(own_tags(&v1["tags"]), json!({"validated": "yes"}));
    assert_eq!(v1["tags"]["tracklite.model_version"], "1");
    let v2 = &remote["versions"]["2"];
    assert_eq!(v2["source"], format!("models:/{remote_model}"));
    // MLflow's SQL registry keeps no model id on a version: it tags the
    // logged model with the versions made from it instead.
    let versions_tag = m["tags"]["mlflow.modelVersions"].as_str().unwrap_or("");
    assert!(
        versions_tag.contains("\"iris\"") && versions_tag.contains("\"version\": 2"),
        "{m}"
    );
    assert_eq!(v2["run_id"], remote_run.as_str());
    assert_eq!(v2["description"], "second");
    assert_eq!(v2["stage"], "None");
    assert_eq!(v2["aliases"], json!(["champion"]));

    // A second export makes and sends nothing, as a dry run says first.
    let (_, dry) = export(&dir.path().join("store"), &server.url(), &["--dry-run"]);
    let o = &dry["objects"];
    assert_eq!(
        (
            &o["logged_models_created"],
            &o["registered_models_created"],
            &o["versions_created"]
        ),
        (&json!(0), &json!(0), &json!(0)),
        "{dry}"
    );
    let (output, again) = export(&dir.path().join("store"), &server.url(), &[]);
    assert!(output.status.success(), "{again}");
    let o = &again["objects"];
    for field in [
        "inputs",
        "outputs",
        "logged_models_created",
        "logged_models_updated",
        "model_files",
        "model_metrics",
        "registered_models_created",
        "versions_created",
        "registry_updates",
    ] {
        assert_eq!(o[field], 0, "{field}: {again}");
    }
    assert_eq!(o["failures"], json!([]), "{again}");
    assert_eq!(dump(&venv, &server.url()), remote);
}

#[test]
fn a_lost_journal_finds_the_models_and_versions_made_before() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    std::fs::create_dir_all(&server_dir).unwrap();
    let server = Server::start(&venv, &server_dir);
    let (_store, _run, _model) = make_store(&dir.path().join("store"));
    let (output, summary) = export(&dir.path().join("store"), &server.url(), &[]);
    assert!(output.status.success(), "{summary}");
    assert_eq!(summary["objects"]["versions_created"], 2, "{summary}");
    let remote = dump(&venv, &server.url());

    // Another spelling of the same server has no journal yet: as when the
    // journal is lost, the objects are found again, not made twice.
    let other = server.url().replace("127.0.0.1", "localhost");
    let (output, again) = export(&dir.path().join("store"), &other, &[]);
    assert!(output.status.success(), "{again}");
    let o = &again["objects"];
    assert_eq!(o["logged_models_created"], 0, "{again}");
    assert_eq!(o["versions_created"], 0, "{again}");
    assert_eq!(o["registered_models_created"], 0, "{again}");
    assert_eq!(o["failures"], json!([]), "{again}");
    assert_eq!(dump(&venv, &server.url()), remote);
}
