//! Artifact files, straight to the bucket: a run's artifact URI in the
//! database is `s3://...` (written there as is) or `mlflow-artifacts:/PATH`
//! (a proxying server: `PATH` under the artifact root given). Each file is
//! journaled with its size and SHA-256 once uploaded, as the REST mode
//! does, so a second export uploads nothing.

use std::path::{Path, PathBuf};

use tracklite::{ExportJournal, Store};

use crate::artifacts::{local_files, sha256_hex};
use crate::error::{ExportError, Result};
use crate::s3::S3Target;

/// Journal kind: `<model id>/<path>` → `<size>:<sha256>` of a logged
/// model's artifact file uploaded.
const MODEL_ARTIFACT: &str = "direct_model_artifact";

/// `s3://BUCKET[/PREFIX]` checked, without a trailing `/`.
pub(crate) fn parse_root(root: &str) -> Result<String> {
    let invalid = |reason: &str| ExportError::InvalidTarget {
        url: root.to_string(),
        reason: reason.to_string(),
    };
    let rest = root
        .strip_prefix("s3://")
        .ok_or_else(|| invalid("the artifact root must be s3://BUCKET[/PREFIX]"))?;
    if rest.split('/').next().unwrap_or("").is_empty() {
        return Err(invalid("it names no bucket"));
    }
    Ok(root.trim_end_matches('/').to_string())
}

/// The `s3://` URI of artifact URI `uri`, given the server's artifact root
/// in the bucket; `None` for other schemes.
pub(crate) fn s3_uri(uri: &str, root: &str) -> Option<String> {
    if uri.starts_with("s3://") {
        return Some(uri.to_string());
    }
    let rest = uri.strip_prefix("mlflow-artifacts:")?;
    // `mlflow-artifacts:/path` or `mlflow-artifacts://host:port/path`.
    let path = match rest.strip_prefix("//") {
        Some(authority_path) => authority_path.split_once('/').map_or("", |(_, p)| p),
        None => rest,
    };
    let path = path.trim_matches('/');
    Some(if path.is_empty() {
        root.to_string()
    } else {
        format!("{root}/{path}")
    })
}

fn destination(uri: &str, root: &str, whose: &str) -> Result<S3Target> {
    let s3 = s3_uri(uri, root).ok_or_else(|| ExportError::Run {
        run_id: whose.to_string(),
        reason: format!(
            "its artifact URI {uri:?} on the server is neither s3:// nor mlflow-artifacts:; \
             the direct mode uploads to s3:// only"
        ),
    })?;
    S3Target::from_env(&s3).map_err(|reason| ExportError::Run {
        run_id: whose.to_string(),
        reason: format!("cannot upload its artifacts: {reason}"),
    })
}

/// Uploads the artifact files of run `run_id` not journaled as uploaded to
/// its artifact URI `uri`: (files, bytes).
pub(crate) fn upload_run(
    store: &Store,
    journal: &ExportJournal,
    run_id: &str,
    uri: &str,
    root: &str,
) -> Result<(u64, u64)> {
    let files = local_files(store, run_id)?;
    if files.is_empty() {
        return Ok((0, 0));
    }
    let sent = journal.artifacts(run_id)?;
    let mut target = None;
    let (mut count, mut bytes_sent) = (0, 0);
    for path in files {
        let bytes = store.read_artifact(run_id, &path)?;
        let size = bytes.len() as u64;
        let digest = sha256_hex(&bytes);
        if sent.get(&path) == Some(&(size, digest.clone())) {
            continue;
        }
        if target.is_none() {
            target = Some(destination(uri, root, run_id)?);
        }
        target.as_ref().expect("set above").put(&path, &bytes)?;
        journal.record_artifact(run_id, &path, size, &digest)?;
        count += 1;
        bytes_sent += size;
    }
    Ok((count, bytes_sent))
}

/// The local folder of an artifact location (`file://` URI or path), if
/// it is one.
fn local_folder(location: &str) -> Option<PathBuf> {
    let path = location.strip_prefix("file://").unwrap_or(location);
    let path = Path::new(path);
    (path.is_absolute() && path.is_dir()).then(|| path.to_path_buf())
}

/// Every file under `dir`, by path relative to it (`/`-separated), sorted.
fn files_under(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                folders.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Uploads the files of a logged model's local artifact folder (when it
/// has one) to its remote artifact location: (files, bytes).
pub(crate) fn upload_model(
    journal: &ExportJournal,
    model_id: &str,
    local_location: &str,
    remote_location: &str,
    root: &str,
) -> Result<(u64, u64)> {
    let Some(dir) = local_folder(local_location) else {
        return Ok((0, 0));
    };
    let io = |e: std::io::Error| ExportError::Run {
        run_id: model_id.to_string(),
        reason: format!("reading its artifacts in {}: {e}", dir.display()),
    };
    let files = files_under(&dir).map_err(io)?;
    if files.is_empty() {
        return Ok((0, 0));
    }
    let sent = journal.objects(MODEL_ARTIFACT)?;
    let mut target = None;
    let (mut count, mut bytes_sent) = (0, 0);
    for path in files {
        let bytes = std::fs::read(dir.join(&path)).map_err(io)?;
        let state = format!("{}:{}", bytes.len(), sha256_hex(&bytes));
        let key = format!("{model_id}/{path}");
        if sent.get(&key) == Some(&state) {
            continue;
        }
        if target.is_none() {
            target = Some(destination(remote_location, root, model_id)?);
        }
        target.as_ref().expect("set above").put(&path, &bytes)?;
        journal.record_object(MODEL_ARTIFACT, &key, &state)?;
        count += 1;
        bytes_sent += bytes.len() as u64;
    }
    Ok((count, bytes_sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uris_map_into_the_bucket() {
        let root = "s3://bucket/mlflow";
        assert_eq!(
            s3_uri("s3://other/x/1/abc/artifacts", root).as_deref(),
            Some("s3://other/x/1/abc/artifacts")
        );
        assert_eq!(
            s3_uri("mlflow-artifacts:/1/abc/artifacts", root).as_deref(),
            Some("s3://bucket/mlflow/1/abc/artifacts")
        );
        assert_eq!(
            s3_uri("mlflow-artifacts://host:5000/1/abc/artifacts", root).as_deref(),
            Some("s3://bucket/mlflow/1/abc/artifacts")
        );
        assert_eq!(s3_uri("/srv/mlruns/1", root), None);
        assert_eq!(parse_root("s3://b/p/").unwrap(), "s3://b/p");
        assert!(parse_root("s3:///p").is_err() && parse_root("gs://b").is_err());
    }
}
