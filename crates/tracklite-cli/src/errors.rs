//! Errors under `--json`: an error that ends the command is one JSON
//! document on standard output, `{"error": {"kind": KIND, "message":
//! MESSAGE}}`, and nothing on standard error, so that a caller reads one
//! document whatever happened; the exit status is 1 as for any error.
//! (Under `--json` no progress or note is printed either; warnings, the
//! runs an export failed to send, also listed in its JSON summary, and the
//! log of `export --watch` still go to standard error.)
//!
//! KIND names the class of error for a program to match on: `store_uri`
//! (a `--store` value or tracking URI the CLI cannot open), `no_store`,
//! `not_found`, `already_exists`, `invalid_value`, `invalid_filter`,
//! `deleted`, `conflict`, `io`, `index`, `format`, `export`, or `error`
//! for anything else. MESSAGE is the text the error prints without `--json`.

use std::io::Write;

use serde_json::json;

use crate::store_uri::UriError;

/// Something named on the command line that does not exist, said with
/// more help than the library's error gives (kind `not_found`).
#[derive(Debug)]
pub struct Missing(pub String);

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Missing {}

/// Prints `e` as one JSON document on standard output.
pub fn print_json(e: &anyhow::Error) {
    let doc = json!({ "error": { "kind": kind(e), "message": format!("{e:#}") } });
    let mut out = std::io::stdout().lock();
    // Nowhere left to report a failure to print an error.
    let _ = serde_json::to_writer_pretty(&mut out, &doc);
    let _ = writeln!(out);
    let _ = out.flush();
}

/// The class of the first error in `e`'s chain that has one.
pub fn kind(e: &anyhow::Error) -> &'static str {
    for cause in e.chain() {
        if cause.is::<UriError>() {
            return "store_uri";
        }
        if cause.is::<Missing>() {
            return "not_found";
        }
        if let Some(e) = cause.downcast_ref::<tracklite::Error>() {
            return store_kind(e);
        }
        if cause.is::<tracklite_export::ExportError>() {
            return "export";
        }
    }
    "error"
}

fn store_kind(e: &tracklite::Error) -> &'static str {
    use tracklite::Error;
    match e {
        Error::NoStore { .. } => "no_store",
        Error::NotFound { .. } => "not_found",
        Error::AlreadyExists { .. } => "already_exists",
        Error::Validation(_) | Error::ParamChanged { .. } => "invalid_value",
        Error::InvalidFilter { .. } => "invalid_filter",
        Error::RunDeleted(_) | Error::Deleted { .. } | Error::NotDeleted { .. } => "deleted",
        Error::Conflict { .. } | Error::RunsBackModelVersions { .. } => "conflict",
        Error::Io { .. } | Error::ReadOnly { .. } => "io",
        Error::Index(_) => "index",
        Error::Format(_) => "format",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_chain() {
        let uri = anyhow::Error::new(UriError::NoFolder { uri: "x".into() }).context("outer");
        assert_eq!(kind(&uri), "store_uri");
        let missing = anyhow::Error::new(tracklite::Error::RunDeleted("abc".into()));
        assert_eq!(kind(&missing), "deleted");
        assert_eq!(kind(&anyhow::anyhow!("plain")), "error");
    }
}
