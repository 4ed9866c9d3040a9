//! The `Retry-After` header of a 429 or 503 answer (RFC 9110, 10.2.3): a
//! number of seconds, or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest wait taken from a server: a client stuck for an hour helps
/// nobody; the retry after this wait asks again.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(120);

/// The wait that `value` asks for, at `now`, at most [`MAX_WAIT`]; `None`
/// when `value` is neither form.
pub(crate) fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = UNIX_EPOCH + Duration::from_secs(http_date(value)?);
            // A date in the past: retry at once.
            at.duration_since(now).unwrap_or_default()
        }
    };
    Some(wait.min(MAX_WAIT))
}

/// Seconds since the Unix epoch of IMF-fixdate `value`
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), the form servers send.
fn http_date(value: &str) -> Option<u64> {
    let rest = value.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = u64::try_from(days_from_civil(year, month, day as i64)).ok()?;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06 08:49:37
        assert_eq!(parse("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse("86400", now), Some(MAX_WAIT));
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:42 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["soon", "-1", "Sun, 06 Foo 1994 08:49:42 GMT", ""] {
            assert_eq!(parse(bad, now), None, "{bad}");
        }
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Mon, 07 Dec 2026 02:15:14 GMT"),
            Some(1_796_609_714)
        );
    }
}
