//! Timing for the benches that print their own medians (search, scale):
//! wall and CPU time of repeated warm calls.

use std::time::{Duration, Instant};

/// Calls a figure is the median of.
pub const REPEATS: usize = 25;

/// CPU time of this thread: on a shared machine it shows the work a call
/// does, which wall time mixes with waiting for a core.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Medians of wall and CPU time over [`REPEATS`] calls, and what the last
/// call found.
pub struct Timing {
    pub wall: Duration,
    pub cpu: Duration,
    pub found: usize,
}

/// Times `f` over [`REPEATS`] calls after `warm_ups` untimed ones.
pub fn median(warm_ups: usize, mut f: impl FnMut() -> usize) -> Timing {
    let mut found = 0;
    for _ in 0..warm_ups {
        found = f();
    }
    let mut walls = Vec::with_capacity(REPEATS);
    let mut cpus = Vec::with_capacity(REPEATS);
    for _ in 0..REPEATS {
        let (t, c) = (Instant::now(), thread_cpu());
        found = f();
        walls.push(t.elapsed());
        cpus.push(thread_cpu() - c);
    }
    walls.sort();
    cpus.sort();
    Timing {
        wall: walls[REPEATS / 2],
        cpu: cpus[REPEATS / 2],
        found,
    }
}
