//! Services that the TLS, auth and check tests start on loopback ports:
//! `mlflow server` with any options (TLS, basic auth, an artifact root),
//! and moto's S3 server. Each runs in its own process group, killed when
//! dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A service process, killed with its process group when dropped.
pub struct Service {
    pub port: u16,
    /// `http` or `https`.
    scheme: &'static str,
    log: PathBuf,
    child: Option<Child>,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Service {
    /// `mlflow server` on SQLite in `dir` (its working directory too), on
    /// `port`, with `args` and `env`; `https` when `args` give uvicorn a
    /// certificate.
    pub fn mlflow(
        venv: &Path,
        dir: &Path,
        port: u16,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Service {
        let mut command = Command::new(venv.join("bin/mlflow"));
        command
            .current_dir(dir)
            .arg("server")
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--workers", "1"])
            .args(args)
            .envs(env.iter().copied());
        let tls = args.iter().any(|a| a.contains("--ssl-certfile"));
        let scheme = if tls { "https" } else { "http" };
        Service::spawn(command, port, scheme, &dir.join("server.log"), "health")
    }

    /// moto's S3 emulator, with `env` (such as `INITIAL_NO_AUTH_ACTION_COUNT`).
    pub fn moto(venv: &Path, dir: &Path, env: &[(&str, &str)]) -> Service {
        let port = free_port();
        let mut command = Command::new(venv.join("bin/moto_server"));
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied());
        Service::spawn(command, port, "http", &dir.join("s3.log"), "moto-api/")
    }

    /// Starts `command` and polls `<scheme>://127.0.0.1:<port>/<ready>`
    /// until it answers 200 (at most two minutes; certificates are not
    /// checked while polling).
    fn spawn(
        mut command: Command,
        port: u16,
        scheme: &'static str,
        log: &Path,
        ready: &str,
    ) -> Service {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("the service starts");
        let mut service = Service {
            port,
            scheme,
            log: log.to_path_buf(),
            child: Some(child),
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .disable_verification(true)
                    .build(),
            )
            .build()
            .into();
        let deadline = Instant::now() + Duration::from_secs(120);
        let url = format!("{}/{ready}", service.url());
        loop {
            if let Ok(r) = agent.get(&url).call() {
                if r.status() == 200 {
                    return service;
                }
            }
            if let Some(status) = service.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the service exited ({status}): {}", service.log());
            }
            assert!(Instant::now() < deadline, "not ready: {}", service.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the service (and its workers) at once.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `tracklite ARGS...` with `env` added, the MLflow and AWS variables of
/// the test's own environment removed (so that only `env` counts).
pub fn tracklite(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracklite"));
    for (k, _) in std::env::vars() {
        if k.starts_with("MLFLOW_") || k.starts_with("AWS_") {
            command.env_remove(k);
        }
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// Standard output and standard error of `output`, as text.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
