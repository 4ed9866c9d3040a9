//! `export --check`: whether an export to a server would work (the
//! `tracklite-export` crate does the work), one line per step; and the TLS
//! settings that `export` and `export --check` share.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use tracklite_export::{Auth, CheckStatus, ExportOptions, TlsOptions, INSECURE_VAR};

use crate::json;

/// The TLS settings of the environment, with `--ca-cert` and `--insecure`
/// over them. Prints one warning when verification is off.
pub fn tls_options(ca_cert: Option<PathBuf>, insecure: bool) -> Result<TlsOptions> {
    let mut tls = TlsOptions::from_env()?;
    if ca_cert.is_some() {
        tls.ca_cert = ca_cert;
    }
    tls.insecure |= insecure;
    if tls.insecure {
        eprintln!(
            "warning: TLS certificate verification is off (--insecure or {INSECURE_VAR}=true): \
             the server's identity is not checked"
        );
    }
    Ok(tls)
}

/// Runs the check against `to`. Exit status 0 when every step passed, 1
/// otherwise. Nothing of the store is read.
pub fn run(to: &str, tls: TlsOptions, json_out: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let mut options = ExportOptions::new(to);
    options.auth = Auth::from_env();
    options.tls = tls;
    let report = tracklite_export::check(&options)?;
    if json_out {
        let mut doc = serde_json::to_value(&report)?;
        doc["ok"] = report.ok().into();
        json::write(out, &doc)?;
    } else {
        for c in &report.checks {
            let status = match c.status {
                CheckStatus::Ok => "OK",
                CheckStatus::Failed => "FAILED",
                CheckStatus::Skipped => "SKIPPED",
                _ => "?",
            };
            writeln!(out, "{status:<7} {:<10} {}", c.name, c.detail)?;
        }
        let count = |status| report.checks.iter().filter(|c| c.status == status).count();
        let (failed, skipped) = (count(CheckStatus::Failed), count(CheckStatus::Skipped));
        if report.ok() {
            writeln!(out, "ready to export to {}", report.target)?;
        } else {
            writeln!(
                out,
                "not ready to export to {}: {failed} check(s) failed, {skipped} skipped",
                report.target
            )?;
        }
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
