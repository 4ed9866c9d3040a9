//! The index schema and its migrations. Each entry of [`MIGRATIONS`] moves
//! the schema one version up; `PRAGMA user_version` records where a store is.

/// Version 1: experiments, runs, params, tags and the metric index.
const V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE experiments (
    experiment_id     INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    -- NULL: the store's own artifacts/<experiment_id> folder.
    artifact_location TEXT,
    lifecycle_stage   TEXT NOT NULL DEFAULT 'active',
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL
);

CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;

CREATE TABLE runs (
    run_uuid        TEXT PRIMARY KEY,
    experiment_id   INTEGER NOT NULL,
    name            TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    status          TEXT NOT NULL,
    start_time      INTEGER NOT NULL,
    end_time        INTEGER,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    -- NULL: <experiment artifact location>/<run_uuid>/artifacts.
    artifact_uri    TEXT,
    parent_run_id   TEXT,
    deleted_time    INTEGER
);
CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time);

CREATE TABLE params (
    run_uuid TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
) WITHOUT ROWID;

CREATE TABLE tags (
    run_uuid TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
) WITHOUT ROWID;

-- One row per (run, metric key): the summary that search and ordering read.
-- last_bits keeps the exact f64 (SQLite stores NaN as NULL in REAL columns).
CREATE TABLE metric_series (
    series_id      INTEGER PRIMARY KEY,
    run_uuid       TEXT NOT NULL,
    key            TEXT NOT NULL,
    count          INTEGER NOT NULL DEFAULT 0,
    last_step      INTEGER,
    last_timestamp INTEGER,
    last_bits      INTEGER,
    last_value     REAL,
    min_value      REAL,
    max_value      REAL,
    UNIQUE (run_uuid, key)
);

-- Where each series' points are in the metric log. `summarized` counts the
-- slots already folded into metric_series; `sealed` means no writer will add
-- to the block again.
CREATE TABLE metric_blocks (
    first_page INTEGER PRIMARY KEY,
    series_id  INTEGER NOT NULL,
    pages      INTEGER NOT NULL,
    writer_pid INTEGER NOT NULL,
    summarized INTEGER NOT NULL DEFAULT 0,
    sealed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX metric_blocks_by_series ON metric_blocks (series_id, first_page);
CREATE INDEX metric_blocks_open ON metric_blocks (series_id) WHERE sealed = 0;
";

/// Version 2: indexes that search and ordering by params, tags and metrics use.
const V2: &str = "
CREATE INDEX params_by_key ON params (key, value);
CREATE INDEX tags_by_key ON tags (key, value);
CREATE INDEX metric_series_by_key ON metric_series (key, last_value);
CREATE INDEX runs_by_stage ON runs (lifecycle_stage, experiment_id);
";

/// Version 3: datasets and the runs that take them as inputs. A dataset is
/// unique per experiment by (name, digest); an input's tags carry its
/// context (`mlflow.data.context`).
const V3: &str = "
CREATE TABLE datasets (
    dataset_uuid  TEXT PRIMARY KEY,
    experiment_id INTEGER NOT NULL,
    name          TEXT NOT NULL,
    digest        TEXT NOT NULL,
    source_type   TEXT NOT NULL,
    source        TEXT NOT NULL,
    schema        TEXT,
    profile       TEXT,
    UNIQUE (experiment_id, name, digest)
);

CREATE TABLE inputs (
    input_uuid   TEXT PRIMARY KEY,
    dataset_uuid TEXT NOT NULL,
    run_uuid     TEXT NOT NULL,
    UNIQUE (dataset_uuid, run_uuid)
);
CREATE INDEX inputs_by_run ON inputs (run_uuid);

CREATE TABLE input_tags (
    input_uuid TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (input_uuid, key)
) WITHOUT ROWID;
";

/// Version 4: compaction. Compressed blocks are marked in the block map;
/// pages that no block uses any more wait in `freed_pages` until no reader
/// can still be looking at them, then their disk space is released.
const V4: &str = "
ALTER TABLE metric_blocks ADD COLUMN compressed INTEGER NOT NULL DEFAULT 0;

CREATE TABLE freed_pages (
    first_page INTEGER PRIMARY KEY,
    pages      INTEGER NOT NULL,
    freed_ms   INTEGER NOT NULL
);
";

/// Version 5: logged models (MLflow 3), with their tags, params and metric
/// points, and the models runs give as outputs and take as inputs. Model
/// metrics are few, so their points live here rather than in the metric
/// log; `bits` keeps the exact f64 and `value` the same as a REAL for
/// search (NULL for NaN).
const V5: &str = "
CREATE TABLE logged_models (
    model_id          TEXT PRIMARY KEY,
    experiment_id     INTEGER NOT NULL,
    name              TEXT NOT NULL,
    -- NULL: <experiment artifact location>/models/<model_id>/artifacts.
    artifact_location TEXT,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    source_run_id     TEXT,
    status            TEXT NOT NULL,
    model_type        TEXT,
    lifecycle_stage   TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX logged_models_by_experiment ON logged_models (experiment_id, creation_time);

CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
) WITHOUT ROWID;

CREATE TABLE logged_model_metrics (
    model_id       TEXT NOT NULL,
    key            TEXT NOT NULL,
    timestamp      INTEGER NOT NULL,
    step           INTEGER NOT NULL,
    bits           INTEGER NOT NULL,
    value          REAL,
    run_uuid       TEXT,
    dataset_name   TEXT,
    dataset_digest TEXT
);
-- A point logged again (same model, key, time, step, run and dataset) is kept once.
CREATE UNIQUE INDEX logged_model_metrics_unique ON logged_model_metrics
    (model_id, key, timestamp, step, ifnull(run_uuid, ''), ifnull(dataset_name, ''),
     ifnull(dataset_digest, ''));
CREATE INDEX logged_model_metrics_by_key ON logged_model_metrics (key, value);

-- Models a run produced (MLflow's run outputs) and models it used (run inputs).
CREATE TABLE run_model_outputs (
    run_uuid TEXT NOT NULL,
    model_id TEXT NOT NULL,
    step     INTEGER NOT NULL,
    UNIQUE (run_uuid, model_id, step)
);
CREATE TABLE run_model_inputs (
    run_uuid TEXT NOT NULL,
    model_id TEXT NOT NULL,
    UNIQUE (run_uuid, model_id)
);
";

/// Version 6: the dataset a metric point was computed on, as an MLflow file
/// store's metric line names it ("timestamp value step dataset_name
/// dataset_digest") and an import keeps it. The metric log's fixed records
/// have no room for it, so a point is named here by its series and its
/// ordinal: its 0-based position in the series' logged order, which
/// compaction keeps. Only imported points have links.
const V6: &str = "
CREATE TABLE metric_dataset_links (
    series_id      INTEGER NOT NULL,
    ordinal        INTEGER NOT NULL,
    dataset_name   TEXT NOT NULL,
    dataset_digest TEXT NOT NULL,
    PRIMARY KEY (series_id, ordinal)
) WITHOUT ROWID;
";

/// Version 7: page checksums. Every page of the index keeps 8 reserved
/// bytes holding its checksum (see `pages.rs` and docs/format.md). The
/// pages are rewritten with them (`VACUUM`, in `checksum_vfs::prepare`)
/// before this migration runs; the row only records it, and the version
/// keeps older tracklite, which would write pages without checksums, out.
const V7: &str = "
INSERT OR REPLACE INTO meta (key, value) VALUES ('page_checksums', 'crc32c');
";

/// Version 8: the model registry. A registered model is keyed by a number
/// (`model_key`) so that renaming it changes one row; `last_version` is the
/// greatest version number it ever gave, so that a new version takes the
/// next one inside the same write transaction and a deleted version's
/// number is never given again. An alias names one version of its model.
/// Model keys are never given again (AUTOINCREMENT), so that a search's
/// page bound stays right when a model is deleted and another registered.
const V8: &str = "
CREATE TABLE registered_models (
    model_key         INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT NOT NULL UNIQUE,
    description       TEXT,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    last_version      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE registered_model_tags (
    model_key INTEGER NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (model_key, key)
) WITHOUT ROWID;

CREATE TABLE model_versions (
    model_key         INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    creation_time     INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    description       TEXT,
    user_id           TEXT,
    current_stage     TEXT NOT NULL DEFAULT 'None',
    source            TEXT NOT NULL,
    storage_location  TEXT,
    run_id            TEXT,
    run_link          TEXT,
    model_id          TEXT,
    status            TEXT NOT NULL DEFAULT 'READY',
    status_message    TEXT,
    UNIQUE (model_key, version)
);
CREATE INDEX model_versions_by_run ON model_versions (run_id);
-- The newest version of each stage: the latest versions of a model.
CREATE INDEX model_versions_by_stage ON model_versions (model_key, current_stage, version);
CREATE INDEX model_versions_by_update ON model_versions (last_updated_time);

CREATE TABLE model_version_tags (
    model_key INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (model_key, version, key)
) WITHOUT ROWID;
CREATE INDEX model_version_tags_by_key ON model_version_tags (key, value);

CREATE TABLE registered_model_aliases (
    model_key INTEGER NOT NULL,
    alias     TEXT NOT NULL,
    version   INTEGER NOT NULL,
    PRIMARY KEY (model_key, alias)
) WITHOUT ROWID;
";

/// Version 9: the export journal (`export_journal.rs`): per export target
/// (a server, named by its normalised URL), the remote ids of experiments
/// and runs, a digest of each param and tag value sent, how many points of
/// each metric series were sent (a prefix of the series in logged order),
/// the status and end time last sent, the digest of each run artifact
/// file uploaded, and other objects (inputs, logged models, registry
/// objects) by kind and local key. `meta.store_id` is a random id
/// made once per store (here, at migration), which remote runs carry so
/// that a lost journal can be rebuilt from the server.
const V9: &str = "
INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', lower(hex(randomblob(16))));

CREATE TABLE export_targets (
    target_id INTEGER PRIMARY KEY AUTOINCREMENT,
    url       TEXT NOT NULL UNIQUE
);

CREATE TABLE export_experiments (
    target_id     INTEGER NOT NULL,
    experiment_id INTEGER NOT NULL,
    remote_id     TEXT NOT NULL,
    PRIMARY KEY (target_id, experiment_id)
) WITHOUT ROWID;

CREATE TABLE export_runs (
    target_id INTEGER NOT NULL,
    run_uuid  TEXT NOT NULL,
    remote_id TEXT NOT NULL,
    -- What runs/update last sent; NULL: nothing yet.
    status    TEXT,
    end_time  INTEGER,
    PRIMARY KEY (target_id, run_uuid)
) WITHOUT ROWID;

-- kind: 'param' or 'tag'; digest: FNV-1a (64 bits) of the value sent.
CREATE TABLE export_values (
    target_id INTEGER NOT NULL,
    run_uuid  TEXT NOT NULL,
    kind      TEXT NOT NULL,
    key       TEXT NOT NULL,
    digest    INTEGER NOT NULL,
    PRIMARY KEY (target_id, run_uuid, kind, key)
) WITHOUT ROWID;

CREATE TABLE export_series (
    target_id INTEGER NOT NULL,
    run_uuid  TEXT NOT NULL,
    key       TEXT NOT NULL,
    exported  INTEGER NOT NULL,
    PRIMARY KEY (target_id, run_uuid, key)
) WITHOUT ROWID;

-- A run artifact file uploaded whole: its path under the run's artifact
-- folder, its size and the SHA-256 (lower-case hex) of the bytes uploaded.
CREATE TABLE export_artifacts (
    target_id INTEGER NOT NULL,
    run_uuid  TEXT NOT NULL,
    path      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    PRIMARY KEY (target_id, run_uuid, path)
) WITHOUT ROWID;

-- Objects other than experiments and runs (dataset inputs, logged models,
-- registered models, model versions, stages, aliases...): kind names the
-- object, local_key the local object, value what the server holds for it
-- (a remote id, or what was last sent).
CREATE TABLE export_objects (
    target_id INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    local_key TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (target_id, kind, local_key)
) WITHOUT ROWID;
";

/// Version 10: reads that stay small at a million runs.
/// - `runs_by_start` gives each experiment's runs in the default order
///   (start time, newest first, then run id), so that a page in that order
///   reads only its own entries; the stage (and the rowid every entry
///   holds) let a page's stage and snapshot be checked without the run
///   rows. It replaces `runs_by_experiment`, whose lookups it also serves.
/// - `run_counts` keeps the number of runs per experiment and stage,
///   kept in step by triggers inside each transaction that adds, removes
///   or moves a run, so that counting runs reads a few rows. Rows that
///   reach 0 stay.
const V10: &str = "
DROP INDEX IF EXISTS runs_by_experiment;
CREATE INDEX runs_by_start ON runs
    (experiment_id, start_time DESC, run_uuid, lifecycle_stage);

CREATE TABLE run_counts (
    experiment_id   INTEGER NOT NULL,
    lifecycle_stage TEXT NOT NULL,
    runs            INTEGER NOT NULL,
    PRIMARY KEY (experiment_id, lifecycle_stage)
) WITHOUT ROWID;
INSERT INTO run_counts (experiment_id, lifecycle_stage, runs)
    SELECT experiment_id, lifecycle_stage, count(*) FROM runs GROUP BY experiment_id, lifecycle_stage;

CREATE TRIGGER run_counts_on_insert AFTER INSERT ON runs BEGIN
    INSERT INTO run_counts (experiment_id, lifecycle_stage, runs)
        VALUES (new.experiment_id, new.lifecycle_stage, 1)
        ON CONFLICT (experiment_id, lifecycle_stage) DO UPDATE SET runs = runs + 1;
END;
CREATE TRIGGER run_counts_on_delete AFTER DELETE ON runs BEGIN
    UPDATE run_counts SET runs = runs - 1
        WHERE experiment_id = old.experiment_id AND lifecycle_stage = old.lifecycle_stage;
END;
CREATE TRIGGER run_counts_on_move AFTER UPDATE OF experiment_id, lifecycle_stage ON runs
    WHEN old.experiment_id IS NOT new.experiment_id OR old.lifecycle_stage IS NOT new.lifecycle_stage
BEGIN
    UPDATE run_counts SET runs = runs - 1
        WHERE experiment_id = old.experiment_id AND lifecycle_stage = old.lifecycle_stage;
    INSERT INTO run_counts (experiment_id, lifecycle_stage, runs)
        VALUES (new.experiment_id, new.lifecycle_stage, 1)
        ON CONFLICT (experiment_id, lifecycle_stage) DO UPDATE SET runs = runs + 1;
END;
";

/// Version 11: the metric index holds only the series whose latest value
/// is a number. A new series (no point yet) then enters it once, when its
/// first value is folded, rather than entering it empty and moving at that
/// fold: five fewer index pages written per run of five metrics, and five
/// fewer moves at its end. Search reads it only for numbers (`<`, `>`,
/// `=`, order by a metric); the NaN-valued series, which `!=` matches, have
/// their own small index.
const V11: &str = "
DROP INDEX IF EXISTS metric_series_by_key;
CREATE INDEX metric_series_by_key ON metric_series (key, last_value)
    WHERE last_value IS NOT NULL;
CREATE INDEX metric_series_nan ON metric_series (key)
    WHERE last_value IS NULL AND last_bits IS NOT NULL;
";

/// The first schema version whose pages carry checksums.
pub const PAGE_CHECKSUMS_VERSION: u32 = 7;

/// The migrations, in order: entry `i` takes a store from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11];

/// The schema version this code writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;
