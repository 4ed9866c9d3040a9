//! An artifact file's bytes without reading it into memory: the file is
//! mapped read-only, so that hashing and uploading a checkpoint of many
//! gigabytes goes through the page cache, not through a buffer of its
//! size. Artifacts are replaced by rename, never rewritten in place, so a
//! mapping keeps seeing the file it opened.

use std::ops::Deref;
use std::path::Path;

use memmap2::Mmap;

use crate::error::Result;

/// The bytes of one file.
pub(crate) enum FileBytes {
    /// Mapped.
    Mapped(Mmap),
    /// Empty (a mapping cannot be of length 0).
    Empty,
}

impl FileBytes {
    /// Maps the file at `path`.
    pub fn open(path: &Path) -> Result<FileBytes> {
        let io = |e: std::io::Error| tracklite::Error::Io {
            path: path.to_path_buf(),
            source: e,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        if file.metadata().map_err(io)?.len() == 0 {
            return Ok(FileBytes::Empty);
        }
        // SAFETY: the mapping is read-only and private to this process; the
        // store replaces artifact files by rename, so the mapped file is not
        // truncated under it.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        Ok(FileBytes::Mapped(map))
    }
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Empty => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_read_back_whole_and_empty_files_are_empty() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("big"), &big).unwrap();
        std::fs::write(dir.path().join("empty"), b"").unwrap();
        assert_eq!(
            &*FileBytes::open(&dir.path().join("big")).unwrap(),
            &big[..]
        );
        assert!(FileBytes::open(&dir.path().join("empty"))
            .unwrap()
            .is_empty());
        let missing = FileBytes::open(&dir.path().join("missing")).err().unwrap();
        assert!(missing.to_string().contains("missing"), "{missing}");
    }
}
