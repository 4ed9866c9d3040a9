//! SHA-256 digests of artifact files, remembered by file identity (size,
//! modification time, inode) so that a watching export, which looks at
//! every artifact of its runs every few seconds, reads and hashes a file
//! only when it is new or was replaced (artifacts are replaced by rename,
//! which gives a new inode and time).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::artifacts::sha256_hex;
use crate::error::Result;
use crate::file_bytes::FileBytes;

/// What identifies one version of a file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    size: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Identity {
    fn of(path: &Path) -> Option<Identity> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(Identity {
            size: m.len(),
            modified: m.modified().ok(),
            inode: m.ino(),
        })
    }
}

/// A file's identity when it was hashed, its size and its digest.
type Known = (Identity, u64, String);

/// Digests known so far, per (run id, artifact path).
#[derive(Debug, Default)]
pub(crate) struct Digests {
    known: Mutex<HashMap<(String, String), Known>>,
}

impl Digests {
    /// The size and SHA-256 (hex) of file `path` of folder `key` (a run
    /// id, a logged model id), on disk at `full`, from memory when the file
    /// is unchanged since it was last hashed; `read` reads it otherwise.
    pub(crate) fn of(
        &self,
        key: &str,
        path: &str,
        full: &Path,
        read: impl FnOnce() -> Result<FileBytes>,
    ) -> Result<(u64, String)> {
        let key = (key.to_string(), path.to_string());
        let identity = Identity::of(full);
        if let Some(id) = identity {
            if let Some((known, size, digest)) = self.known.lock().unwrap().get(&key) {
                if *known == id {
                    return Ok((*size, digest.clone()));
                }
            }
        }
        let bytes = read()?;
        let (size, digest) = (bytes.len() as u64, sha256_hex(&bytes));
        // Remembered only when the file did not change while it was read.
        if let Some(id) = identity.filter(|id| id.size == size) {
            self.known
                .lock()
                .unwrap()
                .insert(key, (id, size, digest.clone()));
        }
        Ok((size, digest))
    }
}
