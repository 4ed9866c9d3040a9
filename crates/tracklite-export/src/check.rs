//! `tracklite export --check`: whether an export to a server would work,
//! without exporting anything. Each step is one [`Check`], in order:
//!
//! 1. `server`: `GET /health` answers (TLS settings included);
//! 2. `auth`: a cheap authenticated read (`experiments/search`, one result);
//! 3. `version`: `GET /version`, the server's MLflow version;
//! 4. `experiment`: a scratch experiment (`tracklite-check-<random>`) is
//!    created, then deleted;
//! 5. `artifacts`: in the scratch experiment's artifact root, a small
//!    scratch file is put, listed, read back and deleted: through the
//!    server's proxy (`mlflow-artifacts:`), or straight in the bucket
//!    (`s3://`: head bucket, list, put, delete), naming S3's error code and
//!    the variable to check when one fails.
//!
//! A step whose prerequisite failed is skipped.

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use crate::artifacts::{destination_for, Destination};
use crate::client::{normalise_target, Auth, Client, RetryPolicy};
use crate::error::{ExportError, Result};
use crate::export::ExportOptions;
use crate::s3::{fix_for, Probe, S3Target};

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckStatus {
    /// It worked.
    Ok,
    /// It failed; the detail says why.
    Failed,
    /// Not tried, because an earlier step failed.
    Skipped,
}

/// One step of [`check`].
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `server`, `auth`, `version`, `experiment` or `artifacts`.
    pub name: &'static str,
    /// How it ended.
    pub status: CheckStatus,
    /// What was found, or why it failed (never a credential).
    pub detail: String,
}

/// Every step of [`check`], in order.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The server, as its URL is normalised.
    pub target: String,
    /// The server's MLflow version, when it said.
    pub version: Option<String>,
    /// The artifact root of a new experiment, when one was made.
    pub artifact_root: Option<String>,
    /// The steps.
    pub checks: Vec<Check>,
}

impl CheckReport {
    /// True when no step failed or was skipped.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.status == CheckStatus::Ok)
    }

    fn push(&mut self, name: &'static str, outcome: std::result::Result<String, String>) -> bool {
        let ok = outcome.is_ok();
        let (status, detail) = match outcome {
            Ok(d) => (CheckStatus::Ok, d),
            Err(d) => (CheckStatus::Failed, d),
        };
        self.checks.push(Check {
            name,
            status,
            detail,
        });
        ok
    }

    fn skip(&mut self, names: &[&'static str], why: &str) {
        for &name in names {
            self.checks.push(Check {
                name,
                status: CheckStatus::Skipped,
                detail: why.to_string(),
            });
        }
    }
}

/// Checks that an export with `options` (target, auth, TLS) would work;
/// sends no run. The error is for options that cannot be used at all (the
/// target URL, the CA bundle); everything else is a failed [`Check`].
///
/// Each request is tried at most twice, with the connect timeout of
/// `options.retry` capped at 10 s, so that an unreachable server is
/// reported in seconds.
pub fn check(options: &ExportOptions) -> Result<CheckReport> {
    let target = normalise_target(&options.target)?;
    let retry = quick(&options.retry);
    let client = Client::with_tls(
        &target,
        &options.auth,
        retry.clone(),
        1,
        options.tls.config()?,
    );
    let mut report = CheckReport {
        target: target.clone(),
        version: None,
        artifact_root: None,
        checks: Vec::new(),
    };
    const LATER: [&str; 4] = ["auth", "version", "experiment", "artifacts"];

    let health = client.text_at("GET", &format!("{target}/health"), "/health");
    let reachable = report.push(
        "server",
        match health {
            Ok(body) => Ok(format!(
                "reachable at {target} (/health: {})",
                body.trim().chars().take(40).collect::<String>()
            )),
            Err(e @ ExportError::Connection { .. }) => Err(format!("not reachable: {e}")),
            Err(e) => Err(e.to_string()),
        },
    );
    if !reachable {
        report.skip(&LATER, "the server is not reachable");
        return Ok(report);
    }

    let read = client.get("experiments/search", &[("max_results", "1")]);
    let authorized = report.push(
        "auth",
        read.map(|_| match &options.auth {
            Auth::None => "no credentials set, and none needed to read".to_string(),
            Auth::Basic { .. } => {
                "accepted (basic auth: MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD)".into()
            }
            Auth::Bearer(_) => "accepted (bearer token: MLFLOW_TRACKING_TOKEN)".to_string(),
        })
        .map_err(|e| e.to_string()),
    );
    if !authorized {
        report.skip(&LATER[1..], "the server refused to read");
        return Ok(report);
    }

    let version = client.text_at("GET", &format!("{target}/version"), "/version");
    if let Ok(v) = &version {
        report.version = Some(v.trim().to_string());
    }
    report.push(
        "version",
        version
            .map(|v| format!("MLflow {}", v.trim()))
            .map_err(|e| e.to_string()),
    );

    let name = format!("tracklite-check-{}", scratch_suffix());
    let created = client
        .post("experiments/create", &json!({ "name": name }).to_string())
        .and_then(|answer| {
            let id = answer["experiment_id"].as_str().unwrap_or_default();
            let got = client.get("experiments/get", &[("experiment_id", id)])?;
            let root = got["experiment"]["artifact_location"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Ok((id.to_string(), root))
        });
    let (id, root) = match created {
        Ok(x) => x,
        Err(e) => {
            report.push(
                "experiment",
                Err(format!("cannot create experiment {name:?}: {e}")),
            );
            report.skip(&LATER[3..], "no scratch experiment");
            return Ok(report);
        }
    };
    report.artifact_root = Some(root.clone());
    let artifacts = artifact_store(&client, &retry, &target, &root, &name);
    let deleted = client.post(
        "experiments/delete",
        &json!({ "experiment_id": id }).to_string(),
    );
    report.push(
        "experiment",
        match deleted {
            Ok(_) => Ok(format!(
                "may create experiments (made {name:?}, id {id}, and deleted it)"
            )),
            Err(e) => Err(format!(
                "made experiment {name:?} (id {id}) but cannot delete it; delete it on the \
                 server: {e}"
            )),
        },
    );
    report.push("artifacts", artifacts);
    Ok(report)
}

/// `retry` with at most two tries and a connect timeout of at most 10 s.
fn quick(retry: &RetryPolicy) -> RetryPolicy {
    RetryPolicy {
        attempts: retry.attempts.clamp(1, 2),
        connect_timeout: retry.connect_timeout.min(Duration::from_secs(10)),
        timeout: retry.timeout.min(Duration::from_secs(60)),
        ..retry.clone()
    }
}

/// 12 hex digits, different for each call (time and process id).
fn scratch_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// The artifact step: a scratch file in artifact root `root`.
fn artifact_store(
    client: &Client,
    retry: &RetryPolicy,
    base: &str,
    root: &str,
    name: &str,
) -> std::result::Result<String, String> {
    let file = format!("{name}.txt");
    let body = format!("written by tracklite export --check, then deleted ({name})\n");
    if root.starts_with("s3://") {
        return s3_store(retry, root, &file, body.as_bytes());
    }
    let proxy = match destination_for(base, root) {
        Ok(Destination::Proxy(p)) => p,
        Ok(Destination::S3(_)) => unreachable!("s3:// roots are handled above"),
        Err(reason) => return Err(format!("runs' artifacts cannot be uploaded: {reason}")),
    };
    let multipart = client
        .json_at(
            "GET",
            &format!("{base}/api/3.0/mlflow/server-info"),
            "server-info",
            None,
        )
        .map(|info| info["multipart_uploads_enabled"].as_bool() == Some(true))
        .unwrap_or(false);
    let step = |what: &str, e: ExportError| format!("{what} {root}/{file} (proxy): {e}");
    proxy
        .upload(client, &file, body.as_bytes())
        .map_err(|e| step("put", e))?;
    let list_url = format!(
        "{base}/api/2.0/mlflow-artifacts/artifacts?path={}",
        url::form_urlencoded::byte_serialize(proxy.root.as_bytes()).collect::<String>()
    );
    let listed = client
        .json_at("GET", &list_url, "list mlflow-artifacts", None)
        .map_err(|e| step("list", e))?;
    let found = listed["files"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f["path"].as_str() == Some(&file)));
    let file_url = proxy.url("artifacts", &file);
    let read = client
        .text_at("GET", &file_url, "get mlflow-artifacts")
        .map_err(|e| step("get", e))?;
    let deleted = client
        .text_at("DELETE", &file_url, "delete mlflow-artifacts")
        .map_err(|e| step("delete", e));
    if !found {
        return Err(format!(
            "put {root}/{file} (proxy), but listing {root} does not show it: {}",
            excerpt(&listed)
        ));
    }
    if read != body {
        return Err(format!(
            "put {root}/{file} (proxy), but reading it back gave other bytes"
        ));
    }
    deleted?;
    Ok(format!(
        "{root} through the server's proxy: put, list, get and delete work (multipart uploads: \
         {})",
        if multipart { "on" } else { "off" }
    ))
}

/// The artifact step for an `s3://` root, straight to the bucket.
fn s3_store(
    retry: &RetryPolicy,
    root: &str,
    file: &str,
    body: &[u8],
) -> std::result::Result<String, String> {
    let target = S3Target::from_env_with(root, retry.clone())
        .map_err(|e| format!("{root}: cannot use it: {e}"))?;
    let steps = [
        ("head bucket", Probe::HeadBucket),
        ("list", Probe::List),
        ("put", Probe::Put(file, body)),
        ("delete", Probe::Delete(file)),
    ];
    for (what, probe) in steps {
        if let Err(mut failure) = target.probe(probe) {
            // A HEAD answer has no body, so S3's code is guessed from the
            // status; a list tells it.
            if let (Probe::HeadBucket, Err(listed)) = (probe, target.probe(Probe::List)) {
                if listed.code.is_some() {
                    failure = listed;
                }
            }
            let code = failure.code.as_deref();
            let fix = match code {
                Some(c) => fix_for(c),
                None if failure.unreachable => {
                    "the endpoint is not reachable: check MLFLOW_S3_ENDPOINT_URL"
                }
                None => fix_for(""),
            };
            return Err(format!(
                "{root} (bucket {:?}, straight from this machine): {what} failed{}: {fix} ({})",
                target.bucket(),
                code.map(|c| format!(" with {c}")).unwrap_or_default(),
                failure.detail
            ));
        }
    }
    Ok(format!(
        "{root} straight from this machine: head bucket, list, put and delete work"
    ))
}

fn excerpt(v: &Value) -> String {
    let s = v.to_string();
    s.chars().take(200).collect()
}
