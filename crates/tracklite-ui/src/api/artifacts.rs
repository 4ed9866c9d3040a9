//! `GET /api/artifacts` (a listing) and `GET /api/artifact` (a file's
//! bytes, for previews).

use serde_json::{json, Value};
use tracklite::Store;

use crate::query::Query;
use crate::reply::{ApiError, Reply};

/// What a preview reads of a file when the client names no limit.
const DEFAULT_MAX_BYTES: u64 = 64 << 20;

/// The entries directly under `path` (default: the top).
pub(super) fn list(store: &Store, q: &Query) -> Result<Reply, ApiError> {
    let run_id = q.required("run_id")?;
    let path = q.get("path").filter(|p| !p.is_empty());
    if let Some(p) = path {
        check_path(p)?;
    }
    let files: Vec<Value> = store
        .list_artifacts(run_id, path)?
        .into_iter()
        .map(|f| json!({"path": f.path, "is_dir": f.is_dir, "file_size": f.file_size}))
        .collect();
    Ok(Reply::json(&json!({ "files": files })))
}

/// At most `max_bytes` of the file at `path`, typed by its extension;
/// `X-Tracklite-Truncated: true` when the file is longer.
pub(super) fn read(store: &Store, q: &Query) -> Result<Reply, ApiError> {
    let run_id = q.required("run_id")?;
    let path = q.required("path")?;
    check_path(path)?;
    let max_bytes = match q.integer("max_bytes")? {
        None => DEFAULT_MAX_BYTES,
        Some(n) if n >= 0 => n as u64,
        Some(n) => {
            return Err(ApiError::invalid(format!(
                "invalid max_bytes {n}: must not be negative"
            )))
        }
    };
    let (bytes, size) = store.read_artifact_head(run_id, path, max_bytes)?;
    let truncated = (bytes.len() as u64) < size;
    let content_type = content_type(path, &bytes);
    let reply = Reply::bytes(content_type, bytes)
        // An artifact is data, never a page of this origin: a browser that
        // opens one directly runs none of it.
        .with_header("Content-Security-Policy", "sandbox; default-src 'none'");
    Ok(if truncated {
        reply.with_header("X-Tracklite-Truncated", "true")
    } else {
        reply
    })
}

/// Refuses paths that leave the run's artifacts: absolute ones and any
/// `..` component (the store checks again, and follows no link outside).
fn check_path(path: &str) -> Result<(), ApiError> {
    let rule = if path.starts_with('/') || path.starts_with('\\') {
        Some("must be relative to the run's artifact directory")
    } else if path.split(['/', '\\']).any(|c| c == "..") {
        Some("must not contain '..': it would leave the run's artifact directory")
    } else if path.contains('\0') {
        Some("must not contain a NUL character")
    } else {
        None
    };
    match rule {
        Some(rule) => Err(ApiError::invalid(format!(
            "invalid artifact path {path:?}: {rule}"
        ))),
        None => Ok(()),
    }
}

/// The Content-Type of an artifact: images by extension, text as plain
/// text (SVG and HTML too: a preview shows their source, never renders
/// them), anything else as bytes.
fn content_type(path: &str, head: &[u8]) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name
        .rsplit_once('.')
        .map_or("", |(_, e)| e)
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "txt" | "log" | "json" | "yaml" | "yml" | "md" | "csv" | "py" | "svg" => TEXT,
        _ if name == "MLmodel" => TEXT,
        _ if looks_like_text(head) => TEXT,
        _ => "application/octet-stream",
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

/// UTF-8 with no NUL byte in the first 8 KiB (a multi-byte character cut
/// at the end of the sample is allowed).
fn looks_like_text(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(8 << 10)];
    if sample.contains(&0) {
        return false;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(content_type("plots/a.PNG", b"\x89PNG"), "image/png");
        assert_eq!(content_type("model/MLmodel", b"flavors:"), TEXT);
        assert_eq!(content_type("x.svg", b"<svg/>"), TEXT);
        assert_eq!(content_type("page.html", b"<html>"), TEXT);
        assert_eq!(
            content_type("weights.bin", b"\0\x01\x02"),
            "application/octet-stream"
        );
        assert_eq!(content_type("notes", "café".as_bytes()), TEXT);
        assert_eq!(content_type("cut", &"é".as_bytes()[..1]), TEXT);
    }

    #[test]
    fn paths_leaving_the_run_are_refused() {
        for p in ["../x", "a/../../x", "/etc/passwd", "a\\..\\b", "\\x"] {
            let e = check_path(p).unwrap_err();
            assert_eq!(e.status, 400, "{p}");
            assert!(e.message.contains(&format!("{p:?}")), "{}", e.message);
        }
        assert!(check_path("plots/a.png").is_ok());
        assert!(check_path("a..b/c").is_ok());
    }
}
