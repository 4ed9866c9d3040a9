//! JSON encodings shared by the endpoints.
//!
//! JSON has no NaN or infinity: a float that may be non-finite is a number
//! when finite, else the string "NaN", "Infinity" or "-Infinity".

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// `v` as a number, or as "NaN", "Infinity", "-Infinity".
pub(crate) fn float(v: f64) -> Value {
    if v.is_nan() {
        Value::from("NaN")
    } else if v == f64::INFINITY {
        Value::from("Infinity")
    } else if v == f64::NEG_INFINITY {
        Value::from("-Infinity")
    } else {
        Value::from(v)
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
    }
}
