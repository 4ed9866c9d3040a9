//! Downsampling a metric history for a chart: M4-style, per equal-width x
//! bucket the first, last, lowest and highest point, so that a line drawn
//! through them covers the same pixels as one drawn through every point.
//!
//! The points are fed one at a time, in the order logged, twice: the first
//! pass ([`Extent`]) counts the points in range and finds their x range;
//! the second ([`Buckets`]) keeps at most five points per bucket. Memory is
//! bounded by the number of buckets, never by the length of the series.

use serde::Serialize;

/// What a chart puts on its x axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum XAxis {
    /// The point's step.
    Step,
    /// The point's timestamp, in milliseconds since the Unix epoch.
    Time,
}

impl XAxis {
    /// The x of a point logged at `step` and `timestamp`.
    #[inline]
    pub fn of(self, step: i64, timestamp: i64) -> i64 {
        match self {
            XAxis::Step => step,
            XAxis::Time => timestamp,
        }
    }
}

/// How [`Store::metric_history_downsampled`](crate::Store::metric_history_downsampled)
/// reduces a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Downsample {
    /// Step or time on the x axis. Default: step.
    pub x: XAxis,
    /// How many equal-width x buckets the range is cut into (about one per
    /// pixel of the chart's width); at least 1. Default: 1,000.
    pub buckets: usize,
    /// Points with a smaller x are left out; `None`: no lower bound.
    pub x_min: Option<i64>,
    /// Points with a greater x are left out; `None`: no upper bound.
    pub x_max: Option<i64>,
}

impl Default for Downsample {
    fn default() -> Self {
        Downsample {
            x: XAxis::Step,
            buckets: 1_000,
            x_min: None,
            x_max: None,
        }
    }
}

impl Downsample {
    /// True when `x` is inside the asked range (bounds included).
    #[inline]
    pub(crate) fn contains(&self, x: i64) -> bool {
        self.x_min.is_none_or(|lo| x >= lo) && self.x_max.is_none_or(|hi| x <= hi)
    }
}

/// A metric history reduced for a chart: x and y columns in ascending x
/// order (points of equal x in the order logged).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DownsampledSeries {
    /// Each kept point's x (step, or timestamp in ms).
    pub x: Vec<i64>,
    /// Each kept point's value; NaN and ±inf are kept as logged.
    pub y: Vec<f64>,
    /// How many points of the series are inside the asked x range.
    pub count: u64,
    /// False when every point in range is returned; true when only each
    /// bucket's chosen points are.
    pub downsampled: bool,
}

/// The first pass: counts the points in range and finds their x range.
/// While the points in range stay few (at most `keep_below`), it keeps them
/// all, so that a short series needs no second pass.
#[derive(Debug)]
pub(crate) struct Extent {
    pub count: u64,
    pub lo: i64,
    pub hi: i64,
    /// Every point in range, (x, y), in the order logged, while `count` is
    /// at most `keep_below`; cleared past it.
    kept: Vec<(i64, f64)>,
    keep_below: usize,
}

impl Extent {
    pub fn new(keep_below: usize) -> Self {
        Extent {
            count: 0,
            lo: i64::MAX,
            hi: i64::MIN,
            kept: Vec::new(),
            keep_below,
        }
    }

    /// Takes one point that is inside the range.
    #[inline]
    pub fn add(&mut self, x: i64, y: f64) {
        self.count += 1;
        self.lo = self.lo.min(x);
        self.hi = self.hi.max(x);
        if self.count as usize <= self.keep_below {
            self.kept.push((x, y));
        } else if !self.kept.is_empty() {
            self.kept = Vec::new();
        }
    }

    /// Every point in range, sorted by x (stable: equal x keep the order
    /// logged); `None` when there were more than `keep_below`.
    pub fn into_all(self) -> Option<DownsampledSeries> {
        if self.count as usize > self.keep_below {
            return None;
        }
        let mut points = self.kept;
        points.sort_by_key(|p| p.0);
        Some(DownsampledSeries {
            x: points.iter().map(|p| p.0).collect(),
            y: points.iter().map(|p| p.1).collect(),
            count: self.count,
            downsampled: false,
        })
    }
}

/// A point as the second pass keeps it: its x, its position in the order
/// logged (to order points of equal x, and to drop a point chosen twice),
/// and its value.
#[derive(Debug, Clone, Copy)]
struct Chosen {
    x: i64,
    ordinal: u64,
    y: f64,
}

impl Chosen {
    #[inline]
    fn before(&self, other: &Chosen) -> bool {
        (self.x, self.ordinal) < (other.x, other.ordinal)
    }
}

/// One bucket's chosen points: the first and last by x, the lowest and
/// highest finite value (ties: the first by x), and the first non-finite
/// point (NaN or ±inf), so that a gap or an overflow stays visible.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    first: Option<Chosen>,
    last: Option<Chosen>,
    min: Option<Chosen>,
    max: Option<Chosen>,
    non_finite: Option<Chosen>,
}

impl Bucket {
    #[inline]
    fn add(&mut self, p: Chosen) {
        if self.first.is_none_or(|f| p.before(&f)) {
            self.first = Some(p);
        }
        if self.last.is_none_or(|l| l.before(&p)) {
            self.last = Some(p);
        }
        if !p.y.is_finite() {
            if self.non_finite.is_none_or(|n| p.before(&n)) {
                self.non_finite = Some(p);
            }
            return;
        }
        let lower = |m: Chosen| p.y < m.y || (p.y == m.y && p.before(&m));
        let higher = |m: Chosen| p.y > m.y || (p.y == m.y && p.before(&m));
        if self.min.is_none_or(lower) {
            self.min = Some(p);
        }
        if self.max.is_none_or(higher) {
            self.max = Some(p);
        }
    }
}

/// The second pass: sorts points in `[lo, hi]` into equal-width buckets.
///
/// Point `x` belongs to bucket `(x - lo) * buckets / span` (integer
/// division, `span = hi - lo + 1`). A 128-bit division per point costs
/// more than the rest of the pass, so the bucket is estimated in floating
/// point and corrected against the buckets' exact first offsets.
#[derive(Debug)]
pub(crate) struct Buckets {
    lo: i64,
    /// hi - lo + 1, wide enough for any two i64.
    span: u128,
    /// `starts[b]`: the smallest offset from `lo` in bucket b; one more
    /// entry, `span`, ends the last bucket.
    starts: Vec<u128>,
    /// buckets / span, for the estimate.
    scale: f64,
    buckets: Vec<Bucket>,
    next_ordinal: u64,
    count: u64,
}

impl Buckets {
    pub fn new(lo: i64, hi: i64, buckets: usize) -> Self {
        assert!(lo <= hi && buckets > 0);
        let span = (hi as i128 - lo as i128 + 1) as u128;
        let n = buckets as u128;
        // The smallest o with o * n / span >= b is ceil(b * span / n).
        let starts = (0..=n).map(|b| (b * span).div_ceil(n)).collect();
        Buckets {
            lo,
            span,
            starts,
            scale: buckets as f64 / span as f64,
            buckets: vec![Bucket::default(); buckets],
            next_ordinal: 0,
            count: 0,
        }
    }

    /// Takes the next point in the order logged; points outside `[lo, hi]`
    /// (logged since the first pass) are counted as seen but not kept.
    #[inline]
    pub fn add(&mut self, x: i64, y: f64) {
        let ordinal = self.next_ordinal;
        self.next_ordinal += 1;
        let offset = x as i128 - self.lo as i128;
        if offset < 0 || offset as u128 >= self.span {
            return;
        }
        self.count += 1;
        let i = self.bucket_of(offset as u128);
        self.buckets[i].add(Chosen { x, ordinal, y });
    }

    /// The bucket of an offset in `[0, span)`.
    #[inline]
    fn bucket_of(&self, offset: u128) -> usize {
        let last = self.buckets.len() - 1;
        let mut i = ((offset as f64 * self.scale) as usize).min(last);
        while offset < self.starts[i] {
            i -= 1;
        }
        while offset >= self.starts[i + 1] {
            i += 1;
        }
        i
    }

    /// The chosen points of every bucket, in x order, each once.
    pub fn finish(self) -> DownsampledSeries {
        let mut out = DownsampledSeries {
            count: self.count,
            downsampled: true,
            ..DownsampledSeries::default()
        };
        let mut chosen: Vec<Chosen> = Vec::with_capacity(5);
        for b in &self.buckets {
            chosen.clear();
            chosen.extend(
                [b.first, b.min, b.max, b.non_finite, b.last]
                    .into_iter()
                    .flatten(),
            );
            chosen.sort_by_key(|p| (p.x, p.ordinal));
            chosen.dedup_by_key(|p| p.ordinal);
            for p in &chosen {
                out.x.push(p.x);
                out.y.push(p.y);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn downsample(points: &[(i64, f64)], buckets: usize) -> DownsampledSeries {
        let mut extent = Extent::new(2 * buckets);
        for &(x, y) in points {
            extent.add(x, y);
        }
        let (lo, hi) = (extent.lo, extent.hi);
        if let Some(all) = extent.into_all() {
            return all;
        }
        let mut b = Buckets::new(lo, hi, buckets);
        for &(x, y) in points {
            b.add(x, y);
        }
        b.finish()
    }

    #[test]
    fn a_short_series_is_returned_whole_in_x_order() {
        let s = downsample(&[(3, 0.3), (1, 0.1), (2, f64::NAN), (1, 0.15)], 2);
        assert_eq!(s.x, [1, 1, 2, 3]);
        assert_eq!(s.y[..2], [0.1, 0.15]);
        assert!(s.y[2].is_nan());
        assert_eq!((s.count, s.downsampled), (4, false));
    }

    #[test]
    fn each_bucket_keeps_first_last_min_max() {
        // 10 points in 2 buckets (x 0..=4 and 5..=9).
        let ys = [5.0, 9.0, 1.0, 7.0, 6.0, 2.0, 3.0, 8.0, 0.5, 4.0];
        let points: Vec<(i64, f64)> = ys.iter().enumerate().map(|(i, &y)| (i as i64, y)).collect();
        let s = downsample(&points, 2);
        assert!(s.downsampled);
        assert_eq!(s.count, 10);
        assert_eq!(s.x, [0, 1, 2, 4, 5, 7, 8, 9]);
        assert_eq!(s.y, [5.0, 9.0, 1.0, 6.0, 2.0, 8.0, 0.5, 4.0]);
    }

    #[test]
    fn non_finite_values_are_never_min_or_max_but_stay_visible() {
        let points = [
            (0, 1.0),
            (1, f64::INFINITY),
            (2, 3.0),
            (3, f64::NAN),
            (4, 2.0),
            (5, f64::NEG_INFINITY),
            (6, 0.0),
        ];
        let s = downsample(&points, 1);
        // first (0), max 3.0 (2), the first non-finite (+inf at 1), min 0.0
        // which is also the last (6).
        assert_eq!(s.x, [0, 1, 2, 6]);
        assert_eq!(s.y, [1.0, f64::INFINITY, 3.0, 0.0]);
    }

    #[test]
    fn the_bucket_estimate_is_exact() {
        for (lo, hi, n) in [
            (0i64, 9i64, 2usize),
            (0, 999_999, 1_000),
            (-7, 1_234_567, 997),
            (1_700_000_000_000, 1_700_000_999_999, 10_000),
            (i64::MIN, i64::MAX, 3),
        ] {
            let b = Buckets::new(lo, hi, n);
            let span = hi as i128 - lo as i128 + 1;
            let step = (span / 5_000).max(1);
            let mut offset = 0i128;
            while offset < span {
                for o in [offset, (offset - 1).max(0), (offset + 1).min(span - 1)] {
                    let exact = (o * n as i128 / span) as usize;
                    assert_eq!(b.bucket_of(o as u128), exact, "{lo} {hi} {n} at {o}");
                }
                offset += step;
            }
            assert_eq!(b.bucket_of((span - 1) as u128), n - 1);
            // Either side of every boundary.
            for k in 1..n as i128 {
                let first = (k * span + n as i128 - 1) / n as i128;
                assert_eq!(b.bucket_of(first as u128), k as usize, "{lo} {hi} {n}");
                assert_eq!(
                    b.bucket_of(first as u128 - 1),
                    k as usize - 1,
                    "{lo} {hi} {n}"
                );
            }
        }
    }

    #[test]
    fn extreme_x_do_not_overflow() {
        let mut points: Vec<(i64, f64)> = (0..100).map(|i| (i, i as f64)).collect();
        points.push((i64::MIN, -1.0));
        points.push((i64::MAX, 1.0));
        let s = downsample(&points, 4);
        assert_eq!(s.x.first(), Some(&i64::MIN));
        assert_eq!(s.x.last(), Some(&i64::MAX));
        assert_eq!(s.count, 102);
    }
}
