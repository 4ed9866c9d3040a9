//! Copying a run's artifacts folder from `mlruns` into the store, file by
//! file, with the store's artifact API (each file written atomically). A
//! file that cannot be read or has a name the store refuses is reported
//! and left out; a failure of the store itself stops the run's import.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::{ImportProblem, RunFiller};
use crate::artifacts::dir::Dir;
use crate::artifacts::files::{is_temp_name, MLFLOW_TEMP_PREFIX};
use crate::error::{Error, Result};

/// Copies the folder `dir`, which is `rel` ('/'-separated, empty at the
/// top) in the run's artifacts. `ancestors` holds the real paths of the
/// folders being copied, so that a link back up is not followed forever.
pub(super) fn copy_tree(
    run: &mut RunFiller<'_>,
    dir: &Path,
    rel: &str,
    ancestors: &mut Vec<PathBuf>,
) -> Result<()> {
    let mut entries = match fs::read_dir(dir).and_then(|d| d.collect::<Result<Vec<_>, _>>()) {
        Ok(entries) => entries,
        Err(e) => {
            run.problem(
                dir,
                format!("cannot be listed: {e}; its artifacts left out"),
            );
            return Ok(());
        }
    };
    entries.sort_by_key(|e| e.file_name());
    let under = (!rel.is_empty()).then_some(rel);
    if entries.is_empty() {
        // An empty folder is part of what MLflow lists.
        if let Some(rel) = under {
            store_call(run, dir, |run| {
                run.store.log_artifacts(run.run_id, dir, Some(rel))
            })?;
        }
        return Ok(());
    }
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Links are followed, as MLflow's listing does.
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                run.problem(&path, format!("cannot be read: {e}; artifact left out"));
                continue;
            }
        };
        if meta.is_dir() {
            let real = match path.canonicalize() {
                Ok(real) => real,
                Err(e) => {
                    run.problem(&path, format!("cannot be read: {e}; artifacts left out"));
                    continue;
                }
            };
            if ancestors.contains(&real) {
                run.problem(&path, "a link to a folder that contains it; left out");
                continue;
            }
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            ancestors.push(real);
            let copied = copy_tree(run, &path, &child, ancestors);
            ancestors.pop();
            copied?;
        } else if !meta.is_file() {
            run.problem(&path, "not a regular file; artifact left out");
        } else if name.starts_with(MLFLOW_TEMP_PREFIX) {
            run.problem(&path, "an upload MLflow did not finish; artifact left out");
        } else {
            let copied = store_call(run, &path, |run| {
                run.store.log_artifact(run.run_id, &path, under)
            })?;
            if copied {
                run.files += 1;
                run.bytes += meta.len();
            }
        }
    }
    Ok(())
}

/// Runs a store call on behalf of the source file `path`: true when it
/// succeeded. Refusals of the file (its name, its contents unreadable)
/// become problems; any other error is the store's, and is returned.
fn store_call(
    run: &mut RunFiller<'_>,
    path: &Path,
    call: impl FnOnce(&RunFiller<'_>) -> Result<()>,
) -> Result<bool> {
    match call(run) {
        Ok(()) => Ok(true),
        Err(Error::Validation(e)) => {
            run.problem(path, format!("{e}; artifact left out"));
            Ok(false)
        }
        Err(Error::Io { path: at, source }) if at.starts_with(run.root) => {
            run.problem(path, format!("cannot be read: {source}; artifact left out"));
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Copies the files under `src` into `dest` (created as needed), each
/// written under a hidden temporary name, synced, then renamed, as the
/// store writes artifacts: for artifacts outside any run, such as those of
/// logged models. Folders below `dest` are made and opened one at a time
/// from an open handle on `dest`, never through a symbolic link, so a link
/// swapped in while the copy runs cannot send files elsewhere. Returns the files and bytes copied. Source files that
/// cannot be read are reported in `problems` and left out; a failure to
/// write is returned.
pub(super) fn copy_plain_tree(
    src: &Path,
    dest: &Path,
    problems: &mut Vec<ImportProblem>,
) -> Result<(u64, u64)> {
    let mut done = (0, 0);
    let mut ancestors = Vec::new();
    copy_plain(src, Dest::Top(dest), problems, &mut ancestors, &mut done)?;
    Ok(done)
}

/// A destination folder of [`copy_plain`], made when its source is read.
enum Dest<'a> {
    /// The top, by path: made with its parents.
    Top(&'a Path),
    /// A folder in a destination folder already open, made and opened
    /// there without following a symbolic link.
    Child(&'a Dir, &'a OsStr),
}

impl Dest<'_> {
    fn open(&self) -> Result<Dir> {
        match *self {
            Dest::Top(path) => {
                fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
                Dir::open(path)
            }
            Dest::Child(parent, name) => parent.open_or_make_dir(name),
        }
    }
}

fn copy_plain(
    src: &Path,
    dest: Dest<'_>,
    problems: &mut Vec<ImportProblem>,
    ancestors: &mut Vec<PathBuf>,
    done: &mut (u64, u64),
) -> Result<()> {
    let real = match src.canonicalize() {
        Ok(real) => real,
        Err(e) => {
            push(
                problems,
                src,
                format!("cannot be read: {e}; artifacts left out"),
            );
            return Ok(());
        }
    };
    if ancestors.contains(&real) {
        push(
            problems,
            src,
            "a link to a folder that contains it; left out",
        );
        return Ok(());
    }
    let mut entries = match fs::read_dir(src).and_then(|d| d.collect::<Result<Vec<_>, _>>()) {
        Ok(entries) => entries,
        Err(e) => {
            push(
                problems,
                src,
                format!("cannot be listed: {e}; its artifacts left out"),
            );
            return Ok(());
        }
    };
    entries.sort_by_key(|e| e.file_name());
    let dest = dest.open()?;
    ancestors.push(real);
    let copied = entries.iter().try_for_each(|entry| {
        let path = entry.path();
        let name = entry.file_name();
        let text_name = name.to_string_lossy();
        let meta = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                unreadable_file(problems, &path, e);
                return Ok(());
            }
        };
        if meta.is_dir() {
            return copy_plain(&path, Dest::Child(&dest, &name), problems, ancestors, done);
        }
        if !meta.is_file() {
            push(problems, &path, "not a regular file; artifact left out");
        } else if is_temp_name(&text_name) {
            push(problems, &path, "an unfinished upload; artifact left out");
        } else {
            let mut source = match fs::File::open(&path) {
                Ok(f) => f,
                Err(e) => {
                    unreadable_file(problems, &path, e);
                    return Ok(());
                }
            };
            let mut unreadable = None;
            let mut bytes = 0;
            let written = dest.write_atomic(&name, |file| {
                bytes = copy_from_source(&mut source, file, &mut unreadable)?;
                Ok(())
            });
            match (written, unreadable) {
                (_, Some(e)) => unreadable_file(problems, &path, e),
                (Ok(()), None) => {
                    done.0 += 1;
                    done.1 += bytes;
                }
                (Err(e), None) => return Err(e),
            }
        }
        Ok(())
    });
    ancestors.pop();
    copied
}

fn unreadable_file(problems: &mut Vec<ImportProblem>, path: &Path, e: io::Error) {
    push(
        problems,
        path,
        format!("cannot be read: {e}; artifact left out"),
    );
}

fn push(problems: &mut Vec<ImportProblem>, path: &Path, message: impl Into<String>) {
    problems.push(ImportProblem {
        path: path.display().to_string(),
        message: message.into(),
    });
}

/// Copies `source` into `dest`. A read error of the source is kept in
/// `unreadable` (the source's fault, reported as a problem) and ends the
/// copy; a write error is returned as it is (the store's fault).
fn copy_from_source(
    source: &mut fs::File,
    dest: &mut fs::File,
    unreadable: &mut Option<io::Error>,
) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0;
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let kind = e.kind();
                *unreadable = Some(e);
                return Err(io::Error::new(kind, "the source file cannot be read"));
            }
        };
        dest.write_all(&buf[..n])?;
        total += n as u64;
    }
}
