//! `tracklite export` of run artifacts to a real `mlflow server` that
//! proxies artifacts (`--artifacts-destination <folder>`): every file
//! arrives byte for byte (read back with MLflow's client and on the
//! server's disk), a second export uploads nothing, a changed file is
//! uploaded again, and a file the journal does not hold (an upload cut
//! off) is uploaded by the next export.
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

/// An `mlflow server` proxying artifacts to `<dir>/dest`, stopped when
/// dropped.
struct Server {
    port: u16,
    log: PathBuf,
    child: Child,
}

impl Server {
    fn start(venv: &Path, dir: &Path) -> Server {
        use std::os::unix::process::CommandExt;
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("server.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(venv.join("bin/mlflow"))
            .arg("server")
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .arg("--artifacts-destination")
            .arg(dir.join("dest"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--workers", "1"])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("mlflow server starts");
        let mut server = Server { port, log, child };
        let deadline = Instant::now() + Duration::from_secs(120);
        let health = format!("{}/health", server.url());
        loop {
            if let Ok(r) = ureq::get(&health).call() {
                if r.status() == 200 {
                    break;
                }
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("mlflow server exited ({status}): {}", server.log());
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

fn export(store: &Path, url: &str) -> Value {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_tracklite"))
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
fn download(venv: &Path, url: &str, remote_id: &str, into: &Path) -> Vec<File> {
    const SCRIPT: &str = r#"
import sys
from mlflow import MlflowClient
MlflowClient(sys.argv[1]).download_artifacts(sys.argv[2], "", dst_path=sys.argv[3])
"#;
    std::fs::create_dir_all(into).unwrap();
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", SCRIPT, url, remote_id])
        .arg(into)
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
    let server = Server::start(&venv, dir.path());
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
        download(&venv, &url, &remote, &dir.path().join("dl1")),
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
        download(&venv, &url, &remote, &dir.path().join("dl2")),
        files_under(&on_disk)
    );
}
