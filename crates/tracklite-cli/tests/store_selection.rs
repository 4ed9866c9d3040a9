//! Which store the binary opens: `--store`, TRACKLITE_STORE,
//! MLFLOW_TRACKING_URI, then ./tracklite-runs, with the URIs Python takes
//! (`tracklite:` relative and absolute, `file:` only with
//! TRACKLITE_SERVE_FILE_URIS=1), and clear errors for the others.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tracklite::Store;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `cwd` with only the variables of `env` among those
/// that choose a store.
fn run(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracklite"));
    for name in [
        "TRACKLITE_STORE",
        "MLFLOW_TRACKING_URI",
        "TRACKLITE_SERVE_FILE_URIS",
    ] {
        cmd.env_remove(name);
    }
    let o = cmd
        .current_dir(cwd)
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("the binary runs");
    Out {
        code: o.status.code().expect("an exit code"),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

/// A store at `path` with one experiment named `name`.
fn store_named(path: &Path, name: &str) {
    Store::open(path)
        .unwrap()
        .create_experiment(name, None, &[])
        .unwrap();
}

/// The experiment names `experiments --json` lists (Default aside).
fn names(out: &Out) -> Vec<String> {
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    doc.as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .filter(|n| n != "Default")
        .collect()
}

#[test]
fn uris_and_paths_name_the_same_folders_as_in_python() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    store_named(&cwd.join("rel"), "relative");
    store_named(&cwd.join("my runs"), "escaped");
    let abs = cwd.join("rel");
    let abs = abs.to_str().unwrap();
    let list = |store: &str| names(&run(cwd, &[], &["experiments", "--json", "--store", store]));
    for uri in ["rel", "./rel", "tracklite:rel", "tracklite:./rel"] {
        assert_eq!(list(uri), ["relative"], "{uri}");
    }
    for uri in [
        abs.to_string(),
        format!("tracklite:{abs}"),
        format!("tracklite://{abs}"),
        format!("tracklite://localhost{abs}"),
        format!("TRACKLITE://{abs}"),
    ] {
        assert_eq!(list(&uri), ["relative"], "{uri}");
    }
    assert_eq!(list("tracklite:my%20runs"), ["escaped"]);
}

#[test]
fn the_environment_then_the_default_store() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    store_named(&cwd.join("tracklite-runs"), "default");
    store_named(&cwd.join("a"), "a");
    store_named(&cwd.join("b"), "b");
    let list = |env: &[(&str, &str)]| names(&run(cwd, env, &["experiments", "--json"]));
    assert_eq!(list(&[]), ["default"]);
    assert_eq!(list(&[("MLFLOW_TRACKING_URI", "tracklite:b")]), ["b"]);
    let both = [
        ("TRACKLITE_STORE", "tracklite:./a"),
        ("MLFLOW_TRACKING_URI", "tracklite:b"),
    ];
    assert_eq!(list(&both), ["a"]);
    // Empty variables are unset, as in Python.
    assert_eq!(
        list(&[("TRACKLITE_STORE", ""), ("MLFLOW_TRACKING_URI", "")]),
        ["default"]
    );
    let out = run(
        cwd,
        &both,
        &["experiments", "--json", "--store", "tracklite:b"],
    );
    assert_eq!(names(&out), ["b"], "--store wins");
}

#[test]
fn file_uris_with_the_opt_in_open_the_store_beside_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    // Where the MLflow plugin puts the store for file:<cwd>/mlruns.
    store_named(&cwd.join("mlruns.tracklite"), "served");
    let uri = format!("file://{}", cwd.join("mlruns").display());
    let opted = [
        ("MLFLOW_TRACKING_URI", uri.as_str()),
        ("TRACKLITE_SERVE_FILE_URIS", "1"),
    ];
    assert_eq!(
        names(&run(cwd, &opted, &["experiments", "--json"])),
        ["served"]
    );
    let relative = [
        ("MLFLOW_TRACKING_URI", "file:./mlruns"),
        ("TRACKLITE_SERVE_FILE_URIS", "true"),
    ];
    assert_eq!(
        names(&run(cwd, &relative, &["experiments", "--json"])),
        ["served"]
    );

    let out = run(
        cwd,
        &[("MLFLOW_TRACKING_URI", uri.as_str())],
        &["experiments"],
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains(&format!("store URI {uri:?} names an MLflow file store"))
            && out.stderr.contains("only with TRACKLITE_SERVE_FILE_URIS=1")
            && out.stderr.contains("MLFLOW_TRACKING_URI"),
        "{}",
        out.stderr
    );
}

#[test]
fn remote_and_malformed_uris_are_refused_naming_the_uri_and_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    for (uri, rule) in [
        (
            "http://127.0.0.1:5000",
            "tracklite keeps runs in a local folder",
        ),
        (
            "sqlite:///mlflow.db",
            "To use a sqlite: store, use MLflow itself",
        ),
        ("databricks", "is not a tracklite store"),
        ("tracklite://server/runs", "names the host \"server\""),
        ("tracklite:runs?x=1", "takes no query or fragment"),
        ("tracklite:", "names no folder"),
    ] {
        let out = run(cwd, &[], &["runs", "--store", uri]);
        assert_eq!(out.code, 1, "{uri}");
        assert!(
            out.stderr.starts_with("error: --store: ")
                && out.stderr.contains(&format!("{uri:?}"))
                && out.stderr.contains(rule),
            "{uri}: {}",
            out.stderr
        );
    }
    // A server's URL in MLFLOW_TRACKING_URI: the message says how to name
    // the store instead.
    let out = run(
        cwd,
        &[("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")],
        &["runs"],
    );
    assert!(
        out.stderr
            .contains("MLFLOW_TRACKING_URI (pass --store, or set TRACKLITE_STORE"),
        "{}",
        out.stderr
    );
    assert!(!cwd.join("tracklite-runs").exists());
}

#[test]
fn an_mlflow_file_store_gets_a_hint_to_import_it() {
    let dir = tempfile::tempdir().unwrap();
    let mlruns = dir.path().join("mlruns");
    std::fs::create_dir_all(mlruns.join("0")).unwrap();
    std::fs::write(mlruns.join("0").join("meta.yaml"), "name: Default\n").unwrap();
    let out = run(dir.path(), &[], &["runs", "--store", "mlruns"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("mlruns holds an MLflow file store (mlruns), not a tracklite store; `tracklite --store NEW_STORE import mlruns`"),
        "{}",
        out.stderr
    );
}

#[test]
fn import_creates_the_default_store() {
    let dir = tempfile::tempdir().unwrap();
    let mlruns = dir.path().join("mlruns");
    std::fs::create_dir_all(mlruns.join("0")).unwrap();
    std::fs::write(
        mlruns.join("0").join("meta.yaml"),
        "experiment_id: '0'\nname: Default\nlifecycle_stage: active\nartifact_location: x\n",
    )
    .unwrap();
    let out = run(dir.path(), &[], &["import", "mlruns", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "quiet under --json: {}", out.stderr);
    assert!(dir
        .path()
        .join("tracklite-runs")
        .join(tracklite::INDEX_FILE)
        .exists());
}
