//! Byte layout of the metric log. `docs/format.md` is the prose version of
//! this file; the two change together.

/// The log is addressed in pages of this size; blocks start on page boundaries.
pub const PAGE: u64 = 4096;
/// Magic number at the start of the file.
pub const FILE_MAGIC: [u8; 8] = *b"TRKLMLOG";
/// Magic number at the start of every block.
pub const BLOCK_MAGIC: [u8; 8] = *b"TRKLBLK1";
/// The newest log format this code reads and writes.
pub const LOG_VERSION: u32 = 1;
/// Size of one metric point on disk.
pub const RECORD_SIZE: usize = 32;
/// Size of the block header; records follow it.
pub const BLOCK_HEADER_SIZE: usize = 64;
/// Byte offset, in the file header, of the shared page allocator.
pub const NEXT_PAGE_OFFSET: usize = 64;
/// A series' blocks double in size from one page up to this many pages (1 MiB).
pub const MAX_BLOCK_PAGES: u32 = 256;

/// Number of record slots in a block of `pages` pages.
pub fn capacity(pages: u32) -> usize {
    (pages as usize * PAGE as usize - BLOCK_HEADER_SIZE) / RECORD_SIZE
}

/// Size of the `n`-th block (0-based) a writer claims for one series.
pub fn block_pages(n: u32) -> u32 {
    1u32.checked_shl(n).unwrap_or(u32::MAX).min(MAX_BLOCK_PAGES)
}

/// The file header: magic, version, page size, record size and a checksum.
/// The allocator (`next_page`) lives at [`NEXT_PAGE_OFFSET`], outside the
/// checksum because every writer changes it.
pub fn encode_file_header() -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0..8].copy_from_slice(&FILE_MAGIC);
    h[8..12].copy_from_slice(&LOG_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(PAGE as u32).to_le_bytes());
    h[16..20].copy_from_slice(&(RECORD_SIZE as u32).to_le_bytes());
    let crc = crc32c::crc32c(&h[0..20]);
    h[20..24].copy_from_slice(&crc.to_le_bytes());
    h
}

/// What the file header says, once its magic and checksum are verified.
#[derive(Debug, PartialEq, Eq)]
pub enum FileHeader {
    Valid { version: u32 },
    NotALog(&'static str),
}

pub fn decode_file_header(h: &[u8]) -> FileHeader {
    if h.len() < 24 || h[0..8] != FILE_MAGIC {
        return FileHeader::NotALog("the magic number is missing");
    }
    let crc = u32::from_le_bytes(h[20..24].try_into().unwrap());
    if crc32c::crc32c(&h[0..20]) != crc {
        return FileHeader::NotALog("the header checksum does not match");
    }
    let version = u32::from_le_bytes(h[8..12].try_into().unwrap());
    let page = u32::from_le_bytes(h[12..16].try_into().unwrap());
    let record = u32::from_le_bytes(h[16..20].try_into().unwrap());
    if version <= LOG_VERSION && (page as u64 != PAGE || record as usize != RECORD_SIZE) {
        return FileHeader::NotALog("the page or record size is not the one this version uses");
    }
    FileHeader::Valid { version }
}

/// The header at the start of each block: which series owns it, where it is,
/// how large, and who wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    pub series_id: u64,
    pub first_page: u64,
    pub pages: u32,
    pub writer_pid: u32,
    pub created_ms: i64,
}

impl BlockHeader {
    pub fn encode(&self) -> [u8; BLOCK_HEADER_SIZE] {
        let mut h = [0u8; BLOCK_HEADER_SIZE];
        h[0..8].copy_from_slice(&BLOCK_MAGIC);
        h[8..16].copy_from_slice(&self.series_id.to_le_bytes());
        h[16..24].copy_from_slice(&self.first_page.to_le_bytes());
        h[24..28].copy_from_slice(&self.pages.to_le_bytes());
        h[28..32].copy_from_slice(&self.writer_pid.to_le_bytes());
        h[32..40].copy_from_slice(&self.created_ms.to_le_bytes());
        let crc = crc32c::crc32c(&h[0..60]);
        h[60..64].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Decodes a block header; `None` when the magic or checksum is wrong.
    pub fn decode(h: &[u8]) -> Option<BlockHeader> {
        if h.len() < BLOCK_HEADER_SIZE || h[0..8] != BLOCK_MAGIC {
            return None;
        }
        let crc = u32::from_le_bytes(h[60..64].try_into().unwrap());
        if crc32c::crc32c(&h[0..60]) != crc {
            return None;
        }
        let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap());
        let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap());
        let pages = u32_at(24);
        if pages == 0 || pages > MAX_BLOCK_PAGES {
            return None;
        }
        Some(BlockHeader {
            series_id: u64_at(8),
            first_page: u64_at(16),
            pages,
            writer_pid: u32_at(28),
            created_ms: u64_at(32) as i64,
        })
    }

    /// The checksum seed of this block's records: a record copied into
    /// another block, or another series, fails its checksum.
    pub fn record_seed(&self) -> u32 {
        let mut b = [0u8; 16];
        b[0..8].copy_from_slice(&self.series_id.to_le_bytes());
        b[8..16].copy_from_slice(&self.first_page.to_le_bytes());
        crc32c::crc32c(&b)
    }
}

/// One metric point as stored: step, timestamp, value bits, slot number + 1
/// (never zero, so an all-zero slot is never a valid record) and a CRC-32C.
#[inline(always)]
pub fn encode_record(
    seed: u32,
    slot: u32,
    step: i64,
    timestamp: i64,
    value: f64,
) -> [u8; RECORD_SIZE] {
    let mut r = [0u8; RECORD_SIZE];
    r[0..8].copy_from_slice(&step.to_le_bytes());
    r[8..16].copy_from_slice(&timestamp.to_le_bytes());
    r[16..24].copy_from_slice(&value.to_bits().to_le_bytes());
    r[24..28].copy_from_slice(&(slot + 1).to_le_bytes());
    let crc = super::crc::record_crc(seed, r[0..28].try_into().unwrap());
    r[28..32].copy_from_slice(&crc.to_le_bytes());
    r
}

/// What one record slot holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slot {
    /// Never written.
    Empty,
    /// Written but damaged, torn, or not this slot's record.
    Invalid,
    Point {
        step: i64,
        timestamp: i64,
        value: f64,
    },
}

#[inline(always)]
pub fn decode_record(seed: u32, slot: u32, r: &[u8]) -> Slot {
    decode_record_with(seed, slot, r, super::crc::record_crc)
}

/// [`decode_record`] with the CRC computed by `record_crc`, so that a
/// caller compiled for SSE 4.2 inlines the instructions.
#[inline(always)]
pub fn decode_record_with(
    seed: u32,
    slot: u32,
    r: &[u8],
    record_crc: impl Fn(u32, &[u8; 28]) -> u32,
) -> Slot {
    let r: &[u8; RECORD_SIZE] = r.try_into().expect("a record is 32 bytes");
    let crc = u32::from_le_bytes(r[28..32].try_into().unwrap());
    let marker = u32::from_le_bytes(r[24..28].try_into().unwrap());
    if marker == slot + 1 && record_crc(seed, r[0..28].try_into().unwrap()) == crc {
        return Slot::Point {
            step: i64::from_le_bytes(r[0..8].try_into().unwrap()),
            timestamp: i64::from_le_bytes(r[8..16].try_into().unwrap()),
            value: f64::from_bits(u64::from_le_bytes(r[16..24].try_into().unwrap())),
        };
    }
    if r.iter().all(|&b| b == 0) {
        Slot::Empty
    } else {
        Slot::Invalid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_exact_bits() {
        let seed = 0xdead_beef;
        for v in [
            0.0,
            -0.0,
            1.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ] {
            let r = encode_record(seed, 7, -3, 1_700_000_000_000, v);
            match decode_record(seed, 7, &r) {
                Slot::Point {
                    step,
                    timestamp,
                    value,
                } => {
                    assert_eq!((step, timestamp), (-3, 1_700_000_000_000));
                    assert_eq!(value.to_bits(), v.to_bits());
                }
                other => panic!("decoded {other:?}"),
            }
        }
    }

    #[test]
    fn damage_and_misplacement_are_detected() {
        let r = encode_record(1, 0, 1, 2, 3.0);
        assert_eq!(
            decode_record(2, 0, &r),
            Slot::Invalid,
            "another block's seed"
        );
        assert_eq!(decode_record(1, 1, &r), Slot::Invalid, "another slot");
        for byte in 0..RECORD_SIZE {
            for bit in 0..8 {
                let mut d = r;
                d[byte] ^= 1 << bit;
                assert_eq!(
                    decode_record(1, 0, &d),
                    Slot::Invalid,
                    "byte {byte} bit {bit}"
                );
            }
        }
        assert_eq!(decode_record(1, 0, &[0u8; RECORD_SIZE]), Slot::Empty);
    }

    #[test]
    fn headers_round_trip() {
        let h = BlockHeader {
            series_id: 9,
            first_page: 12,
            pages: 4,
            writer_pid: 77,
            created_ms: 5,
        };
        assert_eq!(BlockHeader::decode(&h.encode()), Some(h));
        let mut bad = h.encode();
        bad[10] ^= 1;
        assert_eq!(BlockHeader::decode(&bad), None);
        assert_eq!(
            decode_file_header(&encode_file_header()),
            FileHeader::Valid { version: 1 }
        );
        assert_eq!(capacity(1), 126);
        assert_eq!(block_pages(0), 1);
        assert_eq!(block_pages(9), 256);
        assert_eq!(block_pages(40), 256);
    }
}
