//! The rules of `tracklite._uri` and `tracklite._tracking`, case by case
//! (the same cases as python/tests/test_uri.py), and the plugin's `file:`
//! opt-in.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use super::*;

fn folder(uri: &str) -> Result<PathBuf, UriError> {
    store_folder(OsStr::new(uri), false)
}

#[test]
fn folders_of_uris_as_python_reads_them() {
    for (uri, want) in [
        ("runs", "runs"),
        ("./runs", "./runs"),
        ("/data/runs", "/data/runs"),
        ("C:\\runs", "C:\\runs"), // a drive letter, not a scheme
        ("~/runs", "~/runs"),     // as written, as in Python
        ("tracklite:./runs", "./runs"),
        ("tracklite:runs", "runs"),
        ("tracklite:/abs/runs", "/abs/runs"),
        ("tracklite:///abs/runs", "/abs/runs"),
        ("TRACKLITE:///abs/runs", "/abs/runs"),
        ("tracklite://localhost/abs/runs", "/abs/runs"),
        ("tracklite:///abs/my%20runs", "/abs/my runs"),
        ("tracklite:///abs/100%", "/abs/100%"),
    ] {
        assert_eq!(folder(uri).unwrap(), PathBuf::from(want), "{uri}");
    }
}

#[test]
fn what_is_refused_and_why() {
    for (uri, message) in [
        ("http://localhost:5000", "is not a tracklite store"),
        (
            "https://mlflow.example.com",
            "To use a https: store, use MLflow",
        ),
        ("databricks", "is not a tracklite store"),
        ("databricks://profile", "is not a tracklite store"),
        ("sqlite:///mlflow.db", "To use a sqlite: store"),
        ("postgresql://u@h/db", "is not a tracklite store"),
        ("tracklite://host/path", "names the host \"host\""),
        ("tracklite:///abs/runs?x=1", "no query or fragment"),
        ("tracklite:runs#top", "no query or fragment"),
        ("tracklite:", "names no folder"),
        ("tracklite://localhost", "names no folder"),
        ("", "names no folder"),
        ("tracklite://[broken/runs", "not a valid URI"),
        (
            "file:///abs/mlruns",
            "only with TRACKLITE_SERVE_FILE_URIS=1",
        ),
        ("file:./mlruns", "tracklite import FOLDER"),
    ] {
        let err = folder(uri).expect_err(uri).to_string();
        assert!(err.contains(message), "{uri}: {err}");
        if !uri.is_empty() {
            assert!(err.contains(uri), "the message names the URI: {err}");
        }
    }
}

#[test]
fn file_uris_with_the_opt_in_name_the_store_beside_the_folder() {
    let opted = |uri: &str| store_folder(OsStr::new(uri), true);
    assert_eq!(
        opted("file:///proj/mlruns").unwrap(),
        PathBuf::from("/proj/mlruns.tracklite")
    );
    assert_eq!(
        opted("file:///proj/x/../mlruns/").unwrap(),
        PathBuf::from("/proj/mlruns.tracklite")
    );
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        opted("file:./mlruns").unwrap(),
        cwd.join("mlruns.tracklite")
    );
    assert!(matches!(
        opted("file:///"),
        Err(UriError::NoFileStoreName { .. })
    ));
    // The opt-in changes nothing for the other schemes.
    assert_eq!(
        opted("tracklite:///a/runs").unwrap(),
        PathBuf::from("/a/runs")
    );
    assert!(matches!(opted("http://h"), Err(UriError::NotLocal { .. })));
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let map: HashMap<String, OsString> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn the_flag_then_tracklite_store_then_mlflow_tracking_uri_then_the_default() {
    let both = env(&[
        ("TRACKLITE_STORE", "tracklite:///a"),
        ("MLFLOW_TRACKING_URI", "/b"),
    ]);
    let at = |flag: Option<&str>, env: &dyn Fn(&str) -> Option<OsString>| {
        let l = resolve(flag.map(OsStr::new), env).unwrap();
        (l.path, l.origin)
    };
    assert_eq!(at(Some("c"), &both), (PathBuf::from("c"), Origin::Flag));
    assert_eq!(at(None, &both), (PathBuf::from("/a"), Origin::StoreEnv));
    let mlflow_only = env(&[("MLFLOW_TRACKING_URI", "tracklite:runs")]);
    assert_eq!(
        at(None, &mlflow_only),
        (PathBuf::from("runs"), Origin::MlflowEnv)
    );
    // Empty variables count as unset, as in Python.
    let empty = env(&[("TRACKLITE_STORE", ""), ("MLFLOW_TRACKING_URI", "")]);
    assert_eq!(
        at(None, &empty),
        (PathBuf::from("tracklite-runs"), Origin::Default)
    );
    assert_eq!(
        at(None, &env(&[])),
        (PathBuf::from(DEFAULT_STORE_DIR), Origin::Default)
    );
}

#[test]
fn the_opt_in_is_read_from_the_environment() {
    let uri = [("MLFLOW_TRACKING_URI", "file:///p/mlruns")];
    assert!(matches!(
        resolve(None, env(&uri)),
        Err(LocateError {
            origin: Origin::MlflowEnv,
            error: UriError::FileWithoutOptIn { .. }
        })
    ));
    for on in ["1", "true", " YES ", "on"] {
        let vars = [uri[0], ("TRACKLITE_SERVE_FILE_URIS", on)];
        assert_eq!(
            resolve(None, env(&vars)).unwrap().path,
            PathBuf::from("/p/mlruns.tracklite"),
            "{on:?}"
        );
    }
    let off = [uri[0], ("TRACKLITE_SERVE_FILE_URIS", "0")];
    assert!(resolve(None, env(&off)).is_err());
    // A bad URI in a variable that a higher one overrides is never read.
    let shadowed = [
        ("TRACKLITE_STORE", "runs"),
        ("MLFLOW_TRACKING_URI", "http://h"),
    ];
    assert_eq!(
        resolve(None, env(&shadowed)).unwrap().path,
        PathBuf::from("runs")
    );
}
