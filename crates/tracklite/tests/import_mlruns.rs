//! Importing MLflow file stores (`mlruns` folders) built by hand here, file
//! by file as MLflow 3 writes them: every field kept, damaged files
//! reported and skipped, deleted runs and experiments kept deleted,
//! interrupted imports completed, and a second import a no-op.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tracklite::{
    Error, ExperimentRecord, ImportReport, LifecycleStage, LoggedModelStatus, MetricDatasetLink,
    RunImport, RunRecord, RunStatus, Store, ViewType, INDEX_FILE,
};

const EXP: &str = "123456789012345678";
const TRASHED: &str = "987654321";
const BROKEN_EXP: &str = "555";
const R1: &str = "0123456789abcdef0123456789abcdef";
const R2: &str = "1123456789abcdef0123456789abcdef";
const R3: &str = "2123456789abcdef0123456789abcdef";
const R4: &str = "3123456789abcdef0123456789abcdef";
const R5: &str = "4123456789abcdef0123456789abcdef";
const R6: &str = "5123456789abcdef0123456789abcdef";
const MODEL: &str = "m-0123456789abcdef0123456789abcdef";
const DATASET_DIR: &str = "da2574b5964f71ba2c1d8fc561b3bd05";

fn put(root: &Path, rel: &str, contents: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

fn uri(root: &Path, rel: &str) -> String {
    format!("file://{}/{rel}", root.display())
}

fn experiment_meta(root: &Path, id: &str, name: &str, stage: &str) -> String {
    format!(
        "artifact_location: {}\ncreation_time: 1700000000000\neffective_trace_archival_retention: null\n\
         experiment_id: '{id}'\nlast_update_time: 1700000000500\nlifecycle_stage: {stage}\n\
         name: {name}\ntrace_location: null\nworkspace: default\n",
        uri(root, id)
    )
}

#[allow(clippy::too_many_arguments)]
fn run_meta(
    root: &Path,
    exp: &str,
    run: &str,
    name: Option<&str>,
    status: u8,
    end: &str,
    stage: &str,
    deleted: &str,
) -> String {
    let name = name.map_or(String::new(), |n| format!("run_name: {n}\n"));
    format!(
        "artifact_uri: {}\ndeleted_time: {deleted}\nend_time: {end}\nentry_point_name: ''\n\
         experiment_id: '{exp}'\nlifecycle_stage: {stage}\nrun_id: {run}\n{name}source_name: ''\n\
         source_type: 4\nsource_version: ''\nstart_time: 1700000001000\nstatus: {status}\n\
         tags: []\nuser_id: ada\n",
        uri(root, &format!("{exp}/{run}/artifacts"))
    )
}

/// An mlruns folder with one of everything, and some damage.
fn build(root: &Path) {
    // The Default experiment, empty.
    put(
        root,
        "0/meta.yaml",
        &experiment_meta(root, "0", "Default", "active"),
    );

    // An experiment with tags (one key with '/', one multi-line value).
    put(
        root,
        &format!("{EXP}/meta.yaml"),
        &experiment_meta(root, EXP, "'exp: one'", "active"),
    );
    put(root, &format!("{EXP}/tags/team"), "vision");
    put(root, &format!("{EXP}/tags/a/b"), "line one\nline 'two'");

    // R1: every kind of field.
    let r1 = format!("{EXP}/{R1}");
    put(
        root,
        &format!("{r1}/meta.yaml"),
        &run_meta(
            root,
            EXP,
            R1,
            Some("1e-3"),
            3,
            "1700000009000",
            "active",
            "null",
        ),
    );
    put(root, &format!("{r1}/params/lr"), "0.001");
    put(root, &format!("{r1}/params/nested/p"), "x y");
    put(root, &format!("{r1}/tags/mlflow.runName"), "1e-3");
    put(root, &format!("{r1}/tags/mlflow.user"), "ada");
    put(root, &format!("{r1}/tags/a/b"), "c");
    put(
        root,
        &format!("{r1}/metrics/loss"),
        "1700000001001 nan 0\n1700000001002 inf 1\n1700000001003 -inf 2\n1700000001004 0.1 3\n\
         1700000001005 0.30000000000000004 4\n1700000001006 1e-300 -5\n1700000001007 2.5\n",
    );
    put(
        root,
        &format!("{r1}/metrics/val/acc"),
        "1700000001010 0.5 0 train 244437a9\n",
    );
    put(
        root,
        &format!("{r1}/metrics/damaged"),
        "1700000001020 1.0 0\n17000000 oops 1\n1700000001022 3.0 2\n1700000001023 4.",
    );
    put(root, &format!("{r1}/metrics/empty"), "");
    put(
        root,
        &format!("{r1}/inputs/688f8c4a2262439a439fad0fd8596c62/meta.yaml"),
        &format!(
            "destination_id: {DATASET_DIR}\ndestination_type: RUN\nsource_id: {DATASET_DIR}\n\
             source_type: DATASET\ntags:\n  mlflow.data.context: training\n"
        ),
    );
    put(
        root,
        &format!("{r1}/inputs/27b1713d191c15c64597274c6954ce1f/meta.yaml"),
        &format!(
            "destination_id: {MODEL}\ndestination_type: RUN\nsource_id: {MODEL}\n\
             source_type: MODEL\ntags: {{}}\n"
        ),
    );
    put(
        root,
        &format!("{r1}/outputs/{MODEL}/meta.yaml"),
        &format!(
            "destination_id: {MODEL}\ndestination_type: MODEL_OUTPUT\nsource_id: {MODEL}\n\
             source_type: RUN_OUTPUT\nstep: 7\ntags: {{}}\n"
        ),
    );
    put(
        root,
        &format!("{EXP}/datasets/{DATASET_DIR}/meta.yaml"),
        "digest: 244437a9\nname: train\nprofile: '{\"num_rows\": 3, \"num_elements\": 6}'\n\
         schema: '{\"mlflow_colspec\": [{\"type\": \"long\", \"name\": \"a\", \"required\": true}, {\"type\":\n\
         \x20 \"double\", \"name\": \"b\", \"required\": true}]}'\n\
         source: '{\"uri\": \"s3://bucket/data.csv\"}'\nsource_type: s3\n",
    );
    put(
        root,
        &format!("{r1}/artifacts/model/weights.bin"),
        "\u{0}\u{1}binary",
    );
    put(root, &format!("{r1}/artifacts/notes.txt"), "hello");
    put(
        root,
        &format!("{r1}/artifacts/.artifact.uploading.abc"),
        "half",
    );
    fs::create_dir_all(root.join(format!("{r1}/artifacts/empty"))).unwrap();

    // R2: deleted.
    let r2 = format!("{EXP}/{R2}");
    put(
        root,
        &format!("{r2}/meta.yaml"),
        &run_meta(
            root,
            EXP,
            R2,
            Some("gone"),
            4,
            "1700000002000",
            "deleted",
            "1700000003000",
        ),
    );
    put(root, &format!("{r2}/metrics/m"), "1700000001100 1.5 0\n");

    // R3: a broken meta.yaml.
    put(
        root,
        &format!("{EXP}/{R3}/meta.yaml"),
        "run_id: [unclosed\n",
    );
    put(
        root,
        &format!("{EXP}/{R3}/metrics/m"),
        "1700000001100 1.5 0\n",
    );

    // R4: still running, named by its tag only (older files).
    let r4 = format!("{EXP}/{R4}");
    put(
        root,
        &format!("{r4}/meta.yaml"),
        &run_meta(root, EXP, R4, None, 1, "null", "active", "null"),
    );
    put(root, &format!("{r4}/tags/mlflow.runName"), "from-tag");

    // A logged model of the experiment.
    let m = format!("{EXP}/models/{MODEL}");
    put(
        root,
        &format!("{m}/meta.yaml"),
        &format!(
            "artifact_location: {}\ncreation_timestamp: 1700000004000\nexperiment_id: '{EXP}'\n\
             last_updated_timestamp: 1700000004500\nlifecycle_stage: active\nmodel_id: {MODEL}\n\
             model_type: classifier\nname: lm\nsource_run_id: {R1}\nstatus: 2\nstatus_message: null\n",
            uri(root, &format!("{m}/artifacts"))
        ),
    );
    put(root, &format!("{m}/tags/t"), "v");
    put(root, &format!("{m}/params/alpha"), "0.5");
    put(
        root,
        &format!("{m}/metrics/acc"),
        &format!("1700000004100 0.9 1 {R1}\n1700000004200 nan 2 {R1} train 244437a9\n"),
    );
    put(root, &format!("{m}/artifacts/MLmodel"), "flavors: {}\n");

    // A deleted experiment, in .trash, with a deleted run.
    put(
        root,
        &format!(".trash/{TRASHED}/meta.yaml"),
        &experiment_meta(root, TRASHED, "doomed", "deleted"),
    );
    let r5 = format!(".trash/{TRASHED}/{R5}");
    put(
        root,
        &format!("{r5}/meta.yaml"),
        &run_meta(
            root,
            TRASHED,
            R5,
            Some("trashed"),
            3,
            "1700000002000",
            "deleted",
            "1700000003000",
        ),
    );
    put(root, &format!("{r5}/metrics/m"), "1700000001100 2.5 0\n");
    put(root, &format!("{r5}/artifacts/a.txt"), "in the trash");

    // An experiment whose meta.yaml was cut short, with a run.
    put(root, &format!("{BROKEN_EXP}/meta.yaml"), "");
    put(
        root,
        &format!("{BROKEN_EXP}/{R6}/meta.yaml"),
        &run_meta(root, BROKEN_EXP, R6, Some("lost"), 3, "1", "active", "null"),
    );

    // The model registry's folder, not an experiment: a model with a
    // version whose files are R1's artifacts, and one whose files are the
    // logged model's.
    put(
        root,
        "models/reg/meta.yaml",
        "aliases: {}\ncreation_timestamp: 1700000005000\ndescription: null\n\
         last_updated_timestamp: 1700000005100\nname: reg\n",
    );
    for (n, location) in [
        (1, format!("{EXP}/{R1}/artifacts/model")),
        (2, format!("{EXP}/models/{MODEL}/artifacts")),
    ] {
        put(
            root,
            &format!("models/reg/version-{n}/meta.yaml"),
            &format!(
                "creation_timestamp: 1700000005000\ncurrent_stage: None\n\
                 last_updated_timestamp: 1700000005000\nname: reg\nsource: {0}\n\
                 storage_location: {0}\nstatus: READY\nversion: {n}\n",
                uri(root, &location)
            ),
        );
    }
}

fn setup() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mlruns = dir.path().join("mlruns");
    build(&mlruns);
    let store = Store::open(dir.path().join("store")).unwrap();
    (dir, mlruns, store)
}

fn import(store: &Store, mlruns: &Path) -> ImportReport {
    let mut seen = Vec::new();
    let report = store
        .import_mlruns(mlruns, &mut |p| seen.push((p.done, p.total)))
        .unwrap();
    // Progress counts up to the total, once per run folder.
    let total = seen.last().map_or(0, |p| p.1);
    assert_eq!(seen, (1..=total).map(|d| (d, total)).collect::<Vec<_>>());
    report
}

fn messages_for(report: &ImportReport, path_end: &str) -> Vec<String> {
    report
        .problems
        .iter()
        .filter(|p| p.path.ends_with(path_end))
        .map(|p| p.message.clone())
        .collect()
}

fn history(store: &Store, run: &str, key: &str) -> Vec<(i64, i64, u64)> {
    store
        .metric_history(run, key)
        .unwrap()
        .iter()
        .map(|p| (p.step, p.timestamp, p.value.to_bits()))
        .collect()
}

fn link(ordinal: u64, name: &str, digest: &str) -> MetricDatasetLink {
    MetricDatasetLink {
        ordinal,
        dataset_name: name.into(),
        dataset_digest: digest.into(),
    }
}

/// Rows of the index's dataset link table, whatever their run.
fn stored_links(store: &Store) -> i64 {
    rusqlite::Connection::open(store.path().join(INDEX_FILE))
        .unwrap()
        .query_row("SELECT count(*) FROM metric_dataset_links", [], |r| {
            r.get(0)
        })
        .unwrap()
}

#[test]
fn experiments_keep_ids_names_times_stages_and_tags() {
    let (_dir, mlruns, store) = setup();
    let report = import(&store, &mlruns);
    assert_eq!(report.experiments_created, 2);
    assert_eq!(report.experiments_replaced, 1, "the store's own Default");

    let e = store.get_experiment(EXP).unwrap();
    assert_eq!(e.name, "exp: one");
    assert_eq!(e.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(
        (e.creation_time, e.last_update_time),
        (1700000000000, 1700000000500)
    );
    // The folder's own location becomes the store's.
    assert_eq!(
        e.artifact_location,
        format!("{}/{EXP}", store.artifact_root())
    );
    let tags: BTreeMap<_, _> = [("a/b", "line one\nline 'two'"), ("team", "vision")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(e.tags, tags);

    let default = store.get_experiment("0").unwrap();
    assert_eq!(default.creation_time, 1700000000000);

    let trashed = store.get_experiment(TRASHED).unwrap();
    assert_eq!(trashed.name, "doomed");
    assert_eq!(trashed.lifecycle_stage, LifecycleStage::Deleted);
    assert!(store.get_experiment(BROKEN_EXP).is_err());
    // The registry's folder is not an experiment.
    assert_eq!(store.list_experiments(ViewType::All).unwrap().len(), 3);
    assert_eq!((report.registered_models, report.model_versions), (1, 2));
}

#[test]
fn model_versions_download_from_the_store_copies() {
    let (_dir, mlruns, store) = setup();
    import(&store, &mlruns);
    // The sources stay as given; the storage locations, where the files
    // are downloaded from, become the store's copies of the artifacts.
    let v1 = store.get_model_version("reg", 1).unwrap();
    assert_eq!(
        v1.source,
        uri(&mlruns, &format!("{EXP}/{R1}/artifacts/model"))
    );
    let run_artifacts = store.get_run_info(R1).unwrap().artifact_uri;
    assert_eq!(
        v1.storage_location.as_deref(),
        Some(format!("{run_artifacts}/model").as_str())
    );
    assert!(Path::new(v1.download_uri()).join("weights.bin").is_file());
    let v2 = store.get_model_version("reg", 2).unwrap();
    let model = store.get_logged_model(MODEL, true).unwrap();
    assert_eq!(
        v2.storage_location.as_deref(),
        Some(model.artifact_location.as_str())
    );
    assert!(Path::new(v2.download_uri()).join("MLmodel").is_file());
    // R1 backs version 1: gc keeps it.
    assert_eq!(
        store.model_versions_of_run(R1).unwrap(),
        [("reg".to_string(), 1)]
    );
}

#[test]
fn runs_keep_every_field() {
    let (_dir, mlruns, store) = setup();
    let report = import(&store, &mlruns);
    assert_eq!(report.runs_imported, 4, "{report:#?}");

    let run = store.get_run(R1).unwrap();
    let info = &run.info;
    assert_eq!(
        info.run_name, "1e-3",
        "YAML 1.1 reads it as a string, and so do we"
    );
    assert_eq!(info.experiment_id, EXP);
    assert_eq!(info.user_id, "ada");
    assert_eq!(info.status, RunStatus::Finished);
    assert_eq!(
        (info.start_time, info.end_time),
        (1700000001000, Some(1700000009000))
    );
    assert_eq!(info.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(
        info.artifact_uri,
        format!("{}/{EXP}/{R1}/artifacts", store.artifact_root())
    );
    let params: Vec<_> = run
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(params, [("lr", "0.001"), ("nested/p", "x y")]);
    let tags: Vec<_> = run
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        tags,
        [
            ("a/b", "c"),
            ("mlflow.runName", "1e-3"),
            ("mlflow.user", "ada")
        ]
    );

    // Every point, exactly, in file order.
    let expect = [
        (0, 1700000001001, f64::NAN),
        (1, 1700000001002, f64::INFINITY),
        (2, 1700000001003, f64::NEG_INFINITY),
        (3, 1700000001004, 0.1),
        (4, 1700000001005, 0.30000000000000004),
        (-5, 1700000001006, 1e-300),
        (0, 1700000001007, 2.5),
    ];
    let got = history(&store, R1, "loss");
    assert_eq!(got.len(), expect.len());
    for ((s, t, bits), (es, et, ev)) in got.iter().zip(expect) {
        assert_eq!((*s, *t), (es, et));
        if ev.is_nan() {
            assert!(f64::from_bits(*bits).is_nan());
        } else {
            assert_eq!(*bits, ev.to_bits());
        }
    }
    assert_eq!(
        run.metrics["loss"].value, 0.30000000000000004,
        "latest by step"
    );
    assert_eq!(
        history(&store, R1, "val/acc"),
        [(0, 1700000001010, 0.5f64.to_bits())]
    );
    // The dataset its line names is kept with the point.
    assert_eq!(report.metric_dataset_links, 1);
    assert_eq!(
        store.metric_dataset_links(R1, "val/acc").unwrap(),
        [link(0, "train", "244437a9")]
    );
    assert!(store.metric_dataset_links(R1, "loss").unwrap().is_empty());
    assert!(!report.not_imported.iter().any(|n| n.contains("dataset")));

    // Inputs.
    assert_eq!(run.inputs.len(), 1);
    let d = &run.inputs[0].dataset;
    assert_eq!(
        (d.name.as_str(), d.digest.as_str(), d.source_type.as_str()),
        ("train", "244437a9", "s3")
    );
    assert_eq!(d.source, r#"{"uri": "s3://bucket/data.csv"}"#);
    assert_eq!(
        d.schema.as_deref(),
        Some(
            r#"{"mlflow_colspec": [{"type": "long", "name": "a", "required": true}, {"type": "double", "name": "b", "required": true}]}"#
        )
    );
    assert_eq!(
        d.profile.as_deref(),
        Some(r#"{"num_rows": 3, "num_elements": 6}"#)
    );
    assert_eq!(run.inputs[0].tags["mlflow.data.context"], "training");

    // Artifacts, copied into the store; an unfinished upload is left out.
    assert_eq!(
        store.read_artifact(R1, "model/weights.bin").unwrap(),
        b"\0\x01binary"
    );
    assert_eq!(store.read_artifact(R1, "notes.txt").unwrap(), b"hello");
    let listed: Vec<_> = store
        .list_artifacts(R1, None)
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.is_dir))
        .collect();
    assert_eq!(
        listed,
        [
            ("empty".into(), true),
            ("model".into(), true),
            ("notes.txt".into(), false)
        ]
    );
    assert!(store.artifact_dir(R1).unwrap().starts_with(store.path()));
    assert_eq!(report.artifact_files, 4, "3 of the run, 1 of the model");

    // A running run without a name in meta.yaml takes its tag's.
    let r4 = store.get_run_info(R4).unwrap();
    assert_eq!(
        (r4.run_name.as_str(), r4.status, r4.end_time),
        ("from-tag", RunStatus::Running, None)
    );
}

#[test]
fn deleted_runs_and_experiments_stay_deleted() {
    let (_dir, mlruns, store) = setup();
    import(&store, &mlruns);
    let r2 = store.get_run(R2).unwrap();
    assert_eq!(r2.info.lifecycle_stage, LifecycleStage::Deleted);
    assert_eq!(r2.info.status, RunStatus::Failed);
    assert_eq!(r2.info.run_name, "gone");
    assert_eq!(
        history(&store, R2, "m"),
        [(0, 1700000001100, 1.5f64.to_bits())]
    );

    let r5 = store.get_run(R5).unwrap();
    assert_eq!(r5.info.lifecycle_stage, LifecycleStage::Deleted);
    assert_eq!(r5.info.experiment_id, TRASHED);
    assert_eq!(
        history(&store, R5, "m"),
        [(0, 1700000001100, 2.5f64.to_bits())]
    );
    assert_eq!(store.read_artifact(R5, "a.txt").unwrap(), b"in the trash");

    let active: Vec<_> = store
        .list_runs(&[], ViewType::ActiveOnly)
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(active, [R1, R4]);
    assert!(store.pending_imports().unwrap().is_empty());
}

#[test]
fn logged_models_keep_ids_times_and_points() {
    let (_dir, mlruns, store) = setup();
    let report = import(&store, &mlruns);
    assert_eq!(report.logged_models, 1);
    let m = store.get_logged_model(MODEL, false).unwrap();
    assert_eq!((m.name.as_str(), m.experiment_id.as_str()), ("lm", EXP));
    assert_eq!(
        (m.creation_timestamp, m.last_updated_timestamp),
        (1700000004000, 1700000004500)
    );
    assert_eq!(m.status, LoggedModelStatus::Ready);
    assert_eq!(m.model_type.as_deref(), Some("classifier"));
    assert_eq!(m.source_run_id.as_deref(), Some(R1));
    assert_eq!(m.tags["t"], "v");
    assert_eq!(m.params["alpha"], "0.5");
    assert_eq!(m.metrics.len(), 2);
    assert_eq!((m.metrics[0].value, m.metrics[0].step), (0.9, 1));
    assert!(m.metrics[1].value.is_nan());
    assert_eq!(m.metrics[1].dataset_name.as_deref(), Some("train"));
    assert_eq!(
        m.artifact_location,
        format!("{}/{EXP}/models/{MODEL}/artifacts", store.artifact_root())
    );
    assert_eq!(
        fs::read_to_string(Path::new(&m.artifact_location).join("MLmodel")).unwrap(),
        "flavors: {}\n"
    );
    assert_eq!(store.run_model_inputs(R1).unwrap(), [MODEL]);
    let outputs = store.run_outputs(R1).unwrap();
    assert_eq!((outputs[0].model_id.as_str(), outputs[0].step), (MODEL, 7));
}

#[test]
fn damaged_files_are_reported_and_the_rest_imported() {
    let (_dir, mlruns, store) = setup();
    let report = import(&store, &mlruns);
    assert!(!report.is_complete());

    // A bad line in the middle and a torn last line are left out.
    assert_eq!(
        history(&store, R1, "damaged"),
        [
            (0, 1700000001020, 1f64.to_bits()),
            (2, 1700000001022, 3f64.to_bits())
        ]
    );
    let damaged = messages_for(&report, "metrics/damaged");
    assert_eq!(damaged.len(), 2, "{damaged:?}");
    assert!(
        damaged[0].starts_with("line 2 \"17000000 oops 1\" left out"),
        "{damaged:?}"
    );
    assert!(damaged[1].contains("no newline"), "{damaged:?}");
    assert!(messages_for(&report, "metrics/empty")[0].contains("no points"));

    // A broken run meta.yaml: that run is left out.
    assert!(matches!(store.get_run(R3), Err(Error::NotFound { .. })));
    let r3 = messages_for(&report, &format!("{R3}/meta.yaml"));
    assert!(r3[0].contains("meta.yaml is damaged"), "{r3:?}");
    // An empty experiment meta.yaml: the experiment and its run.
    let broken = messages_for(&report, &format!("{BROKEN_EXP}/meta.yaml"));
    assert!(
        broken[0].contains("empty") && broken[0].contains("with its run"),
        "{broken:?}"
    );
    assert!(store.get_run(R6).is_err());
    assert!(!messages_for(&report, ".artifact.uploading.abc").is_empty());
    assert_eq!(report.runs_skipped, 2);
}

#[test]
fn a_second_import_is_a_no_op() {
    let (_dir, mlruns, store) = setup();
    let first = import(&store, &mlruns);
    let before = history(&store, R1, "loss");
    let second = import(&store, &mlruns);
    assert_eq!(second.runs_imported, 0);
    assert_eq!(second.runs_present, first.runs_imported);
    assert_eq!(second.experiments_created + second.experiments_replaced, 0);
    assert_eq!(second.experiments_present, 3);
    assert_eq!(second.logged_models, 0);
    assert_eq!(second.logged_models_present, 1);
    assert_eq!(second.registered_models, 0);
    assert_eq!(second.registered_models_present, 1);
    assert_eq!(second.model_versions, 0);
    assert_eq!((second.metric_points, second.artifact_files), (0, 0));
    assert_eq!(history(&store, R1, "loss"), before);
    assert_eq!(store.get_run(R1).unwrap().inputs.len(), 1);
}

#[test]
fn points_keep_the_datasets_their_lines_name() {
    let (_dir, mlruns, store) = setup();
    // 2-, 3- and 5-field lines mixed, and a bad line, which is left out
    // and takes no ordinal.
    put(
        &mlruns,
        &format!("{EXP}/{R1}/metrics/eval/acc"),
        "1700000001030 0.5\n1700000001031 0.6 1 train 244437a9\n1700000001032 oops 2\n\
         1700000001033 0.7 2\n1700000001034 nan 7 test d5f6a7b8\n1700000001035 0.9 8 train 244437a9\n",
    );
    let first = import(&store, &mlruns);
    assert_eq!(first.metric_dataset_links, 4, "val/acc's and eval/acc's");
    assert_eq!(messages_for(&first, "metrics/eval/acc").len(), 1);

    // The step of a 5-field line is kept (MLflow's reader says 0 there).
    let acc = history(&store, R1, "eval/acc");
    let steps: Vec<i64> = acc.iter().map(|p| p.0).collect();
    assert_eq!(steps, [0, 1, 2, 7, 8]);
    let expect = [
        link(1, "train", "244437a9"),
        link(3, "test", "d5f6a7b8"),
        link(4, "train", "244437a9"),
    ];
    assert_eq!(store.metric_dataset_links(R1, "eval/acc").unwrap(), expect);
    assert_eq!(
        acc[3].1, 1700000001034,
        "ordinal 3 is the point its line wrote"
    );
    // Lines of 2 or 3 fields, and metrics the run lacks, have none.
    assert!(store.metric_dataset_links(R1, "loss").unwrap().is_empty());
    assert!(store.metric_dataset_links(R1, "absent").unwrap().is_empty());
    assert!(store.metric_dataset_links(R2, "m").unwrap().is_empty());
    assert!(matches!(
        store.metric_dataset_links("f".repeat(32).as_str(), "m"),
        Err(Error::NotFound { .. })
    ));

    // Compaction keeps the order, and so what an ordinal names.
    assert!(store.compact(&mut |_| {}).unwrap().series > 0);
    assert_eq!(history(&store, R1, "eval/acc"), acc);
    assert_eq!(store.metric_dataset_links(R1, "eval/acc").unwrap(), expect);

    // A second import adds nothing.
    let second = import(&store, &mlruns);
    assert_eq!(second.metric_dataset_links, 0);
    assert_eq!(stored_links(&store), 4);
    assert_eq!(store.metric_dataset_links(R1, "eval/acc").unwrap(), expect);

    // Removing the run removes its links.
    store.delete_run(R1).unwrap();
    assert_eq!(
        store.metric_dataset_links(R1, "eval/acc").unwrap(),
        expect,
        "a deleted run keeps them until it is removed"
    );
    // (A registered model version uses R1's artifacts: gc would refuse.)
    store.delete_registered_model("reg").unwrap();
    store.gc(Some(&[R1.to_string()])).unwrap();
    assert!(matches!(
        store.metric_dataset_links(R1, "eval/acc"),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(stored_links(&store), 0);
    let check = store.check(false).unwrap();
    assert!(check.is_clean(), "{check}");
}

/// A finished run R1 of the Default experiment, with nothing logged.
fn finished_record(stage: LifecycleStage, deleted_time: Option<i64>) -> RunRecord {
    RunRecord {
        run_id: R1.into(),
        experiment_id: "0".into(),
        run_name: "r".into(),
        user_id: "ada".into(),
        status: RunStatus::Finished,
        start_time: 1,
        end_time: Some(2),
        lifecycle_stage: stage,
        deleted_time,
        artifact_uri: None,
        params: vec![],
        tags: vec![],
        inputs: vec![],
        model_inputs: vec![],
        model_outputs: vec![],
    }
}

#[test]
fn a_link_to_a_point_not_written_fails_the_run_import() {
    let (_dir, _mlruns, store) = setup();
    let record = finished_record(LifecycleStage::Active, None);
    let past_the_end = store.import_run(&record, |w, links| {
        w.log("m", 1.0, 1, 0)?;
        links.push("m", 1, "train", "244437a9");
        Ok(())
    });
    assert!(matches!(
        past_the_end,
        Err(Error::LinkPastEnd {
            ordinal: 1,
            count: 1,
            ..
        })
    ));
    let no_points = store.import_run(&record, |_, links| {
        links.push("m", 0, "train", "244437a9");
        Ok(())
    });
    assert!(matches!(
        no_points,
        Err(Error::LinkPastEnd {
            ordinal: 0,
            count: 0,
            ..
        })
    ));
    let twice = store.import_run(&record, |w, links| {
        w.log("m", 1.0, 1, 0)?;
        links.push("m", 0, "train", "244437a9");
        links.push("m", 0, "test", "d5f6a7b8");
        Ok(())
    });
    assert!(matches!(twice, Err(Error::Validation(_))));
    // Nothing of the failed imports is left.
    assert!(matches!(
        store.get_run_info(R1),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(stored_links(&store), 0);

    // Links given out of order are sorted.
    store
        .import_run(&record, |w, links| {
            w.log_columns("m", &[0, 1, 2], &[1, 2, 3], &[0.1, 0.2, 0.3])?;
            links.push("m", 2, "test", "d5f6a7b8");
            links.push("m", 0, "train", "244437a9");
            Ok(())
        })
        .unwrap();
    assert_eq!(
        store.metric_dataset_links(R1, "m").unwrap(),
        [link(0, "train", "244437a9"), link(2, "test", "d5f6a7b8")]
    );
}

#[test]
fn the_source_is_never_modified() {
    fn snapshot(dir: &Path, out: &mut BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                snapshot(&entry.path(), out);
            }
            let bytes = if meta.is_file() {
                fs::read(entry.path()).unwrap()
            } else {
                Vec::new()
            };
            out.insert(entry.path(), (bytes, meta.modified().unwrap()));
        }
    }
    let (_dir, mlruns, store) = setup();
    let mut before = BTreeMap::new();
    snapshot(&mlruns, &mut before);
    import(&store, &mlruns);
    import(&store, &mlruns);
    let mut after = BTreeMap::new();
    snapshot(&mlruns, &mut after);
    assert_eq!(before, after);
}

#[test]
fn an_interrupted_run_import_is_completed_by_the_next_import() {
    let (_dir, mlruns, store) = setup();
    // An import that dies after writing some of R1's points: its row and
    // mark stay behind, as after a killed process.
    let record = RunRecord {
        run_id: R1.into(),
        experiment_id: EXP.into(),
        run_name: "1e-3".into(),
        user_id: "ada".into(),
        status: RunStatus::Finished,
        start_time: 1700000001000,
        end_time: None,
        lifecycle_stage: LifecycleStage::Active,
        deleted_time: None,
        artifact_uri: None,
        params: vec![],
        tags: vec![],
        inputs: vec![],
        model_inputs: vec![],
        model_outputs: vec![],
    };
    store
        .import_experiment(&ExperimentRecord {
            experiment_id: EXP.into(),
            name: "exp: one".into(),
            artifact_location: None,
            lifecycle_stage: LifecycleStage::Active,
            creation_time: 1700000000000,
            last_update_time: 1700000000500,
            tags: vec![
                ("team".into(), "vision".into()),
                ("a/b".into(), "line one\nline 'two'".into()),
            ],
        })
        .unwrap();
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.import_run(&record, |w, _| {
            w.log("loss", 9.0, 1, 0)?;
            w.log("loss", 9.5, 2, 1)?;
            panic!("killed");
        })
    }));
    assert!(died.is_err());
    assert_eq!(store.pending_imports().unwrap(), [R1]);
    assert_eq!(history(&store, R1, "loss").len(), 2);

    let report = import(&store, &mlruns);
    assert_eq!(report.runs_restarted, 1);
    assert!(store.pending_imports().unwrap().is_empty());
    let loss = history(&store, R1, "loss");
    assert_eq!(
        loss.len(),
        7,
        "the partial points are gone, every point is there once"
    );
    assert_eq!(loss[3], (3, 1700000001004, 0.1f64.to_bits()));
    assert_eq!(store.get_run(R1).unwrap().params["lr"], "0.001");
}

#[test]
fn a_failed_run_import_leaves_nothing() {
    let (_dir, _mlruns, store) = setup();
    let record = RunRecord {
        params: vec![("p".into(), "1".into())],
        ..finished_record(LifecycleStage::Deleted, Some(3))
    };
    let failed = store.import_run(&record, |w, _| {
        w.log("m", 1.0, 1, 0)?;
        store.log_artifact_bytes(R1, "a.txt", b"x")?;
        Err(Error::ImportSource {
            path: "mlruns".into(),
            reason: "the source went away".into(),
        })
    });
    assert!(matches!(failed, Err(Error::ImportSource { .. })));
    assert!(matches!(
        store.get_run_info(R1),
        Err(Error::NotFound { .. })
    ));
    assert!(store.pending_imports().unwrap().is_empty());
    assert!(!store.path().join("artifacts/0").join(R1).exists());
    // Then it imports cleanly, deleted as recorded.
    assert_eq!(
        store.import_run(&record, |_, _| Ok(())).unwrap(),
        RunImport::Imported
    );
    assert_eq!(
        store.get_run_info(R1).unwrap().lifecycle_stage,
        LifecycleStage::Deleted
    );
}

#[test]
fn locations_elsewhere_are_kept_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mlruns");
    put(
        &root,
        "7/meta.yaml",
        "artifact_location: s3://bucket/prefix/7\ncreation_time: 1\nexperiment_id: '7'\n\
         last_update_time: 2\nlifecycle_stage: active\nname: remote\n",
    );
    put(
        &root,
        &format!("7/{R1}/meta.yaml"),
        &format!(
            "artifact_uri: s3://bucket/prefix/7/{R1}/artifacts\nexperiment_id: '7'\n\
             lifecycle_stage: active\nrun_id: {R1}\nrun_name: r\nstart_time: 5\nstatus: 3\nuser_id: u\n"
        ),
    );
    // A moved folder: the recorded location is gone, but it is the folder's own.
    put(
        &root,
        "8/meta.yaml",
        "artifact_location: file:///gone/away/mlruns/8\ncreation_time: 1\nexperiment_id: '8'\n\
         name: moved\n",
    );
    put(
        &root,
        &format!("8/{R2}/meta.yaml"),
        &format!(
            "artifact_uri: file:///gone/away/mlruns/8/{R2}/artifacts\nexperiment_id: '8'\n\
             run_id: {R2}\nstart_time: 5\nstatus: 3\nuser_id: u\n"
        ),
    );
    put(&root, &format!("8/{R2}/artifacts/f.txt"), "moved along");
    let store = Store::open(dir.path().join("store")).unwrap();
    let report = import(&store, &root);
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(
        store.get_experiment("7").unwrap().artifact_location,
        "s3://bucket/prefix/7"
    );
    assert_eq!(
        store.get_run_info(R1).unwrap().artifact_uri,
        format!("s3://bucket/prefix/7/{R1}/artifacts")
    );
    assert_eq!(
        store.get_experiment("8").unwrap().artifact_location,
        format!("{}/8", store.artifact_root())
    );
    assert_eq!(store.read_artifact(R2, "f.txt").unwrap(), b"moved along");
    // A missing name reads as empty, as MLflow reads it.
    assert_eq!(store.get_run_info(R2).unwrap().run_name, "");
}

#[test]
fn conflicting_experiments_are_reported_not_merged() {
    let (_dir, mlruns, store) = setup();
    // The store has its own experiment of that name under another id.
    store.create_experiment("exp: one", None, &[]).unwrap();
    let report = import(&store, &mlruns);
    let msgs = messages_for(&report, EXP);
    assert!(msgs.iter().any(|m| m.contains("already named")), "{msgs:?}");
    assert!(store.get_run(R1).is_err());
    assert!(store.get_run(R5).is_ok(), "other experiments are imported");
}

#[test]
fn folders_that_are_not_mlruns_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let empty = dir.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let err = store
        .import_mlruns(&empty, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an MLflow file store"), "{err}");
    let err = store
        .import_mlruns(store.path(), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("is a tracklite store"), "{err}");
    // A store inside the source would be writing into it.
    let mlruns = dir.path().join("mlruns");
    build(&mlruns);
    let inside = Store::open(mlruns.join("store")).unwrap();
    let err = inside
        .import_mlruns(&mlruns, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("inside the folder being imported"), "{err}");
}
