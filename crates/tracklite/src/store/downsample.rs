//! Reading a metric history downsampled for a chart.

use super::Store;
use crate::downsample::{Buckets, Downsample, DownsampledSeries, Extent};
use crate::error::{Result, ValidationError};

impl Store {
    /// Metric `key` of a run reduced for a chart of `how.buckets` pixels:
    /// when the points inside `[x_min, x_max]` are at most twice as many as
    /// the buckets, all of them; otherwise, for each of `buckets`
    /// equal-width x buckets, its first and last point by x, its lowest and
    /// highest finite value and its first non-finite one (NaN, ±inf), in x
    /// order. The bucket range is `[x_min, x_max]` where given, else the
    /// points' own. The log is read twice (range, then buckets; once when
    /// both bounds are given), never into one array of every point. A run
    /// with no such key has an empty series (count 0); an unknown run is an
    /// error.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use tracklite::{Downsample, NewRun, Store};
    /// let store = Store::open(dir.path())?;
    /// let run_id = store.create_run(NewRun::default())?.run_id;
    /// let mut writer = store.metric_writer(&run_id)?;
    /// for step in 0..10_000 {
    ///     writer.log("loss", 1.0 / (step + 1) as f64, 1_700_000_000_000, step)?;
    /// }
    /// writer.close()?;
    /// let how = Downsample { buckets: 100, ..Downsample::default() };
    /// let chart = store.metric_history_downsampled(&run_id, "loss", &how)?;
    /// assert!(chart.downsampled && chart.count == 10_000);
    /// assert!(chart.x.len() <= 4 * 100);
    /// assert_eq!((chart.x[0], chart.y[0]), (0, 1.0));
    /// # Ok::<(), tracklite::Error>(())
    /// ```
    pub fn metric_history_downsampled(
        &self,
        run_id: &str,
        key: &str,
        how: &Downsample,
    ) -> Result<DownsampledSeries> {
        if how.buckets == 0 {
            return Err(ValidationError::InvalidValue {
                field: "bucket count",
                value: "0".into(),
                rule: "must be at least 1".into(),
            }
            .into());
        }
        if let (Some(lo), Some(hi)) = (how.x_min, how.x_max) {
            if lo > hi {
                return Err(ValidationError::InvalidValue {
                    field: "x range",
                    value: format!("[{lo}, {hi}]"),
                    rule: "x_min must not be greater than x_max".into(),
                }
                .into());
            }
        }
        let (blocks, _) = self.series_blocks(run_id, key)?;
        let mut extent = Extent::new(how.buckets.saturating_mul(2));
        if let (Some(lo), Some(hi)) = (how.x_min, how.x_max) {
            // A zoomed chart knows its range: one pass fills both.
            let mut buckets = Buckets::new(lo, hi, how.buckets);
            self.scan_series(&blocks, |step, timestamp, value| {
                let x = how.x.of(step, timestamp);
                if how.contains(x) {
                    extent.add(x, value);
                }
                buckets.add(x, value);
            })?;
            return Ok(match extent.into_all() {
                Some(all) => all,
                None => buckets.finish(),
            });
        }
        self.scan_series(&blocks, |step, timestamp, value| {
            let x = how.x.of(step, timestamp);
            if how.contains(x) {
                extent.add(x, value);
            }
        })?;
        if extent.count == 0 {
            return Ok(DownsampledSeries::default());
        }
        let lo = how.x_min.unwrap_or(extent.lo);
        let hi = how.x_max.unwrap_or(extent.hi);
        if let Some(all) = extent.into_all() {
            return Ok(all);
        }
        let mut buckets = Buckets::new(lo, hi, how.buckets);
        self.scan_series(&blocks, |step, timestamp, value| {
            buckets.add(how.x.of(step, timestamp), value)
        })?;
        Ok(buckets.finish())
    }
}
