//! JSON output: the library's own serde forms, except that metric values
//! which JSON numbers cannot hold (NaN, ±inf) become the strings `"NaN"`,
//! `"Infinity"` and `"-Infinity"` instead of serde_json's `null`.

use std::io::Write;

use anyhow::Result;
use serde_json::{Map, Value};
use tracklite::{MetricPoint, MetricSummary, Run};

/// A metric value: a number, or one of the strings for NaN and ±inf.
pub fn float(v: f64) -> Value {
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

/// Replaces the named float fields of a serialised object.
fn with_floats(mut v: Value, fields: &[(&str, f64)]) -> Value {
    if let Value::Object(map) = &mut v {
        for (name, x) in fields {
            map.insert((*name).to_string(), float(*x));
        }
    }
    v
}

pub fn summary(s: &MetricSummary) -> Result<Value> {
    Ok(with_floats(
        serde_json::to_value(s)?,
        &[("value", s.value), ("min", s.min), ("max", s.max)],
    ))
}

pub fn point(p: &MetricPoint) -> Result<Value> {
    Ok(with_floats(serde_json::to_value(p)?, &[("value", p.value)]))
}

/// A run as the library serialises it, with its metric summaries fixed up.
pub fn run(r: &Run) -> Result<Value> {
    let mut v = serde_json::to_value(r)?;
    let metrics = r
        .metrics
        .iter()
        .map(|(k, s)| Ok((k.clone(), summary(s)?)))
        .collect::<Result<Map<_, _>>>()?;
    if let Value::Object(map) = &mut v {
        map.insert("metrics".into(), Value::Object(metrics));
    }
    Ok(v)
}

/// Writes one pretty-printed document and a newline.
pub fn write(out: &mut dyn Write, doc: &Value) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    writeln!(out)?;
    Ok(())
}

/// Writes an array with one compact element per line: still one document,
/// but a long metric history stays small and greppable.
pub fn write_lines(
    out: &mut dyn Write,
    items: impl IntoIterator<Item = Result<Value>>,
) -> Result<()> {
    let mut first = true;
    write!(out, "[")?;
    for item in items {
        write!(out, "{}\n  ", if first { "" } else { "," })?;
        serde_json::to_writer(&mut *out, &item?)?;
        first = false;
    }
    writeln!(out, "{}]", if first { "" } else { "\n" })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_are_strings() {
        assert_eq!(float(f64::NAN), Value::from("NaN"));
        assert_eq!(float(f64::INFINITY), Value::from("Infinity"));
        assert_eq!(float(f64::NEG_INFINITY), Value::from("-Infinity"));
        assert_eq!(float(0.1).to_string(), "0.1");
    }

    #[test]
    fn lines_form_one_document() {
        let mut buf = Vec::new();
        write_lines(&mut buf, [Ok(Value::from(1)), Ok(Value::from(2))]).unwrap();
        assert_eq!(String::from_utf8(buf.clone()).unwrap(), "[\n  1,\n  2\n]\n");
        let doc: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(doc, serde_json::json!([1, 2]));
        let mut empty = Vec::new();
        write_lines(&mut empty, []).unwrap();
        assert_eq!(String::from_utf8(empty).unwrap(), "[]\n");
    }
}
