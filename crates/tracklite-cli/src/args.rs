//! The command line: every command, its arguments and their help.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use tracklite::ViewType;

#[derive(Parser)]
#[command(
    name = "tracklite",
    version,
    about = "Inspect and maintain a tracklite experiment-tracking store",
    after_help = "Times are printed in UTC. Exit status: 0 on success, 1 on an error \
                  (or when `check` finds problems), 2 on a usage error. With --json, no \
                  progress is shown, and an error is one JSON document on standard \
                  output, {\"error\": {\"kind\": ..., \"message\": ...}}, with nothing \
                  on standard error."
)]
pub(crate) struct Cli {
    /// The store: a folder, tracklite:PATH, tracklite:///ABSOLUTE/PATH, or,
    /// with TRACKLITE_SERVE_FILE_URIS=1, a file: URI (the store beside that
    /// MLflow folder, FOLDER.tracklite), as in Python [default:
    /// TRACKLITE_STORE, else MLFLOW_TRACKING_URI, else ./tracklite-runs]
    #[arg(long, global = true, value_name = "URI")]
    pub store: Option<OsString>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// List experiments with their run counts
    Experiments {
        /// Which lifecycle stages to list
        #[arg(long, value_enum, default_value_t = View::Active)]
        view: View,
        /// Print one JSON document instead of a table
        #[arg(long)]
        json: bool,
    },
    /// List runs, newest first, with their latest metrics and their params
    Runs {
        /// Only the runs of this experiment (a name, or an id) [default: all experiments]
        #[arg(long, value_name = "NAME")]
        experiment: Option<String>,
        /// Which lifecycle stages to list
        #[arg(long, value_enum, default_value_t = View::Active)]
        view: View,
        /// Only runs matching this filter, in MLflow's search language,
        /// e.g. "metrics.acc > 0.9 AND params.lr = '0.01'"
        #[arg(long, value_name = "FILTER", default_value = "")]
        filter: String,
        /// Order by these keys, e.g. "metrics.acc DESC" (repeatable)
        /// [default: start time, newest first]
        #[arg(long, value_name = "KEY [ASC|DESC]")]
        order_by: Vec<String>,
        /// Show at most this many runs: by default one page, so that a
        /// store of a million runs lists as quickly as a small one
        #[arg(long, visible_alias = "limit", value_name = "N",
              default_value_t = crate::listing::DEFAULT_PAGE)]
        max_results: usize,
        /// Print one JSON document instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show one run: info, params, tags, inputs and latest metrics
    Run {
        run_id: String,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Print every point of one metric of a run: step, timestamp, value
    History {
        run_id: String,
        key: String,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Verify the index and the metric log; exit status 1 when problems are found
    Check {
        /// Repair what can be repaired, then check again
        #[arg(long)]
        repair: bool,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// List a run's artifacts, under PATH or at the run's root
    Artifacts {
        run_id: String,
        path: Option<String>,
        /// Print one JSON document instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Rewrite ended runs' metrics into compressed blocks and release freed space
    Compact {
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Import an MLflow file store (an mlruns folder, with its model
    /// registry), creating the store if needed; exit status 1 when damaged
    /// files were left out
    Import {
        /// The mlruns folder; it is only read
        source: PathBuf,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// List registered models with their latest versions and aliases, or
    /// show one model with every version
    Models {
        /// The registered model to show [default: list every model]
        name: Option<String>,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Permanently remove deleted runs: all of them, or only those listed.
    /// A deleted run whose artifacts a registered model version uses makes
    /// the whole gc fail, removing nothing, unless --force is given
    Gc {
        /// Deleted runs to remove [default: every deleted run]
        run_ids: Vec<String>,
        /// Remove deleted runs even when registered model versions use
        /// their artifacts (the versions are left without their files)
        #[arg(long)]
        force: bool,
        /// Print one JSON document instead of text
        #[arg(long)]
        json: bool,
    },
    /// Push the store to an MLflow tracking server, sending only what is new
    ///
    /// Experiments are matched by name; runs keep their start and end times,
    /// status, user, name, params, tags and every metric point, and their
    /// artifact files go to the server's artifact proxy (mlflow-artifacts:)
    /// or straight to the bucket (s3://, with MLFLOW_S3_ENDPOINT_URL and the
    /// AWS_* variables). The export journal in the store records what the
    /// server acknowledged: run the same command again to send what is new,
    /// or to finish an export that was cut off. Credentials:
    /// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or
    /// MLFLOW_TRACKING_TOKEN. TLS: the system's CA roots, or the PEM bundle
    /// of MLFLOW_TRACKING_SERVER_CERT_PATH (or --ca-cert);
    /// MLFLOW_TRACKING_INSECURE_TLS=true (or --insecure) skips verification.
    /// With --check, nothing is exported: each step an export needs is
    /// tried (server, auth, version, creating an experiment, the artifact
    /// store) and reported OK or FAILED. Progress: a bar on a terminal,
    /// plain lines otherwise. Exit status 1 when any run failed (each is
    /// listed) or any check did not pass.
    ///
    /// Direct mode (--postgres and --artifacts instead of --to): writes
    /// straight into the server's PostgreSQL database (MLflow 3.17 schema)
    /// and its S3 bucket, keeping run ids and model version numbers; the
    /// server need not run. A password in the URL is never printed.
    Export {
        /// The tracking server: http(s)://HOST[:PORT]
        #[arg(
            long,
            value_name = "URL",
            required_unless_present = "postgres",
            conflicts_with = "postgres"
        )]
        to: Option<String>,
        /// Check that an export would work, exporting nothing: reach the
        /// server, authenticate, create and delete a scratch experiment,
        /// put and delete a scratch artifact file
        #[arg(long, conflicts_with_all = ["dry_run", "postgres", "watch"])]
        check: bool,
        /// Trust the CA certificates of this PEM file instead of the
        /// system's [default: MLFLOW_TRACKING_SERVER_CERT_PATH]
        #[arg(long, value_name = "PATH", conflicts_with = "postgres")]
        ca_cert: Option<PathBuf>,
        /// Do not verify the server's TLS certificate (prints a warning)
        /// [default: MLFLOW_TRACKING_INSECURE_TLS]
        #[arg(long, conflicts_with = "postgres")]
        insecure: bool,
        /// Direct mode: the server's database,
        /// postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DB
        #[arg(long, value_name = "URL", requires = "artifacts")]
        postgres: Option<String>,
        /// Direct mode: the server's artifact root in its bucket,
        /// s3://BUCKET[/PREFIX] (its --default-artifact-root, or its
        /// --artifacts-destination when it proxies artifacts)
        #[arg(long, value_name = "S3_URI", requires = "postgres")]
        artifacts: Option<String>,
        /// Only the runs of this experiment (repeatable) [default: every run]
        #[arg(long, value_name = "NAME")]
        experiment: Vec<String>,
        /// Only this run (repeatable; its parent runs come along)
        #[arg(long = "run", value_name = "ID")]
        runs: Vec<String>,
        /// Say what would be sent, from the journal only: no request, no write
        #[arg(long)]
        dry_run: bool,
        /// Requests in flight at once
        #[arg(long, default_value_t = 4, value_name = "N")]
        connections: usize,
        /// Print one JSON document (the summary, or the check's report)
        /// instead of text
        #[arg(long)]
        json: bool,
        /// Keep exporting what is new every few seconds while runs are
        /// logged, until interrupted (Ctrl-C or SIGTERM), then once more
        #[arg(long, conflicts_with_all = ["dry_run", "postgres"])]
        watch: bool,
        /// Seconds between two passes of --watch
        #[arg(
            long,
            default_value_t = 5.0,
            value_name = "SECONDS",
            requires = "watch"
        )]
        interval: f64,
    },
    /// Serve the store read-only to a web browser: experiments, runs,
    /// metric charts, artifacts and the model registry, until Ctrl-C or
    /// SIGTERM
    ///
    /// It listens on the loopback interface unless told otherwise; it has
    /// no authentication, so another host needs --allow-remote. The pages
    /// are in the program: no network is needed.
    Ui {
        /// The port to listen on (0: any free port)
        #[arg(long, default_value_t = tracklite_ui::DEFAULT_PORT, value_name = "N")]
        port: u16,
        /// The address to listen on
        #[arg(long, default_value = "127.0.0.1", value_name = "HOST")]
        host: String,
        /// Allow a --host other than the loopback interface: whoever can
        /// reach that address can read the whole store
        #[arg(long)]
        allow_remote: bool,
    },
}

/// Lifecycle stages to list, as spelled on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum View {
    Active,
    Deleted,
    All,
}

impl From<View> for ViewType {
    fn from(v: View) -> ViewType {
        match v {
            View::Active => ViewType::ActiveOnly,
            View::Deleted => ViewType::DeletedOnly,
            View::All => ViewType::All,
        }
    }
}

impl Command {
    /// Whether the command prints one JSON document (`--json`): then its
    /// errors are JSON too, and it shows no progress.
    pub fn json(&self) -> bool {
        match self {
            Command::Experiments { json, .. }
            | Command::Runs { json, .. }
            | Command::Run { json, .. }
            | Command::History { json, .. }
            | Command::Check { json, .. }
            | Command::Artifacts { json, .. }
            | Command::Compact { json }
            | Command::Import { json, .. }
            | Command::Models { json, .. }
            | Command::Gc { json, .. }
            | Command::Export { json, .. } => *json,
            Command::Ui { .. } => false,
        }
    }
}
