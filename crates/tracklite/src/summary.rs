//! A series' running summary: point count, latest point, min and max.

/// Summary of a run of metric points, mergeable in any order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SeriesSummary {
    pub count: u64,
    /// The latest point: (step, timestamp, value).
    pub latest: Option<(i64, i64, f64)>,
    /// Min and max of the non-NaN values.
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// MLflow's SQL store compares NaN as 0 when it picks the latest point
/// (NaN is stored as 0 with an is_nan flag); doing the same keeps
/// `latest` identical to MLflow's.
fn comparable(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// True when `a` is later than `b`: by step, then timestamp, then value.
pub fn is_later(a: (i64, i64, f64), b: (i64, i64, f64)) -> bool {
    (a.0, a.1) > (b.0, b.1) || ((a.0, a.1) == (b.0, b.1) && comparable(a.2) > comparable(b.2))
}

impl SeriesSummary {
    #[inline]
    pub fn add(&mut self, step: i64, timestamp: i64, value: f64) {
        self.count += 1;
        let point = (step, timestamp, value);
        match self.latest {
            Some(latest) if !is_later(point, latest) => {}
            _ => self.latest = Some(point),
        }
        if !value.is_nan() {
            self.min = Some(self.min.map_or(value, |m| m.min(value)));
            self.max = Some(self.max.map_or(value, |m| m.max(value)));
        }
    }

    pub fn merge(&mut self, other: &SeriesSummary) {
        self.count += other.count;
        if let Some(p) = other.latest {
            match self.latest {
                Some(latest) if !is_later(p, latest) => {}
                _ => self.latest = Some(p),
            }
        }
        for v in other.min.into_iter().chain(other.max) {
            self.min = Some(self.min.map_or(v, |m| m.min(v)));
            self.max = Some(self.max.map_or(v, |m| m.max(v)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_is_max_by_step_timestamp_value() {
        let mut s = SeriesSummary::default();
        s.add(5, 100, 1.0);
        s.add(3, 900, 9.0);
        s.add(5, 100, 0.5);
        s.add(5, 100, 2.0);
        assert_eq!(s.latest, Some((5, 100, 2.0)));
        assert_eq!((s.min, s.max, s.count), (Some(0.5), Some(9.0), 4));
    }

    #[test]
    fn nan_is_kept_but_ignored_by_min_max() {
        let mut s = SeriesSummary::default();
        s.add(1, 1, f64::NAN);
        assert!(s.latest.unwrap().2.is_nan());
        assert_eq!((s.min, s.max), (None, None));
        s.add(1, 1, -1.0);
        assert!(s.latest.unwrap().2.is_nan(), "NaN compares as 0, above -1");
        s.add(1, 1, f64::INFINITY);
        assert_eq!(s.latest.unwrap().2, f64::INFINITY);
        assert_eq!((s.min, s.max), (Some(-1.0), Some(f64::INFINITY)));
    }

    #[test]
    fn merge_equals_sequential_adds() {
        let pts = [(1, 5, 0.3), (2, 1, f64::NAN), (2, 1, 0.7), (0, 9, -4.0)];
        let mut all = SeriesSummary::default();
        let (mut a, mut b) = (SeriesSummary::default(), SeriesSummary::default());
        for (i, &(s, t, v)) in pts.iter().enumerate() {
            all.add(s, t, v);
            if i % 2 == 0 {
                a.add(s, t, v)
            } else {
                b.add(s, t, v)
            }
        }
        a.merge(&b);
        assert_eq!(a.count, all.count);
        assert_eq!(a.latest, all.latest);
        assert_eq!((a.min, a.max), (all.min, all.max));
    }
}
