//! Page checksums of the index: the format, and a scan of the files.
//!
//! Every page of `index.sqlite` (and every page image in a frame of
//! `index.sqlite-wal`) ends with [`RESERVE`] bytes that SQLite leaves to us
//! ("reserved bytes", a count kept in byte 20 of the database header). They
//! hold an 8-byte checksum of the rest of the page:
//!
//! ```text
//! page:  | body: page_size - 8 bytes                        | checksum |
//! checksum = u64 LE: a four-lane Fletcher-style sum of the body, folded
//! ```
//!
//! Checksums are on when, and only when, page 1 says the reserve is 8; a
//! store written before page checksums (reserve 0) has no room for them and
//! is not verified until it is migrated (`VACUUM` rewrites every page). Once
//! on, every page must verify: there is no exception for a zeroed page.
//!
//! The VFS in `checksum_vfs` seals pages on write and verifies them on read;
//! this file also scans the files directly, for `check`.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Reserved bytes per page that hold the checksum.
pub const RESERVE: u8 = 8;

/// Offset of the page size (u16 big-endian; 1 means 65536) in page 1.
pub(crate) const HEADER_PAGE_SIZE_OFFSET: usize = 16;
/// Offset of the reserved-bytes count (u8) in page 1.
pub(crate) const HEADER_RESERVE_OFFSET: usize = 20;
/// Offset of the database's size in pages (u32 big-endian) in page 1.
const HEADER_PAGE_COUNT_OFFSET: usize = 28;
/// Bytes of page 1 that must be read to know the page size and reserve.
pub(crate) const HEADER_NEEDED: usize = HEADER_RESERVE_OFFSET + 1;
/// What page 1 (and so the database file) starts with.
pub(crate) const HEADER_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The WAL file header: magic, version, page size, checkpoint sequence,
/// two salts, then its own checksum (two u32), all big-endian u32.
pub(crate) const WAL_HEADER_SIZE: usize = 32;
/// Offset of the header's checksum, which seeds frame 1's checksum.
pub(crate) const WAL_HEADER_CHECKSUM_OFFSET: usize = 24;
/// A frame header: page number, database size after commit (0 when not a
/// commit), the two salts, then the cumulative checksum (two u32).
pub(crate) const WAL_FRAME_HEADER_SIZE: usize = 24;
/// Offset of the database size field (commit marker) in a frame header.
pub(crate) const WAL_FRAME_COMMIT_OFFSET: usize = 4;
/// Offset of the salts in a frame header, which match the WAL header's.
pub(crate) const WAL_FRAME_SALT_OFFSET: usize = 8;
/// Offset of the cumulative checksum in a frame header.
pub(crate) const WAL_FRAME_CHECKSUM_OFFSET: usize = 16;
/// Offset of the salts in the WAL header.
const WAL_HEADER_SALT_OFFSET: usize = 16;
/// The WAL magic; its lowest bit says the checksum words are big-endian.
const WAL_MAGIC: u32 = 0x377f_0682;

/// The checksum of a page's body (all but its last [`RESERVE`] bytes,
/// a multiple of 8 long): a Fletcher-style sum in four lanes of 64-bit
/// words, folded into 64 bits.
///
/// Lane `i` takes the little-endian u64 words `i, i + 4, i + 8, ...`:
/// `a += w; b += a` (wrapping), so that a changed word changes `a` and a
/// moved word changes `b`. The fold mixes, in lane order, the body length,
/// then each lane's `a` and `b`. Four independent lanes keep it a few
/// times faster than a CRC on the read path, which runs on every page read.
pub(crate) fn checksum(body: &[u8]) -> [u8; 8] {
    let mut a = [0u64; LANES];
    let mut b = [0u64; LANES];
    let word = |w: &[u8]| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    let rows = body.chunks_exact(8 * LANES);
    let tail = rows.remainder();
    for row in rows {
        for (lane, w) in row.chunks_exact(8).enumerate() {
            a[lane] = a[lane].wrapping_add(word(w));
            b[lane] = b[lane].wrapping_add(a[lane]);
        }
    }
    for (lane, w) in tail.chunks_exact(8).enumerate() {
        a[lane] = a[lane].wrapping_add(word(w));
        b[lane] = b[lane].wrapping_add(a[lane]);
    }
    let mut h = FOLD_SEED ^ body.len() as u64;
    for lane in 0..LANES {
        h = (h ^ a[lane]).wrapping_mul(FOLD_A).rotate_left(29);
        h = (h ^ b[lane]).wrapping_mul(FOLD_B).rotate_left(31);
    }
    h.to_le_bytes()
}

/// Lanes of the page checksum.
const LANES: usize = 4;
/// Constants of the checksum's fold (odd, so that each multiply is a bijection).
const FOLD_SEED: u64 = 0x7472_6163_6b6c_6974; // "tracklit"
const FOLD_A: u64 = 0x9e37_79b9_7f4a_7c15;
const FOLD_B: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// Writes the checksum into the last [`RESERVE`] bytes of `page`.
pub(crate) fn seal(page: &mut [u8]) {
    let split = page.len() - RESERVE as usize;
    let sum = checksum(&page[..split]);
    page[split..].copy_from_slice(&sum);
}

/// True when the last [`RESERVE`] bytes of `page` hold its checksum.
pub(crate) fn verify(page: &[u8]) -> bool {
    let split = page.len() - RESERVE as usize;
    checksum(&page[..split])[..] == page[split..]
}

/// Page size and reserve read from the start of page 1; None when `head`
/// is not the start of an SQLite database.
pub(crate) fn header_layout(head: &[u8]) -> Option<(u32, u8)> {
    if head.len() < HEADER_NEEDED || !head.starts_with(HEADER_MAGIC) {
        return None;
    }
    let raw = u16::from_be_bytes([
        head[HEADER_PAGE_SIZE_OFFSET],
        head[HEADER_PAGE_SIZE_OFFSET + 1],
    ]);
    let size = if raw == 1 { 65536 } else { u32::from(raw) };
    if !(512..=65536).contains(&size) || !size.is_power_of_two() {
        return None;
    }
    Some((size, head[HEADER_RESERVE_OFFSET]))
}

/// SQLite's WAL checksum, continued from `s` over `data` (whose length is a
/// multiple of 8), in the word order the WAL's magic names.
pub(crate) fn wal_checksum(big_endian: bool, data: &[u8], s: (u32, u32)) -> (u32, u32) {
    let (mut s0, mut s1) = s;
    let word = |b: &[u8]| {
        let b = [b[0], b[1], b[2], b[3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    for pair in data.chunks_exact(8) {
        s0 = s0.wrapping_add(word(&pair[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(word(&pair[4..])).wrapping_add(s0);
    }
    (s0, s1)
}

/// True when the WAL's magic says its checksum words are big-endian; None
/// when `magic` is not a WAL magic.
pub(crate) fn wal_big_endian(magic: [u8; 4]) -> Option<bool> {
    let m = u32::from_be_bytes(magic);
    (m & !1 == WAL_MAGIC).then_some(m & 1 == 1)
}

pub(crate) fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A page whose checksum does not match, found by [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedPage {
    /// The file: `index.sqlite` or `index.sqlite-wal`.
    pub file: PathBuf,
    /// The database page number (1-based).
    pub page: u64,
    /// For the WAL, the frame (1-based) that holds the page image.
    pub frame: Option<u64>,
}

/// What a scan of the index files found.
#[derive(Debug, Default)]
pub struct Scan {
    /// False when the store has no page checksums (reserve 0: not migrated).
    pub checksummed: bool,
    /// Pages (and WAL frames) read.
    pub pages: u64,
    /// Those whose checksum does not match.
    pub damaged: Vec<DamagedPage>,
    /// WAL frames where SQLite's replay stops although committed frames of
    /// the same WAL follow: damage that made SQLite drop commits.
    pub broken_frames: Vec<BrokenFrame>,
}

/// A WAL frame that fails the WAL's own cumulative checksum, followed by
/// frames of the same WAL generation that include a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenFrame {
    /// The frame (1-based).
    pub frame: u64,
    /// How many frames of the same generation follow it.
    pub after: u64,
}

/// Reads every page of the database file at `path` and every frame of its
/// WAL that SQLite would replay (a valid chain of the current salts), and
/// verifies each page's checksum.
///
/// The files may change while they are read (another process's checkpoint
/// or commit): a page that does not verify is read again a few times, and
/// only one that stays damaged is reported.
pub fn scan(path: &Path) -> io::Result<Scan> {
    let db = std::fs::read(path)?;
    let mut out = Scan::default();
    let wal_path = wal_path(path);
    let wal = match std::fs::read(&wal_path) {
        Ok(w) => w,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    // The page size from the database file, else (a new index whose pages
    // are all still in the WAL) from the WAL's header.
    let from_db = header_layout(&db);
    let size = match from_db {
        Some((size, _)) => size,
        None if wal.len() >= WAL_HEADER_SIZE => be32(&wal[8..]),
        None => return Ok(out),
    };
    // Page 1 in the WAL is newer than the database file's.
    let (wal_frames, broken) = wal_frames(&wal, size as usize);
    out.broken_frames.extend(broken);
    let Some(reserve) = wal_frames
        .iter()
        .rev()
        .find(|f| f.page == 1)
        .and_then(|f| header_layout(f.image))
        .or(from_db)
        .map(|(_, r)| r)
    else {
        return Ok(out);
    };
    if reserve != RESERVE {
        return Ok(out);
    }
    out.checksummed = true;
    let size = size as usize;
    // A page with a committed frame in the WAL is read from there: its
    // copy in the database file may be stale (from before the migration)
    // or being checkpointed. Pages past the database's size are not pages.
    let in_wal: std::collections::HashSet<u64> = wal_frames.iter().map(|f| f.page).collect();
    let db_pages = wal_frames
        .last()
        .map(|f| f.db_size)
        .or_else(|| {
            db.get(HEADER_PAGE_COUNT_OFFSET..)
                .map(|h| u64::from(be32(h)))
        })
        .unwrap_or(0);
    for (i, page) in db.chunks_exact(size).enumerate() {
        let number = i as u64 + 1;
        if in_wal.contains(&number) || (db_pages != 0 && number > db_pages) {
            continue;
        }
        out.pages += 1;
        if !verify(page) && !verify_again(path, number, size)? {
            out.damaged.push(DamagedPage {
                file: path.to_path_buf(),
                page: number,
                frame: None,
            });
        }
    }
    for f in &wal_frames {
        out.pages += 1;
        if !verify(f.image) {
            out.damaged.push(DamagedPage {
                file: wal_path.clone(),
                page: f.page,
                frame: Some(f.frame),
            });
        }
    }
    Ok(out)
}

/// The WAL's path beside the database at `path`.
pub fn wal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Reads page `number` again, up to three times; true when it verifies.
fn verify_again(path: &Path, number: u64, size: usize) -> io::Result<bool> {
    use std::io::{Seek, SeekFrom};
    let mut page = vec![0u8; size];
    for _ in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut f = File::open(path)?;
        f.seek(SeekFrom::Start((number - 1) * size as u64))?;
        if f.read_exact(&mut page).is_ok() && verify(&page) {
            return Ok(true);
        }
    }
    Ok(false)
}

struct Frame<'a> {
    frame: u64,
    page: u64,
    /// The database's size in pages after this frame's commit, or 0.
    db_size: u64,
    image: &'a [u8],
}

/// The frames of `wal` that a recovering SQLite would keep: from the
/// start, while the salts match the header's and the cumulative checksum
/// holds, up to the last commit frame. A frame that breaks the chain ends
/// it, as it does for SQLite; when frames of the same generation with a
/// commit among them follow it, it is returned as broken.
fn wal_frames(wal: &[u8], size: usize) -> (Vec<Frame<'_>>, Option<BrokenFrame>) {
    let mut out = Vec::new();
    if wal.len() < WAL_HEADER_SIZE {
        return (out, None);
    }
    let Some(big) = wal_big_endian([wal[0], wal[1], wal[2], wal[3]]) else {
        return (out, None);
    };
    if be32(&wal[8..]) as usize != size {
        return (out, None);
    }
    let salts = &wal[WAL_HEADER_SALT_OFFSET..WAL_HEADER_SALT_OFFSET + 8];
    let mut s = (
        be32(&wal[WAL_HEADER_CHECKSUM_OFFSET..]),
        be32(&wal[WAL_HEADER_CHECKSUM_OFFSET + 4..]),
    );
    let mut pending = Vec::new();
    let frame_size = WAL_FRAME_HEADER_SIZE + size;
    let frames: Vec<&[u8]> = wal[WAL_HEADER_SIZE..].chunks_exact(frame_size).collect();
    let same_salts = |f: &[u8]| &f[WAL_FRAME_SALT_OFFSET..WAL_FRAME_SALT_OFFSET + 8] == salts;
    for (i, frame) in frames.iter().enumerate() {
        let (head, image) = frame.split_at(WAL_FRAME_HEADER_SIZE);
        if !same_salts(frame) {
            break;
        }
        s = wal_checksum(big, &head[..8], s);
        s = wal_checksum(big, image, s);
        if s.0 != be32(&head[WAL_FRAME_CHECKSUM_OFFSET..])
            || s.1 != be32(&head[WAL_FRAME_CHECKSUM_OFFSET + 4..])
        {
            let rest: Vec<&&[u8]> = frames[i + 1..]
                .iter()
                .take_while(|f| same_salts(f))
                .collect();
            let commit_follows = rest
                .iter()
                .any(|f| be32(&f[WAL_FRAME_COMMIT_OFFSET..]) != 0);
            let broken = commit_follows.then(|| BrokenFrame {
                frame: i as u64 + 1,
                after: rest.len() as u64,
            });
            return (out, broken);
        }
        pending.push(Frame {
            frame: i as u64 + 1,
            page: u64::from(be32(head)),
            db_size: u64::from(be32(&head[WAL_FRAME_COMMIT_OFFSET..])),
            image,
        });
        if be32(&head[WAL_FRAME_COMMIT_OFFSET..]) != 0 {
            out.append(&mut pending);
        }
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_page_verifies_and_a_changed_one_does_not() {
        let mut page = vec![7u8; 1024];
        assert!(!verify(&page));
        seal(&mut page);
        assert!(verify(&page));
        page[100] ^= 1;
        assert!(!verify(&page));
        let zero = vec![0u8; 1024];
        assert!(
            !verify(&zero),
            "a zeroed page is damage, not a page without a checksum"
        );
    }

    #[test]
    fn header_layout_reads_page_size_and_reserve() {
        let mut head = vec![0u8; 100];
        head[..16].copy_from_slice(HEADER_MAGIC);
        head[16..18].copy_from_slice(&1024u16.to_be_bytes());
        head[20] = 8;
        assert_eq!(header_layout(&head), Some((1024, 8)));
        head[16..18].copy_from_slice(&1u16.to_be_bytes());
        assert_eq!(header_layout(&head), Some((65536, 8)));
        head[0] = b'X';
        assert_eq!(header_layout(&head), None);
    }
}
