//! `tracklite ui`: prints its URL, serves the store, stops on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tracklite::{NewRun, Store};

fn tracklite() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracklite"));
    for name in [
        "TRACKLITE_STORE",
        "MLFLOW_TRACKING_URI",
        "TRACKLITE_SERVE_FILE_URIS",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

#[test]
fn serves_until_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let run = store
        .create_run(NewRun {
            run_name: Some("served".into()),
            ..NewRun::default()
        })
        .unwrap();
    let mut child = tracklite()
        .arg("--store")
        .arg(store.path())
        .args(["ui", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .strip_prefix("tracklite ui: ")
        .and_then(|rest| rest.strip_suffix(" (Ctrl-C to stop)\n"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let body = ureq::get(format!("{url}api/runs"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(runs["runs"][0]["run_id"], run.run_id.as_str());
    assert_eq!(runs["runs"][0]["run_name"], "served");
    let stderr = stop(child, "-TERM");
    assert!(
        stderr.contains("terminated: stopping the viewer"),
        "{stderr}"
    );
}

#[test]
fn another_host_needs_allow_remote_and_a_missing_store_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    Store::open(&path).unwrap();
    let out = tracklite()
        .arg("--store")
        .arg(&path)
        .args(["ui", "--port", "0", "--host", "0.0.0.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("host \"0.0.0.0\" is not a loopback address")
            && stderr.contains("--allow-remote"),
        "{stderr}"
    );
    let missing = dir.path().join("nothing-here");
    let out = tracklite()
        .arg("--store")
        .arg(&missing)
        .args(["ui", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("no tracklite store at"), "{stderr}");
    assert!(!missing.exists(), "the viewer created a store");
}

#[test]
fn allowing_a_remote_host_warns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    Store::open(&path).unwrap();
    let mut child = tracklite()
        .arg("--store")
        .arg(&path)
        .args(["ui", "--port", "0", "--host", "0.0.0.0", "--allow-remote"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // Served on every interface, opened through the loopback one.
    assert!(
        line.starts_with("tracklite ui: http://127.0.0.1:"),
        "{line}"
    );
    let stderr = stop(child, "-INT");
    assert!(
        stderr.contains("warning: serving") && stderr.contains("on 0.0.0.0, beyond this machine"),
        "{stderr}"
    );
    assert!(
        stderr.contains("interrupted: stopping the viewer"),
        "{stderr}"
    );
}

/// Sends `signal` to the viewer, which must exit cleanly (status 0);
/// returns what it wrote to stderr.
fn stop(child: std::process::Child, signal: &str) -> String {
    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stderr).unwrap()
}
