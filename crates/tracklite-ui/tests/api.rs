//! The viewer's JSON API over a real HTTP connection: a server on an
//! ephemeral port over a populated store, every endpoint called, values
//! read back, errors with their messages.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracklite::{Dataset, DatasetInput, NewModelVersion, NewRun, RunStatus, Store};
use tracklite_ui::{Options, Server};

const T0: i64 = 1_700_000_000_000;

/// A store with two experiments, three runs (one still running), params,
/// tags, metrics (one NaN), artifacts, a dataset input and a registered
/// model with two versions.
struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    /// Runs by name.
    runs: BTreeMap<&'static str, String>,
    experiment_id: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let experiment_id = store
        .create_experiment("vision", None, &[("team".into(), "cv".into())])
        .unwrap();
    let mut runs = BTreeMap::new();
    for (i, (name, lr, acc)) in [
        ("alpha", "0.1", 0.71),
        ("beta", "0.01", 0.93),
        ("gamma", "0.001", 0.88),
    ]
    .into_iter()
    .enumerate()
    {
        let run = store
            .create_run(NewRun {
                experiment_id: Some(experiment_id.clone()),
                run_name: Some(name.into()),
                start_time: Some(T0 + i as i64),
                params: vec![("lr".into(), lr.into())],
                tags: vec![("owner".into(), "ana".into())],
                ..NewRun::default()
            })
            .unwrap();
        let mut writer = store.metric_writer(&run.run_id).unwrap();
        for step in 0..10 {
            writer
                .log("loss", 1.0 / (step + 1) as f64, T0 + step, step)
                .unwrap();
        }
        writer.log("acc", acc, T0 + 10, 9).unwrap();
        writer.close().unwrap();
        runs.insert(name, run.run_id);
    }
    let alpha = &runs["alpha"];
    let beta = &runs["beta"];
    store
        .log_metric(beta, "grad_norm", f64::NAN, T0, 0)
        .unwrap();
    store.end_run(alpha, RunStatus::Finished).unwrap();
    store.end_run(beta, RunStatus::Finished).unwrap();
    store
        .log_artifact_bytes(alpha, "notes.txt", b"hello from alpha")
        .unwrap();
    store
        .log_artifact_bytes(alpha, "plots/curve.png", b"\x89PNG\r\n\x1a\nfake")
        .unwrap();
    store
        .log_artifact_bytes(alpha, "model/MLmodel", b"flavors: {}\n")
        .unwrap();
    store
        .log_inputs(
            alpha,
            &[DatasetInput {
                dataset: Dataset {
                    name: "train".into(),
                    digest: "abc123".into(),
                    source_type: "local".into(),
                    source: "{\"uri\": \"/data/train.csv\"}".into(),
                    schema: None,
                    profile: None,
                },
                tags: [("mlflow.data.context".to_string(), "training".to_string())].into(),
            }],
        )
        .unwrap();
    store
        .create_registered_model(
            "resnet",
            &[("task".into(), "cls".into())],
            Some("a classifier"),
        )
        .unwrap();
    for run in [alpha, beta] {
        store
            .create_model_version(NewModelVersion {
                name: "resnet".into(),
                source: format!("{}/model", store.artifact_dir(run).unwrap().display()),
                run_id: Some(run.clone()),
                ..NewModelVersion::default()
            })
            .unwrap();
    }
    store
        .set_registered_model_alias("resnet", "champion", 2)
        .unwrap();
    store.flush().unwrap();
    Fixture {
        _dir: dir,
        store,
        runs,
        experiment_id,
    }
}

fn start(store: &Store) -> Server {
    let mut options = Options::new(store.path());
    options.port = 0;
    Server::start(&options).unwrap()
}

/// An HTTP client that returns 4xx and 5xx answers instead of failing.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// GET `path` (with its query): status, Content-Type and body.
fn get(server: &Server, path: &str) -> (u16, String, Vec<u8>) {
    let url = format!("{}{}", server.url(), path.trim_start_matches('/'));
    let mut resp = agent().get(&url).call().unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.body_mut().read_to_vec().unwrap();
    (status, ctype, body)
}

/// GET `path`, which must answer 200 with JSON.
fn get_json(server: &Server, path: &str) -> Value {
    let (status, ctype, body) = get(server, path);
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{path}: {text}");
    assert_eq!(ctype, "application/json", "{path}");
    serde_json::from_slice(&body).unwrap()
}

/// GET `path`, which must answer `status` with a JSON error; its message.
fn get_error(server: &Server, path: &str, status: u16, code: &str) -> String {
    let (got, _, body) = get(server, path);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(got, status, "{path}: {v}");
    assert_eq!(v["error_code"], code, "{path}: {v}");
    v["message"].as_str().unwrap().to_string()
}

fn names(runs: &Value) -> Vec<&str> {
    runs.as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_name"].as_str().unwrap())
        .collect()
}

#[test]
fn health_and_experiments() {
    let f = fixture();
    let server = start(&f.store);
    let health = get_json(&server, "/api/health");
    assert_eq!(
        health,
        json!({"version": "0.1.0", "store": f.store.path().display().to_string(), "read_only": true})
    );
    let exps = get_json(&server, "/api/experiments");
    let list = exps["experiments"].as_array().unwrap();
    let vision = list.iter().find(|e| e["name"] == "vision").unwrap();
    assert_eq!(vision["experiment_id"], f.experiment_id.as_str());
    assert_eq!(vision["run_count"], 3);
    assert_eq!(vision["lifecycle_stage"], "active");
    assert_eq!(vision["tags"], json!({"team": "cv"}));
    assert!(vision["creation_time"].as_i64().unwrap() > 0);
    let default = list.iter().find(|e| e["experiment_id"] == "0").unwrap();
    assert_eq!(default["run_count"], 0);
    let deleted = get_json(&server, "/api/experiments?view=deleted");
    assert_eq!(deleted["experiments"], json!([]));
    let msg = get_error(
        &server,
        "/api/experiments?view=gone",
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_eq!(
        msg,
        "invalid view \"gone\": must be one of active, deleted, all"
    );
}

#[test]
fn runs_search_filter_order_and_paging() {
    let f = fixture();
    let server = start(&f.store);
    let e = &f.experiment_id;
    let all = get_json(&server, &format!("/api/runs?experiment_ids={e}"));
    // Default order: newest start first.
    assert_eq!(names(&all["runs"]), ["gamma", "beta", "alpha"]);
    assert_eq!(all["next_page_token"], Value::Null);
    let beta = all["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_name"] == "beta")
        .unwrap();
    assert_eq!(beta["run_id"], f.runs["beta"].as_str());
    assert_eq!(beta["status"], "FINISHED");
    assert_eq!(beta["experiment_id"], e.as_str());
    assert_eq!(beta["start_time"], T0 + 1);
    assert!(beta["end_time"].as_i64().is_some());
    assert_eq!(beta["metrics"]["acc"], 0.93);
    assert_eq!(beta["metrics"]["loss"], 0.1);
    assert_eq!(beta["metrics"]["grad_norm"], "NaN");
    assert_eq!(beta["params"], json!({"lr": "0.01"}));
    assert_eq!(beta["tags"]["owner"], "ana");
    assert_eq!(beta["tags"]["mlflow.runName"], "beta");
    let gamma = &all["runs"][0];
    assert_eq!(gamma["status"], "RUNNING");
    assert_eq!(gamma["end_time"], Value::Null);

    // No experiment named: every active experiment's runs.
    assert_eq!(names(&get_json(&server, "/api/runs")["runs"]).len(), 3);

    let filter = "metrics.acc%20%3E%200.8%20AND%20params.lr%20!%3D%20'0.1'";
    let narrowed = get_json(
        &server,
        &format!("/api/runs?experiment_ids={e}&filter={filter}&order_by=metrics.acc%20DESC"),
    );
    assert_eq!(names(&narrowed["runs"]), ["beta", "gamma"]);
    let two_orders = get_json(
        &server,
        &format!("/api/runs?experiment_ids={e}&order_by=params.lr&order_by=run_name%20DESC"),
    );
    assert_eq!(names(&two_orders["runs"]), ["gamma", "beta", "alpha"]);

    let first = get_json(
        &server,
        &format!("/api/runs?experiment_ids={e}&max_results=2"),
    );
    assert_eq!(names(&first["runs"]), ["gamma", "beta"]);
    let token = first["next_page_token"].as_str().unwrap();
    let second = get_json(
        &server,
        &format!("/api/runs?experiment_ids={e}&max_results=2&page_token={token}"),
    );
    assert_eq!(names(&second["runs"]), ["alpha"]);
    assert_eq!(second["next_page_token"], Value::Null);

    let msg = get_error(
        &server,
        &format!("/api/runs?experiment_ids={e}&filter=metrics.acc%20%3E%3E%201"),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(
        msg.starts_with("invalid filter \"metrics.acc >> 1\""),
        "{msg}"
    );
    let msg = get_error(
        &server,
        "/api/runs?max_results=0",
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("max_results \"0\""), "{msg}");
}

#[test]
fn one_run_whole() {
    let f = fixture();
    let server = start(&f.store);
    let alpha = &f.runs["alpha"];
    let run = get_json(&server, &format!("/api/run?run_id={alpha}"));
    let info = &run["info"];
    assert_eq!(info["run_id"], alpha.as_str());
    assert_eq!(info["run_name"], "alpha");
    assert_eq!(info["status"], "FINISHED");
    assert_eq!(info["lifecycle_stage"], "active");
    assert!(info["artifact_uri"]
        .as_str()
        .unwrap()
        .ends_with(&format!("{alpha}/artifacts")));
    assert_eq!(run["params"], json!({"lr": "0.1"}));
    assert_eq!(run["tags"]["owner"], "ana");
    let loss = run["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "loss")
        .unwrap();
    assert_eq!(
        *loss,
        json!({"key": "loss", "value": 0.1, "step": 9, "timestamp": T0 + 9, "min": 0.1, "max": 1.0, "count": 10})
    );
    assert_eq!(
        run["inputs"],
        json!([{"name": "train", "digest": "abc123", "source_type": "local",
                "source": "{\"uri\": \"/data/train.csv\"}", "context": "training"}])
    );
    let missing = "0".repeat(32);
    let msg = get_error(
        &server,
        &format!("/api/run?run_id={missing}"),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert!(msg.contains(&missing), "{msg}");
    let msg = get_error(&server, "/api/run", 400, "INVALID_PARAMETER_VALUE");
    assert_eq!(msg, "missing query parameter \"run_id\"");
}

#[test]
fn artifacts_listed_and_read() {
    let f = fixture();
    let server = start(&f.store);
    let alpha = &f.runs["alpha"];
    let top = get_json(&server, &format!("/api/artifacts?run_id={alpha}"));
    assert_eq!(
        top["files"],
        json!([
            {"path": "model", "is_dir": true, "file_size": null},
            {"path": "notes.txt", "is_dir": false, "file_size": 16},
            {"path": "plots", "is_dir": true, "file_size": null},
        ])
    );
    let plots = get_json(
        &server,
        &format!("/api/artifacts?run_id={alpha}&path=plots"),
    );
    assert_eq!(
        plots["files"],
        json!([{"path": "plots/curve.png", "is_dir": false, "file_size": 12}])
    );

    let (status, ctype, body) = get(
        &server,
        &format!("/api/artifact?run_id={alpha}&path=notes.txt"),
    );
    assert_eq!(
        (status, ctype.as_str(), body.as_slice()),
        (200, "text/plain; charset=utf-8", &b"hello from alpha"[..])
    );
    let (_, ctype, body) = get(
        &server,
        &format!("/api/artifact?run_id={alpha}&path=plots/curve.png"),
    );
    assert_eq!((ctype.as_str(), body.len()), ("image/png", 12));
    let (_, ctype, _) = get(
        &server,
        &format!("/api/artifact?run_id={alpha}&path=model/MLmodel"),
    );
    assert_eq!(ctype, "text/plain; charset=utf-8");

    // A cut file says so in a header; a whole one does not.
    let url = format!(
        "{}api/artifact?run_id={alpha}&path=notes.txt&max_bytes=5",
        server.url()
    );
    let mut resp = agent().get(&url).call().unwrap();
    assert_eq!(resp.headers().get("x-tracklite-truncated").unwrap(), "true");
    assert_eq!(resp.body_mut().read_to_string().unwrap(), "hello");
    let url = format!("{}api/artifact?run_id={alpha}&path=notes.txt", server.url());
    let resp = agent().get(&url).call().unwrap();
    assert!(resp.headers().get("x-tracklite-truncated").is_none());

    for bad in [
        "../../index.sqlite",
        "plots/../../x",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
    ] {
        let msg = get_error(
            &server,
            &format!("/api/artifact?run_id={alpha}&path={bad}"),
            400,
            "INVALID_PARAMETER_VALUE",
        );
        assert!(msg.starts_with("invalid artifact path"), "{bad}: {msg}");
    }
    let msg = get_error(
        &server,
        &format!("/api/artifacts?run_id={alpha}&path=../.."),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("'..'"), "{msg}");
    let msg = get_error(
        &server,
        &format!("/api/artifact?run_id={alpha}&path=nope.txt"),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert!(msg.contains("nope.txt"), "{msg}");
}

#[test]
fn metric_history_and_keys() {
    let f = fixture();
    let server = start(&f.store);
    let (alpha, beta) = (&f.runs["alpha"], &f.runs["beta"]);
    let missing = "f".repeat(32);
    let h = get_json(
        &server,
        &format!("/api/metric-history?run_ids={alpha},{missing}&key=loss"),
    );
    assert_eq!(h["key"], "loss");
    assert_eq!(h["x"], "step");
    let s = &h["series"][0];
    assert_eq!(s["run_id"], alpha.as_str());
    assert_eq!(
        (s["count"].as_u64(), s["downsampled"].as_bool()),
        (Some(10), Some(false))
    );
    assert_eq!(s["x"], json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    assert_eq!(s["y"][0], 1.0);
    assert_eq!(s["y"][9], 0.1);
    // An unknown run has an empty series, not an error.
    assert_eq!(
        h["series"][1],
        json!({"run_id": missing, "count": 0, "downsampled": false, "x": [], "y": []})
    );

    // Two buckets of five points: each keeps its first, last, min and max.
    let d = get_json(
        &server,
        &format!("/api/metric-history?run_ids={alpha}&key=loss&buckets=2"),
    );
    let s = &d["series"][0];
    assert_eq!(s["downsampled"], true);
    assert_eq!(s["count"], 10);
    assert_eq!(s["x"], json!([0, 4, 5, 9]));
    let by_time = get_json(
        &server,
        &format!(
            "/api/metric-history?run_ids={alpha}&key=loss&x=time&x_min={}&x_max={}",
            T0 + 2,
            T0 + 4
        ),
    );
    assert_eq!(by_time["x"], "time");
    assert_eq!(by_time["series"][0]["x"], json!([T0 + 2, T0 + 3, T0 + 4]));
    assert_eq!(by_time["series"][0]["count"], 3);
    let nan = get_json(
        &server,
        &format!("/api/metric-history?run_ids={beta}&key=grad_norm"),
    );
    assert_eq!(nan["series"][0]["y"], json!(["NaN"]));

    let msg = get_error(
        &server,
        &format!("/api/metric-history?run_ids={alpha}&key=loss&buckets=10001"),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_eq!(
        msg,
        "invalid buckets \"10001\": must be a whole number from 1 to 10000"
    );
    let msg = get_error(
        &server,
        &format!("/api/metric-history?run_ids={alpha}"),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_eq!(msg, "missing query parameter \"key\"");
    let msg = get_error(
        &server,
        &format!("/api/metric-history?run_ids={alpha}&key=loss&x_min=5&x_max=1"),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("x_min 5 is greater than x_max 1"), "{msg}");

    let odd = get_json(&server, "/api/metric-history?run_ids=not-a-run-id&key=loss");
    assert_eq!(odd["series"][0]["count"], 0);

    let keys = get_json(
        &server,
        &format!("/api/metric-keys?run_ids={alpha},{beta},{missing},not-a-run-id"),
    );
    assert_eq!(keys["keys"], json!(["acc", "grad_norm", "loss"]));
}

#[test]
fn a_point_logged_while_serving_appears_in_the_next_history() {
    let f = fixture();
    let server = start(&f.store);
    let gamma = &f.runs["gamma"];
    let path = format!("/api/metric-history?run_ids={gamma}&key=live");
    assert_eq!(get_json(&server, &path)["series"][0]["count"], 0);
    // The writer stays open, as a training loop's does: no fold, no flush.
    let mut writer = f.store.metric_writer(gamma).unwrap();
    writer.log("live", 0.5, T0, 0).unwrap();
    assert_eq!(get_json(&server, &path)["series"][0]["y"], json!([0.5]));
    writer.log("live", 0.25, T0 + 1, 1).unwrap();
    let s = &get_json(&server, &path)["series"][0];
    assert_eq!((&s["x"], &s["y"]), (&json!([0, 1]), &json!([0.5, 0.25])));
    writer.close().unwrap();
}

#[test]
fn registered_models() {
    let f = fixture();
    let server = start(&f.store);
    let models = get_json(&server, "/api/models");
    assert_eq!(models["next_page_token"], Value::Null);
    let m = &models["registered_models"][0];
    assert_eq!(m["name"], "resnet");
    assert_eq!(m["description"], "a classifier");
    assert_eq!(m["tags"], json!({"task": "cls"}));
    assert_eq!(m["aliases"], json!({"champion": 2}));
    assert!(m["latest_versions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["version"] == 2));
    let none = get_json(&server, "/api/models?filter=name%20LIKE%20'%25bert%25'");
    assert_eq!(none["registered_models"], json!([]));
    let msg = get_error(
        &server,
        "/api/models?filter=size%20%3E%201",
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(msg.contains("size"), "{msg}");

    let one = get_json(&server, "/api/model?name=resnet");
    assert_eq!(one["registered_model"]["name"], "resnet");
    let versions = one["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    let v2 = &versions[0];
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["run_id"], f.runs["beta"].as_str());
    assert_eq!(v2["current_stage"], "None");
    assert_eq!(v2["status"], "READY");
    assert_eq!(v2["aliases"], json!(["champion"]));
    assert_eq!(versions[1]["version"], 1);
    let msg = get_error(
        &server,
        "/api/model?name=nope",
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert!(msg.contains("nope"), "{msg}");
}

/// A raw request, so that the Host header and method are exactly as given.
fn raw(server: &Server, method: &str, host: &str, path: &str) -> (u16, String) {
    let mut conn = TcpStream::connect(server.local_addr()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn foreign_hosts_and_writes_are_refused() {
    let f = fixture();
    let server = start(&f.store);
    let port = server.local_addr().port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        assert_eq!(raw(&server, "GET", &host, "/api/health").0, 200, "{host}");
    }
    // A name pointed at 127.0.0.1 by someone else's DNS (rebinding).
    let (status, body) = raw(
        &server,
        "GET",
        &format!("attacker.example:{port}"),
        "/api/health",
    );
    assert_eq!(status, 403);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error_code"], "PERMISSION_DENIED");
    assert!(
        v["message"].as_str().unwrap().contains("attacker.example"),
        "{v}"
    );
    let (status, body) = raw(&server, "HEAD", &format!("127.0.0.1:{port}"), "/api/health");
    assert_eq!((status, body.as_str()), (200, ""));
    let (status, body) = raw(&server, "POST", &format!("127.0.0.1:{port}"), "/api/runs");
    assert_eq!(status, 405);
    assert!(body.contains("read-only"), "{body}");
    let msg = get_error(&server, "/api/nothing-here", 404, "ENDPOINT_NOT_FOUND");
    assert_eq!(msg, "no API endpoint /api/nothing-here");
}

#[test]
fn pages_or_a_page_saying_there_are_none() {
    let f = fixture();
    let server = start(&f.store);
    let (status, ctype, body) = get(&server, "/");
    let embedded = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/index.html");
    assert_eq!(ctype, "text/html; charset=utf-8");
    if embedded.exists() {
        assert_eq!(status, 200);
        assert_eq!(body, std::fs::read(embedded).unwrap());
    } else {
        assert_eq!(status, 404);
        assert!(String::from_utf8(body)
            .unwrap()
            .contains("without its pages"));
    }
    let (status, _, _) = get(&server, "/assets/no-such-file.js");
    assert_eq!(status, 404);
}

#[test]
fn a_remote_host_needs_allowing_and_stop_frees_the_port() {
    let f = fixture();
    let mut options = Options::new(f.store.path());
    options.host = "0.0.0.0".into();
    options.port = 0;
    let err = Server::start(&options).err().unwrap();
    assert!(err.to_string().contains("--allow-remote"), "{err}");
    options.allow_remote = true;
    let server = Server::start(&options).unwrap();
    assert!(
        server.url().starts_with("http://127.0.0.1:"),
        "{}",
        server.url()
    );
    let port = server.local_addr().port();
    server.stop();
    // The port is free again: a new server binds it.
    let mut again = Options::new(f.store.path());
    again.port = port;
    let server = start_polling(&again);
    assert_eq!(server.local_addr().port(), port);
}

#[test]
fn a_stop_handle_ends_wait() {
    let f = fixture();
    let server = start(&f.store);
    let url = format!("{}api/health", server.url());
    let stopper = server.stop_handle();
    let waiting = std::thread::spawn(move || server.wait());
    assert_eq!(agent().get(&url).call().unwrap().status().as_u16(), 200);
    stopper.stop();
    waiting.join().unwrap();
    // The handle outlives the server without keeping its port.
    let port = server_port(&url);
    let mut again = Options::new(f.store.path());
    again.port = port;
    let server = start_polling(&again);
    assert_eq!(server.local_addr().port(), port);
    stopper.stop(); // stopping a server that is gone does nothing
    assert_eq!(get_json(&server, "/api/health")["read_only"], true);
}

fn server_port(url: &str) -> u16 {
    let authority = url.trim_start_matches("http://").split('/').next().unwrap();
    authority.rsplit(':').next().unwrap().parse().unwrap()
}

/// Starts a server on a port just released: the listener closes right
/// after the workers end, so poll for it with a deadline.
fn start_polling(options: &Options) -> Server {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Server::start(options) {
            Ok(s) => return s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::yield_now();
            }
            Err(e) => panic!("port {} still taken after stop: {e}", options.port),
        }
    }
}

/// Reads one reply (head and `Content-Length` body) from a kept-alive
/// connection; returns its status and body.
fn read_reply(conn: &mut std::io::BufReader<TcpStream>) -> (u16, Vec<u8>) {
    use std::io::BufRead;
    let mut line = String::new();
    conn.read_line(&mut line).unwrap();
    let status = line[9..12].parse().unwrap();
    let mut length = 0;
    loop {
        line.clear();
        conn.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).unwrap();
    (status, body)
}

#[test]
fn many_kept_alive_connections_are_all_answered() {
    // A browser keeps several connections open between requests; each
    // must be answered while the others stay open, and answered again.
    let f = fixture();
    let server = start(&f.store);
    let port = server.local_addr().port();
    let mut conns: Vec<std::io::BufReader<TcpStream>> = (0..24)
        .map(|_| {
            let conn = TcpStream::connect(server.local_addr()).unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            std::io::BufReader::new(conn)
        })
        .collect();
    for round in 0..2 {
        for conn in &mut conns {
            write!(
                conn.get_mut(),
                "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
            )
            .unwrap();
        }
        for (i, conn) in conns.iter_mut().enumerate() {
            let (status, body) = read_reply(conn);
            assert_eq!(status, 200, "connection {i}, round {round}");
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["read_only"], true);
        }
    }
    // Stopping closes the connections still open.
    server.stop();
    for conn in &mut conns {
        let mut rest = Vec::new();
        assert_eq!(conn.read_to_end(&mut rest).unwrap(), 0);
    }
}
