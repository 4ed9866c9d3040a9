//! `tracklite export` to a real `mlflow server` over TLS, with MLflow's
//! basic-auth app (`--app-name basic-auth`): the test makes a certificate
//! authority and a server certificate for 127.0.0.1 (rcgen), and the server
//! serves https through uvicorn's `--ssl-keyfile` / `--ssl-certfile`.
//!
//! - without the CA: the export fails, naming the refused certificate and
//!   the variables that fix it;
//! - with `--ca-cert` (or `MLFLOW_TRACKING_SERVER_CERT_PATH`): it works;
//! - with `--insecure`: it works, with one warning;
//! - a wrong password: HTTP 401 naming MLFLOW_TRACKING_PASSWORD;
//! - the password is never printed, whatever happens.
//!
//! The server comes from `$TRACKLITE_TEST_VENV` or the checkout's `.venv`
//! (with Flask-WTF, which the basic-auth app needs); without one, the test
//! says so and passes without running.

mod common;

use std::path::Path;

use common::service::{free_port, text, tracklite, Service};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tracklite::{NewRun, Store};

const ADMIN_PASSWORD: &str = "tls-test-Password-4711";

/// Writes `ca.pem`, `server.pem` and `server.key` into `dir`: a CA, and a
/// certificate for 127.0.0.1 and localhost that it signed.
fn certificates(dir: &Path) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "tracklite test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
}

fn auth_app_available(venv: &Path) -> bool {
    let ok = std::process::Command::new(venv.join("bin/python"))
        .args(["-c", "import flask_wtf"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIPPED: no Flask-WTF in {} (run scripts/python-env.sh)",
            venv.display()
        );
    }
    ok
}

#[test]
fn tls_and_basic_auth() {
    let Some(venv) = common::venv() else { return };
    if !auth_app_available(&venv) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let (key, cert) = (dir.path().join("server.key"), dir.path().join("server.pem"));
    let uvicorn = format!(
        "--ssl-keyfile {} --ssl-certfile {}",
        key.display(),
        cert.display()
    );
    let server = Service::mlflow(
        &venv,
        dir.path(),
        free_port(),
        &["--app-name", "basic-auth", "--uvicorn-opts", &uvicorn],
        &[
            ("MLFLOW_FLASK_SERVER_SECRET_KEY", "tracklite-test-secret"),
            ("MLFLOW_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    );
    let url = server.url();
    assert!(url.starts_with("https://"), "{url}");
    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();

    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(NewRun::default()).unwrap().run_id;
    for i in 0..100 {
        store
            .log_metric(&run, "loss", 1.0 / (i + 1) as f64, 1_700_000_000_000 + i, i)
            .unwrap();
    }
    store.flush().unwrap();
    let store_arg = path.to_str().unwrap();
    let export = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["--store", store_arg, "export", "--to", &url];
        args.extend_from_slice(extra);
        let output = tracklite(&args, env);
        let (out, err) = text(&output);
        assert!(
            !out.contains(ADMIN_PASSWORD) && !err.contains(ADMIN_PASSWORD),
            "the password was printed:\n{out}\n{err}"
        );
        (output.status.code(), out, err)
    };
    let right = [
        ("MLFLOW_TRACKING_USERNAME", "admin"),
        ("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD),
    ];

    // The system does not trust the test's CA.
    let (code, out, err) = export(&[], &right);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(
        err.contains("not signed by a trusted certificate authority")
            && err.contains("MLFLOW_TRACKING_SERVER_CERT_PATH")
            && err.contains("--insecure"),
        "{out}\n{err}"
    );
    assert!(
        !err.contains("os error") && !err.contains("attempts"),
        "{err}"
    );

    // A wrong password: 401, naming the variable to check.
    let wrong = [
        ("MLFLOW_TRACKING_USERNAME", "admin"),
        ("MLFLOW_TRACKING_PASSWORD", "not-the-Password-0000"),
    ];
    let (code, out, err) = export(&["--ca-cert", ca], &wrong);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(
        err.contains("HTTP 401") && err.contains("MLFLOW_TRACKING_PASSWORD"),
        "{out}\n{err}"
    );
    assert!(!err.contains("not-the-Password-0000"), "{err}");
    // No credentials at all: says which to set.
    let (code, _, err) = export(&["--ca-cert", ca], &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("set MLFLOW_TRACKING_USERNAME"), "{err}");

    // The CA given: the export works.
    let (code, out, err) = export(&["--ca-cert", ca, "--json"], &right);
    assert_eq!(code, Some(0), "{out}\n{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["runs_created"], 1, "{summary}");
    assert_eq!(summary["points"], 100, "{summary}");
    assert!(!err.contains("warning"), "{err}");

    // --insecure: works, with one warning.
    store
        .log_metric(&run, "loss", 0.0, 1_700_000_001_000, 100)
        .unwrap();
    store.flush().unwrap();
    let (code, out, err) = export(&["--insecure"], &right);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert_eq!(
        err.matches("warning: TLS certificate verification is off")
            .count(),
        1,
        "{err}"
    );
    assert!(out.contains("1 points"), "{out}");

    // The check, with MLflow's variable for the CA: every step passes.
    let mut env = right.to_vec();
    env.push(("MLFLOW_TRACKING_SERVER_CERT_PATH", ca));
    let (code, out, err) = export(&["--check"], &env);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert_eq!(
        out.matches("\nOK ").count() + usize::from(out.starts_with("OK ")),
        5,
        "{out}"
    );
    // ... and a wrong password fails its auth step, naming the variable.
    let mut env = wrong.to_vec();
    env.push(("MLFLOW_TRACKING_SERVER_CERT_PATH", ca));
    let (code, out, err) = export(&["--check"], &env);
    assert_eq!(code, Some(1), "{out}\n{err}");
    let auth = out.lines().find(|l| l.contains("auth")).unwrap_or_default();
    assert!(
        auth.starts_with("FAILED") && auth.contains("MLFLOW_TRACKING_PASSWORD"),
        "{out}"
    );

    // --watch over TLS: its probe between passes trusts the CA too.
    store
        .log_metric(&run, "loss", -1.0, 1_700_000_002_000, 101)
        .unwrap();
    store.flush().unwrap();
    let mut watcher = std::process::Command::new(env!("CARGO_BIN_EXE_tracklite"))
        .args([
            "--store",
            store_arg,
            "export",
            "--to",
            &url,
            "--ca-cert",
            ca,
        ])
        .args(["--watch", "--interval", "1"])
        .envs(right)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let journal = store.export_journal(&url);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while journal.runs().unwrap()[&run].points_sent("loss") < 102 {
        assert!(
            watcher.try_wait().unwrap().is_none(),
            "the watcher ended: {:?}",
            watcher.wait_with_output().unwrap()
        );
        if std::time::Instant::now() > deadline {
            // Not left running after the test.
            let _ = watcher.kill();
            panic!("no point sent in 120 s: {:?}", watcher.wait_with_output());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::process::Command::new("kill")
        .args(["-TERM", &watcher.id().to_string()])
        .status()
        .unwrap();
    let output = watcher.wait_with_output().unwrap();
    let (out, err) = text(&output);
    assert!(output.status.success(), "{out}\n{err}");
    assert!(
        !err.contains("TLS") && !err.contains(ADMIN_PASSWORD),
        "{err}"
    );
    drop(server);
}
