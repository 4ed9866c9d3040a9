//! `tracklite gc` refuses to remove deleted runs whose artifacts registered
//! model versions use, names them, removes nothing; `--force` removes them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use tracklite::{NewModelVersion, NewRun, Store};

fn cli(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .env_remove("TRACKLITE_STORE")
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A store with three deleted runs, each with a model file in its
/// artifacts: `by_uri` backs `iris` version 1 (`runs:/<id>/model`),
/// `by_location` backs `iris` version 2 and `wine` version 1 (sources in
/// its artifact location, as a path and as a `file://` URI), `free` backs
/// nothing.
struct Sample {
    _dir: tempfile::TempDir,
    path: PathBuf,
    by_uri: String,
    by_location: String,
    free: String,
    folders: Vec<PathBuf>,
}

fn sample() -> Sample {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let mut runs = Vec::new();
    let mut folders = Vec::new();
    for _ in 0..3 {
        let run = store.create_run(NewRun::default()).unwrap();
        store
            .log_artifact_bytes(&run.run_id, "model/model.pkl", b"weights")
            .unwrap();
        folders.push(PathBuf::from(&run.artifact_uri));
        runs.push(run);
    }
    let version = |name: &str, source: String| {
        if store.get_registered_model(name).is_err() {
            store.create_registered_model(name, &[], None).unwrap();
        }
        store
            .create_model_version(NewModelVersion {
                name: name.into(),
                source,
                ..NewModelVersion::default()
            })
            .unwrap();
    };
    version("iris", format!("runs:/{}/model", runs[0].run_id));
    version("iris", format!("{}/model", runs[1].artifact_uri));
    version("wine", format!("file://{}/model", runs[1].artifact_uri));
    for run in &runs {
        store.delete_run(&run.run_id).unwrap();
    }
    let mut ids = runs.into_iter().map(|r| r.run_id);
    Sample {
        _dir: dir,
        path,
        by_uri: ids.next().unwrap(),
        by_location: ids.next().unwrap(),
        free: ids.next().unwrap(),
        folders,
    }
}

fn deleted_runs(path: &Path) -> Vec<String> {
    let out = cli(path, &["runs", "--view", "deleted", "--json"]);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut ids: Vec<String> = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["info"]["run_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn gc_refuses_names_every_run_and_version_and_removes_nothing() {
    let s = sample();
    let before = deleted_runs(&s.path);
    assert_eq!(before.len(), 3);
    for args in [&["gc"][..], &["gc", "--json"], &["gc", &s.by_location]] {
        let out = cli(&s.path, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = if args.contains(&"--json") {
            // The error is the JSON document, and stderr says nothing.
            assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(doc["error"]["kind"], "conflict", "{doc}");
            doc["error"]["message"].as_str().unwrap().to_string()
        } else {
            assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
            text(&out.stderr)
        };
        assert!(err.contains("gc refused, nothing was removed"), "{err}");
        assert!(
            err.contains(&format!(
                "run {} backs model \"iris\" version 2, model \"wine\" version 1",
                s.by_location
            )),
            "{err}"
        );
        assert!(err.contains("--force"), "{err}");
        if args.len() == 1 || args[1] == "--json" {
            assert!(
                err.contains(&format!("run {} backs model \"iris\" version 1", s.by_uri)),
                "{err}"
            );
        }
        assert!(!err.contains(&s.free), "{err}");
    }
    // Nothing was removed: the runs and their files are all there.
    assert_eq!(deleted_runs(&s.path), before);
    for folder in &s.folders {
        assert!(folder.join("model/model.pkl").is_file());
    }

    // The run that backs nothing can be removed by name.
    let out = cli(&s.path, &["gc", &s.free]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("removed run {}", s.free)));
    assert!(!s.folders[2].exists());
}

#[test]
fn gc_force_removes_and_says_which_versions_lost_their_files() {
    let s = sample();
    let out = cli(&s.path, &["gc", "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for run in [&s.by_uri, &s.by_location, &s.free] {
        assert!(stdout.contains(&format!("removed run {run}")), "{stdout}");
    }
    assert!(
        stdout.contains(&format!(
            "forced: run {} was used by model \"iris\" version 1",
            s.by_uri
        )),
        "{stdout}"
    );
    assert!(deleted_runs(&s.path).is_empty());
    for folder in &s.folders {
        assert!(!folder.exists(), "{}", folder.display());
    }
    // The versions stay, without their files.
    let models = cli(&s.path, &["models", "iris", "--json"]);
    let doc: Value = serde_json::from_slice(&models.stdout).unwrap();
    assert_eq!(doc["versions"].as_array().unwrap().len(), 2);
}

#[test]
fn gc_force_json_lists_the_forced_runs() {
    let s = sample();
    let out = cli(&s.path, &["gc", "--force", "--json", &s.by_uri]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["removed_runs"], json!([s.by_uri]));
    assert_eq!(
        doc["forced"],
        json!([{"run_id": s.by_uri, "versions": [["iris", 1]]}])
    );
    assert_eq!(deleted_runs(&s.path).len(), 2);
}
