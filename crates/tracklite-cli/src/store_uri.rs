//! Which store a command opens: the same rules as the Python package
//! (`tracklite._tracking` and `tracklite._uri`), so that `tracklite runs`
//! shows what `import tracklite as mlflow` logged in the same environment.
//!
//! The store is, in order: `--store`; the `TRACKLITE_STORE` environment
//! variable; `MLFLOW_TRACKING_URI`; else the folder `./tracklite-runs`. An
//! empty variable counts as unset. Each value is
//! - a plain path (`runs`, `/data/runs`), the folder itself, as written;
//! - a `tracklite:` URI: `tracklite:runs` and `tracklite:./runs` relative to
//!   the working directory, `tracklite:/abs` and `tracklite:///abs` absolute,
//!   `//localhost/` allowed as the authority, percent escapes decoded, no
//!   query, fragment or other host;
//! - a `file:` URI only with `TRACKLITE_SERVE_FILE_URIS=1` (or `true`, `yes`,
//!   `on`), as the MLflow plugin serves it: `file:///proj/mlruns` is then the
//!   store `/proj/mlruns.tracklite` beside MLflow's folder. Without the
//!   opt-in a `file:` URI is MLflow's own file store, which the CLI refuses
//!   (`tracklite import` copies one into a store).
//!
//! Anything else (`http:`, `sqlite:`, `databricks`, ...) is refused with an
//! error naming the URI and the rule.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

use tracklite_export::percent_decode;

/// The folder used when nothing names a store, relative to the working directory.
pub const DEFAULT_STORE_DIR: &str = "tracklite-runs";
/// The environment variable naming the store (set by Python's `set_tracking_uri`).
pub const STORE_ENV: &str = "TRACKLITE_STORE";
/// MLflow's tracking URI, used when `TRACKLITE_STORE` is unset.
pub const MLFLOW_URI_ENV: &str = "MLFLOW_TRACKING_URI";
/// The opt-in that makes `file:` URIs name tracklite stores (see the plugin).
pub const SERVE_FILE_URIS_ENV: &str = "TRACKLITE_SERVE_FILE_URIS";
/// The suffix of the store the plugin makes beside a `file:` folder.
pub const FILE_STORE_SUFFIX: &str = ".tracklite";

/// Tracking URIs MLflow takes without a colon.
const REMOTE_NAMES: [&str; 3] = ["databricks", "databricks-uc", "uc"];

/// Where the store's location came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag,
    StoreEnv,
    MlflowEnv,
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Flag => "--store",
            Origin::StoreEnv => STORE_ENV,
            Origin::MlflowEnv => MLFLOW_URI_ENV,
            Origin::Default => "the default store",
        })
    }
}

/// The store a command opens, and what named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub origin: Origin,
}

/// Why a store URI names no store the CLI can open.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriError {
    /// A URI of a scheme that is no local folder (`http:`, `sqlite:`, ...).
    NotLocal { uri: String, scheme: String },
    /// A `file:` URI without `TRACKLITE_SERVE_FILE_URIS=1`.
    FileWithoutOptIn { uri: String },
    /// A URI that names a host other than `localhost`.
    Host { uri: String, host: String },
    /// A URI with a query (`?`) or a fragment (`#`).
    QueryOrFragment { uri: String, scheme: String },
    /// A URI with no folder (`tracklite:`).
    NoFolder { uri: String },
    /// A `file:` URI whose folder has no name to put `.tracklite` after (`file:///`).
    NoFileStoreName { uri: String },
    /// A URI that does not parse (a broken IPv6 host).
    Invalid { uri: String, reason: String },
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriError::NotLocal { uri, scheme } => write!(
                f,
                "store URI {uri:?} is not a tracklite store: tracklite keeps runs in a local \
                 folder (a path, tracklite:./path or tracklite:///absolute/path). To use a \
                 {scheme}: store, use MLflow itself; `tracklite export` pushes a store to a server"
            ),
            UriError::FileWithoutOptIn { uri } => write!(
                f,
                "store URI {uri:?} names an MLflow file store: file: URIs name tracklite stores \
                 only with {SERVE_FILE_URIS_ENV}=1 (then the store FOLDER{FILE_STORE_SUFFIX} \
                 beside it). Use a path or a tracklite: URI for a tracklite store, or \
                 `tracklite import FOLDER` to copy the file store into one"
            ),
            UriError::Host { uri, host } => write!(
                f,
                "store URI {uri:?} names the host {host:?}; a tracklite store is a local \
                 folder: use tracklite:./path or tracklite:///absolute/path"
            ),
            UriError::QueryOrFragment { uri, scheme } => write!(
                f,
                "a {scheme}: store URI takes no query or fragment: {uri:?}"
            ),
            UriError::NoFolder { uri } => {
                write!(
                    f,
                    "store URI {uri:?} names no folder, as 'tracklite:./runs' does"
                )
            }
            UriError::NoFileStoreName { uri } => write!(
                f,
                "store URI {uri:?}: cannot place a tracklite store beside the folder it names"
            ),
            UriError::Invalid { uri, reason } => write!(f, "{uri:?} is not a valid URI: {reason}"),
        }
    }
}

impl std::error::Error for UriError {}

/// A store URI that cannot be opened, with what gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocateError {
    pub origin: Origin,
    pub error: UriError,
}

impl fmt::Display for LocateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            Origin::Flag => write!(f, "--store"),
            // Often set for MLflow itself (a server's URL): say how to
            // name the tracklite store beside it.
            origin => write!(
                f,
                "{origin} (pass --store, or set {STORE_ENV}, to name the tracklite store)"
            ),
        }
    }
}

impl std::error::Error for LocateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The store named by `flag` (`--store`) or by the environment, as read by
/// `env`, with the default `./tracklite-runs` last.
pub fn resolve(
    flag: Option<&OsStr>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Location, LocateError> {
    let file_uris = env(SERVE_FILE_URIS_ENV)
        .and_then(|v| v.into_string().ok())
        .is_some_and(|v| {
            ["1", "true", "yes", "on"].contains(&v.trim().to_ascii_lowercase().as_str())
        });
    let given = flag
        .map(|v| (v.to_os_string(), Origin::Flag))
        .into_iter()
        .chain(env(STORE_ENV).map(|v| (v, Origin::StoreEnv)))
        .chain(env(MLFLOW_URI_ENV).map(|v| (v, Origin::MlflowEnv)))
        .find(|(v, _)| !v.is_empty());
    match given {
        Some((value, origin)) => match store_folder(&value, file_uris) {
            Ok(path) => Ok(Location { path, origin }),
            Err(error) => Err(LocateError { origin, error }),
        },
        None => Ok(Location {
            path: PathBuf::from(DEFAULT_STORE_DIR),
            origin: Origin::Default,
        }),
    }
}

/// The store folder a `--store` value or a tracking URI names (see the
/// module's rules); `file_uris` is the opt-in for `file:` URIs.
pub fn store_folder(value: &OsStr, file_uris: bool) -> Result<PathBuf, UriError> {
    // A path that is not UTF-8 is no URI: the folder itself.
    let Some(uri) = value.to_str() else {
        return Ok(PathBuf::from(value));
    };
    let Some(scheme) = scheme(uri) else {
        if uri.is_empty() {
            return Err(UriError::NoFolder { uri: uri.into() });
        }
        return Ok(PathBuf::from(uri));
    };
    match scheme.as_str() {
        "tracklite" => Ok(PathBuf::from(uri_path(uri, &scheme)?)),
        "file" if file_uris => beside_file_store(uri, &uri_path(uri, &scheme)?),
        "file" => Err(UriError::FileWithoutOptIn { uri: uri.into() }),
        _ => Err(UriError::NotLocal {
            uri: uri.into(),
            scheme,
        }),
    }
}

/// The URI's scheme, lower case; `None` for a plain path (a one-letter
/// "scheme" is a Windows drive).
fn scheme(uri: &str) -> Option<String> {
    let name_len = uri
        .char_indices()
        .take_while(|&(i, c)| {
            if i == 0 {
                c.is_ascii_alphabetic()
            } else {
                c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')
            }
        })
        .count();
    if name_len > 1 && uri[name_len..].starts_with(':') {
        return Some(uri[..name_len].to_ascii_lowercase());
    }
    let lower = uri.to_ascii_lowercase();
    let head = lower.split("://").next().unwrap_or_default();
    REMOTE_NAMES.contains(&head).then_some(lower)
}

/// The decoded path of a `tracklite:` or `file:` URI, checked as Python's
/// `urlsplit` splits it: `scheme:[//authority]path[?query][#fragment]`.
fn uri_path(uri: &str, scheme: &str) -> Result<String, UriError> {
    let rest = &uri[scheme.len() + 1..];
    if rest.contains(['?', '#']) {
        return Err(UriError::QueryOrFragment {
            uri: uri.into(),
            scheme: scheme.into(),
        });
    }
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => after.split_at(after.find('/').unwrap_or(after.len())),
        None => ("", rest),
    };
    if authority.contains('[') != authority.contains(']') {
        return Err(UriError::Invalid {
            uri: uri.into(),
            reason: "Invalid IPv6 URL".into(),
        });
    }
    if !authority.is_empty() && authority != "localhost" {
        return Err(UriError::Host {
            uri: uri.into(),
            host: authority.into(),
        });
    }
    let path = percent_decode(path);
    if path.is_empty() {
        return Err(UriError::NoFolder { uri: uri.into() });
    }
    Ok(path)
}

/// The store the MLflow plugin opens for a `file:` folder with the opt-in:
/// `FOLDER.tracklite` beside it, absolute, `~` expanded (as the plugin's
/// `store_path` and `file_uris.store_folder` make it).
fn beside_file_store(uri: &str, folder: &str) -> Result<PathBuf, UriError> {
    let expanded = match folder.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => match std::env::var_os("HOME") {
            Some(home) => format!("{}{rest}", home.to_string_lossy()),
            None => folder.to_string(),
        },
        _ => folder.to_string(),
    };
    let folder = normalize(&std::path::absolute(&expanded).unwrap_or(expanded.into()));
    match folder.file_name() {
        Some(name) => {
            let mut name = name.to_os_string();
            name.push(FILE_STORE_SUFFIX);
            Ok(folder.with_file_name(name))
        }
        None => Err(UriError::NoFileStoreName { uri: uri.into() }),
    }
}

/// `a/./b/../c` as `a/c`, as Python's `os.path.normpath` (the path is absolute).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests;
