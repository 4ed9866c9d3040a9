//! Run artifacts: after a run's data is exported, the files of its local
//! artifact folder are uploaded to the remote run's `artifact_uri`:
//!
//! - `mlflow-artifacts:/<path>`: through the server's artifact proxy,
//!   `PUT /api/2.0/mlflow-artifacts/artifacts/<path>/<file>`; a file of
//!   `MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE` bytes or more (default
//!   500 MiB) in parts of `MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE` (default
//!   10 MiB) through `POST /api/2.0/mlflow-artifacts/mpu/{create,complete,
//!   abort}/<path>` when `GET /api/3.0/mlflow/server-info` says
//!   `multipart_uploads_enabled` (the parts go to the URLs the server
//!   presigns), as MLflow's own client does;
//! - `s3://<bucket>/<prefix>`: straight to the bucket (see [`crate::s3`]).
//!
//! Each file uploaded whole is journaled with its size and SHA-256, after
//! the upload succeeded; a file whose size and digest the journal holds is
//! not sent again, so a second export uploads nothing and an interrupted
//! one is finished by the next (a file cut off mid-upload is not journaled
//! and is sent again whole, replacing what the server had).

use std::fmt::Write as _;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tracklite::{ExportJournal, Store};

use crate::client::Client;
use crate::digests::Digests;
use crate::error::{ExportError, Result};
use crate::file_bytes::FileBytes;
use crate::s3::S3Target;

/// What [`upload`] sent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Uploaded {
    /// Files uploaded.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Where a remote run's artifacts go.
pub(crate) enum Destination {
    /// The server's artifact proxy.
    Proxy(Proxy),
    /// A bucket.
    S3(Box<S3Target>),
}

/// Journal kind of the files of a [`Source::Folder`]: `<key>/<path>` →
/// `<size>:<sha256>`.
const FOLDER_FILE: &str = "folder_file";

/// Where the local files of one artifact folder come from: a run's
/// artifacts (read through the store), or a logged model's folder.
pub(crate) enum Source<'a> {
    /// The artifacts of a run of the store.
    Run {
        /// The store.
        store: &'a Store,
        /// The local run id (also the journal's key).
        run_id: &'a str,
    },
    /// A folder on disk, journaled under `key` (a logged model's id).
    Folder {
        /// The journal's key.
        key: &'a str,
        /// The folder.
        root: PathBuf,
    },
}

impl Source<'_> {
    fn key(&self) -> &str {
        match self {
            Source::Run { run_id, .. } => run_id,
            Source::Folder { key, .. } => key,
        }
    }

    /// Every file, by path under the folder, sorted.
    fn files(&self) -> Result<Vec<String>> {
        match self {
            Source::Run { store, run_id } => local_files(store, run_id),
            Source::Folder { root, .. } => folder_files(root),
        }
    }

    /// Where file `path` is on disk; an error when a link takes it out of
    /// the folder (nothing outside a run's or model's folder is uploaded).
    fn full_path(&self, path: &str) -> Result<PathBuf> {
        let root = match self {
            Source::Run { store, run_id } => store.artifact_dir(run_id)?,
            Source::Folder { root, .. } => root.clone(),
        };
        let full = root.join(path);
        if let (Ok(real_root), Ok(real)) = (root.canonicalize(), full.canonicalize()) {
            if !real.starts_with(&real_root) {
                return Err(ExportError::Selection {
                    reason: format!(
                        "artifact {path:?} of {} leads outside its folder (to {}); it is not \
                         uploaded",
                        self.key(),
                        real.display()
                    ),
                });
            }
        }
        Ok(full)
    }

    /// The files the journal shows as uploaded: path → (size, SHA-256).
    fn sent(&self, journal: &ExportJournal) -> Result<HashMap<String, (u64, String)>> {
        match self {
            Source::Run { run_id, .. } => Ok(journal.artifacts(run_id)?),
            Source::Folder { key, .. } => {
                let prefix = format!("{key}/");
                let mut sent = HashMap::new();
                for (k, v) in journal.objects(FOLDER_FILE)? {
                    let (Some(path), Some((size, digest))) =
                        (k.strip_prefix(&prefix), v.split_once(':'))
                    else {
                        continue;
                    };
                    if let Ok(size) = size.parse() {
                        sent.insert(path.to_string(), (size, digest.to_string()));
                    }
                }
                Ok(sent)
            }
        }
    }

    /// Journals file `path` as uploaded.
    fn record(&self, journal: &ExportJournal, path: &str, size: u64, digest: &str) -> Result<()> {
        match self {
            Source::Run { run_id, .. } => journal.record_artifact(run_id, path, size, digest)?,
            Source::Folder { key, .. } => journal.record_object(
                FOLDER_FILE,
                &format!("{key}/{path}"),
                &format!("{size}:{digest}"),
            )?,
        }
        Ok(())
    }

    /// The file's bytes, mapped (not read into memory).
    fn read(&self, path: &str) -> Result<FileBytes> {
        FileBytes::open(&self.full_path(path)?)
    }
}

/// Uploads the artifact files of local run `run_id` that the journal does
/// not hold (by path, size and SHA-256) to remote run `remote_id`.
pub(crate) fn upload_run(
    store: &Store,
    client: &Client,
    journal: &ExportJournal,
    run_id: &str,
    remote_id: &str,
    digests: &Digests,
    on_file: &dyn Fn(&str, u64),
) -> Result<Uploaded> {
    let source = Source::Run { store, run_id };
    let destination = || destination_of(client, run_id, remote_id);
    upload(client, journal, &source, &destination, digests, on_file)
}

/// Uploads the files of `source` that the journal does not hold to the
/// destination `destination` names (asked only when a file is to be sent).
pub(crate) fn upload(
    client: &Client,
    journal: &ExportJournal,
    source: &Source<'_>,
    destination: &dyn Fn() -> Result<Destination>,
    digests: &Digests,
    on_file: &dyn Fn(&str, u64),
) -> Result<Uploaded> {
    let files = source.files()?;
    if files.is_empty() {
        return Ok(Uploaded::default());
    }
    let key = source.key();
    let sent = source.sent(journal)?;
    let mut target = None;
    let mut uploaded = Uploaded::default();
    for path in files {
        let (size, digest) =
            digests.of(key, &path, &source.full_path(&path)?, || source.read(&path))?;
        if sent.get(&path) == Some(&(size, digest.clone())) {
            continue;
        }
        let bytes = source.read(&path)?;
        // The journal gets the digest of what is sent (the file may have
        // been replaced since it was hashed).
        let (size, digest) = (bytes.len() as u64, sha256_hex(&bytes));
        if target.is_none() {
            target = Some(destination()?);
        }
        match target.as_ref().expect("set above") {
            Destination::Proxy(proxy) => proxy.upload(client, &path, &bytes)?,
            Destination::S3(target) => target.put(&path, &bytes)?,
        }
        source.record(journal, &path, size, &digest)?;
        on_file(&path, size);
        uploaded.files += 1;
        uploaded.bytes += size;
    }
    Ok(uploaded)
}

/// Every file under the run's artifact folder, by path, sorted.
pub(crate) fn local_files(store: &Store, run_id: &str) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut folders = vec![None::<String>];
    while let Some(folder) = folders.pop() {
        for info in store.list_artifacts(run_id, folder.as_deref())? {
            if info.is_dir {
                folders.push(Some(info.path));
            } else {
                files.push(info.path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Every regular file under `root` (none when it does not exist), by
/// `/`-separated path, sorted. Symbolic links are not followed.
fn folder_files(root: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut folders = vec![PathBuf::new()];
    while let Some(folder) = folders.pop() {
        let dir = root.join(&folder);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(tracklite::Error::Io {
                    path: dir,
                    source: e,
                }
                .into())
            }
        };
        for entry in entries {
            let entry = entry.map_err(|e| tracklite::Error::Io {
                path: dir.clone(),
                source: e,
            })?;
            let kind = entry.file_type().map_err(|e| tracklite::Error::Io {
                path: entry.path(),
                source: e,
            })?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let relative = folder.join(&name);
            if kind.is_dir() {
                folders.push(relative);
            } else if kind.is_file() {
                files.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// A logged model's artifact destination, from its `artifact_uri`.
pub(crate) fn model_destination(client: &Client, remote_model: &str) -> Result<Destination> {
    let endpoint = format!("logged-models/{remote_model}");
    let answer = client.get(&endpoint, &[])?;
    let uri = answer["model"]["info"]["artifact_uri"]
        .as_str()
        .ok_or_else(|| ExportError::BadResponse {
            endpoint: endpoint.clone(),
            reason: format!("logged model {remote_model} has no artifact_uri"),
        })?;
    destination_for(client.base(), uri).map_err(|reason| ExportError::BadResponse {
        endpoint,
        reason: format!("cannot upload the logged model's artifacts: {reason}"),
    })
}

/// The remote run's artifact destination, from its `artifact_uri`.
fn destination_of(client: &Client, run_id: &str, remote_id: &str) -> Result<Destination> {
    let answer = client.get("runs/get", &[("run_id", remote_id)])?;
    let uri = answer["run"]["info"]["artifact_uri"]
        .as_str()
        .ok_or_else(|| ExportError::BadResponse {
            endpoint: "runs/get".into(),
            reason: format!("run {remote_id} has no artifact_uri"),
        })?;
    destination_for(client.base(), uri).map_err(|reason| ExportError::Run {
        run_id: run_id.to_string(),
        reason: format!("cannot upload its artifacts: {reason}"),
    })
}

/// The destination of artifact URI `uri` of a run on the server `base`.
pub(crate) fn destination_for(base: &str, uri: &str) -> std::result::Result<Destination, String> {
    if let Some(rest) = uri.strip_prefix("mlflow-artifacts:") {
        // `mlflow-artifacts:/path`, or `mlflow-artifacts://host[:port]/path`
        // naming the server itself.
        let path = match rest.strip_prefix("//") {
            Some(authority_path) => {
                let (authority, path) = authority_path
                    .split_once('/')
                    .unwrap_or((authority_path, ""));
                let host = base.split_once("://").map_or(base, |(_, h)| h);
                if !authority.is_empty() && !authority.eq_ignore_ascii_case(host) {
                    return Err(format!(
                        "its artifact URI {uri:?} names another server than {base}"
                    ));
                }
                path
            }
            None => rest,
        };
        return Ok(Destination::Proxy(Proxy {
            base: base.to_string(),
            root: path.trim_matches('/').to_string(),
            multipart: std::sync::OnceLock::new(),
        }));
    }
    if uri.starts_with("s3://") {
        return S3Target::from_env(uri).map(|t| Destination::S3(Box::new(t)));
    }
    Err(format!(
        "its artifact URI {uri:?} is neither mlflow-artifacts: (the server's proxy) nor s3://; \
         start the server with --artifacts-destination (or an s3:// artifact root)"
    ))
}

/// A run's artifact folder behind the server's proxy.
pub(crate) struct Proxy {
    /// The server: `http(s)://host[:port]`.
    base: String,
    /// The folder's path under the proxy's root, no leading or trailing `/`.
    pub root: String,
    /// Whether the server takes multipart uploads, once asked.
    multipart: std::sync::OnceLock<bool>,
}

/// `MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE` and
/// `MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE`, or MLflow's defaults.
fn multipart_sizes() -> (u64, u64) {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(default)
    };
    (
        var("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", 500 << 20),
        var("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", 10 << 20),
    )
}

impl Proxy {
    /// The URL of `api` (`artifacts`, `mpu/create`, ...) for `path` under
    /// the run's folder.
    pub fn url(&self, api: &str, path: &str) -> String {
        let full = [self.root.as_str(), path]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        format!(
            "{}/api/2.0/mlflow-artifacts/{api}/{}",
            self.base,
            encode_path(&full)
        )
    }

    pub fn upload(&self, client: &Client, path: &str, bytes: &[u8]) -> Result<()> {
        let (minimum, chunk) = multipart_sizes();
        if bytes.len() as u64 >= minimum && self.multipart_enabled(client)? {
            return self.upload_in_parts(client, path, bytes, chunk as usize);
        }
        let url = self.url("artifacts", path);
        client.put_bytes(&url, &format!("mlflow-artifacts {path}"), bytes)?;
        Ok(())
    }

    /// `multipart_uploads_enabled` of `GET /api/3.0/mlflow/server-info`
    /// (false when the server has no such endpoint).
    fn multipart_enabled(&self, client: &Client) -> Result<bool> {
        if let Some(&known) = self.multipart.get() {
            return Ok(known);
        }
        let url = format!("{}/api/3.0/mlflow/server-info", self.base);
        let enabled = match client.json_at("GET", &url, "server-info", None) {
            Ok(info) => info["multipart_uploads_enabled"].as_bool() == Some(true),
            Err(ExportError::Server { status: 404, .. }) => false,
            Err(e) => return Err(e),
        };
        Ok(*self.multipart.get_or_init(|| enabled))
    }

    /// Uploads `bytes` in parts: create, a `PUT` per part to the URL the
    /// server presigned, complete; abort when a part or the completion
    /// fails.
    fn upload_in_parts(
        &self,
        client: &Client,
        path: &str,
        bytes: &[u8],
        chunk: usize,
    ) -> Result<()> {
        let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
        let parts = bytes.len().div_ceil(chunk).max(1);
        let label = |api: &str| format!("mlflow-artifacts {api} {path}");
        let body = serde_json::json!({"path": name, "num_parts": parts}).to_string();
        let created = client.json_at(
            "POST",
            &self.url("mpu/create", folder),
            &label("mpu/create"),
            Some(&body),
        )?;
        let bad = |reason: &str| ExportError::BadResponse {
            endpoint: label("mpu/create"),
            reason: reason.to_string(),
        };
        let upload_id = created["upload_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let credentials = created["credentials"]
            .as_array()
            .ok_or_else(|| bad("no credentials"))?;
        let send = || -> Result<Vec<serde_json::Value>> {
            let mut done = Vec::with_capacity(credentials.len());
            for credential in credentials {
                let url = credential["url"].as_str().ok_or_else(|| bad("no url"))?;
                let number = credential["part_number"]
                    .as_u64()
                    .or_else(|| credential["part_number"].as_str()?.parse().ok())
                    .filter(|&n| n >= 1 && n as usize <= parts)
                    .ok_or_else(|| bad("no valid part_number"))?;
                let headers: Vec<(String, String)> = credential["headers"]
                    .as_object()
                    .map(|h| {
                        h.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                let start = (number as usize - 1) * chunk;
                let end = (start + chunk).min(bytes.len());
                let etag = client.put_part(
                    url,
                    &format!("{} part {number}", label("mpu")),
                    &headers,
                    &bytes[start..end],
                )?;
                done.push(serde_json::json!({"part_number": number, "etag": etag, "url": url}));
            }
            let body = serde_json::json!({"path": name, "upload_id": upload_id, "parts": done});
            client.json_at(
                "POST",
                &self.url("mpu/complete", folder),
                &label("mpu/complete"),
                Some(&body.to_string()),
            )?;
            Ok(done)
        };
        match send() {
            Ok(_) => Ok(()),
            Err(e) => {
                // Best effort: the error that stopped the upload is the one
                // to report.
                let body = serde_json::json!({"path": name, "upload_id": upload_id});
                let _ = client.json_at(
                    "POST",
                    &self.url("mpu/abort", folder),
                    &label("mpu/abort"),
                    Some(&body.to_string()),
                );
                Err(e)
            }
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(64);
    for b in Sha256::digest(bytes).iter() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// `path` with every byte but unreserved ones and `/` percent-encoded.
pub(crate) fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_paths() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(encode_path("a b/c%d.txt"), "a%20b/c%25d.txt");
    }

    #[test]
    fn artifact_uris_are_resolved() {
        let base = "http://127.0.0.1:5000";
        let proxy = |uri: &str| match destination_for(base, uri) {
            Ok(Destination::Proxy(p)) => p.url("artifacts", ""),
            Ok(Destination::S3(_)) => panic!("{uri}: s3"),
            Err(e) => panic!("{uri}: {e}"),
        };
        let expected = "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts";
        assert_eq!(proxy("mlflow-artifacts:/1/abc/artifacts"), expected);
        assert_eq!(
            proxy("mlflow-artifacts://127.0.0.1:5000/1/abc/artifacts"),
            expected
        );
        assert!(destination_for(base, "mlflow-artifacts://other:80/1/a").is_err());
        assert!(destination_for(base, "/srv/mlruns/1/abc/artifacts").is_err());
    }
}
