//! The downsampled history read against a brute-force reference: every
//! point read into memory, then each bucket's points chosen by sorting.

use tracklite::{Downsample, DownsampledSeries, NewRun, Store, XAxis};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// (step, timestamp, value) columns of a random series: steps mostly
/// ascending with some logged out of order and repeated, values with a few
/// NaN and ±inf.
fn random_series(rng: &mut Rng, n: usize) -> (Vec<i64>, Vec<i64>, Vec<f64>) {
    let mut steps = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    let mut step = 0i64;
    let mut time = 1_700_000_000_000i64;
    for _ in 0..n {
        step = match rng.below(20) {
            0 => step - rng.below(50) as i64,
            1 => step,
            _ => step + 1 + rng.below(3) as i64,
        };
        time += rng.below(5) as i64;
        let value = match rng.below(1000) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            _ => (rng.below(1_000_000) as f64 / 1000.0) - 500.0,
        };
        steps.push(step);
        times.push(time);
        values.push(value);
    }
    (steps, times, values)
}

/// What the downsampled read must return, computed from every point.
fn reference(points: &[(i64, i64, f64)], how: &Downsample) -> DownsampledSeries {
    // (x, ordinal, y) of the points in range.
    let mut in_range: Vec<(i64, u64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, &(s, t, v))| (how.x.of(s, t), i as u64, v))
        .filter(|p| how.x_min.is_none_or(|lo| p.0 >= lo) && how.x_max.is_none_or(|hi| p.0 <= hi))
        .collect();
    in_range.sort_by_key(|p| (p.0, p.1));
    let count = in_range.len() as u64;
    if in_range.is_empty() {
        return DownsampledSeries::default();
    }
    if in_range.len() <= 2 * how.buckets {
        return DownsampledSeries {
            x: in_range.iter().map(|p| p.0).collect(),
            y: in_range.iter().map(|p| p.2).collect(),
            count,
            downsampled: false,
        };
    }
    let lo = how.x_min.unwrap_or(in_range[0].0) as i128;
    let hi = how.x_max.unwrap_or(in_range[in_range.len() - 1].0) as i128;
    let span = hi - lo + 1;
    let mut out = DownsampledSeries {
        count,
        downsampled: true,
        ..Default::default()
    };
    // Sorted by x, the points of a bucket are consecutive.
    let bucket_of = |p: &(i64, u64, f64)| (p.0 as i128 - lo) * how.buckets as i128 / span;
    for bucket in in_range.chunk_by(|a, b| bucket_of(a) == bucket_of(b)) {
        let finite: Vec<&(i64, u64, f64)> = bucket.iter().filter(|p| p.2.is_finite()).collect();
        let mut chosen = vec![bucket[0], bucket[bucket.len() - 1]];
        // The first lowest and first highest value, in x order.
        if let Some(min) = finite
            .iter()
            .copied()
            .fold(None::<&(i64, u64, f64)>, |m, p| match m {
                Some(m) if m.2 <= p.2 => Some(m),
                _ => Some(p),
            })
        {
            chosen.push(*min);
        }
        if let Some(max) = finite
            .iter()
            .copied()
            .fold(None::<&(i64, u64, f64)>, |m, p| match m {
                Some(m) if m.2 >= p.2 => Some(m),
                _ => Some(p),
            })
        {
            chosen.push(*max);
        }
        if let Some(nf) = bucket.iter().find(|p| !p.2.is_finite()) {
            chosen.push(*nf);
        }
        chosen.sort_by_key(|p| (p.0, p.1));
        chosen.dedup_by_key(|p| p.1);
        for p in chosen {
            out.x.push(p.0);
            out.y.push(p.2);
        }
    }
    out
}

/// Equal, NaN included (NaN == NaN here).
fn assert_same(got: &DownsampledSeries, want: &DownsampledSeries, what: &str) {
    assert_eq!(got.count, want.count, "{what}: count");
    assert_eq!(got.downsampled, want.downsampled, "{what}: downsampled");
    assert_eq!(got.x, want.x, "{what}: x");
    let bits = |ys: &[f64]| ys.iter().map(|y| y.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got.y), bits(&want.y), "{what}: y");
}

fn store_with_series(
    n: usize,
    seed: u64,
) -> (tempfile::TempDir, Store, String, Vec<(i64, i64, f64)>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    let (steps, times, values) = random_series(&mut Rng(seed), n);
    let mut writer = store.metric_writer(&run_id).unwrap();
    writer.log_columns("m", &steps, &times, &values).unwrap();
    writer.close().unwrap();
    let points = steps
        .iter()
        .zip(&times)
        .zip(&values)
        .map(|((&s, &t), &v)| (s, t, v))
        .collect();
    (dir, store, run_id, points)
}

#[test]
fn random_series_match_the_reference() {
    for (seed, n) in [
        (1u64, 0usize),
        (2, 1),
        (3, 7),
        (4, 200),
        (5, 201),
        (6, 5_000),
        (7, 40_000),
    ] {
        let (_dir, store, run_id, points) = store_with_series(n, seed);
        for x in [XAxis::Step, XAxis::Time] {
            for buckets in [1, 3, 100, 1_000] {
                let mid = points.get(n / 2).map(|p| x.of(p.0, p.1));
                for (x_min, x_max) in [
                    (None, None),
                    (mid, None),
                    (None, mid),
                    (mid, mid.map(|m| m + 500)),
                ] {
                    let how = Downsample {
                        x,
                        buckets,
                        x_min,
                        x_max,
                    };
                    let got = store
                        .metric_history_downsampled(&run_id, "m", &how)
                        .unwrap();
                    let what = format!("seed {seed} n {n} {how:?}");
                    assert_same(&got, &reference(&points, &how), &what);
                }
            }
        }
    }
}

#[test]
fn a_million_points_match_the_reference() {
    let (_dir, store, run_id, points) = store_with_series(1_000_000, 42);
    for x in [XAxis::Step, XAxis::Time] {
        let how = Downsample {
            x,
            buckets: 1_000,
            ..Downsample::default()
        };
        let got = store
            .metric_history_downsampled(&run_id, "m", &how)
            .unwrap();
        assert_eq!(got.count, 1_000_000);
        assert!(got.x.len() <= 5 * 1_000, "{} points", got.x.len());
        assert!(got.x.windows(2).all(|w| w[0] <= w[1]), "x ascending");
        assert_same(&got, &reference(&points, &how), &format!("{how:?}"));
        // Zoomed in: a range in the middle, read in one pass.
        let mid = |i: usize| x.of(points[i].0, points[i].1);
        let zoomed = Downsample {
            x_min: Some(mid(300_000)),
            x_max: Some(mid(600_000)),
            ..how
        };
        let got = store
            .metric_history_downsampled(&run_id, "m", &zoomed)
            .unwrap();
        assert!(got.downsampled && got.count > 200_000, "{}", got.count);
        assert_same(&got, &reference(&points, &zoomed), &format!("{zoomed:?}"));
    }
}

#[test]
fn a_missing_key_is_an_empty_series_and_a_missing_run_an_error() {
    let (_dir, store, run_id, _) = store_with_series(10, 9);
    let got = store
        .metric_history_downsampled(&run_id, "no-such-key", &Downsample::default())
        .unwrap();
    assert_eq!(got, DownsampledSeries::default());
    let err = store
        .metric_history_downsampled(&"0".repeat(32), "m", &Downsample::default())
        .unwrap_err();
    assert!(matches!(err, tracklite::Error::NotFound { .. }), "{err:?}");
    let zero = Downsample {
        buckets: 0,
        ..Downsample::default()
    };
    let err = store
        .metric_history_downsampled(&run_id, "m", &zero)
        .unwrap_err();
    assert!(err.to_string().contains("bucket count"), "{err}");
    let inverted = Downsample {
        x_min: Some(5),
        x_max: Some(1),
        ..Downsample::default()
    };
    let err = store
        .metric_history_downsampled(&run_id, "m", &inverted)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid x range \"[5, 1]\": x_min must not be greater than x_max"
    );
}

#[test]
fn points_logged_after_a_read_appear_in_the_next_without_a_fold() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let run_id = store.create_run(NewRun::default()).unwrap().run_id;
    let mut writer = store.metric_writer(&run_id).unwrap();
    writer.log("loss", 1.0, 1_700_000_000_000, 0).unwrap();
    let reader = Store::open_read_only(store.path()).unwrap();
    let before = reader
        .metric_history_downsampled(&run_id, "loss", &Downsample::default())
        .unwrap();
    assert_eq!(before.y, [1.0]);
    writer.log("loss", 0.5, 1_700_000_000_001, 1).unwrap();
    let after = reader
        .metric_history_downsampled(&run_id, "loss", &Downsample::default())
        .unwrap();
    assert_eq!((after.x, after.y), (vec![0, 1], vec![1.0, 0.5]));
}
