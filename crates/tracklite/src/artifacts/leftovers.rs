//! Temporary files of artifact writes that never finished: a process
//! killed between creating `.<name>.tmp-<random>` and renaming it leaves
//! it behind (MLflow leaves `.artifact.uploading.*` the same way). They are
//! never served; `check` reports them and `gc` removes the stale ones.
//!
//! Which are stale: a file that no process holds locked and whose contents
//! were last modified more than [`TEMP_FILE_GRACE`] ago. The store's own
//! writer holds an exclusive lock (`flock`) on its temporary file from just
//! after creating it until it is renamed, and a killed process's locks are
//! released, so a live writer's file is never removed however old its
//! modification time (a copied file keeps its source's time). The grace
//! period covers the instant between creation and locking, and files of
//! writers that take no lock (MLflow's): those are fresh while written.
//! The modification time, not the change time, is used so that a test can
//! age a file; the lock is what protects the store's own writers.
//!
//! The walk opens each folder from the one above it without following
//! symbolic links, and looks and removes through those handles, so a link
//! swapped into the tree cannot point the removal elsewhere.

use std::ffi::OsStr;
use std::fs::{self, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::dir::{Dir, Kind};
use super::files::is_temp_name;
use crate::error::{Error, Result};

/// How old (by modification time) an unlocked temporary file must be for
/// `gc` to remove it.
pub(crate) const TEMP_FILE_GRACE: Duration = Duration::from_secs(60 * 60);

/// A temporary file found.
#[derive(Debug)]
pub(crate) struct Leftover {
    pub(crate) path: PathBuf,
    pub(crate) bytes: u64,
    /// Time since its last modification; zero when in the future.
    pub(crate) age: Duration,
}

/// Every temporary file under the folder `root` (none when it is missing).
pub(crate) fn find(root: &Path) -> Result<Vec<Leftover>> {
    let mut found = Vec::new();
    walk_root(root, &mut |dir, name| {
        let Some(file) = open(dir, name)? else {
            return Ok(());
        };
        let meta = file
            .metadata()
            .map_err(|e| Error::io(dir.child_path(name), e))?;
        found.push(Leftover {
            path: dir.child_path(name),
            bytes: meta.len(),
            age: age(&meta),
        });
        Ok(())
    })?;
    Ok(found)
}

/// Removes the temporary files under `root` that no process holds locked
/// and that were last modified more than `grace` ago; returns how many.
pub(crate) fn remove_stale(root: &Path, grace: Duration) -> Result<u64> {
    let mut removed = 0;
    walk_root(root, &mut |dir, name| {
        let at = || dir.child_path(name);
        let Some(file) = open(dir, name)? else {
            return Ok(());
        };
        let meta = file.metadata().map_err(|e| Error::io(at(), e))?;
        if age(&meta) < grace {
            return Ok(());
        }
        match file.try_lock() {
            Ok(()) => {}
            // A live writer holds it.
            Err(TryLockError::WouldBlock) => return Ok(()),
            Err(TryLockError::Error(e)) => return Err(Error::io(at(), e)),
        }
        match dir.remove_file(name) {
            Ok(()) => removed += 1,
            // Gone since it was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(at(), e)),
        }
        Ok(())
    })?;
    Ok(removed)
}

fn age(meta: &fs::Metadata) -> Duration {
    meta.modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or(Duration::ZERO)
}

/// Opens the temporary file `name` for reading; None when it is gone or
/// no longer a regular file.
fn open(dir: &Dir, name: &OsStr) -> Result<Option<fs::File>> {
    match dir.open_file(name) {
        Ok(file) => Ok(Some(file)),
        Err(_) if dir.kind(name).ok() != Some(Kind::File) => Ok(None),
        Err(e) => Err(Error::io(dir.child_path(name), e)),
    }
}

type Visit<'a> = dyn FnMut(&Dir, &OsStr) -> Result<()> + 'a;

fn walk_root(root: &Path, visit: &mut Visit<'_>) -> Result<()> {
    match Dir::open(root) {
        Ok(dir) => walk(&dir, visit),
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Calls `visit` for each temporary file in `dir` and the folders below
/// it. The names come from a listing by path; every look and change goes
/// through the open handles, so a listing of another folder (the path
/// changed meanwhile) only yields names that are not there.
fn walk(dir: &Dir, visit: &mut Visit<'_>) -> Result<()> {
    let entries = match fs::read_dir(dir.path()) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir.path(), e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        names.push(entry.map_err(|e| Error::io(dir.path(), e))?.file_name());
    }
    names.sort();
    for name in names {
        match dir
            .kind(&name)
            .map_err(|e| Error::io(dir.child_path(&name), e))?
        {
            Kind::Dir => match dir.open_dir(&name) {
                Ok(sub) => walk(&sub, visit)?,
                // Removed or replaced since it was looked at.
                Err(_) if dir.kind(&name).ok() != Some(Kind::Dir) => {}
                Err(e) => return Err(Error::io(dir.child_path(&name), e)),
            },
            Kind::File if is_temp_name(&name.to_string_lossy()) => visit(dir, &name)?,
            _ => {}
        }
    }
    Ok(())
}
