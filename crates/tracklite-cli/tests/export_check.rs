//! `tracklite export --check` against real services, and the export's
//! progress output:
//!
//! - a server that proxies artifacts (`--artifacts-destination`): every
//!   step passes, nothing is left behind; the export's plain progress lines
//!   (standard error not a terminal) and its bar (through a pseudo-terminal
//!   made by `script`, when there is one); then, the server stopped: "not
//!   reachable", exit status 1;
//! - a server whose artifact root is `s3://` (moto's S3 emulator): the
//!   steps pass straight against the bucket; an endpoint without the bucket
//!   fails with NoSuchBucket, naming what to fix.
//!
//! The services come from `$TRACKLITE_TEST_VENV` or the checkout's `.venv`;
//! without one, the test says so and passes without running.

mod common;

use std::path::Path;
use std::process::Command;

use common::service::{free_port, text, tracklite, Service};
use serde_json::Value;
use tracklite::{NewRun, Store};

/// `tracklite export --to URL --check ARGS`: exit code, stdout, stderr.
fn check(url: &str, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut all = vec!["export", "--to", url, "--check"];
    all.extend_from_slice(args);
    let output = tracklite(&all, env);
    let (out, err) = text(&output);
    (output.status.code(), out, err)
}

/// The line of step `name`.
fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no {name} line:\n{out}"))
}

/// Every file under `root`.
fn files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path.display().to_string());
            }
        }
    }
    out
}

/// A store with one run: `points` points and one artifact file.
fn store_with_a_run(path: &Path, points: i64) -> String {
    let store = Store::open(path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    for i in 0..points {
        store
            .log_metric(&run, "loss", i as f64, 1_700_000_000_000 + i, i)
            .unwrap();
    }
    store
        .log_artifact_bytes(&run, "model/weights.bin", &vec![7u8; 300_000])
        .unwrap();
    store.flush().unwrap();
    run
}

#[test]
fn check_a_proxied_server_then_a_stopped_one() {
    let Some(venv) = common::venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("dest");
    let mut server = Service::mlflow(
        &venv,
        dir.path(),
        free_port(),
        &["--artifacts-destination", dest.to_str().unwrap()],
        &[],
    );
    let url = server.url();

    let (code, out, err) = check(&url, &[], &[]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    for name in ["server", "auth", "version", "experiment", "artifacts"] {
        assert!(line(&out, name).starts_with("OK "), "{out}");
    }
    assert!(line(&out, "version").contains("MLflow 3."), "{out}");
    assert!(
        line(&out, "artifacts").contains("mlflow-artifacts:"),
        "{out}"
    );
    assert!(out.contains("ready to export"), "{out}");
    // The scratch file is gone; the scratch experiment is deleted.
    assert!(files(&dest).is_empty(), "{:?}", files(&dest));

    let (code, out, _) = check(&url, &["--json"], &[]);
    assert_eq!(code, Some(0));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["checks"].as_array().unwrap().len(), 5, "{report}");
    assert!(
        report["version"].as_str().unwrap().starts_with("3."),
        "{report}"
    );

    // Progress as plain lines: standard error is not a terminal here.
    let plain = dir.path().join("plain");
    let run = store_with_a_run(&plain, 2000);
    let output = tracklite(
        &["--store", plain.to_str().unwrap(), "export", "--to", &url],
        &[],
    );
    let (out, err) = text(&output);
    assert!(output.status.success(), "{out}\n{err}");
    assert!(
        err.contains("exporting 1 run(s): 2000 points to send"),
        "{err}"
    );
    assert!(
        err.contains(&format!("run {run} (")) && err.contains("created"),
        "{err}"
    );
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");

    // The bar, on a pseudo-terminal (util-linux's `script`).
    if Command::new("script").arg("--version").output().is_ok() {
        let tty = dir.path().join("tty");
        store_with_a_run(&tty, 20_000);
        let command = format!(
            "{} --store {} export --to {}",
            env!("CARGO_BIN_EXE_tracklite"),
            tty.display(),
            url
        );
        let typescript = dir.path().join("typescript");
        let output = Command::new("script")
            .args(["-qec", &command])
            .arg(&typescript)
            .env("TERM", "xterm")
            .env("COLUMNS", "120")
            .output()
            .unwrap();
        let screen = std::fs::read_to_string(&typescript).unwrap_or_default();
        assert!(output.status.success(), "{screen}");
        assert!(screen.contains("runs "), "no bar drawn: {screen:?}");
        assert!(screen.contains(" points ("), "no bar drawn: {screen:?}");
        // Drawn in place: carriage returns or cursor moves.
        assert!(
            screen.contains('\r') || screen.contains('\u{1b}'),
            "{screen:?}"
        );
        assert!(screen.contains("runs 1 created"), "no summary: {screen:?}");
    } else {
        eprintln!("no `script` command: the progress bar is not tested through a terminal");
    }

    server.stop();
    let started = std::time::Instant::now();
    let (code, out, err) = check(&url, &[], &[]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    let server_line = line(&out, "server");
    assert!(
        server_line.starts_with("FAILED") && server_line.contains("not reachable"),
        "{out}"
    );
    assert!(line(&out, "auth").starts_with("SKIPPED"), "{out}");
    assert!(
        started.elapsed().as_secs() < 30,
        "the check took {:?}",
        started.elapsed()
    );
}

/// Makes `bucket` on the emulator at `endpoint` with boto3.
fn create_bucket(venv: &Path, endpoint: &str, bucket: &str) {
    let script = "import sys, boto3\nboto3.client('s3', endpoint_url=sys.argv[1], \
                  aws_access_key_id='testing', aws_secret_access_key='testing', \
                  region_name='us-east-1').create_bucket(Bucket=sys.argv[2])\n";
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", script, endpoint, bucket])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_an_s3_artifact_root() {
    let Some(venv) = common::venv() else { return };
    if !venv.join("bin/moto_server").is_file() {
        eprintln!("SKIPPED: no moto_server in {}", venv.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s3 = Service::moto(&venv, dir.path(), &[]);
    let bucket = "tracklite-check";
    create_bucket(&venv, &s3.url(), bucket);
    let endpoint = s3.url();
    let env = |endpoint: &str| {
        vec![
            ("MLFLOW_S3_ENDPOINT_URL", endpoint.to_string()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
        ]
    };
    let good = env(&endpoint);
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let root = format!("s3://{bucket}/root");
    let server = Service::mlflow(
        &venv,
        dir.path(),
        free_port(),
        &["--default-artifact-root", &root, "--no-serve-artifacts"],
        &good,
    );
    let url = server.url();

    let (code, out, err) = check(&url, &[], &good);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let artifacts = line(&out, "artifacts");
    assert!(
        artifacts.starts_with("OK") && artifacts.contains("s3://tracklite-check/root/"),
        "{out}"
    );

    // An endpoint without the bucket.
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let empty = Service::moto(&venv, &empty_dir, &[]);
    let other = env(&empty.url());
    let other: Vec<(&str, &str)> = other.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, out, _) = check(&url, &[], &other);
    assert_eq!(code, Some(1), "{out}");
    let artifacts = line(&out, "artifacts");
    assert!(
        artifacts.starts_with("FAILED")
            && artifacts.contains("NoSuchBucket")
            && artifacts.contains("--default-artifact-root"),
        "{out}"
    );
    // (Bad credentials are not tested here: moto's optional credential
    // check does not take presigned URLs. The codes it would name,
    // InvalidAccessKeyId and SignatureDoesNotMatch, are read by the unit
    // tests of tracklite-export's s3 module.)
    let (code, out, _) = check(&url, &["--json"], &other);
    assert_eq!(code, Some(1), "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["checks"][4]["status"], "failed", "{report}");
    assert_eq!(report["ok"], false, "{report}");
}
