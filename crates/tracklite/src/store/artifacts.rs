//! Run artifacts: plain files in each run's artifact directory.
//!
//! A run keeps its artifacts in `<experiment location>/<run_id>/artifacts`,
//! by default under the store's `artifacts/<experiment_id>` folder, so that a
//! person can browse them. Every file is first written under a hidden
//! temporary name in its destination directory (`.<name>.tmp-<random>`),
//! synced, then renamed onto its final name: a killed process never leaves a
//! half-written artifact under a real name, and listings never show the
//! temporary files.
//!
//! Artifact paths are relative and '/'-separated ([`validate::artifact_path`]);
//! a symbolic link inside the run's directory is followed only while it
//! stays inside that directory. Writes walk from an open handle on the
//! run's directory, one name at a time, never through a link they did not
//! check (see [`RunWriter`]), so a directory swapped for a link while a
//! write runs cannot send the file outside the run. Reads, listings and
//! downloads resolve paths by name.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::Store;
use crate::artifacts::dir::{Dir, Kind};
use crate::artifacts::files::{is_temp_name, write_atomic, MLFLOW_TEMP_PREFIX, TEMP_MARK};
use crate::artifacts::uri::local_dir;
use crate::error::{EntityKind, Error, Result, ValidationError};
use crate::index::runs::ensure_active;
use crate::validate;

/// One entry of a run's artifact listing, as MLflow's `FileInfo`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileInfo {
    /// Path relative to the run's artifact directory, '/'-separated.
    pub path: String,
    /// True for a directory.
    pub is_dir: bool,
    /// Size in bytes; None for a directory.
    pub file_size: Option<u64>,
}

impl Store {
    /// The local directory of a run's artifacts. It may not exist yet: the
    /// first logged artifact creates it.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{NewRun, Store};
    /// let store = Store::open(dir.path().join("runs"))?;
    /// let run = store.create_run(NewRun::default())?;
    /// let path = store.artifact_dir(&run.run_id)?;
    /// assert!(path.ends_with(format!("0/{}/artifacts", run.run_id)));
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn artifact_dir(&self, run_id: &str) -> Result<PathBuf> {
        validate::run_id(run_id)?;
        let info = self.get_run_info(run_id)?;
        local_dir(&info.artifact_uri, self.path(), run_id)
    }

    /// Copies a local file into the run's artifacts, under `artifact_path`
    /// (default: the top of the run's artifact directory). The file keeps its
    /// name; an artifact of the same name is replaced atomically.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{NewRun, Store};
    /// let store = Store::open(dir.path().join("runs"))?;
    /// let run = store.create_run(NewRun::default())?;
    /// let file = dir.path().join("model.txt");
    /// std::fs::write(&file, "weights").unwrap();
    /// store.log_artifact(&run.run_id, &file, Some("model"))?;
    /// assert_eq!(store.read_artifact(&run.run_id, "model/model.txt")?, b"weights");
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn log_artifact(
        &self,
        run_id: &str,
        local_file: &Path,
        artifact_path: Option<&str>,
    ) -> Result<()> {
        let under = components(artifact_path)?;
        let name = local_name(local_file)?;
        let source = Source::open_file(local_file)?;
        let arts = self.writable(run_id)?;
        let dir = arts.make_dirs(&under)?;
        arts.write(&dir, &join(&under, &name), &name, |file| {
            source.copy_into(file)
        })
    }

    /// Copies the contents of a local directory, recursively, into the
    /// run's artifacts under `artifact_path` (default: the top of the run's
    /// artifact directory), as MLflow's `log_artifacts` does. Every name in
    /// the tree is checked before anything is written. Symbolic links in the
    /// local tree are followed.
    pub fn log_artifacts(
        &self,
        run_id: &str,
        local_dir: &Path,
        artifact_path: Option<&str>,
    ) -> Result<()> {
        let under = components(artifact_path)?;
        let meta = fs::metadata(local_dir).map_err(|e| Error::io(local_dir, e))?;
        if !meta.is_dir() {
            return Err(Error::io(
                local_dir,
                io::Error::new(
                    io::ErrorKind::NotADirectory,
                    "not a directory; log a single file with log_artifact",
                ),
            ));
        }
        let mut ancestors = vec![canonical(local_dir)?];
        let tree = plan(local_dir, &mut ancestors)?;
        let arts = self.writable(run_id)?;
        let dir = arts.make_dirs(&under)?;
        arts.write_tree(&dir, &under.join("/"), &tree)
    }

    /// Writes bytes as the artifact `artifact_file` (a relative path such as
    /// `"eval/metrics.json"`), replacing an artifact of that name atomically.
    pub fn log_artifact_bytes(
        &self,
        run_id: &str,
        artifact_file: &str,
        bytes: &[u8],
    ) -> Result<()> {
        let mut under = components(Some(artifact_file))?;
        if under.is_empty() {
            validate::artifact_path(artifact_file)?;
        }
        let name = under.pop().unwrap_or_default().to_string();
        let arts = self.writable(run_id)?;
        let dir = arts.make_dirs(&under)?;
        arts.write(&dir, artifact_file, &name, |file| {
            io::Write::write_all(file, bytes)
        })
    }

    /// The entries directly under `path` (default: the top of the run's
    /// artifact directory), sorted by path. A path that is a file, or that
    /// does not exist, lists as empty, as in MLflow. Only what
    /// [`Store::read_artifact`] can serve is listed: temporary files of
    /// unfinished writes, and symbolic links that lead outside the run's
    /// artifact directory or nowhere, are left out.
    pub fn list_artifacts(&self, run_id: &str, path: Option<&str>) -> Result<Vec<FileInfo>> {
        let arts = self.readable(run_id)?;
        let (dir, prefix) = match path.filter(|p| !p.is_empty()) {
            None => (arts.root.clone(), String::new()),
            Some(p) => match arts.existing(p)? {
                Some(real) => (real, format!("{p}/")),
                None => return Ok(Vec::new()),
            },
        };
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut infos: Vec<FileInfo> = arts
            .entries(&dir)?
            .into_iter()
            .map(|e| FileInfo {
                path: format!("{prefix}{}", e.name),
                is_dir: e.is_dir,
                file_size: e.size,
            })
            .collect();
        infos.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(infos)
    }

    /// The contents of the artifact file at `path`.
    pub fn read_artifact(&self, run_id: &str, path: &str) -> Result<Vec<u8>> {
        let real = self.artifact_file(
            run_id,
            path,
            "read the files in it, or use download_artifacts",
        )?;
        fs::read(&real).map_err(|e| Error::io(&real, e))
    }

    /// Where the artifact file at `path` of a run is; a directory there is
    /// an error whose rule ends with `instead`.
    fn artifact_file(&self, run_id: &str, path: &str, instead: &str) -> Result<PathBuf> {
        let arts = self.readable(run_id)?;
        let real = arts.existing(path)?.ok_or_else(|| arts.not_found(path))?;
        if real.is_dir() {
            return Err(ValidationError::InvalidValue {
                field: "artifact path",
                value: path.to_string(),
                rule: format!("is a directory; {instead}"),
            }
            .into());
        }
        Ok(real)
    }

    /// At most the first `max_bytes` bytes of the artifact file at `path`,
    /// and the file's whole size: a preview of a file of any size reads
    /// only what it shows. Paths are resolved as [`Store::read_artifact`]
    /// resolves them.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{NewRun, Store};
    /// let store = Store::open(dir.path().join("runs"))?;
    /// let run = store.create_run(NewRun::default())?;
    /// store.log_artifact_bytes(&run.run_id, "notes.txt", b"hello, world")?;
    /// let (head, size) = store.read_artifact_head(&run.run_id, "notes.txt", 5)?;
    /// assert_eq!((head.as_slice(), size), (&b"hello"[..], 12));
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn read_artifact_head(
        &self,
        run_id: &str,
        path: &str,
        max_bytes: u64,
    ) -> Result<(Vec<u8>, u64)> {
        let real = self.artifact_file(run_id, path, "list it, or read the files in it")?;
        let file = File::open(&real).map_err(|e| Error::io(&real, e))?;
        let size = file.metadata().map_err(|e| Error::io(&real, e))?.len();
        let mut head = Vec::with_capacity(size.min(max_bytes) as usize);
        io::Read::read_to_end(&mut io::Read::take(file, max_bytes), &mut head)
            .map_err(|e| Error::io(&real, e))?;
        Ok((head, size))
    }

    /// Copies the artifact file or directory at `path` (default: all of the
    /// run's artifacts) into `dest_dir`, keeping its relative path as MLflow
    /// does: `path = "a/b.txt"` lands at `<dest_dir>/a/b.txt`. Creates
    /// `dest_dir` when missing and returns the absolute local path of what
    /// was downloaded (`dest_dir` itself for all artifacts). Files are
    /// written atomically; existing files of the same names are replaced.
    pub fn download_artifacts(
        &self,
        run_id: &str,
        path: Option<&str>,
        dest_dir: &Path,
    ) -> Result<PathBuf> {
        let arts = self.readable(run_id)?;
        let dest_dir = std::path::absolute(dest_dir).map_err(|e| Error::io(dest_dir, e))?;
        fs::create_dir_all(&dest_dir).map_err(|e| Error::io(&dest_dir, e))?;
        let Some(path) = path.filter(|p| !p.is_empty()) else {
            if arts.root.is_dir() {
                arts.copy_out(&arts.root, &dest_dir, &mut vec![arts.root.clone()])?;
            }
            return Ok(dest_dir);
        };
        let real = arts.existing(path)?.ok_or_else(|| arts.not_found(path))?;
        let target = dest_dir.join(path);
        if real.is_dir() {
            fs::create_dir_all(&target).map_err(|e| Error::io(&target, e))?;
            arts.copy_out(&real, &target, &mut vec![real.clone()])?;
        } else {
            let (parent, name) = match path.rsplit_once('/') {
                Some((dir, name)) => (dest_dir.join(dir), name),
                None => (dest_dir.clone(), path),
            };
            fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
            let source = Source::open_file(&real)?;
            write_atomic(&parent, name.as_ref(), |file| source.copy_into(file))?;
        }
        Ok(target)
    }

    /// The artifact directory of an active run, created when missing.
    fn writable(&self, run_id: &str) -> Result<RunWriter> {
        validate::run_id(run_id)?;
        self.inner.check_writable()?;
        ensure_active(self.inner.index()?.conn(), run_id)?;
        let dir = self.artifact_dir(run_id)?;
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let root = canonical(&dir)?;
        Ok(RunWriter {
            top: Dir::open(&root)?,
            arts: RunArtifacts {
                run_id: run_id.to_string(),
                root,
            },
        })
    }

    /// The artifact directory of a run, deleted or not, which may not exist.
    fn readable(&self, run_id: &str) -> Result<RunArtifacts> {
        let dir = self.artifact_dir(run_id)?;
        let root = match dir.canonicalize() {
            Ok(real) => real,
            Err(e) if e.kind() == io::ErrorKind::NotFound => dir,
            Err(e) => return Err(Error::io(&dir, e)),
        };
        Ok(RunArtifacts {
            run_id: run_id.to_string(),
            root,
        })
    }
}

/// The components of an optional destination path; none for the top.
fn components(path: Option<&str>) -> Result<Vec<&str>> {
    match path.filter(|p| !p.is_empty()) {
        None => Ok(Vec::new()),
        Some(p) => {
            validate::artifact_path(p)?;
            let parts: Vec<&str> = p.split('/').collect();
            for part in &parts {
                check_not_reserved(p, part)?;
            }
            Ok(parts)
        }
    }
}

/// `under` and `name` as one artifact path.
fn join(under: &[&str], name: &str) -> String {
    child_path(&under.join("/"), name)
}

/// The artifact name a local file or directory entry keeps.
fn local_name(path: &Path) -> Result<String> {
    let fail = |rule: &str| -> Error {
        ValidationError::InvalidValue {
            field: "artifact file name",
            value: path.display().to_string(),
            rule: rule.to_string(),
        }
        .into()
    };
    let name = path
        .file_name()
        .ok_or_else(|| fail("the local path has no file name"))?
        .to_str()
        .ok_or_else(|| fail("the file name is not valid UTF-8"))?;
    validate::artifact_path(name).map_err(|e| match e {
        ValidationError::InvalidValue { rule, .. } => fail(&rule),
        other => other.into(),
    })?;
    check_not_reserved(&path.display().to_string(), name)?;
    Ok(name.to_string())
}

fn check_not_reserved(path: &str, component: &str) -> Result<()> {
    if is_temp_name(component) {
        return Err(ValidationError::InvalidValue {
            field: "artifact path",
            value: path.to_string(),
            rule: format!(
                "names of the form '.<name>{TEMP_MARK}<suffix>' or '{MLFLOW_TEMP_PREFIX}<suffix>' \
                 are reserved for files being written"
            ),
        }
        .into());
    }
    Ok(())
}

fn canonical(path: &Path) -> Result<PathBuf> {
    path.canonicalize().map_err(|e| Error::io(path, e))
}

/// A local tree to log, read and checked in full before anything is written.
enum Node {
    File { name: String, source: PathBuf },
    Dir { name: String, children: Vec<Node> },
}

/// Reads the local directory `dir`, following symbolic links; `ancestors`
/// holds the real paths of the directories being read, to stop a cycle.
fn plan(dir: &Path, ancestors: &mut Vec<PathBuf>) -> Result<Vec<Node>> {
    let mut nodes = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let name = local_name(&path)?;
        let meta = fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        if meta.is_dir() {
            let real = canonical(&path)?;
            if ancestors.contains(&real) {
                return Err(Error::io(
                    &path,
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "a symbolic link leads back into a directory being copied (a cycle)",
                    ),
                ));
            }
            ancestors.push(real);
            let children = plan(&path, ancestors)?;
            ancestors.pop();
            nodes.push(Node::Dir { name, children });
        } else if meta.is_file() {
            nodes.push(Node::File { name, source: path });
        } else {
            return Err(Error::io(
                &path,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "neither a regular file nor a directory; only files and directories are logged",
                ),
            ));
        }
    }
    Ok(nodes)
}

/// A local file opened for copying, with the metadata the copy keeps.
struct Source {
    path: PathBuf,
    file: File,
    meta: fs::Metadata,
}

impl Source {
    fn open_file(path: &Path) -> Result<Source> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::io(
                path,
                io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a directory; log a directory with log_artifacts",
                ),
            ));
        }
        Ok(Source {
            path: path.to_path_buf(),
            file,
            meta,
        })
    }

    /// Copies the contents, permissions and modification time, as MLflow's
    /// `shutil.copy2` does.
    fn copy_into(&self, dest: &mut File) -> io::Result<()> {
        io::copy(&mut &self.file, dest).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("copying from {}: {e}", self.path.display()),
            )
        })?;
        dest.set_permissions(self.meta.permissions())?;
        if let Ok(modified) = self.meta.modified() {
            dest.set_modified(modified)?;
        }
        Ok(())
    }
}

/// One entry of an artifact directory that can be served.
struct Entry {
    name: String,
    /// The real path, symbolic links resolved.
    real: PathBuf,
    is_dir: bool,
    size: Option<u64>,
}

/// A run's artifact directory, with the run it belongs to.
struct RunArtifacts {
    run_id: String,
    /// The directory, its symbolic links resolved when it exists.
    root: PathBuf,
}

impl RunArtifacts {
    fn outside(&self, path: &str, real: &Path) -> Error {
        ValidationError::InvalidValue {
            field: "artifact path",
            value: path.to_string(),
            rule: format!(
                "it resolves through a symbolic link to {}, outside the run's artifact directory {}",
                real.display(),
                self.root.display()
            ),
        }
        .into()
    }

    fn not_found(&self, path: &str) -> Error {
        Error::not_found(
            EntityKind::Artifact,
            format!("{path} (run {})", self.run_id),
        )
    }

    /// Where `link` (at artifact path `path`) leads, if inside the root.
    fn follow(&self, link: &Path, path: &str) -> Result<PathBuf> {
        let real = match link.canonicalize() {
            Ok(real) => real,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ValidationError::InvalidValue {
                    field: "artifact path",
                    value: path.to_string(),
                    rule: "it is a symbolic link whose target does not exist".into(),
                }
                .into())
            }
            Err(e) => return Err(Error::io(link, e)),
        };
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(self.outside(path, &real))
        }
    }

    /// The real path of the existing artifact at `path`, or None when there
    /// is none. A path through a temporary name is treated as missing.
    fn existing(&self, path: &str) -> Result<Option<PathBuf>> {
        validate::artifact_path(path)?;
        if path.split('/').any(is_temp_name) {
            return Ok(None);
        }
        let joined = self.root.join(path);
        match joined.canonicalize() {
            Ok(real) if real.starts_with(&self.root) => Ok(Some(real)),
            Ok(real) => Err(self.outside(path, &real)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::io(&joined, e)),
        }
    }

    fn file_in_the_way(&self, path: &str) -> Error {
        ValidationError::InvalidValue {
            field: "artifact path",
            value: path.to_string(),
            rule: format!(
                "an artifact file of run {} already has this path; it cannot also be a directory",
                self.run_id
            ),
        }
        .into()
    }

    /// The entries of `dir` (a real path inside the root) that can be
    /// served: no temporary files, no names that are not UTF-8, no symbolic
    /// links leading outside the root or nowhere, nothing but files and
    /// directories.
    fn entries(&self, dir: &Path) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if is_temp_name(&name) {
                continue;
            }
            let mut real = entry.path();
            let kind = entry.file_type().map_err(|e| Error::io(&real, e))?;
            if kind.is_symlink() {
                match real.canonicalize() {
                    Ok(target) if target.starts_with(&self.root) => real = target,
                    _ => continue,
                }
            }
            let meta = match fs::metadata(&real) {
                Ok(meta) => meta,
                // Removed since it was listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(&real, e)),
            };
            if meta.is_dir() || meta.is_file() {
                entries.push(Entry {
                    name,
                    real,
                    is_dir: meta.is_dir(),
                    size: meta.is_file().then_some(meta.len()),
                });
            }
        }
        Ok(entries)
    }

    /// Copies the served tree under `dir` into the local directory `dest`;
    /// `ancestors` holds the real directories being copied, to stop a cycle
    /// of symbolic links.
    fn copy_out(&self, dir: &Path, dest: &Path, ancestors: &mut Vec<PathBuf>) -> Result<()> {
        for entry in self.entries(dir)? {
            let target = dest.join(&entry.name);
            if entry.is_dir {
                fs::create_dir_all(&target).map_err(|e| Error::io(&target, e))?;
                // A link back to a directory being copied stays empty.
                if ancestors.contains(&entry.real) {
                    continue;
                }
                ancestors.push(entry.real.clone());
                self.copy_out(&entry.real, &target, ancestors)?;
                ancestors.pop();
            } else {
                let source = Source::open_file(&entry.real)?;
                write_atomic(dest, entry.name.as_ref(), |file| source.copy_into(file))?;
            }
        }
        Ok(())
    }
}

/// A run's artifact directory opened for writing. Every directory below it
/// is reached from this handle one name at a time, opened without following
/// symbolic links, so that a path component replaced by a link while a
/// write runs cannot send the write elsewhere. A link that a person made
/// inside the run is followed by resolving it and walking to its target
/// again from the root, only while that target is inside the root.
struct RunWriter {
    arts: RunArtifacts,
    top: Dir,
}

/// A directory inside a run's artifact directory, open, with its real path
/// relative to the root (links resolved).
struct Opened {
    dir: Dir,
    real: PathBuf,
}

/// Steps a walk may take (names opened again after a change under them,
/// links followed) before it gives up: a directory swapped with a link over
/// and over, or links leading to links, cannot keep a write going forever.
const WALK_BUDGET: u32 = 64;

impl std::ops::Deref for RunWriter {
    type Target = RunArtifacts;

    fn deref(&self) -> &RunArtifacts {
        &self.arts
    }
}

impl RunWriter {
    fn top(&self) -> Result<Opened> {
        Ok(Opened {
            dir: self.top.try_clone()?,
            real: PathBuf::new(),
        })
    }

    /// Opens the directories `under` below the root, one at a time, creating
    /// the missing ones, and returns the last. An existing symbolic link is
    /// followed only while it stays inside the root, so nothing is ever
    /// created or written outside it.
    fn make_dirs(&self, under: &[&str]) -> Result<Opened> {
        let mut dir = self.top()?;
        let mut budget = WALK_BUDGET;
        for (i, part) in under.iter().enumerate() {
            dir = self.make_dir(&dir, part.as_ref(), &under[..=i].join("/"), &mut budget)?;
        }
        Ok(dir)
    }

    /// The directory `name` in `parent`, opened, created when missing;
    /// `path` is the artifact path it was asked for, for errors.
    fn make_dir(
        &self,
        parent: &Opened,
        name: &OsStr,
        path: &str,
        budget: &mut u32,
    ) -> Result<Opened> {
        let at = || parent.dir.child_path(name);
        loop {
            self.spend(budget, path)?;
            let failure = match parent.dir.open_dir(name) {
                Ok(dir) => {
                    return Ok(Opened {
                        dir,
                        real: parent.real.join(name),
                    })
                }
                Err(e) => e,
            };
            if failure.kind() == io::ErrorKind::NotFound {
                match parent.dir.make_dir(name) {
                    Ok(()) => parent.dir.sync()?,
                    // Another writer made it first: open it.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(Error::io(at(), e)),
                }
                continue;
            }
            match parent.dir.kind(name).map_err(|e| Error::io(at(), e))? {
                Kind::Symlink => return self.follow_dir(parent, name, path, budget),
                Kind::File | Kind::Other => return Err(self.file_in_the_way(path)),
                // Replaced since the open failed: look again.
                Kind::Dir | Kind::Missing => {}
            }
        }
    }

    /// The directory that the link `name` in `parent` leads to, when it is
    /// inside the root: resolved, then walked to from the root again, each
    /// step checked as any other.
    fn follow_dir(
        &self,
        parent: &Opened,
        name: &OsStr,
        path: &str,
        budget: &mut u32,
    ) -> Result<Opened> {
        let real = self.follow(&self.root.join(&parent.real).join(name), path)?;
        let below = real.strip_prefix(&self.root).unwrap_or(Path::new(""));
        let mut dir = self.top()?;
        for part in below {
            dir = self.make_dir(&dir, part, path, budget)?;
        }
        Ok(dir)
    }

    fn spend(&self, budget: &mut u32, path: &str) -> Result<()> {
        if *budget == 0 {
            return Err(ValidationError::InvalidValue {
                field: "artifact path",
                value: path.to_string(),
                rule: format!(
                    "it kept changing while it was opened ({WALK_BUDGET} steps: a directory \
                     replaced by a symbolic link and back, or links leading to links); \
                     nothing was written there"
                ),
            }
            .into());
        }
        *budget -= 1;
        Ok(())
    }

    /// Writes the file `name` into `dir` atomically; `path` is its artifact
    /// path, for errors. A link of that name is replaced, never written
    /// through, and only when it leads inside the root, as a write through
    /// it would.
    fn write(
        &self,
        dir: &Opened,
        path: &str,
        name: &str,
        fill: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> Result<()> {
        let kind = dir
            .dir
            .kind(name.as_ref())
            .map_err(|e| Error::io(dir.dir.child_path(name), e))?;
        match kind {
            Kind::Symlink => {
                self.follow(&self.root.join(&dir.real).join(name), path)?;
            }
            Kind::Dir => {
                return Err(ValidationError::InvalidValue {
                    field: "artifact path",
                    value: path.to_string(),
                    rule: format!(
                        "a directory of artifacts of run {} already has this path; it cannot also be a file",
                        self.run_id
                    ),
                }
                .into())
            }
            _ => {}
        }
        dir.dir.write_atomic(name.as_ref(), fill)
    }

    /// Writes a checked local tree into `dir`, whose artifact path is `path`.
    fn write_tree(&self, dir: &Opened, path: &str, nodes: &[Node]) -> Result<()> {
        for node in nodes {
            match node {
                Node::File { name, source } => {
                    let source = Source::open_file(source)?;
                    self.write(dir, &child_path(path, name), name, |file| {
                        source.copy_into(file)
                    })?;
                }
                Node::Dir { name, children } => {
                    let child = child_path(path, name);
                    let mut budget = WALK_BUDGET;
                    let sub = self.make_dir(dir, name.as_ref(), &child, &mut budget)?;
                    self.write_tree(&sub, &child, children)?;
                }
            }
        }
        Ok(())
    }
}

fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}
