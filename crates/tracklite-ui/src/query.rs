//! A request's query string, decoded, with typed accessors whose errors
//! name the parameter, the value and the rule.

use crate::reply::ApiError;

/// The decoded `name=value` pairs of a query string, in order (a name may
/// repeat, as `order_by` does).
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes `a=1&b=x%20y&b=z` (`+` is a space, as forms send it).
    pub fn parse(query: &str) -> Result<Query, ApiError> {
        let mut pairs = Vec::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Query { pairs })
    }

    /// The first value of `name`; None when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order, empty ones left out.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of `name`, which must be present and not empty.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::invalid(format!(
                "missing query parameter {name:?}"
            ))),
        }
    }

    /// The comma-separated list in `name` (also given as repeated
    /// parameters), trimmed, empty items left out.
    pub fn list(&self, name: &str) -> Vec<&str> {
        self.all(name)
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The integer in `name`, from 1 to `max`; `default` when absent.
    pub fn count(&self, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        let Some(raw) = self.get(name).filter(|v| !v.is_empty()) else {
            return Ok(default);
        };
        match raw.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(format!(
                "invalid {name} {raw:?}: must be a whole number from 1 to {max}"
            ))),
        }
    }

    /// The signed integer in `name`; None when absent.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let Some(raw) = self.get(name).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        raw.parse::<i64>().map(Some).map_err(|_| {
            ApiError::invalid(format!("invalid {name} {raw:?}: must be a whole number"))
        })
    }

    /// One of `choices` in `name`; `choices[0]` when absent.
    pub fn choice<'c>(&self, name: &str, choices: &[&'c str]) -> Result<&'c str, ApiError> {
        let Some(raw) = self.get(name).filter(|v| !v.is_empty()) else {
            return Ok(choices[0]);
        };
        choices.iter().find(|c| **c == raw).copied().ok_or_else(|| {
            ApiError::invalid(format!(
                "invalid {name} {raw:?}: must be one of {}",
                choices.join(", ")
            ))
        })
    }
}

/// Percent-decodes one component; the bytes must be UTF-8.
fn decode(s: &str) -> Result<String, ApiError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::invalid(format!(
                            "invalid query string {s:?}: '%' must be followed by two hex digits"
                        ))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| {
        ApiError::invalid(format!(
            "invalid query string {s:?}: it does not decode to UTF-8"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_repeats_and_lists() {
        let q =
            Query::parse("filter=metrics.acc+%3E+0.9&order_by=a&order_by=b%20DESC&ids=1,%202,,3")
                .unwrap();
        assert_eq!(q.get("filter"), Some("metrics.acc > 0.9"));
        assert_eq!(q.all("order_by"), ["a", "b DESC"]);
        assert_eq!(q.list("ids"), ["1", "2", "3"]);
        assert_eq!(q.get("missing"), None);
    }

    #[test]
    fn errors_name_the_parameter_and_value() {
        let q = Query::parse("buckets=0&x=pixels&bad=%zz").unwrap_err();
        assert!(q.message.contains("%zz"), "{}", q.message);
        let q = Query::parse("buckets=0&x=pixels").unwrap();
        let e = q.count("buckets", 1000, 10_000).unwrap_err();
        assert_eq!(
            e.message,
            "invalid buckets \"0\": must be a whole number from 1 to 10000"
        );
        let e = q.choice("x", &["step", "time"]).unwrap_err();
        assert_eq!(e.message, "invalid x \"pixels\": must be one of step, time");
    }
}
