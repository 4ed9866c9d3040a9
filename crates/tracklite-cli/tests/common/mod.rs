//! What the tests that export to a real `mlflow server` share: the Python
//! environment with MLflow, a server on a loopback port, and the export
//! command.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod service;

/// The Python environment with MLflow, if there is one.
pub fn venv() -> Option<PathBuf> {
    let venv = match std::env::var_os("TRACKLITE_TEST_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"),
    };
    if venv.join("bin/mlflow").is_file() {
        Some(venv)
    } else {
        eprintln!(
            "SKIPPED: no MLflow at {} (run scripts/python-env.sh, or set TRACKLITE_TEST_VENV \
             to a virtualenv with mlflow installed)",
            venv.join("bin/mlflow").display()
        );
        None
    }
}

/// An `mlflow server` on a loopback port, stopped when dropped.
pub struct Server {
    venv: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Server {
    pub fn start(venv: &Path, dir: &Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Server {
            venv: venv.to_path_buf(),
            dir: dir.to_path_buf(),
            port,
            child: None,
        };
        server.spawn();
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn spawn(&mut self) {
        use std::os::unix::process::CommandExt;
        let log = std::fs::File::create(self.dir.join("server.log")).unwrap();
        let child = Command::new(self.venv.join("bin/mlflow"))
            .args(["server", "--backend-store-uri"])
            .arg(format!(
                "sqlite:///{}",
                self.dir.join("mlflow.db").display()
            ))
            // Artifacts through the server's proxy, as a team server has
            // them (a local root would leave clients nowhere to upload).
            .arg("--artifacts-destination")
            .arg(self.dir.join("artifacts"))
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--workers", "1"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            // Its own process group: stopping it stops its workers too.
            .process_group(0)
            .spawn()
            .expect("mlflow server starts");
        self.child = Some(child);
        self.wait_healthy();
    }

    /// Polls `/health` until the server answers (at most two minutes).
    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let url = format!("{}/health", self.url());
        loop {
            if let Ok(r) = ureq::get(&url).call() {
                if r.status() == 200 {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("mlflow server exited ({status}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "mlflow server not healthy after 120 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Kills the server (and its workers) at once.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `tracklite export --to URL --json ARGS...`.
pub fn export(store: &Path, url: &str, args: &[&str]) -> (Output, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .arg("--store")
        .arg(store)
        .args(["export", "--to", url, "--json"])
        .args(args)
        .output()
        .unwrap();
    let summary = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON summary ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, summary)
}

/// Owned key/value pairs.
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
