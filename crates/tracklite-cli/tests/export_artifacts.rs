//! `tracklite export` of run artifacts to a real `mlflow server` that
//! proxies artifacts (`--artifacts-destination <folder>`): every file
//! arrives byte for byte (read back with MLflow's client and on the
//! server's disk), a second export uploads nothing, a changed file is
//! uploaded again, and a file the journal does not hold (an upload cut
//! off) is uploaded by the next export.
//!
//! Then the same against a server whose runs' artifact URIs are `s3://`
//! (moto's S3 emulator, `--default-artifact-root s3://...`): the exporter
//! puts the objects straight into the bucket, checked with boto3.
//!
//! The server comes from `$TRACKLITE_TEST_VENV` or the checkout's `.venv`;
//! without one, the test says so and passes without running.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tracklite::{NewRun, Store, INDEX_FILE};

fn venv() -> Option<PathBuf> {
    let venv = match std::env::var_os("TRACKLITE_TEST_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"),
    };
    if venv.join("bin/mlflow").is_file() {
        Some(venv)
    } else {
        eprintln!(
            "SKIPPED: no MLflow at {}",
            venv.join("bin/mlflow").display()
        );
        None
    }
}

/// A service process in its own process group, killed when dropped.
struct Server {
    port: u16,
    log: PathBuf,
    child: Child,
}

impl Server {
    /// An `mlflow server` on SQLite in `dir`, with `artifacts` (such as
    /// `--artifacts-destination <folder>`) and `env`.
    fn mlflow(venv: &Path, dir: &Path, artifacts: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut command = Command::new(venv.join("bin/mlflow"));
        command
            .arg("server")
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .args(artifacts)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--workers", "1"])
            .envs(env.iter().copied());
        Server::spawn(command, port, &dir.join("server.log"), "health")
    }

    /// moto's S3 emulator.
    fn moto(venv: &Path, dir: &Path) -> Server {
        let port = free_port();
        let mut command = Command::new(venv.join("bin/moto_server"));
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        Server::spawn(command, port, &dir.join("s3.log"), "moto-api/")
    }

    /// Starts `command` and polls `http://127.0.0.1:<port>/<ready>` until it
    /// answers 200 (at most two minutes).
    fn spawn(mut command: Command, port: u16, log: &Path, ready: &str) -> Server {
        use std::os::unix::process::CommandExt;
        let log = log.to_path_buf();
        let out = std::fs::File::create(&log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("the service starts");
        let mut server = Server { port, log, child };
        let deadline = Instant::now() + Duration::from_secs(120);
        let health = format!("{}/{ready}", server.url());
        loop {
            if let Ok(r) = ureq::get(&health).call() {
                if r.status() == 200 {
                    break;
                }
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("the service exited ({status}): {}", server.log());
            }
            assert!(Instant::now() < deadline, "not healthy: {}", server.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn export(store: &Path, url: &str) -> Value {
    export_with(store, url, &[])
}

fn export_with(store: &Path, url: &str, env: &[(&str, &str)]) -> Value {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .envs(env.iter().copied())
        .arg("--store")
        .arg(store)
        .args(["export", "--to", url, "--json"])
        .output()
        .unwrap();
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON summary ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(
        output.status.success(),
        "{summary}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(summary["runs_failed"], 0, "{summary}");
    summary
}

/// The run's artifacts as MLflow's client downloads them.
fn download(
    venv: &Path,
    url: &str,
    remote_id: &str,
    into: &Path,
    env: &[(&str, &str)],
) -> Vec<File> {
    const SCRIPT: &str = r#"
import sys
from mlflow import MlflowClient
MlflowClient(sys.argv[1]).download_artifacts(sys.argv[2], "", dst_path=sys.argv[3])
"#;
    std::fs::create_dir_all(into).unwrap();
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", SCRIPT, url, remote_id])
        .arg(into)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    files_under(into)
}

/// A file as compared: path, size and a digest of its bytes (so that a
/// failure prints short lines). Bytes are compared whole through the digest.
type File = (String, usize, u64);

fn file(path: &str, bytes: &[u8]) -> File {
    (
        path.to_string(),
        bytes.len(),
        tracklite::value_digest(&format!("{bytes:?}")),
    )
}

/// Every file under `root`: path relative to it, size, digest; sorted.
fn files_under(root: &Path) -> Vec<File> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<File>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_str().unwrap();
                out.push(file(rel, &std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Every artifact file of a local run, sorted.
fn local(store: &Store, run_id: &str) -> Vec<File> {
    files_under(&store.artifact_dir(run_id).unwrap())
}

#[test]
fn artifacts_arrive_byte_for_byte_once() {
    let Some(venv) = venv() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("dest");
    let server = Server::mlflow(
        &venv,
        dir.path(),
        &["--artifacts-destination", dest.to_str().unwrap()],
        &[],
    );
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let bare = store.create_run(NewRun::default()).unwrap().run_id;
    // 3 MB of every byte value, a name with a space, a nested folder.
    let big: Vec<u8> = (0..3_000_000u64).map(|i| (i * 7919 % 251) as u8).collect();
    store
        .log_artifact_bytes(&run, "model/weights.bin", &big)
        .unwrap();
    store
        .log_artifact_bytes(&run, "notes.txt", b"first")
        .unwrap();
    store
        .log_artifact_bytes(&run, "eval/a b/metrics.json", b"{\"f1\": 0.9}")
        .unwrap();
    store.log_artifact_bytes(&run, "empty.txt", b"").unwrap();

    let url = server.url();
    export(&path, &url);
    let runs = store.export_journal(&url).runs().unwrap();
    let remote = runs[&run].remote_id.clone();
    assert_eq!(local(&store, &run).len(), 4);
    assert_eq!(
        download(&venv, &url, &remote, &dir.path().join("dl1"), &[]),
        local(&store, &run)
    );
    // On the server's disk: <dest>/<experiment id>/<run id>/artifacts.
    let on_disk = dir.path().join("dest/0").join(&remote).join("artifacts");
    assert_eq!(files_under(&on_disk), local(&store, &run));
    assert!(files_under(&dir.path().join("dest/0").join(&runs[&bare].remote_id)).is_empty());
    let journaled = store.export_journal(&url).artifacts(&run).unwrap();
    assert_eq!(journaled.len(), 4);
    assert_eq!(journaled["model/weights.bin"].0, big.len() as u64);

    // A second export uploads nothing: files removed on the server's side
    // stay away.
    std::fs::remove_dir_all(&on_disk).unwrap();
    export(&path, &url);
    assert!(
        files_under(&on_disk).is_empty(),
        "a file was uploaded again"
    );

    // A changed file is uploaded again, and only it; so is a file whose
    // upload the journal does not hold (an export cut off mid-file).
    store
        .log_artifact_bytes(&run, "notes.txt", b"second")
        .unwrap();
    let vfs = tracklite::format::index_vfs().unwrap();
    let db = rusqlite::Connection::open_with_flags_and_vfs(
        path.join(INDEX_FILE),
        rusqlite::OpenFlags::default(),
        vfs,
    )
    .unwrap();
    let forgotten = db
        .execute(
            "DELETE FROM export_artifacts WHERE path = 'model/weights.bin'",
            [],
        )
        .unwrap();
    assert_eq!(forgotten, 1);
    drop(db);
    export(&path, &url);
    assert_eq!(
        files_under(&on_disk),
        vec![
            file("model/weights.bin", &big),
            file("notes.txt", b"second")
        ]
    );
    // (The files removed on the server's side above are not sent again.)
    assert_eq!(
        download(&venv, &url, &remote, &dir.path().join("dl2"), &[]),
        files_under(&on_disk)
    );

    // A link in the run's folder is not an artifact: what it points to
    // (here, outside the store) is not uploaded.
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, b"not an artifact").unwrap();
    let link = store.artifact_dir(&run).unwrap().join("leak.txt");
    std::os::unix::fs::symlink(&secret, link).unwrap();
    export(&path, &url);
    assert!(!files_under(&on_disk).iter().any(|f| f.0 == "leak.txt"));
}

/// Every object under `prefix` in `bucket` of the emulator at `endpoint`,
/// read with boto3.
fn objects(venv: &Path, endpoint: &str, bucket: &str, prefix: &str) -> Vec<File> {
    const SCRIPT: &str = r#"
import json, sys, boto3
endpoint, bucket, prefix = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                  aws_secret_access_key="testing", region_name="us-east-1")
out = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
    for o in page.get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        out.append([o["Key"], list(body)])
print(json.dumps(out))
"#;
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", SCRIPT, endpoint, bucket, prefix])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<(String, Vec<u8>)> = serde_json::from_slice(&out.stdout).unwrap();
    let mut files: Vec<File> = listed
        .iter()
        .map(|(key, body)| file(key.strip_prefix(prefix).unwrap(), body))
        .collect();
    files.sort();
    files
}

/// Runs a boto3 statement with `s3` (the emulator's client) and `bucket`.
fn boto3(venv: &Path, endpoint: &str, bucket: &str, statement: &str) {
    let script = format!(
        "import sys, boto3\nbucket = sys.argv[2]\ns3 = boto3.client('s3', \
         endpoint_url=sys.argv[1], aws_access_key_id='testing', \
         aws_secret_access_key='testing', region_name='us-east-1')\n{statement}\n"
    );
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", &script, endpoint, bucket])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn artifacts_go_straight_to_an_s3_bucket() {
    let Some(venv) = venv() else { return };
    if !venv.join("bin/moto_server").is_file() {
        eprintln!("SKIPPED: no moto_server in {}", venv.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s3 = Server::moto(&venv, dir.path());
    let endpoint = s3.url();
    let bucket = "tracklite-export";
    boto3(&venv, &endpoint, bucket, "s3.create_bucket(Bucket=bucket)");
    let env = [
        ("MLFLOW_S3_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ];
    let root = format!("s3://{bucket}/direct");
    let server = Server::mlflow(
        &venv,
        dir.path(),
        &["--default-artifact-root", &root, "--no-serve-artifacts"],
        &env,
    );
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    let big: Vec<u8> = (0..2_000_000u64).map(|i| (i * 31 % 253) as u8).collect();
    store
        .log_artifact_bytes(&run, "model/weights.bin", &big)
        .unwrap();
    store
        .log_artifact_bytes(&run, "a b/notes.txt", b"hello")
        .unwrap();

    let url = server.url();
    export_with(&path, &url, &env);
    let remote = store.export_journal(&url).runs().unwrap()[&run]
        .remote_id
        .clone();
    // The run's artifact URI: <root>/<experiment id>/<run id>/artifacts.
    let prefix = format!("direct/0/{remote}/artifacts/");
    assert_eq!(
        objects(&venv, &endpoint, bucket, &prefix),
        local(&store, &run)
    );
    assert_eq!(
        download(&venv, &url, &remote, &dir.path().join("dl"), &env),
        local(&store, &run)
    );

    // A second export puts nothing: objects removed stay away.
    boto3(
        &venv,
        &endpoint,
        bucket,
        &format!("s3.delete_object(Bucket=bucket, Key='{prefix}a b/notes.txt')"),
    );
    export_with(&path, &url, &env);
    assert_eq!(
        objects(&venv, &endpoint, bucket, &prefix),
        vec![file("model/weights.bin", &big)]
    );
    // A changed file is put again.
    store
        .log_artifact_bytes(&run, "a b/notes.txt", b"changed")
        .unwrap();
    export_with(&path, &url, &env);
    assert_eq!(
        objects(&venv, &endpoint, bucket, &prefix),
        local(&store, &run)
    );
}

#[test]
fn large_files_go_in_parts_when_the_server_offers_multipart() {
    let Some(venv) = venv() else { return };
    if !venv.join("bin/moto_server").is_file() {
        eprintln!("SKIPPED: no moto_server in {}", venv.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s3 = Server::moto(&venv, dir.path());
    let endpoint = s3.url();
    let bucket = "tracklite-mpu";
    boto3(&venv, &endpoint, bucket, "s3.create_bucket(Bucket=bucket)");
    let server_env = [
        ("MLFLOW_S3_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ];
    let destination = format!("s3://{bucket}/proxied");
    let server = Server::mlflow(
        &venv,
        dir.path(),
        &["--artifacts-destination", &destination],
        &server_env,
    );
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    // 12 MB in parts of 5 MiB (S3's smallest): 3 parts; a small file by PUT.
    let big: Vec<u8> = (0..12_000_000u64).map(|i| (i * 13 % 241) as u8).collect();
    store
        .log_artifact_bytes(&run, "ckpt/model.bin", &big)
        .unwrap();
    store
        .log_artifact_bytes(&run, "small.txt", b"small")
        .unwrap();

    // The exporter has no S3 credentials: everything goes through the server.
    let url = server.url();
    let exporter_env = [
        ("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "10000000"),
        ("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", "5242880"),
    ];
    export_with(&path, &url, &exporter_env);
    let remote = store.export_journal(&url).runs().unwrap()[&run]
        .remote_id
        .clone();
    let prefix = format!("proxied/0/{remote}/artifacts/");
    assert_eq!(
        objects(&venv, &endpoint, bucket, &prefix),
        local(&store, &run)
    );
    // A multipart object's ETag ends with its number of parts.
    boto3(
        &venv,
        &endpoint,
        bucket,
        &format!(
            "etag = s3.head_object(Bucket=bucket, Key='{prefix}ckpt/model.bin')['ETag']\n\
             assert etag.strip('\"').endswith('-3'), etag\n\
             etag = s3.head_object(Bucket=bucket, Key='{prefix}small.txt')['ETag']\n\
             assert '-' not in etag, etag"
        ),
    );
    assert_eq!(
        download(&venv, &url, &remote, &dir.path().join("dl"), &[]),
        local(&store, &run)
    );
    // Nothing again.
    boto3(
        &venv,
        &endpoint,
        bucket,
        &format!("s3.delete_object(Bucket=bucket, Key='{prefix}ckpt/model.bin')"),
    );
    export_with(&path, &url, &exporter_env);
    assert_eq!(
        objects(&venv, &endpoint, bucket, &prefix),
        vec![file("small.txt", b"small")]
    );
}
