//! The PostgreSQL URL of the direct mode: parsed once, its password kept
//! out of every message (shown as `***`), and the key of its export
//! journal (`postgresql://host:port/db`, no user or password: one database
//! has one journal whoever connects to it).

use std::str::FromStr;

use crate::error::{ExportError, Result};
use crate::percent_decode;

/// A database to write into.
pub(crate) struct PgTarget {
    /// The connection settings.
    pub config: postgres::Config,
    /// The URL as it may be shown: the password replaced by `***`.
    pub shown: String,
    /// The export journal's key: `postgresql://host:port/db`.
    pub journal_key: String,
    /// The password, to scrub from any text before it is shown.
    password: Option<String>,
}

/// The text that replaces a password.
const HIDDEN: &str = "***";

impl PgTarget {
    /// Parses `url`: `postgresql://[user[:password]@]host[:port]/db[?...]`;
    /// `postgres://` and SQLAlchemy's `postgresql+DRIVER://` (as MLflow's
    /// `--backend-store-uri` spells it) are taken too.
    pub fn parse(url: &str) -> Result<PgTarget> {
        let shown = redact(url);
        let invalid = |reason: String| ExportError::InvalidTarget {
            url: shown.clone(),
            reason,
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("not a URL (postgresql://HOST[:PORT]/DATABASE)".into()))?;
        let base = scheme.split('+').next().unwrap_or(scheme);
        if base != "postgresql" && base != "postgres" {
            return Err(invalid(format!(
                "scheme {scheme:?} is not postgresql:// (or postgresql+psycopg2://)"
            )));
        }
        let libpq = format!("postgresql://{rest}");
        let config = postgres::Config::from_str(&libpq).map_err(|e| {
            let reason = e.to_string();
            invalid(scrub_text(&reason, password_of(url).as_deref()))
        })?;
        let host = match config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => return Err(invalid("no host".into())),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let db = config
            .get_dbname()
            .map(str::to_string)
            .or_else(|| config.get_user().map(str::to_string))
            .ok_or_else(|| invalid("no database name".into()))?;
        Ok(PgTarget {
            journal_key: format!("postgresql://{host}:{port}/{db}"),
            shown,
            password: password_of(url),
            config,
        })
    }

    /// `text` with the password (if any) replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        scrub_text(text, self.password.as_deref())
    }

    /// An error of `what` (a step of the export) with `e`'s message,
    /// scrubbed.
    pub fn error(&self, what: impl Into<String>, e: &dyn std::error::Error) -> ExportError {
        // The driver's message, then its causes ("error connecting to
        // server: Connection refused").
        let mut reason = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            reason = format!("{reason}: {s}");
            source = s.source();
        }
        ExportError::Postgres {
            target: self.shown.clone(),
            what: what.into(),
            reason: self.scrub(&reason),
        }
    }
}

fn scrub_text(text: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if !p.is_empty() => text.replace(p, HIDDEN),
        _ => text.to_string(),
    }
}

/// The password of a URL's user info, percent-decoded; `None` without one.
fn password_of(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next()?;
    let (user_info, _) = authority.rsplit_once('@')?;
    let (_, password) = user_info.split_once(':')?;
    Some(percent_decode(password))
}

/// `url` with the password of its user info replaced by `***`; a
/// `password=` query parameter too.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:{HIDDEN}@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}={HIDDEN}"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact("postgresql://bob:s3cr%40t@db.example:5433/mlflow?sslmode=prefer"),
            "postgresql://bob:***@db.example:5433/mlflow?sslmode=prefer"
        );
        assert_eq!(
            redact("postgresql://db/mlflow?user=bob&password=hunter2"),
            "postgresql://db/mlflow?user=bob&password=***"
        );
        assert_eq!(redact("postgresql://bob@db/x"), "postgresql://bob@db/x");
        assert_eq!(redact("not a url"), "not a url");
        let t =
            PgTarget::parse("postgresql+psycopg2://bob:s3cr%40t@127.0.0.1:5433/mlflow").unwrap();
        assert_eq!(
            t.shown,
            "postgresql+psycopg2://bob:***@127.0.0.1:5433/mlflow"
        );
        assert_eq!(t.scrub("auth failed for s3cr@t"), "auth failed for ***");
        let refused = std::io::Error::other("bad password s3cr@t");
        let shown = t.error("connecting", &refused).to_string();
        assert!(
            shown.contains("bad password ***") && !shown.contains("s3cr"),
            "{shown}"
        );
    }

    #[test]
    fn the_journal_key_has_no_credentials() {
        let t = PgTarget::parse("postgres://bob:pw@127.0.0.1/mlflow").unwrap();
        assert_eq!(t.journal_key, "postgresql://127.0.0.1:5432/mlflow");
        let t = PgTarget::parse("postgresql://alice@localhost:6000/runs").unwrap();
        assert_eq!(t.journal_key, "postgresql://localhost:6000/runs");
    }

    #[test]
    fn other_schemes_are_refused_without_the_password() {
        let e = PgTarget::parse("mysql://bob:pw@h/db")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("mysql") && !e.contains("pw@"), "{e}");
        assert!(PgTarget::parse("127.0.0.1:5432").is_err());
    }
}
