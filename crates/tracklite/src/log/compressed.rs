//! Compressed blocks: what compaction rewrites a finished series into.
//!
//! A compressed block holds up to [`MAX_POINTS`] points as one zstd frame of
//! three columns: steps and timestamps as zig-zag varint deltas, values as
//! the XOR of each value's bits with the previous one's, split into eight
//! byte planes. Training curves have regular steps, close timestamps and
//! values whose sign, exponent and high mantissa bits rarely change, so
//! every column compresses well.

use super::format::{MAX_BLOCK_PAGES, PAGE};

/// Magic number of a compressed block.
pub const MAGIC: [u8; 8] = *b"TRKLZBK1";
/// Size of the compressed block header.
pub const HEADER_SIZE: usize = 64;
/// Most points in one compressed block: even incompressible data fits in
/// the largest block.
pub const MAX_POINTS: usize = 32_768;
/// zstd level: a good ratio at a speed well above the log's read rate.
const LEVEL: i32 = 9;

/// The header of a compressed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZHeader {
    pub series_id: u64,
    pub first_page: u64,
    pub pages: u32,
    pub points: u32,
    pub payload_len: u32,
    pub payload_crc: u32,
    pub created_ms: i64,
}

impl ZHeader {
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut h = [0u8; HEADER_SIZE];
        h[0..8].copy_from_slice(&MAGIC);
        h[8..16].copy_from_slice(&self.series_id.to_le_bytes());
        h[16..24].copy_from_slice(&self.first_page.to_le_bytes());
        h[24..28].copy_from_slice(&self.pages.to_le_bytes());
        h[28..32].copy_from_slice(&self.points.to_le_bytes());
        h[32..36].copy_from_slice(&self.payload_len.to_le_bytes());
        h[36..40].copy_from_slice(&self.payload_crc.to_le_bytes());
        h[40..48].copy_from_slice(&self.created_ms.to_le_bytes());
        let crc = crc32c::crc32c(&h[0..60]);
        h[60..64].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Decodes a compressed block header; `None` unless magic, checksum and
    /// sizes are right.
    pub fn decode(h: &[u8]) -> Option<ZHeader> {
        if h.len() < HEADER_SIZE || h[0..8] != MAGIC {
            return None;
        }
        let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap());
        if crc32c::crc32c(&h[0..60]) != u32_at(60) {
            return None;
        }
        let z = ZHeader {
            series_id: u64_at(8),
            first_page: u64_at(16),
            pages: u32_at(24),
            points: u32_at(28),
            payload_len: u32_at(32),
            payload_crc: u32_at(36),
            created_ms: u64_at(40) as i64,
        };
        let fits = (HEADER_SIZE as u64 + z.payload_len as u64) <= z.pages as u64 * PAGE;
        let sane = z.pages >= 1 && z.pages <= MAX_BLOCK_PAGES && z.points as usize <= MAX_POINTS;
        (fits && sane).then_some(z)
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*at)?;
        *at += 1;
        v |= ((b & 0x7f) as u64) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Serialises points (step, timestamp, value) into the uncompressed columns.
fn columns(points: &[(i64, i64, f64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * 12);
    let mut prev = 0i64;
    for &(step, _, _) in points {
        put_varint(&mut out, zigzag(step.wrapping_sub(prev)));
        prev = step;
    }
    prev = 0;
    for &(_, ts, _) in points {
        put_varint(&mut out, zigzag(ts.wrapping_sub(prev)));
        prev = ts;
    }
    let mut prev_bits = 0u64;
    let start = out.len();
    out.resize(start + points.len() * 8, 0);
    for (i, &(_, _, v)) in points.iter().enumerate() {
        let x = v.to_bits() ^ prev_bits;
        prev_bits = v.to_bits();
        for plane in 0..8 {
            out[start + plane * points.len() + i] = (x >> (plane * 8)) as u8;
        }
    }
    out
}

fn parse_columns(raw: &[u8], n: usize, mut on_point: impl FnMut(i64, i64, f64)) -> Option<()> {
    let mut at = 0;
    let mut steps = Vec::with_capacity(n);
    let mut prev = 0i64;
    for _ in 0..n {
        prev = prev.wrapping_add(unzigzag(get_varint(raw, &mut at)?));
        steps.push(prev);
    }
    let mut timestamps = Vec::with_capacity(n);
    prev = 0;
    for _ in 0..n {
        prev = prev.wrapping_add(unzigzag(get_varint(raw, &mut at)?));
        timestamps.push(prev);
    }
    let planes = raw.get(at..at + n * 8)?;
    if at + n * 8 != raw.len() {
        return None;
    }
    let mut prev_bits = 0u64;
    for i in 0..n {
        let mut x = 0u64;
        for plane in 0..8 {
            x |= (planes[plane * n + i] as u64) << (plane * 8);
        }
        prev_bits ^= x;
        on_point(steps[i], timestamps[i], f64::from_bits(prev_bits));
    }
    Some(())
}

/// A compressed block ready to be written: header and payload, padded to
/// whole pages. `first_page` is filled in by [`finish`].
pub struct Encoded {
    pub header: ZHeader,
    payload: Vec<u8>,
}

impl Encoded {
    /// Compresses up to [`MAX_POINTS`] points of `series_id`.
    pub fn new(series_id: u64, points: &[(i64, i64, f64)]) -> std::io::Result<Encoded> {
        assert!(points.len() <= MAX_POINTS, "too many points for one block");
        let payload = zstd::bulk::compress(&columns(points), LEVEL)?;
        let pages = (HEADER_SIZE + payload.len()).div_ceil(PAGE as usize) as u32;
        assert!(
            pages <= MAX_BLOCK_PAGES,
            "a compressed block fits the largest block"
        );
        Ok(Encoded {
            header: ZHeader {
                series_id,
                first_page: 0,
                pages,
                points: points.len() as u32,
                payload_len: payload.len() as u32,
                payload_crc: crc32c::crc32c(&payload),
                created_ms: crate::entities::now_ms(),
            },
            payload,
        })
    }

    /// The block's bytes, placed at `first_page`.
    pub fn finish(&mut self, first_page: u64) -> Vec<u8> {
        self.header.first_page = first_page;
        let mut bytes = Vec::with_capacity(self.header.pages as usize * PAGE as usize);
        bytes.extend_from_slice(&self.header.encode());
        bytes.extend_from_slice(&self.payload);
        bytes.resize(self.header.pages as usize * PAGE as usize, 0);
        bytes
    }
}

/// Verifies and decodes a compressed block's payload. `None` when the
/// payload is damaged: then none of its points is served.
pub fn decode(h: &ZHeader, payload: &[u8], on_point: impl FnMut(i64, i64, f64)) -> Option<()> {
    if payload.len() != h.payload_len as usize || crc32c::crc32c(payload) != h.payload_crc {
        return None;
    }
    let n = h.points as usize;
    let raw = zstd::bulk::decompress(payload, n * 28 + 64).ok()?;
    parse_columns(&raw, n, on_point)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(n: usize) -> Vec<(i64, i64, f64)> {
        // A training curve: steps 0..n, a point every ~37 ms with jitter,
        // a loss decaying with noise, as float32 values widened to f64.
        let mut seed = 42u64;
        let mut noise = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        let mut ts = 1_764_000_000_000i64;
        (0..n)
            .map(|i| {
                ts += 30 + (noise().abs() * 15.0) as i64;
                let loss = 2.0 * (-(i as f64) / 3000.0).exp() + 0.05 * noise();
                (i as i64, ts, loss as f32 as f64)
            })
            .collect()
    }

    #[test]
    fn round_trips_exact_bits() {
        let mut pts = curve(5000);
        pts.push((-4, i64::MIN, f64::NAN));
        pts.push((i64::MAX, i64::MAX, f64::NEG_INFINITY));
        pts.push((0, 0, -0.0));
        let mut e = Encoded::new(3, &pts).unwrap();
        let bytes = e.finish(17);
        let h = ZHeader::decode(&bytes).unwrap();
        assert_eq!(
            (h.series_id, h.first_page, h.points),
            (3, 17, pts.len() as u32)
        );
        let mut out = Vec::new();
        decode(
            &h,
            &bytes[HEADER_SIZE..HEADER_SIZE + h.payload_len as usize],
            |s, t, v| out.push((s, t, v.to_bits())),
        )
        .unwrap();
        let want: Vec<_> = pts.iter().map(|&(s, t, v)| (s, t, v.to_bits())).collect();
        assert_eq!(out, want);
    }

    #[test]
    fn a_typical_training_curve_takes_at_most_8_bytes_a_point() {
        let pts = curve(MAX_POINTS);
        let mut e = Encoded::new(1, &pts).unwrap();
        let on_disk = e.finish(1).len();
        let per_point = on_disk as f64 / pts.len() as f64;
        eprintln!("compressed training curve: {per_point:.2} bytes per point");
        assert!(per_point <= 8.0, "{per_point:.2} bytes per point");
    }

    #[test]
    fn damage_rejects_the_whole_block() {
        let pts = curve(100);
        let mut e = Encoded::new(1, &pts).unwrap();
        let mut bytes = e.finish(1);
        let h = ZHeader::decode(&bytes).unwrap();
        bytes[HEADER_SIZE + 5] ^= 1;
        let payload = &bytes[HEADER_SIZE..HEADER_SIZE + h.payload_len as usize];
        assert!(decode(&h, payload, |_, _, _| panic!("served a damaged point")).is_none());
        bytes[3] ^= 1;
        assert!(ZHeader::decode(&bytes).is_none());
    }
}
