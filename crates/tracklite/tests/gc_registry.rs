//! gc and the model registry: a deleted run whose artifacts a registered
//! model version uses is not removed unless the gc is forced, and a gc
//! that meets one removes nothing at all.

use std::path::Path;

use tracklite::{BackingRun, Error, GcOptions, NewModelVersion, NewRun, Store};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    (dir, store)
}

/// A run with a model file in its artifacts; returns its id and artifact URI.
fn run_with_model(store: &Store) -> (String, String) {
    let run = store.create_run(NewRun::default()).unwrap();
    store
        .log_artifact_bytes(&run.run_id, "model/model.pkl", b"weights")
        .unwrap();
    (run.run_id, run.artifact_uri)
}

fn register(store: &Store, name: &str, source: &str, run_id: Option<&str>) -> i64 {
    if store.get_registered_model(name).is_err() {
        store.create_registered_model(name, &[], None).unwrap();
    }
    store
        .create_model_version(NewModelVersion {
            name: name.into(),
            source: source.into(),
            run_id: run_id.map(str::to_string),
            ..NewModelVersion::default()
        })
        .unwrap()
        .version
}

fn forced(only: Option<&[String]>) -> GcOptions<'_> {
    GcOptions { only, force: true }
}

fn exists(store: &Store, run_id: &str) -> bool {
    store.get_run_info(run_id).is_ok()
}

#[test]
fn refuses_every_backing_run_and_removes_nothing() {
    let (_dir, store) = store();
    // Backed by a runs:/ source (no run id given), by its artifact
    // location as a path, and by nothing.
    let (by_uri, _) = run_with_model(&store);
    let (by_path, by_path_uri) = run_with_model(&store);
    let (free, _) = run_with_model(&store);
    register(&store, "iris", &format!("runs:/{by_uri}/model"), None);
    register(&store, "iris", &format!("{by_path_uri}/model"), None);
    register(&store, "wine", &format!("{by_path_uri}/model"), None);
    for run in [&by_uri, &by_path, &free] {
        store.delete_run(run).unwrap();
    }
    let folder = |run: &str| Path::new(&store.get_run_info(run).unwrap().artifact_uri).to_owned();
    let folders: Vec<_> = [&by_uri, &by_path, &free]
        .iter()
        .map(|r| folder(r))
        .collect();

    let err = store.gc(None).unwrap_err();
    let Error::RunsBackModelVersions { runs } = &err else {
        panic!("{err}");
    };
    let mut expected = vec![
        BackingRun {
            run_id: by_uri.clone(),
            versions: vec![("iris".into(), 1)],
        },
        BackingRun {
            run_id: by_path.clone(),
            versions: vec![("iris".into(), 2), ("wine".into(), 1)],
        },
    ];
    expected.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    assert_eq!(runs, &expected);
    let message = err.to_string();
    for needle in [
        format!("run {by_uri} backs model \"iris\" version 1"),
        format!("run {by_path} backs model \"iris\" version 2, model \"wine\" version 1"),
        "nothing was removed".to_string(),
        "--force".to_string(),
    ] {
        assert!(message.contains(&needle), "{needle:?} not in: {message}");
    }
    assert!(!message.contains(&free), "{message}");
    // Nothing was removed: not even the run that backs nothing.
    for (run, dir) in [&by_uri, &by_path, &free].iter().zip(&folders) {
        assert!(exists(&store, run));
        assert!(dir.join("model/model.pkl").is_file(), "{}", dir.display());
    }

    // The same gc limited to those runs is refused too; the free run alone
    // can be removed.
    let err = store.gc(Some(std::slice::from_ref(&by_uri))).unwrap_err();
    assert!(matches!(err, Error::RunsBackModelVersions { .. }), "{err}");
    let report = store.gc(Some(std::slice::from_ref(&free))).unwrap();
    assert_eq!(report.removed_runs, std::slice::from_ref(&free));
    assert!(report.forced.is_empty());
    assert!(!folders[2].exists());

    // Forced: removed, and the report says which versions lost their files.
    let report = store.gc_with(forced(None), &mut |_| {}).unwrap();
    let mut removed = report.removed_runs.clone();
    removed.sort();
    let mut both = vec![by_uri.clone(), by_path.clone()];
    both.sort();
    assert_eq!(removed, both);
    assert_eq!(report.forced, expected);
    assert!(!exists(&store, &by_uri) && !exists(&store, &by_path));
    assert!(!folders[0].exists() && !folders[1].exists());
    // The versions themselves stay.
    assert_eq!(store.get_model_version("wine", 1).unwrap().version, 1);
}

#[test]
fn a_run_id_or_a_file_uri_backs_a_version_too() {
    let (_dir, store) = store();
    let (by_id, _) = run_with_model(&store);
    let (by_file_uri, uri) = run_with_model(&store);
    // Made from the run, with its files elsewhere.
    register(&store, "m", "s3://bucket/m", Some(&by_id));
    // The artifact location as MLflow's clients spell it.
    register(&store, "m", &format!("file://{uri}/model"), None);
    assert_eq!(
        store.model_versions_of_run(&by_file_uri).unwrap(),
        [("m".to_string(), 2)]
    );
    for run in [&by_id, &by_file_uri] {
        store.delete_run(run).unwrap();
        let err = store.gc(Some(std::slice::from_ref(run))).unwrap_err();
        assert!(matches!(err, Error::RunsBackModelVersions { .. }), "{err}");
        assert!(exists(&store, run));
    }
}

#[test]
fn a_deleted_version_no_longer_holds_its_run() {
    let (_dir, store) = store();
    let (run, uri) = run_with_model(&store);
    register(&store, "m", &format!("{uri}/model"), None);
    store.delete_run(&run).unwrap();
    assert!(store.gc(None).is_err());
    store.delete_model_version("m", 1).unwrap();
    let report = store.gc(None).unwrap();
    assert_eq!(report.removed_runs, [run]);
    assert!(report.forced.is_empty());
}

#[test]
fn a_forced_gc_of_listed_runs_leaves_the_others() {
    let (_dir, store) = store();
    let (a, _) = run_with_model(&store);
    let (b, _) = run_with_model(&store);
    register(&store, "m", &format!("runs:/{a}/model"), None);
    register(&store, "m", &format!("runs:/{b}/model"), None);
    store.delete_run(&a).unwrap();
    store.delete_run(&b).unwrap();
    let report = store
        .gc_with(forced(Some(std::slice::from_ref(&a))), &mut |_| {})
        .unwrap();
    assert_eq!(report.removed_runs, std::slice::from_ref(&a));
    assert_eq!(report.forced.len(), 1);
    assert_eq!(report.forced[0].run_id, a);
    assert!(exists(&store, &b));
}
