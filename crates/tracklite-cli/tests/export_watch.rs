//! `tracklite export --watch` against a real MLflow tracking server: the
//! points of a run that is still being logged reach the server while it
//! runs, a server that is killed and restarted mid-run does not end the
//! watch, and SIGTERM makes a last pass that leaves the server with
//! exactly what the store holds. The training is this test process; the
//! watcher is the CLI in its own process.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracklite::{MetricWriter, NewRun, RunStatus, SeriesHandle, Store};

mod common;

use common::{venv, Server};

const BASE_TIME: i64 = 1_700_000_000_000;

fn post(url: &str, endpoint: &str, body: Value) -> Option<Value> {
    let mut answer = ureq::post(format!("{url}/api/2.0/mlflow/{endpoint}"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .ok()?;
    serde_json::from_str(&answer.body_mut().read_to_string().ok()?).ok()
}

fn get(url: &str, endpoint: &str, query: &[(&str, &str)]) -> Option<Value> {
    let mut request = ureq::get(format!("{url}/api/2.0/mlflow/{endpoint}"));
    for (k, v) in query {
        request = request.query(*k, *v);
    }
    let text = request.call().ok()?.body_mut().read_to_string().ok()?;
    serde_json::from_str(&text).ok()
}

/// The remote run of local run `run_id` (found by its tag), if any.
fn remote_run(url: &str, run_id: &str) -> Option<Value> {
    let body = json!({
        "experiment_ids": ["0"],
        "filter": format!("tags.`tracklite.run_id` = '{run_id}'"),
    });
    let answer = post(url, "runs/search", body)?;
    answer["runs"].as_array()?.first().cloned()
}

fn points_on_server(url: &str, remote_id: &str, key: &str) -> usize {
    get(
        url,
        "metrics/get-history",
        &[("run_id", remote_id), ("metric_key", key)],
    )
    .and_then(|a| a["metrics"].as_array().map(Vec::len))
    .unwrap_or(0)
}

/// Polls `condition` until it holds (at most three minutes).
fn wait_until(what: &str, watcher: &mut Child, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !condition() {
        if let Some(status) = watcher.try_wait().unwrap() {
            panic!("the watcher exited ({status}) before {what}");
        }
        assert!(Instant::now() < deadline, "not within 180 s: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Logs `n` more points of the training curve and flushes them.
fn train(writer: &mut MetricWriter, series: SeriesHandle, logged: &mut i64, n: i64) {
    for _ in 0..n {
        let step = *logged;
        let value = 1.0 / (step as f64 + 1.0);
        writer
            .append(series, value, BASE_TIME + step, step)
            .unwrap();
        *logged += 1;
    }
    writer.flush().unwrap();
}

/// The watcher, and what it has written to standard error so far.
fn watcher(store: &Path, url: &str) -> (Child, Arc<Mutex<String>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .arg("--store")
        .arg(store)
        .args([
            "export",
            "--to",
            url,
            "--json",
            "--watch",
            "--interval",
            "0.2",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let said = Arc::new(Mutex::new(String::new()));
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let sink = Arc::clone(&said);
    std::thread::spawn(move || {
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap_or(0) > 0 {
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    (child, said)
}

#[test]
fn watch_mirrors_a_live_run_across_a_server_restart() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&venv, dir.path());
    let url = server.url();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run = store
        .create_run(NewRun {
            run_name: Some("live".into()),
            start_time: Some(BASE_TIME),
            ..NewRun::default()
        })
        .unwrap()
        .run_id;
    store.log_param(&run, "lr", "0.01").unwrap();
    let mut writer = store.metric_writer(&run).unwrap();
    let loss = writer.series("loss").unwrap();
    let mut logged = 0;
    train(&mut writer, loss, &mut logged, 500);

    let (mut watch, said) = watcher(&path, &url);
    // Live: the points reach the server while the run is still running.
    let mut remote_id = String::new();
    wait_until(
        "the run is on the server",
        &mut watch,
        || match remote_run(&url, &run) {
            Some(r) => {
                remote_id = r["info"]["run_id"].as_str().unwrap().to_string();
                true
            }
            None => false,
        },
    );
    wait_until("the first 500 points are on the server", &mut watch, || {
        points_on_server(&url, &remote_id, "loss") == 500
    });
    let remote = remote_run(&url, &run).unwrap();
    assert_eq!(remote["info"]["status"], "RUNNING");
    assert_eq!(remote["data"]["params"][0]["value"], "0.01");

    // The server goes away while training goes on, and comes back.
    server.kill();
    train(&mut writer, loss, &mut logged, 1_500);
    wait_until("a pass finds the server gone", &mut watch, || {
        said.lock().unwrap().contains("cannot reach the server")
    });
    server.spawn();
    wait_until(
        "the points logged while the server was down",
        &mut watch,
        || points_on_server(&url, &remote_id, "loss") == 2_000,
    );

    // The last points and the end are sent by the pass after SIGTERM.
    train(&mut writer, loss, &mut logged, 700);
    writer.close().unwrap();
    store.end_run(&run, RunStatus::Finished).unwrap();
    let ended = store.get_run(&run).unwrap().info.end_time;
    let killed = Command::new("kill")
        .args(["-TERM", &watch.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = watch.wait().unwrap();
    let mut stdout = String::new();
    watch
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let stderr = said.lock().unwrap().clone();
    eprintln!("the watcher said:\n{stderr}");
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("terminated: exporting what is left"),
        "{stderr}"
    );
    // Said when it went down and when it came back, not at every pass (a
    // server still starting may refuse once more).
    let down = stderr.matches("cannot reach the server").count();
    assert!((1..=3).contains(&down), "{stderr}");
    assert!(stderr.contains("the server answers again"), "{stderr}");

    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["points"], json!(logged), "{summary}");
    assert!(summary["passes"].as_u64().unwrap() >= 3, "{summary}");
    assert_eq!(summary["last_error"], Value::Null);
    assert_eq!(points_on_server(&url, &remote_id, "loss"), 2_700);
    let remote = remote_run(&url, &run).unwrap();
    assert_eq!(remote["info"]["status"], "FINISHED");
    assert_eq!(remote["info"]["end_time"].as_i64(), ended);
    assert_eq!(remote["info"]["start_time"].as_i64(), Some(BASE_TIME));
    // One remote run, however many passes.
    let all = post(&url, "runs/search", json!({"experiment_ids": ["0"]})).unwrap();
    assert_eq!(all["runs"].as_array().unwrap().len(), 1, "{all}");
}

#[test]
fn watch_refuses_a_bad_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    Store::open(&path).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .arg("--store")
        .arg(&path)
        .args(["export", "--to", "http://127.0.0.1:9", "--watch"])
        .args(["--interval", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--interval 0: must be between 0.1 and 86400 seconds"),
        "{stderr}"
    );
}
