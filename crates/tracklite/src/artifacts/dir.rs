//! Open directory handles, and the calls relative to them (`openat`,
//! `mkdirat`, `renameat`, `unlinkat`, `fstatat`), so that a
//! walk below a directory cannot be sent elsewhere by a path component
//! that is replaced with a symbolic link while the walk runs: every step
//! opens one name in a directory already opened, and never follows a link.
//!
//! These calls are POSIX (Linux and macOS alike); the paths kept beside the
//! handles serve error messages only.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What a name in a directory is, the name itself (not a link's target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Missing,
    Dir,
    File,
    Symlink,
    /// A device, socket or pipe.
    Other,
}

/// An open directory, and the path it was reached by (for messages).
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

fn c_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a file name cannot hold a NUL character",
        )
    })
}

/// The result of a call that returns -1 and sets errno on failure.
fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Flags of a directory opened for walking: never a link's target.
const DIR_FLAGS: libc::c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;

impl Dir {
    /// Opens the directory at `path`. Links on the way are followed: the
    /// path itself is trusted (a store's or a run's artifact root).
    pub(crate) fn open(path: &Path) -> Result<Dir> {
        let c_path = c_name(path.as_os_str()).map_err(|e| Error::io(path, e))?;
        // SAFETY: `c_path` is a NUL-terminated string that lives until the
        // call returns; `open` keeps no pointer to it.
        let fd = check(unsafe { libc::open(c_path.as_ptr(), DIR_FLAGS) })
            .map_err(|e| Error::io(path, e))?;
        Ok(Dir {
            // SAFETY: `open` succeeded, so `fd` is a new descriptor that
            // nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: path.to_path_buf(),
        })
    }

    /// The path this directory was reached by.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in this directory, for messages.
    pub(crate) fn child_path(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.path.join(name.as_ref())
    }

    /// A second handle on the same directory.
    pub(crate) fn try_clone(&self) -> Result<Dir> {
        Ok(Dir {
            fd: self.fd.try_clone().map_err(|e| Error::io(&self.path, e))?,
            path: self.path.clone(),
        })
    }

    /// Opens `name`, a directory in this one. A symbolic link is not
    /// followed: opening one fails (ELOOP, or ENOTDIR on some systems).
    pub(crate) fn open_dir(&self, name: &OsStr) -> io::Result<Dir> {
        let c = c_name(name)?;
        // SAFETY: `self.fd` is an open directory for the whole call and
        // `c` a NUL-terminated string that outlives it.
        let fd = check(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                DIR_FLAGS | libc::O_NOFOLLOW,
            )
        })?;
        Ok(Dir {
            // SAFETY: `openat` succeeded: a new descriptor nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: self.child_path(name),
        })
    }

    /// Opens `name`, a file in this one, for reading, without following a
    /// symbolic link.
    pub(crate) fn open_file(&self, name: &OsStr) -> io::Result<File> {
        self.open_at(name, libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC, 0)
    }

    fn open_at(&self, name: &OsStr, flags: libc::c_int, mode: libc::mode_t) -> io::Result<File> {
        let c = c_name(name)?;
        // SAFETY: `self.fd` is an open directory for the whole call and
        // `c` a NUL-terminated string that outlives it; `mode` is passed
        // as the variadic argument `openat` reads when O_CREAT is set.
        let fd = check(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                flags,
                libc::c_uint::from(mode),
            )
        })?;
        // SAFETY: `openat` succeeded: a new descriptor nothing else owns.
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Creates the directory `name` in this one (mode 0777 less the umask).
    pub(crate) fn make_dir(&self, name: &OsStr) -> io::Result<()> {
        let c = c_name(name)?;
        // SAFETY: `self.fd` is an open directory for the whole call and
        // `c` a NUL-terminated string that outlives it.
        check(unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o777) })?;
        Ok(())
    }

    /// Opens the directory `name` in this one, creating it when missing and
    /// syncing this directory then. A symbolic link, a file or anything else
    /// in its place is an error naming the path. (Only the mlruns importer
    /// copies whole trees this way.)
    #[cfg(feature = "mlruns-import")]
    pub(crate) fn open_or_make_dir(&self, name: &OsStr) -> Result<Dir> {
        let path = self.child_path(name);
        for _ in 0..RETRIES {
            match self.open_dir(name) {
                Ok(dir) => return Ok(dir),
                Err(e) if e.kind() == io::ErrorKind::NotFound => match self.make_dir(name) {
                    Ok(()) => self.sync()?,
                    // Another writer made it first.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(Error::io(&path, e)),
                },
                Err(e) => {
                    let why = match self.kind(name).map_err(|e| Error::io(&path, e))? {
                        Kind::Symlink => {
                            "is a symbolic link; only real directories are written into"
                        }
                        Kind::File | Kind::Other => "is not a directory",
                        // Changed since: look again.
                        Kind::Dir | Kind::Missing => continue,
                    };
                    return Err(Error::io(&path, io::Error::new(e.kind(), why)));
                }
            }
        }
        Err(Error::io(&path, changing()))
    }

    /// What `name` is in this directory, links not followed.
    pub(crate) fn kind(&self, name: &OsStr) -> io::Result<Kind> {
        let c = c_name(name)?;
        let mut stat = MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `self.fd` is an open directory and `c` a NUL-terminated
        // string, both valid for the call; `stat` points to writable memory
        // the size of a `struct stat`.
        let rc = unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                stat.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if let Err(e) = check(rc) {
            return match e.kind() {
                io::ErrorKind::NotFound => Ok(Kind::Missing),
                _ => Err(e),
            };
        }
        // SAFETY: `fstatat` succeeded, so it filled in the whole struct.
        let mode = unsafe { stat.assume_init() }.st_mode & libc::S_IFMT;
        Ok(match mode {
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFREG => Kind::File,
            libc::S_IFLNK => Kind::Symlink,
            _ => Kind::Other,
        })
    }

    /// Removes the file (not a directory) `name` from this directory.
    pub(crate) fn remove_file(&self, name: &OsStr) -> io::Result<()> {
        let c = c_name(name)?;
        // SAFETY: `self.fd` is an open directory and `c` a NUL-terminated
        // string, both valid for the call.
        check(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) })?;
        Ok(())
    }

    /// Renames `from` onto `to`, both in this directory. A link named `to`
    /// is replaced, never followed.
    fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        let (from, to) = (c_name(from)?, c_name(to)?);
        let fd = self.fd.as_raw_fd();
        // SAFETY: `fd` is an open directory and both names NUL-terminated
        // strings, all valid for the call.
        check(unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) })?;
        Ok(())
    }

    /// Makes this directory's new entries durable.
    pub(crate) fn sync(&self) -> Result<()> {
        // SAFETY: `self.fd` is an open descriptor for the whole call.
        check(unsafe { libc::fsync(self.fd.as_raw_fd()) }).map_err(|e| Error::io(&self.path, e))?;
        Ok(())
    }

    /// Writes the file `name` in this directory through a hidden temporary
    /// file (`.<name>.tmp-<random>`, created new, never through a link):
    /// filled, synced, renamed onto `name`, then this directory synced. The
    /// writer holds an exclusive lock on the temporary file until it is
    /// renamed, so that `gc` can tell it from one a killed writer left.
    /// On failure the temporary file is removed and `name` is unchanged.
    pub(crate) fn write_atomic(
        &self,
        name: &OsStr,
        fill: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> Result<()> {
        let temp = super::files::temp_name(name);
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        let mut file = self
            .open_at(&temp, flags, 0o666)
            .map_err(|e| Error::io(self.child_path(&temp), e))?;
        let written = file
            .lock()
            .and_then(|()| fill(&mut file))
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(self.child_path(&temp), e))
            .and_then(|()| {
                self.rename(&temp, name)
                    .map_err(|e| Error::io(self.child_path(name), e))
            });
        if written.is_err() {
            let _ = self.remove_file(&temp);
        }
        drop(file);
        written?;
        self.sync()
    }
}

/// How many times a step is tried again when the name it works on changes
/// under it (a directory replaced and put back) before giving up.
#[cfg(feature = "mlruns-import")]
pub(crate) const RETRIES: usize = 64;

/// The error of a name that kept changing while it was being opened.
#[cfg(feature = "mlruns-import")]
pub(crate) fn changing() -> io::Error {
    io::Error::new(
        io::ErrorKind::Interrupted,
        "kept being replaced while it was opened; try again",
    )
}
