//! Experiments: found by name in the default workspace, or made as
//! MLflow's `create_experiment` makes them (the id from the table's
//! sequence, then the artifact location `<root>/<id>`), with the local
//! creation and update times; tags the server lacks are added.

use tracklite::Experiment;

use super::Context;
use crate::error::Result;

/// MLflow's workspace of every experiment and registry object when the
/// server runs without workspaces.
pub(crate) const WORKSPACE: &str = "default";

/// An experiment in the database.
#[derive(Debug, Clone)]
pub(crate) struct RemoteExperiment {
    pub id: i32,
    /// Its artifact location, no trailing `/`.
    pub location: String,
}

/// True when the database's Default experiment (id 0, made by the server
/// when it first starts) has an `mlflow-artifacts:` location: the server
/// proxies artifacts, and gives new experiments such locations too.
pub(crate) fn server_proxies(ctx: &mut Context<'_>) -> Result<bool> {
    let row = ctx
        .client
        .query_opt(
            "SELECT artifact_location FROM experiments WHERE experiment_id = 0",
            &[],
        )
        .map_err(|e| ctx.error("reading the Default experiment", &e))?;
    let location: Option<String> = row.and_then(|r| r.get(0));
    Ok(location.is_some_and(|l| l.starts_with("mlflow-artifacts:")))
}

/// The remote experiment named as local experiment `e`, made when missing;
/// and whether it was made now. A deleted one is an error (its runs cannot
/// be written).
pub(crate) fn ensure(
    ctx: &mut Context<'_>,
    local_id: &str,
    e: &Experiment,
) -> std::result::Result<(RemoteExperiment, bool), String> {
    let outcome = (|| -> Result<std::result::Result<(RemoteExperiment, bool), String>> {
        let mut tx = ctx
            .client
            .transaction()
            .map_err(|err| ctx.target.error("starting a transaction", &err))?;
        let find = "SELECT experiment_id, artifact_location, lifecycle_stage FROM experiments \
                    WHERE workspace = $1 AND name = $2";
        let made = tx
            .query_opt(
                "INSERT INTO experiments (name, artifact_location, lifecycle_stage, \
                 creation_time, last_update_time, workspace) \
                 VALUES ($1, NULL, 'active', $2, $3, $4) \
                 ON CONFLICT (workspace, name) DO NOTHING RETURNING experiment_id",
                &[&e.name, &e.creation_time, &e.last_update_time, &WORKSPACE],
            )
            .map_err(|err| {
                ctx.target
                    .error(format!("creating experiment {:?}", e.name), &err)
            })?;
        let (id, location, created) = match made {
            Some(row) => {
                let id: i32 = row.get(0);
                let location = if ctx.proxied {
                    format!("mlflow-artifacts:/{id}")
                } else {
                    format!("{}/{id}", ctx.artifact_root)
                };
                tx.execute(
                    "UPDATE experiments SET artifact_location = $1 WHERE experiment_id = $2",
                    &[&location, &id],
                )
                .map_err(|err| ctx.target.error("setting an artifact location", &err))?;
                (id, location, true)
            }
            None => {
                let row = tx.query_one(find, &[&WORKSPACE, &e.name]).map_err(|err| {
                    ctx.target
                        .error(format!("reading experiment {:?}", e.name), &err)
                })?;
                let id: i32 = row.get(0);
                let location: Option<String> = row.get(1);
                let stage: Option<String> = row.get(2);
                if stage.as_deref() == Some("deleted") {
                    return Ok(Err(format!(
                        "experiment {:?} is deleted on the server (id {id}); restore it there \
                         to export its runs",
                        e.name
                    )));
                }
                let location = location.unwrap_or_else(|| format!("{}/{id}", ctx.artifact_root));
                (id, location, false)
            }
        };
        let (keys, values): (Vec<&str>, Vec<&str>) =
            e.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).unzip();
        tx.execute(
            "INSERT INTO experiment_tags (key, value, experiment_id) \
             SELECT k, v, $3 FROM UNNEST($1::text[], $2::text[]) AS t(k, v) \
             ON CONFLICT (key, experiment_id) DO NOTHING",
            &[&keys, &values, &id],
        )
        .map_err(|err| {
            ctx.target
                .error(format!("tagging experiment {:?}", e.name), &err)
        })?;
        tx.commit()
            .map_err(|err| ctx.target.error("committing", &err))?;
        ctx.journal.record_experiment(local_id, &id.to_string())?;
        Ok(Ok((
            RemoteExperiment {
                id,
                location: location.trim_end_matches('/').to_string(),
            },
            created,
        )))
    })();
    match outcome {
        Ok(x) => x,
        Err(e) => Err(e.to_string()),
    }
}
