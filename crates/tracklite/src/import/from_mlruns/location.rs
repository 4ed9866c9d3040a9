//! Telling whether an artifact location recorded in an `mlruns` folder is
//! the folder's own (MLflow's default) or somewhere else.

use std::path::{Component, Path, PathBuf};

/// True when `location` (a `file:` URI or a path) is the source folder's
/// own folder `actual`: it leads there, or it no longer exists and ends
/// with `tail`, as after the `mlruns` folder was moved or an experiment
/// was sent to `.trash`. Locations of other schemes (`s3:`, `http:`) and
/// other existing folders are not.
pub fn is_source_own(location: &str, actual: &Path, tail: &[&str]) -> bool {
    let Some(path) = local_path(location) else {
        return false;
    };
    if path.exists() {
        return matches!(
            (path.canonicalize(), actual.canonicalize()),
            (Ok(a), Ok(b)) if a == b
        );
    }
    let names: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect();
    names.len() >= tail.len()
        && names[names.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| *a == std::ffi::OsStr::new(b))
}

/// The local path a location names: the path of a `file:` URI on this
/// machine, or a plain path; None for any other scheme.
pub fn local_path(location: &str) -> Option<PathBuf> {
    if let Some(rest) = location.strip_prefix("file:") {
        let path = match rest.strip_prefix("//") {
            Some(after) => {
                let at = after.find('/').unwrap_or(after.len());
                let (host, path) = after.split_at(at);
                if !(host.is_empty() || host == "localhost") {
                    return None;
                }
                path
            }
            None => rest,
        };
        return Some(PathBuf::from(crate::artifacts::uri::percent_decode(path)?));
    }
    let scheme = location.split_once(':').map(|(s, _)| s).filter(|s| {
        s.len() > 1
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    match scheme {
        Some(_) => None,
        None => Some(PathBuf::from(location)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let dir = tempfile::tempdir().unwrap();
        let exp = dir.path().join("mlruns").join("12");
        std::fs::create_dir_all(&exp).unwrap();
        let uri = format!("file://{}", exp.display());
        assert!(is_source_own(&uri, &exp, &["12"]));
        assert!(is_source_own(&exp.display().to_string(), &exp, &["12"]));
        // Moved since: gone, but ends like the folder.
        assert!(is_source_own("file:///old/place/mlruns/12", &exp, &["12"]));
        assert!(!is_source_own("file:///old/place/mlruns/13", &exp, &["12"]));
        // Elsewhere, existing: not the folder's own.
        assert!(!is_source_own(
            &dir.path().display().to_string(),
            &exp,
            &["12"]
        ));
        assert!(!is_source_own("s3://bucket/12", &exp, &["12"]));
        assert!(!is_source_own("file://server/mlruns/12", &exp, &["12"]));
        let spaced = dir.path().join("a b").join("7");
        std::fs::create_dir_all(&spaced).unwrap();
        let uri = format!("file://{}", spaced.display()).replace(' ', "%20");
        assert!(is_source_own(&uri, &spaced, &["7"]));
    }
}
