//! Artifact files that a killed process cannot leave half written: each
//! file is written under a hidden temporary name in its destination
//! directory (`.<name>.tmp-<random>`), synced, renamed onto its final name,
//! and the directory synced. Listings never show the temporary names, and
//! `is_temp_name` tells them apart.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::dir::Dir;
use crate::error::Result;

/// Marks a file being written: `.<name>.tmp-<random>`.
pub(crate) const TEMP_MARK: &str = ".tmp-";
/// MLflow's local artifact repository stages its uploads under this prefix;
/// its files are hidden too, as MLflow hides them.
pub(crate) const MLFLOW_TEMP_PREFIX: &str = ".artifact.uploading.";
/// Bytes of the final name kept in a temporary name, so that the temporary
/// name stays within the file system's limit on name length.
const TEMP_NAME_KEEP: usize = 64;

/// True for the temporary names of unfinished writes, which are never listed.
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with(MLFLOW_TEMP_PREFIX)
        || name
            .strip_prefix('.')
            .is_some_and(|rest| rest.contains(TEMP_MARK))
}

/// Writes `dir/name` through a temporary file in `dir`: filled, synced, then
/// renamed onto the final name, and the directory synced (see
/// [`Dir::write_atomic`]). On failure the temporary file is removed and
/// nothing changes under the final name.
pub(crate) fn write_atomic(
    dir: &Path,
    name: &OsStr,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<()> {
    Dir::open(dir)?.write_atomic(name, fill)
}

/// `.<name>.tmp-<random>`, with at most [`TEMP_NAME_KEEP`] bytes of the
/// name, cut at a character boundary when the name is UTF-8.
pub(super) fn temp_name(name: &OsStr) -> OsString {
    let bytes = name.as_bytes();
    let mut keep = bytes.len().min(TEMP_NAME_KEEP);
    if let Some(text) = name.to_str() {
        while !text.is_char_boundary(keep) {
            keep -= 1;
        }
    }
    let mut temp = OsString::from(".");
    // A Unix file name is any bytes: a cut name that is not UTF-8 is fine.
    temp.push(OsStr::from_bytes(&bytes[..keep]));
    temp.push(format!("{TEMP_MARK}{}", uuid::Uuid::new_v4().simple()));
    temp
}
