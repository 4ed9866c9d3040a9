//! `tracklite models`: the model registry of a real store, registered
//! through the library, as tables and as JSON.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use tracklite::{ModelVersionStage as Stage, NewModelVersion, NewRun, Store};

/// What the binary did.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }

    fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "stderr: {}\nstdout: {}",
            self.stderr, self.stdout
        );
        &self.stdout
    }
}

fn cli(store: &Path, args: &[&str]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .env_remove("TRACKLITE_STORE")
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("the binary runs");
    Out {
        code: o.status.code().expect("an exit code, not a signal"),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

/// The line of `text` that contains `needle`.
fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// A store with three registered models:
/// - `iris` ("flowers", tag team=vision): version 1 from a run
///   (`runs:/<run>/model`, Production, alias `champion`, tag k=v, a
///   description, a user and a run link), version 2 from a path (Staging,
///   alias `challenger`), version 3 deleted, version 4 (None);
/// - `empty`: no versions;
/// - `it's "quoted"`: one version, a name no filter can quote.
struct Sample {
    _dir: tempfile::TempDir,
    path: PathBuf,
    run_id: String,
}

fn sample() -> Sample {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    store
        .create_registered_model("iris", &[("team".into(), "vision".into())], Some("flowers"))
        .unwrap();
    let version = |new: NewModelVersion| store.create_model_version(new).unwrap().version;
    let v1 = version(NewModelVersion {
        name: "iris".into(),
        source: format!("runs:/{run_id}/model"),
        run_id: Some(run_id.clone()),
        tags: vec![("k".into(), "v".into())],
        run_link: Some("http://example/run".into()),
        description: Some("first one".into()),
        user_id: Some("ada".into()),
        ..NewModelVersion::default()
    });
    let plain = |name: &str, source: &str| NewModelVersion {
        name: name.into(),
        source: source.into(),
        ..NewModelVersion::default()
    };
    let v2 = version(plain("iris", "/models/iris-2"));
    let v3 = version(plain("iris", "/models/iris-3"));
    let v4 = version(plain("iris", "/models/iris-4"));
    assert_eq!((v1, v2, v3, v4), (1, 2, 3, 4));
    store
        .transition_model_version_stage("iris", 1, Stage::Production, false)
        .unwrap();
    store
        .transition_model_version_stage("iris", 2, Stage::Staging, false)
        .unwrap();
    store
        .set_registered_model_alias("iris", "champion", 1)
        .unwrap();
    store
        .set_registered_model_alias("iris", "challenger", 2)
        .unwrap();
    store.delete_model_version("iris", 3).unwrap();

    store.create_registered_model("empty", &[], None).unwrap();
    let odd = "it's \"quoted\"";
    store.create_registered_model(odd, &[], None).unwrap();
    version(plain(odd, "/models/odd"));
    Sample {
        _dir: dir,
        path,
        run_id,
    }
}

#[test]
fn list_table() {
    let s = sample();
    let text = cli(&s.path, &["models"]).ok().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        words(lines[0]),
        [
            "NAME",
            "LATEST",
            "VERSIONS",
            "ALIASES",
            "UPDATED",
            "(UTC)",
            "DESCRIPTION"
        ]
    );
    // By name.
    assert!(lines[1].starts_with("empty "), "{text}");
    assert!(lines[2].starts_with("iris "), "{text}");
    assert!(lines[3].starts_with("it's \"quoted\" "), "{text}");
    assert_eq!(lines.len(), 4);
    let iris = lines[2];
    assert!(
        iris.contains("None: 4, Staging: 2, Production: 1"),
        "{iris}"
    );
    assert!(iris.contains("challenger: 2, champion: 1"), "{iris}");
    assert!(iris.ends_with("flowers"), "{iris}");
    assert_eq!(words(lines[1])[1..3], ["-", "-"]);
}

#[test]
fn list_json() {
    let s = sample();
    let doc = cli(&s.path, &["models", "--json"]).json();
    let models = doc.as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["empty", "iris", "it's \"quoted\""]);
    let iris = &models[1];
    assert_eq!(iris["description"], "flowers");
    assert_eq!(iris["tags"], json!({"team": "vision"}));
    assert_eq!(iris["aliases"], json!({"champion": 1, "challenger": 2}));
    assert!(iris["creation_timestamp"].as_i64().unwrap() > 0);
    assert!(
        iris["last_updated_timestamp"].as_i64() >= iris["creation_timestamp"].as_i64(),
        "{iris}"
    );
    let latest: Vec<(i64, &str)> = iris["latest_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["current_stage"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(latest, [(1, "Production"), (2, "Staging"), (4, "None")]);
    let empty = &models[0];
    assert_eq!(empty["description"], Value::Null);
    assert_eq!(empty["latest_versions"], json!([]));
    assert_eq!(empty["aliases"], json!({}));
}

#[test]
fn one_model_text() {
    let s = sample();
    let text = cli(&s.path, &["models", "iris"]).ok().to_string();
    assert_eq!(words(line_with(&text, "name")), ["name", "iris"]);
    assert_eq!(
        words(line_with(&text, "description")),
        ["description", "flowers"]
    );
    assert!(text.contains("tags (1)"), "{text}");
    assert_eq!(words(line_with(&text, "team")), ["team", "vision"]);
    assert!(text.contains("aliases (2)"), "{text}");
    assert_eq!(words(line_with(&text, "champion ")), ["champion", "1"]);
    // Every version there is, newest first; the deleted one is gone.
    assert!(text.contains("versions (3)"), "{text}");
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("versions"))
        .skip(2)
        .take(3)
        .collect();
    assert_eq!(words(table[0])[..3], ["4", "None", "-"]);
    let created = words(table[0])[3];
    assert!(
        created.len() == 10 && created.as_bytes()[4] == b'-',
        "a date: {created}"
    );
    assert_eq!(words(table[1])[..3], ["2", "Staging", "challenger"]);
    assert_eq!(words(table[2])[..3], ["1", "Production", "champion"]);
    assert!(table[2].contains(&s.run_id), "{}", table[2]);
    assert!(
        table[2].ends_with(&format!("runs:/{}/model", s.run_id)),
        "{}",
        table[2]
    );
    assert!(!text.contains("\nversion 3"), "{text}");
    // Each version's details: description, user, run link, tags.
    let v1 = text.split("\nversion 1\n").nth(1).expect("version 1 block");
    assert_eq!(
        words(line_with(v1, "description")),
        ["description", "first", "one"]
    );
    assert_eq!(words(line_with(v1, "user")), ["user", "ada"]);
    assert_eq!(words(line_with(v1, "status ")), ["status", "READY"]);
    assert_eq!(
        words(line_with(v1, "run link")),
        ["run", "link", "http://example/run"]
    );
    assert!(v1.contains("tags (1)"), "{v1}");
    assert_eq!(words(line_with(v1, "    k ")), ["k", "v"]);
}

#[test]
fn one_model_json() {
    let s = sample();
    let doc = cli(&s.path, &["models", "iris", "--json"]).json();
    assert_eq!(doc["model"]["name"], "iris");
    assert_eq!(doc["model"]["tags"], json!({"team": "vision"}));
    let versions = doc["versions"].as_array().unwrap();
    let numbers: Vec<i64> = versions
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [4, 2, 1]);
    let v1 = &versions[2];
    assert_eq!(v1["name"], "iris");
    assert_eq!(v1["current_stage"], "Production");
    assert_eq!(v1["source"], format!("runs:/{}/model", s.run_id));
    assert_eq!(v1["run_id"], s.run_id.as_str());
    assert_eq!(v1["run_link"], "http://example/run");
    assert_eq!(v1["description"], "first one");
    assert_eq!(v1["user_id"], "ada");
    assert_eq!(v1["status"], "READY");
    assert_eq!(v1["tags"], json!({"k": "v"}));
    assert_eq!(v1["aliases"], json!(["champion"]));
    let v4 = &versions[0];
    assert_eq!(v4["current_stage"], "None");
    assert_eq!(v4["run_id"], Value::Null);
    assert_eq!(v4["description"], Value::Null);
    assert_eq!(v4["tags"], json!({}));
    assert_eq!(v4["aliases"], json!([]));

    // A name holding both quote characters.
    let doc = cli(&s.path, &["models", "it's \"quoted\"", "--json"]).json();
    assert_eq!(doc["versions"][0]["source"], "/models/odd");
    assert_eq!(doc["versions"].as_array().unwrap().len(), 1);
    let doc = cli(&s.path, &["models", "empty", "--json"]).json();
    assert_eq!(doc["versions"], json!([]));
}

#[test]
fn a_missing_model_is_an_error_that_names_it() {
    let s = sample();
    let out = cli(&s.path, &["models", "irsi"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("registered model \"irsi\" does not exist"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("empty, iris"), "{}", out.stderr);
    // Under --json, the same error as a JSON document on stdout.
    let out = cli(&s.path, &["models", "irsi", "--json"]);
    assert_eq!((out.code, out.stderr.as_str()), (1, ""));
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let error = &doc["error"];
    assert_eq!(error["kind"], "not_found", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("registered model \"irsi\" does not exist")
            && message.contains("empty, iris"),
        "{message}"
    );
}

#[test]
fn a_store_without_models() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    Store::open(&path).unwrap();
    assert_eq!(cli(&path, &["models"]).ok(), "no registered models\n");
    assert_eq!(cli(&path, &["models", "--json"]).json(), json!([]));
    let out = cli(&path, &["models", "m"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("the store has no registered models"),
        "{}",
        out.stderr
    );
}

#[test]
fn import_brings_an_mlflow_registry_that_models_then_shows() {
    let dir = tempfile::tempdir().unwrap();
    let mlruns = dir.path().join("mlruns");
    let put = |rel: &str, text: &str| {
        let path = mlruns.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    put(
        "models/iris/meta.yaml",
        "creation_timestamp: 1700000000000\ndescription: flowers\n\
         last_updated_timestamp: 1700000000000\nname: iris\n",
    );
    for (n, stage) in [(1, "Production"), (2, "Deleted_Internal")] {
        put(
            &format!("models/iris/version-{n}/meta.yaml"),
            &format!(
                "creation_timestamp: 1700000000000\ncurrent_stage: {stage}\n\
                 last_updated_timestamp: 1700000000000\nname: iris\nsource: /m/{n}\n\
                 status: READY\nversion: {n}\n"
            ),
        );
    }
    put("models/iris/aliases/champion", "1");
    let store = dir.path().join("store");
    let out = Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .env_remove("TRACKLITE_STORE")
        .arg("--store")
        .arg(&store)
        .arg("import")
        .arg(&mlruns)
        .output()
        .unwrap();
    let summary = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{summary}");
    assert!(
        summary.contains(
            "registered models: 1 imported (1 versions), 0 already in the store, 0 left out"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("not imported: 1 deleted model versions are not imported"),
        "{summary}"
    );
    let doc = cli(&store, &["models", "iris", "--json"]).json();
    assert_eq!(doc["model"]["aliases"], json!({"champion": 1}));
    assert_eq!(doc["versions"][0]["current_stage"], "Production");
    assert_eq!(doc["versions"].as_array().unwrap().len(), 1);
}

#[test]
fn prompts_are_left_out_of_the_list_but_shown_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let tag = vec![("mlflow.prompt.is_prompt".to_string(), "true".to_string())];
    store
        .create_registered_model("greeting", &tag, None)
        .unwrap();
    store
        .create_model_version(NewModelVersion {
            name: "greeting".into(),
            source: "prompt".into(),
            tags: tag,
            ..NewModelVersion::default()
        })
        .unwrap();
    store.create_registered_model("model", &[], None).unwrap();
    let names: Vec<Value> = cli(&path, &["models", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].clone())
        .collect();
    assert_eq!(names, [json!("model")]);
    let doc = cli(&path, &["models", "greeting", "--json"]).json();
    assert_eq!(doc["versions"][0]["version"], 1);
}
