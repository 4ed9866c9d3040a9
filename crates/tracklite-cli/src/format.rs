//! Text forms of times, durations and metric values.

/// A time in ms since the epoch as `2026-11-28 11:20:53` (UTC).
pub fn datetime(ms: i64) -> String {
    let (date, secs) = split(ms);
    format!(
        "{date} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A time in ms since the epoch as `2026-11-28 11:20:53.120` (UTC).
pub fn datetime_ms(ms: i64) -> String {
    format!("{}.{:03}", datetime(ms), ms.rem_euclid(1000))
}

/// The date (`YYYY-MM-DD`) and the second of the day of a time in ms.
fn split(ms: i64) -> (String, i64) {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    (format!("{y:04}-{m:02}-{d:02}"), secs.rem_euclid(86_400))
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Days are counted in 400-year eras that start on 0000-03-01, so that
    // the leap day is the last day of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A run's duration, `end - start` in ms: `12.3s`, `3m 07s`, `2h 05m`, `1d 04h`.
pub fn duration(start: i64, end: Option<i64>) -> String {
    let Some(ms) = end.and_then(|e| e.checked_sub(start)).filter(|d| *d >= 0) else {
        return "-".into();
    };
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{:.1}s", ms as f64 / 1000.0),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        3600..86_400 => format!("{}h {:02}m", secs / 3600, secs / 60 % 60),
        _ => format!("{}d {:02}h", secs / 86_400, secs / 3600 % 24),
    }
}

/// A value exactly: the shortest text that reads back as the same f64
/// (`0.1`, `1.0`, `1e300`, `-0.0`), and `NaN`, `inf`, `-inf`.
pub fn exact(v: f64) -> String {
    format!("{v:?}")
}

/// A value in at most six significant digits, for tables: `0.123457`,
/// `1.5e-7`, `42`.
pub fn compact(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return exact(v).trim_end_matches(".0").to_string();
    }
    let exponent = v.abs().log10().floor() as i32;
    if (-4..6).contains(&exponent) {
        let decimals = (5 - exponent).max(0) as usize;
        trim_zeros(&format!("{v:.decimals$}")).to_string()
    } else {
        let text = format!("{v:.5e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        format!("{}e{exp}", trim_zeros(mantissa))
    }
}

/// `1.500` → `1.5`, `2.000` → `2`; text without a decimal point is kept.
fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// At most `max` characters of `s`, ending in `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// A byte count for people: `512 B`, `3.2 KiB`, `41.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_utc() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(1_795_864_853_000), "2026-11-28 11:20:53");
        assert_eq!(datetime_ms(1_795_864_853_042), "2026-11-28 11:20:53.042");
        assert_eq!(datetime(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(datetime_ms(-1), "1969-12-31 23:59:59.999");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(1000, None), "-");
        assert_eq!(duration(1000, Some(500)), "-");
        assert_eq!(duration(0, Some(12_345)), "12.3s");
        assert_eq!(duration(0, Some(187_000)), "3m 07s");
        assert_eq!(duration(0, Some(7_500_000)), "2h 05m");
        assert_eq!(duration(0, Some(100_800_000)), "1d 04h");
    }

    #[test]
    fn values() {
        assert_eq!(exact(0.1), "0.1");
        assert_eq!(exact(f64::NAN), "NaN");
        assert_eq!(exact(f64::NEG_INFINITY), "-inf");
        assert_eq!(compact(0.123456789), "0.123457");
        assert_eq!(compact(42.0), "42");
        assert_eq!(compact(1234567.0), "1.23457e6");
        assert_eq!(compact(0.00000015), "1.5e-7");
        assert_eq!(compact(-0.5), "-0.5");
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(f64::INFINITY), "inf");
        assert_eq!(compact(f64::NAN), "NaN");
    }

    #[test]
    fn clipping() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
