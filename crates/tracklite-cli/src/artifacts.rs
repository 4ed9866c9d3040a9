//! `artifacts`: list a run's artifacts.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use tracklite::Store;

use crate::format;
use crate::json;
use crate::table::{Align, Table};

/// Lists the artifacts directly under `path` (the run's root by default).
///
/// JSON: `{"root": dir, "files": [{"path", "is_dir", "file_size"}]}`.
pub fn list(
    store: &Store,
    run_id: &str,
    path: Option<&str>,
    as_json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let root = store.artifact_dir(run_id)?;
    let files = store.list_artifacts(run_id, path)?;
    if as_json {
        let doc = json!({ "root": root, "files": files });
        json::write(out, &doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    if files.is_empty() {
        writeln!(
            out,
            "no artifacts under {}",
            path.unwrap_or("the run's root")
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new([("path", Align::Left), ("size", Align::Right)]);
    for f in &files {
        let size = match (f.is_dir, f.file_size) {
            (true, _) => "dir".to_string(),
            (false, Some(n)) => format::bytes(n),
            (false, None) => String::new(),
        };
        let shown = if f.is_dir {
            format!("{}/", f.path)
        } else {
            f.path.clone()
        };
        table.push(vec![shown, size]);
    }
    table.write(out)?;
    Ok(ExitCode::SUCCESS)
}
