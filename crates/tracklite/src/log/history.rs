//! Reading a series' history: its blocks, in order, through [`ReadAt`].
//!
//! Every byte is copied out of the file by positioned reads, never read in
//! place from a mapping: the newest block of a series may still be appended
//! to by a writer in another process, and a reference into bytes that change
//! under it is undefined behaviour. The reads also go through the same seam
//! that fault tests replace, so a short read, an I/O error or torn bytes
//! in a history read can be injected and checked.

use std::io;

use super::file::ReadAt;
use super::reader::{scan_block, scan_buffer, BlockRef, Stop};

/// Calls `on_point(step, timestamp, value)` for every valid point of
/// `blocks`, in order. Damaged or torn records are skipped, never served; a
/// block the file ends before, or whose header is not its own, has no
/// points. An I/O error ends the read and is returned.
pub fn read_series<R: ReadAt + ?Sized>(
    io: &R,
    blocks: impl IntoIterator<Item = BlockRef>,
    mut on_point: impl FnMut(i64, i64, f64),
) -> io::Result<()> {
    let mut buf = scan_buffer();
    for block in blocks {
        scan_block(io, &mut buf, block, 0, Stop::AtEnd, &mut on_point)?;
    }
    Ok(())
}

/// Decodes the points of `blocks` straight into columns that have room for
/// exactly as many points as the index counts in them. `Ok(false)` when the
/// blocks do not hold exactly that many valid points (a damaged record or
/// header, a short file): the caller then reads them with [`read_series`].
pub fn read_series_into<R: ReadAt + ?Sized>(
    io: &R,
    blocks: &[BlockRef],
    steps: &mut [i64],
    timestamps: &mut [i64],
    values: &mut [f64],
) -> io::Result<bool> {
    assert!(steps.len() == timestamps.len() && steps.len() == values.len());
    let mut buf = scan_buffer();
    let mut i = 0;
    for &block in blocks {
        let mut overflow = false;
        let scan = scan_block(io, &mut buf, block, 0, Stop::AtEnd, |step, ts, value| {
            if i < steps.len() {
                steps[i] = step;
                timestamps[i] = ts;
                values[i] = value;
                i += 1;
            } else {
                overflow = true;
            }
        })?;
        if overflow || scan.invalid > 0 || !scan.header_ok {
            return Ok(false);
        }
    }
    Ok(i == steps.len())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::log::format::{BLOCK_HEADER_SIZE, PAGE, RECORD_SIZE};
    use crate::log::{LogFile, OpenBlock};

    /// A series of three blocks (1, 2 and 4 pages) written by the real
    /// writer into a real log file: 126 + 254 + 510 points.
    struct Series {
        _dir: tempfile::TempDir,
        log: LogFile,
        blocks: Vec<BlockRef>,
        points: usize,
    }

    fn series() -> Series {
        let dir = tempfile::tempdir().unwrap();
        let log = LogFile::open(&dir.path().join("metrics.log")).unwrap();
        let mut blocks = Vec::new();
        let mut step = 0i64;
        for pages in [1, 2, 4] {
            let first_page = log.allocate(pages).unwrap();
            let mut open = OpenBlock::create(&log, 7, first_page, pages).unwrap();
            while open.append(step, 1_700_000_000_000 + step, step as f64 * 0.5) {
                step += 1;
            }
            blocks.push(BlockRef {
                series_id: 7,
                first_page: open.header.first_page,
                pages,
            });
        }
        Series {
            _dir: dir,
            log,
            blocks,
            points: step as usize,
        }
    }

    /// What goes wrong, and at which call of `read_at`.
    #[derive(Clone, Copy)]
    enum Fault {
        None,
        /// The call fails with an I/O error.
        Error {
            at_call: u32,
        },
        /// The call returns at most this many bytes (as at the end of the file).
        Short {
            at_call: u32,
            bytes: usize,
        },
        /// One bit of the byte at this file offset reads flipped.
        Torn {
            offset: u64,
        },
    }

    /// The real log file behind the seam, with one injected fault.
    struct Faulty<'a> {
        log: &'a LogFile,
        fault: Fault,
        calls: Cell<u32>,
    }

    impl<'a> Faulty<'a> {
        fn new(log: &'a LogFile, fault: Fault) -> Self {
            Faulty {
                log,
                fault,
                calls: Cell::new(0),
            }
        }
    }

    impl ReadAt for Faulty<'_> {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let call = self.calls.get();
            self.calls.set(call + 1);
            match self.fault {
                Fault::Error { at_call } if call == at_call => {
                    Err(io::Error::other("injected I/O error"))
                }
                Fault::Short { at_call, bytes } if call == at_call => {
                    let n = buf.len().min(bytes);
                    self.log.read_at(&mut buf[..n], offset)
                }
                Fault::Torn { offset: at } => {
                    let n = self.log.read_at(buf, offset)?;
                    if (offset..offset + n as u64).contains(&at) {
                        buf[(at - offset) as usize] ^= 0x10;
                    }
                    Ok(n)
                }
                _ => self.log.read_at(buf, offset),
            }
        }
    }

    fn read(s: &Series, fault: Fault) -> io::Result<Vec<(i64, i64, f64)>> {
        let io = Faulty::new(&s.log, fault);
        let mut out = Vec::new();
        read_series(&io, s.blocks.iter().copied(), |st, t, v| {
            out.push((st, t, v))
        })?;
        Ok(out)
    }

    fn read_into(s: &Series, fault: Fault) -> io::Result<bool> {
        let io = Faulty::new(&s.log, fault);
        let n = s.points;
        let (mut st, mut t, mut v) = (vec![0; n], vec![0; n], vec![0.0; n]);
        let complete = read_series_into(&io, &s.blocks, &mut st, &mut t, &mut v)?;
        if complete {
            for i in 0..n {
                assert_eq!((st[i], t[i], v[i]), expected(i as i64));
            }
        }
        Ok(complete)
    }

    fn expected(step: i64) -> (i64, i64, f64) {
        (step, 1_700_000_000_000 + step, step as f64 * 0.5)
    }

    /// File offset of record `slot` of block `b` of the series.
    fn record_offset(s: &Series, b: usize, slot: u64) -> u64 {
        s.blocks[b].first_page * PAGE + BLOCK_HEADER_SIZE as u64 + slot * RECORD_SIZE as u64
    }

    #[test]
    fn a_clean_read_serves_every_point_in_order() {
        let s = series();
        assert_eq!(s.points, 126 + 254 + 510);
        let out = read(&s, Fault::None).unwrap();
        let want: Vec<_> = (0..s.points as i64).map(expected).collect();
        assert_eq!(out, want);
        assert!(read_into(&s, Fault::None).unwrap());
    }

    #[test]
    fn an_io_error_in_a_history_read_is_returned() {
        let s = series();
        // Call 0 reads the first block's header; later calls read records
        // and the other blocks.
        for at_call in [0, 1, 3, 5] {
            let err = read(&s, Fault::Error { at_call }).unwrap_err();
            assert_eq!(err.to_string(), "injected I/O error", "call {at_call}");
            let err = read_into(&s, Fault::Error { at_call }).unwrap_err();
            assert_eq!(err.to_string(), "injected I/O error", "call {at_call}");
        }
    }

    #[test]
    fn a_short_read_serves_only_whole_valid_records() {
        let s = series();
        // Call 1 reads the first block's records: cut it inside record 3.
        let out = read(
            &s,
            Fault::Short {
                at_call: 1,
                bytes: 3 * RECORD_SIZE + 5,
            },
        )
        .unwrap();
        // The first block ends after 3 points; the other two are whole.
        let want: Vec<_> = (0..3).chain(126..s.points as i64).map(expected).collect();
        assert_eq!(out, want);
        // The column read notices the missing points and gives up.
        let short = Fault::Short {
            at_call: 1,
            bytes: 3 * RECORD_SIZE + 5,
        };
        assert!(!read_into(&s, short).unwrap());
    }

    #[test]
    fn a_short_header_read_drops_only_that_block() {
        let s = series();
        // Call 2 reads the second block's header (calls 0 and 1 were the
        // first block's header and records).
        let short = Fault::Short {
            at_call: 2,
            bytes: 10,
        };
        let out = read(&s, short).unwrap();
        let want: Vec<_> = (0..126).chain(380..s.points as i64).map(expected).collect();
        assert_eq!(out, want);
        assert!(!read_into(&s, short).unwrap());
    }

    #[test]
    fn torn_bytes_are_skipped_never_served() {
        let s = series();
        // A flipped bit in the value of record 40 of the third block.
        let torn = Fault::Torn {
            offset: record_offset(&s, 2, 40) + 17,
        };
        let out = read(&s, torn).unwrap();
        let lost = 126 + 254 + 40;
        let want: Vec<_> = (0..s.points as i64)
            .filter(|&i| i != lost)
            .map(expected)
            .collect();
        assert_eq!(out, want);
        assert!(!read_into(&s, torn).unwrap());
        // A torn block header hides that block's points, and only those.
        let torn_header = Fault::Torn {
            offset: s.blocks[1].first_page * PAGE + 9,
        };
        let out = read(&s, torn_header).unwrap();
        let want: Vec<_> = (0..126).chain(380..s.points as i64).map(expected).collect();
        assert_eq!(out, want);
        assert!(!read_into(&s, torn_header).unwrap());
    }
}
