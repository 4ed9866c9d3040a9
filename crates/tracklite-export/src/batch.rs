//! runs/log-batch bodies within MLflow's limits (`mlflow/utils/validation.py`
//! in MLflow 3.17): at most 1,000 metrics, 100 params, 100 tags, 1,000
//! entities in all, and a 1,000,000-byte body. Bodies are written as
//! text, point by point, with their size counted as they grow.

use std::fmt::Write as _;

/// Metrics per batch.
pub const MAX_METRICS: usize = 1000;
/// Params per batch, and tags per batch.
pub const MAX_PARAMS_TAGS: usize = 100;
/// Entities (metrics, params and tags) per batch.
pub const MAX_ENTITIES: usize = 1000;
/// Body size, in bytes; a little room is left below MLflow's 1,000,000.
pub const MAX_BODY: usize = 999_000;

/// Points of one series in a batch: `[start, end)` in the series' order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub key: String,
    pub start: u64,
    pub end: u64,
}

/// One runs/log-batch request being filled, and what it carries.
pub struct Batch {
    pub run: usize,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub segments: Vec<Segment>,
    metrics_json: String,
    params_json: String,
    tags_json: String,
    metrics: usize,
}

/// `s` as a JSON string.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A metric value as MLflow's JSON takes it: NaN and ±inf spelled as
/// protobuf's JSON spells them; finite values as the shortest decimal that
/// reads back as the same f64.
fn value_json(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("\"NaN\"");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        });
    } else {
        let _ = write!(out, "{v:?}");
    }
}

/// The fixed part of a body: `{"run_id":"<32 hex>","metrics":[],"params":[],"tags":[]}`.
const FRAME: usize = 96;

impl Batch {
    pub fn new(run: usize) -> Batch {
        Batch {
            run,
            params: Vec::new(),
            tags: Vec::new(),
            segments: Vec::new(),
            metrics_json: String::new(),
            params_json: String::new(),
            tags_json: String::new(),
            metrics: 0,
        }
    }

    fn size(&self) -> usize {
        FRAME + self.metrics_json.len() + self.params_json.len() + self.tags_json.len()
    }

    fn entities(&self) -> usize {
        self.metrics + self.params.len() + self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entities() == 0
    }

    pub fn points(&self) -> usize {
        self.metrics
    }

    fn key_value(key: &str, value: &str) -> String {
        format!("{{\"key\":{},\"value\":{}}}", quoted(key), quoted(value))
    }

    /// Adds a param; false (nothing added) when the batch is full.
    pub fn add_param(&mut self, key: &str, value: &str) -> bool {
        let item = Self::key_value(key, value);
        if self.params.len() >= MAX_PARAMS_TAGS
            || self.entities() >= MAX_ENTITIES
            || self.size() + item.len() + 1 > MAX_BODY
        {
            return false;
        }
        if !self.params_json.is_empty() {
            self.params_json.push(',');
        }
        self.params_json.push_str(&item);
        self.params.push((key.to_string(), value.to_string()));
        true
    }

    /// Adds a tag; false (nothing added) when the batch is full.
    pub fn add_tag(&mut self, key: &str, value: &str) -> bool {
        let item = Self::key_value(key, value);
        if self.tags.len() >= MAX_PARAMS_TAGS
            || self.entities() >= MAX_ENTITIES
            || self.size() + item.len() + 1 > MAX_BODY
        {
            return false;
        }
        if !self.tags_json.is_empty() {
            self.tags_json.push(',');
        }
        self.tags_json.push_str(&item);
        self.tags.push((key.to_string(), value.to_string()));
        true
    }

    /// Adds point `ordinal` of series `key`; false (nothing added) when the
    /// batch is full. Points of one series must come in order.
    pub fn add_point(
        &mut self,
        key: &str,
        ordinal: u64,
        value: f64,
        timestamp: i64,
        step: i64,
    ) -> bool {
        let mut item = String::with_capacity(key.len() + 72);
        let _ = write!(item, "{{\"key\":{},\"value\":", quoted(key));
        value_json(value, &mut item);
        let _ = write!(item, ",\"timestamp\":{timestamp},\"step\":{step}}}");
        if self.metrics >= MAX_METRICS
            || self.entities() >= MAX_ENTITIES
            || self.size() + item.len() + 1 > MAX_BODY
        {
            return false;
        }
        if !self.metrics_json.is_empty() {
            self.metrics_json.push(',');
        }
        self.metrics_json.push_str(&item);
        self.metrics += 1;
        match self.segments.last_mut() {
            Some(s) if s.key == key && s.end == ordinal => s.end += 1,
            _ => self.segments.push(Segment {
                key: key.to_string(),
                start: ordinal,
                end: ordinal + 1,
            }),
        }
        true
    }

    /// The request body for remote run `run_id`.
    pub fn body(&self, run_id: &str) -> String {
        format!(
            "{{\"run_id\":{},\"metrics\":[{}],\"params\":[{}],\"tags\":[{}]}}",
            quoted(run_id),
            self.metrics_json,
            self.params_json,
            self.tags_json
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_exactly() {
        for v in [0.1, 1e300, -2.5e-310, 3.0, f64::MAX, f64::MIN_POSITIVE] {
            let mut s = String::new();
            value_json(v, &mut s);
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{s}");
        }
        let mut s = String::new();
        value_json(f64::NAN, &mut s);
        value_json(f64::NEG_INFINITY, &mut s);
        assert_eq!(s, "\"NaN\"\"-Infinity\"");
    }

    #[test]
    fn batches_stop_at_mlflow_limits() {
        let mut b = Batch::new(0);
        for i in 0..MAX_METRICS as u64 {
            assert!(b.add_point("loss", i, 0.5, 1, i as i64));
        }
        assert!(!b.add_point("loss", 1000, 0.5, 1, 0));
        assert!(!b.add_param("p", "v"), "1,000 entities in all");
        assert_eq!(b.segments.len(), 1);
        assert_eq!((b.segments[0].start, b.segments[0].end), (0, 1000));

        let mut b = Batch::new(0);
        for i in 0..MAX_PARAMS_TAGS {
            assert!(b.add_param(&format!("p{i}"), "v"));
            assert!(b.add_tag(&format!("t{i}"), "v"));
        }
        assert!(!b.add_param("p", "v") && !b.add_tag("t", "v"));

        let mut b = Batch::new(0);
        let long = "x".repeat(8000);
        let mut n = 0;
        while b.add_tag(&format!("t{n}"), &long) {
            n += 1;
        }
        while b.add_param(&format!("p{n}"), &long[..6000]) {
            n += 1;
        }
        let body = b.body("0123456789abcdef0123456789abcdef");
        assert!(body.len() <= MAX_BODY, "{}", body.len());
        assert!(body.len() > MAX_BODY - 7000);
        serde_json::from_str::<serde_json::Value>(&body).unwrap();
    }
}
