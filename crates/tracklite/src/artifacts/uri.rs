//! Artifact locations: which local directory an artifact URI names.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The local directory behind a run's artifact URI: a path (relative ones
/// are taken from the store's directory) or a `file:` URI. Any other scheme
/// is not served by this store.
pub(crate) fn local_dir(uri: &str, store_root: &Path, run_id: &str) -> Result<PathBuf> {
    let unsupported = |why: &str| Error::NotLocal {
        run_id: run_id.to_owned(),
        uri: uri.to_owned(),
        reason: why.to_owned(),
    };
    if let Some(rest) = uri.strip_prefix("file:") {
        let path = match rest.strip_prefix("//") {
            Some(authority_and_path) => {
                let (host, path) = authority_and_path
                    .find('/')
                    .map_or((authority_and_path, ""), |i| authority_and_path.split_at(i));
                if !(host.is_empty() || host == "localhost" || host == "127.0.0.1") {
                    return Err(unsupported(&format!("names the remote host {host:?}")));
                }
                path
            }
            None => rest,
        };
        if !path.starts_with('/') {
            return Err(unsupported("is not an absolute file URI"));
        }
        let decoded =
            percent_decode(path).ok_or_else(|| unsupported("does not decode to UTF-8"))?;
        return Ok(PathBuf::from(decoded));
    }
    if has_scheme(uri) {
        return Err(unsupported("is not a local location"));
    }
    Ok(store_root.join(uri))
}

/// True when `uri` starts with a URI scheme of two characters or more
/// (`s3:`, `mlflow-artifacts:`); one letter is a Windows drive.
pub(crate) fn has_scheme(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as is,
/// as Python's `unquote` leaves it.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|_| bytes[i] == b'%')
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}
