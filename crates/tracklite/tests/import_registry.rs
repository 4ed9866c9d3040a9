//! Importing the model registry of an MLflow file store (`mlruns/models/`),
//! built by hand here file by file as MLflow 3.17's FileStore writes it:
//! every field kept, deleted versions left out but their numbers kept,
//! damaged models left out whole, and a second import a no-op.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tracklite::{
    ImportReport, ModelVersion, ModelVersionStage as Stage, NewModelVersion, RegisteredModel, Store,
};

const RUN: &str = "0123456789abcdef0123456789abcdef";

fn put(root: &Path, rel: &str, contents: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

fn model_meta(name: &str, created: i64, updated: i64, description: &str) -> String {
    format!(
        "aliases:\n  stale: '9'\ncreation_timestamp: {created}\ndeployment_job_id: null\n\
         deployment_job_state: null\ndescription: {description}\n\
         last_updated_timestamp: {updated}\nname: {name}\nworkspace: default\n"
    )
}

/// A version's meta.yaml; `fields` replace or add lines.
fn version_meta(name: &str, version: &str, fields: &[(&str, &str)]) -> String {
    let mut map: BTreeMap<&str, String> = [
        ("creation_timestamp", "1700000000000".to_string()),
        ("current_stage", "None".into()),
        ("deployment_job_state", "null".into()),
        ("description", "null".into()),
        ("last_updated_timestamp", "1700000000000".into()),
        ("model_id", "null".into()),
        ("name", name.into()),
        ("run_id", "null".into()),
        ("run_link", "null".into()),
        ("source", "/models/x".into()),
        ("status", "READY".into()),
        ("status_message", "null".into()),
        ("storage_location", "/models/x".into()),
        ("user_id", "null".into()),
        ("version", version.into()),
        ("workspace", "default".into()),
    ]
    .into_iter()
    .collect();
    for (k, v) in fields {
        map.insert(k, v.to_string());
    }
    map.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
}

/// An experiment, so that the folder is an mlruns folder, and a registry:
/// - `iris`: versions 1 (Production, every field set, tags), 2 (Staging,
///   its number written as text), 3 (deleted), 4 (Archived); aliases
///   `champion` -> 1 and `dev` -> 4; tags with '/' and a multi-line value;
/// - `empty`: no versions;
/// - `gone`: its only version, 2, deleted (version 1 was never there);
/// - `broken`: a version whose meta.yaml was cut short;
/// - `dangling`: an alias naming a deleted version.
fn build(root: &Path) {
    put(
        root,
        "0/meta.yaml",
        "artifact_location: file:///x/0\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n",
    );
    put(
        root,
        "models/iris/meta.yaml",
        &model_meta(
            "iris",
            1700000000000,
            1700000009000,
            "'flowers: three kinds'",
        ),
    );
    put(root, "models/iris/tags/team", "vision");
    put(root, "models/iris/tags/a/b", "line one\nline 'two'");
    put(root, "models/iris/aliases/champion", "1");
    put(root, "models/iris/aliases/dev", "4");
    let v1 = version_meta(
        "iris",
        "1",
        &[
            ("creation_timestamp", "1700000001000"),
            ("last_updated_timestamp", "1700000001500"),
            ("current_stage", "Production"),
            ("description", "'first: best'"),
            ("user_id", "ada"),
            ("source", &format!("runs:/{RUN}/model")),
            ("storage_location", "s3://bucket/iris/1"),
            ("run_id", RUN),
            ("run_link", "http://example/run"),
            ("model_id", "m-0123456789abcdef0123456789abcdef"),
            ("status_message", "all good"),
        ],
    );
    put(root, "models/iris/version-1/meta.yaml", &v1);
    put(root, "models/iris/version-1/tags/k", "v");
    put(root, "models/iris/version-1/tags/x/y", "nested");
    put(
        root,
        "models/iris/version-2/meta.yaml",
        &version_meta("iris", "'2'", &[("current_stage", "Staging")]),
    );
    put(
        root,
        "models/iris/version-3/meta.yaml",
        &version_meta("iris", "3", &[("current_stage", "Deleted_Internal")]),
    );
    put(root, "models/iris/version-3/tags/k", "deleted");
    put(
        root,
        "models/iris/version-4/meta.yaml",
        &version_meta("iris", "4", &[("current_stage", "Archived")]),
    );

    put(
        root,
        "models/empty/meta.yaml",
        &model_meta("empty", 1700000000000, 1700000000000, "null"),
    );
    put(
        root,
        "models/gone/meta.yaml",
        &model_meta("gone", 1700000000000, 1700000000000, "null"),
    );
    put(
        root,
        "models/gone/version-2/meta.yaml",
        &version_meta("gone", "2", &[("current_stage", "Deleted_Internal")]),
    );

    put(
        root,
        "models/broken/meta.yaml",
        &model_meta("broken", 1700000000000, 1700000000000, "null"),
    );
    put(
        root,
        "models/broken/version-1/meta.yaml",
        &version_meta("broken", "1", &[]),
    );
    put(root, "models/broken/version-2/meta.yaml", "");

    put(
        root,
        "models/dangling/meta.yaml",
        &model_meta("dangling", 1700000000000, 1700000000000, "null"),
    );
    put(
        root,
        "models/dangling/version-1/meta.yaml",
        &version_meta("dangling", "1", &[("current_stage", "Deleted_Internal")]),
    );
    put(root, "models/dangling/aliases/a", "1");
}

fn setup() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mlruns = dir.path().join("mlruns");
    build(&mlruns);
    let store = Store::open(dir.path().join("store")).unwrap();
    (dir, mlruns, store)
}

fn import(store: &Store, mlruns: &Path) -> ImportReport {
    store.import_mlruns(mlruns, &mut |_| {}).unwrap()
}

fn versions(store: &Store, name: &str) -> Vec<ModelVersion> {
    let mut found = store
        .search_model_versions(&format!("name = '{name}'"), 1000, &[], None)
        .unwrap()
        .versions;
    found.sort_by_key(|v| v.version);
    found
}

fn next_version(store: &Store, name: &str) -> i64 {
    store
        .create_model_version(NewModelVersion {
            name: name.into(),
            source: "/new".into(),
            ..NewModelVersion::default()
        })
        .unwrap()
        .version
}

fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn models_and_versions_keep_every_field() {
    let (_dir, mlruns, store) = setup();
    let report = import(&store, &mlruns);
    assert_eq!(report.registered_models, 3, "{report:#?}");
    assert_eq!(report.model_versions, 3);
    assert_eq!(report.registered_models_skipped, 2);

    let iris = store.get_registered_model("iris").unwrap();
    assert_eq!(
        (iris.creation_timestamp, iris.last_updated_timestamp),
        (1700000000000, 1700000009000)
    );
    assert_eq!(iris.description.as_deref(), Some("flowers: three kinds"));
    assert_eq!(
        iris.tags,
        strings(&[("a/b", "line one\nline 'two'"), ("team", "vision")])
    );
    // The aliases folder, not meta.yaml's stale map.
    assert_eq!(
        iris.aliases,
        BTreeMap::from([("champion".to_string(), 1), ("dev".to_string(), 4)])
    );
    let latest: Vec<(i64, Stage)> = iris
        .latest_versions
        .iter()
        .map(|v| (v.version, v.current_stage))
        .collect();
    assert_eq!(
        latest,
        [
            (1, Stage::Production),
            (2, Stage::Staging),
            (4, Stage::Archived)
        ]
    );

    let all = versions(&store, "iris");
    let numbers: Vec<i64> = all.iter().map(|v| v.version).collect();
    assert_eq!(numbers, [1, 2, 4], "the deleted version is not imported");
    let v1 = &all[0];
    assert_eq!(
        v1,
        &ModelVersion {
            name: "iris".into(),
            version: 1,
            creation_timestamp: 1700000001000,
            last_updated_timestamp: 1700000001500,
            description: Some("first: best".into()),
            user_id: Some("ada".into()),
            current_stage: Stage::Production,
            source: format!("runs:/{RUN}/model"),
            storage_location: Some("s3://bucket/iris/1".into()),
            run_id: Some(RUN.into()),
            run_link: Some("http://example/run".into()),
            model_id: Some("m-0123456789abcdef0123456789abcdef".into()),
            status: "READY".into(),
            status_message: Some("all good".into()),
            tags: strings(&[("k", "v"), ("x/y", "nested")]),
            aliases: vec!["champion".into()],
        }
    );
    let v2 = &all[1];
    assert_eq!(
        (
            v2.current_stage,
            v2.description.as_deref(),
            v2.user_id.as_deref()
        ),
        (Stage::Staging, None, None)
    );
    assert_eq!(
        (v2.run_id.as_deref(), v2.storage_location.as_deref()),
        (None, Some("/models/x"))
    );
    assert!(v2.tags.is_empty() && v2.aliases.is_empty());
    assert_eq!(all[2].aliases, ["dev"]);

    let empty = store.get_registered_model("empty").unwrap();
    assert_eq!(empty.description, None);
    assert!(empty.latest_versions.is_empty() && empty.tags.is_empty());

    // Numbers continue after the greatest ever given, deleted ones included.
    assert_eq!(next_version(&store, "iris"), 5);
    assert!(versions(&store, "gone").is_empty());
    assert_eq!(next_version(&store, "gone"), 3);
    assert_eq!(next_version(&store, "empty"), 1);

    assert!(
        report
            .not_imported
            .iter()
            .any(|n| n.starts_with("3 deleted model versions are not imported")),
        "{:?}",
        report.not_imported
    );
}

#[test]
fn a_damaged_model_is_left_out_whole_and_named() {
    let (_dir, mlruns, store) = setup();
    let report = import(&store, &mlruns);
    assert!(!report.is_complete());
    for name in ["broken", "dangling"] {
        assert!(store.get_registered_model(name).is_err(), "{name}");
    }
    let about = |end: &str| -> Vec<String> {
        report
            .problems
            .iter()
            .filter(|p| p.path.ends_with(end))
            .map(|p| p.message.clone())
            .collect()
    };
    let broken = about("models/broken/version-2/meta.yaml");
    assert_eq!(broken.len(), 1, "{report:#?}");
    assert!(broken[0].contains("empty"), "{broken:?}");
    assert!(
        broken[0].ends_with("registered model \"broken\" left out"),
        "{broken:?}"
    );
    let dangling = about("models/dangling/aliases/a");
    assert!(
        dangling[0].contains("alias \"a\" names version 1, which the model does not have"),
        "{dangling:?}"
    );
    assert_eq!(report.problems.len(), 2, "{report:#?}");

    // Mended, the next import brings the whole model; the rest is there.
    put(
        &mlruns,
        "models/broken/version-2/meta.yaml",
        &version_meta("broken", "2", &[("current_stage", "Staging")]),
    );
    fs::remove_file(mlruns.join("models/dangling/aliases/a")).unwrap();
    let again = import(&store, &mlruns);
    assert!(again.is_complete(), "{again:#?}");
    assert_eq!(
        (again.registered_models, again.registered_models_present),
        (2, 3)
    );
    assert_eq!(again.model_versions, 2);
    let numbers: Vec<i64> = versions(&store, "broken")
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(numbers, [1, 2]);
    assert_eq!(next_version(&store, "dangling"), 2);
}

#[test]
fn a_second_import_changes_nothing() {
    let (_dir, mlruns, store) = setup();
    import(&store, &mlruns);
    let snapshot = |store: &Store| -> Vec<(RegisteredModel, Vec<ModelVersion>)> {
        ["iris", "empty", "gone"]
            .iter()
            .map(|n| (store.get_registered_model(n).unwrap(), versions(store, n)))
            .collect()
    };
    let before = snapshot(&store);
    let second = import(&store, &mlruns);
    assert_eq!((second.registered_models, second.model_versions), (0, 0));
    assert_eq!(second.registered_models_present, 3);
    assert_eq!(snapshot(&store), before);
}

#[test]
fn a_model_the_store_has_is_left_as_it_is() {
    let (_dir, mlruns, store) = setup();
    store
        .create_registered_model("iris", &[], Some("mine"))
        .unwrap();
    let report = import(&store, &mlruns);
    assert_eq!(report.registered_models_present, 1);
    let iris = store.get_registered_model("iris").unwrap();
    assert_eq!(iris.description.as_deref(), Some("mine"));
    assert!(versions(&store, "iris").is_empty());
}

#[test]
fn a_folder_with_only_a_registry_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    put(
        &registry,
        "models/solo/meta.yaml",
        &model_meta("solo", 1700000000000, 1700000000000, "null"),
    );
    put(
        &registry,
        "models/solo/version-1/meta.yaml",
        &version_meta("solo", "1", &[]),
    );
    let store = Store::open(dir.path().join("store")).unwrap();
    let report = import(&store, &registry);
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!((report.registered_models, report.model_versions), (1, 1));
    assert_eq!(versions(&store, "solo")[0].source, "/models/x");
}

#[test]
fn names_that_disagree_with_their_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mlruns");
    put(
        &root,
        "models/a/meta.yaml",
        &model_meta("b", 1700000000000, 1700000000000, "null"),
    );
    put(
        &root,
        "models/c/meta.yaml",
        &model_meta("c", 1700000000000, 1700000000000, "null"),
    );
    put(
        &root,
        "models/c/version-1/meta.yaml",
        &version_meta("c", "2", &[]),
    );
    let store = Store::open(dir.path().join("store")).unwrap();
    let report = import(&store, &root);
    assert_eq!(report.registered_models_skipped, 2);
    let messages: Vec<&str> = report.problems.iter().map(|p| p.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("meta.yaml names model \"b\", but the folder is \"a\"")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("meta.yaml names version \"2\", but the folder is version 1")),
        "{messages:?}"
    );
}
