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

/// What a look for temporary files found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) leftovers: Vec<Leftover>,
    /// Folders and files that could not be looked at, with why.
    pub(crate) unreadable: Vec<Error>,
}

/// Every temporary file under the folder `root` (none when it is missing).
pub(crate) fn find(root: &Path) -> Found {
    let mut found = Vec::new();
    let unreadable = walk_root(root, &mut |dir, name| {
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
    });
    Found {
        leftovers: found,
        unreadable,
    }
}

/// Removes the temporary files under `root` that no process holds locked
/// and that were last modified more than `grace` ago; returns how many.
/// What cannot be looked at or removed is left (`check` names it).
pub(crate) fn remove_stale(root: &Path, grace: Duration) -> u64 {
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
    });
    removed
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

/// Walks the folder `root` (nothing when it is missing); returns the
/// errors met, each of which skipped one folder or file.
fn walk_root(root: &Path, visit: &mut Visit<'_>) -> Vec<Error> {
    let mut errors = Vec::new();
    match Dir::open(root) {
        Ok(dir) => walk(&dir, visit, &mut errors),
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
        Err(e) => errors.push(e),
    }
    errors
}

/// Calls `visit` for each temporary file in `dir` and the folders below
/// it, keeping the errors in `errors` and going on. The names come from a
/// listing by path; every look and change goes through the open handles,
/// so a listing of another folder (the path changed meanwhile) only yields
/// names that are not there.
fn walk(dir: &Dir, visit: &mut Visit<'_>, errors: &mut Vec<Error>) {
    let mut names = Vec::new();
    let listed = fs::read_dir(dir.path()).and_then(|entries| {
        for entry in entries {
            names.push(entry?.file_name());
        }
        Ok(())
    });
    match listed {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => return errors.push(Error::io(dir.path(), e)),
    }
    names.sort();
    for name in names {
        let kind = match dir.kind(&name) {
            Ok(kind) => kind,
            Err(e) => {
                errors.push(Error::io(dir.child_path(&name), e));
                continue;
            }
        };
        let visited = match kind {
            Kind::Dir => match dir.open_dir(&name) {
                Ok(sub) => {
                    walk(&sub, visit, errors);
                    Ok(())
                }
                // Removed or replaced since it was looked at.
                Err(_) if dir.kind(&name).ok() != Some(Kind::Dir) => Ok(()),
                Err(e) => Err(Error::io(dir.child_path(&name), e)),
            },
            Kind::File if is_temp_name(&name.to_string_lossy()) => visit(dir, &name),
            _ => Ok(()),
        };
        if let Err(e) = visited {
            errors.push(e);
        }
    }
}
