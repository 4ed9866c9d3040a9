//! JSON encodings shared by the endpoints.
//!
//! JSON has no NaN or infinity: a float that may be non-finite is a number
//! when finite, else the string "NaN", "Infinity" or "-Infinity".
//!
//! Small answers are built as [`Value`]s; the large ones (a page of runs,
//! chart series) serialise straight from the store's data through the
//! borrowing types below, with no tree of values in between.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use tracklite::MetricSummary;

/// The name a non-finite float is written as; None when finite.
fn non_finite_name(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("Infinity")
    } else if v == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

/// `v` as a number, or as "NaN", "Infinity", "-Infinity".
pub(crate) fn float(v: f64) -> Value {
    match non_finite_name(v) {
        Some(name) => Value::from(name),
        None => Value::from(v),
    }
}

/// A float serialised as [`float`] writes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Float(pub f64);

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match non_finite_name(self.0) {
            Some(name) => s.serialize_str(name),
            None => s.serialize_f64(self.0),
        }
    }
}

/// A column of floats, each as [`Float`].
pub(crate) struct Floats<'a>(pub &'a [f64]);

impl Serialize for Floats<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for &v in self.0 {
            seq.serialize_element(&Float(v))?;
        }
        seq.end()
    }
}

/// A run's metric summaries as `{key: latest value}`.
pub(crate) struct LatestValues<'a>(pub &'a BTreeMap<String, MetricSummary>);

impl Serialize for LatestValues<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, m) in self.0 {
            map.serialize_entry(key, &Float(m.value))?;
        }
        map.end()
    }
}

/// A string map as a JSON object.
pub(crate) fn strings(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect::<Map<String, Value>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_floats_are_strings() {
        assert_eq!(float(0.5), serde_json::json!(0.5));
        assert_eq!(float(f64::NAN), serde_json::json!("NaN"));
        assert_eq!(float(f64::INFINITY), serde_json::json!("Infinity"));
        assert_eq!(float(f64::NEG_INFINITY), serde_json::json!("-Infinity"));
        let column = [1.5, f64::NAN, f64::NEG_INFINITY, -0.0];
        assert_eq!(
            serde_json::to_string(&Floats(&column)).unwrap(),
            r#"[1.5,"NaN","-Infinity",-0.0]"#
        );
    }
}
