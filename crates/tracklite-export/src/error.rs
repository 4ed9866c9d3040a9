//! The export's errors. No credential ever appears in one: URLs with a
//! user or password are refused before any request, and request headers
//! are never quoted.

/// Result alias of the export crate.
pub type Result<T, E = ExportError> = std::result::Result<T, E>;

/// Why an export, or the export of one run, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the store or writing its journal failed.
    #[error(transparent)]
    Store(#[from] tracklite::Error),
    /// The target URL cannot be used.
    #[error("invalid target {url:?}: {reason}")]
    InvalidTarget {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The experiments or runs asked for cannot be exported.
    #[error("{reason}")]
    Selection {
        /// Which, and why.
        reason: String,
    },
    /// The server could not be reached, or stopped answering, after every
    /// retry.
    #[error("{method} {endpoint}: no answer after {attempts} attempts: {reason}")]
    Connection {
        /// `GET`, `POST`, `PUT` or `PATCH`.
        method: &'static str,
        /// The API path, such as `runs/log-batch`.
        endpoint: String,
        /// How many times it was tried.
        attempts: u32,
        /// The last transport error.
        reason: String,
    },
    /// The server answered with an error (after every retry, for 429 and
    /// 5xx answers).
    #[error("{method} {endpoint}: HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Server {
        /// `GET`, `POST`, `PUT` or `PATCH`.
        method: &'static str,
        /// The API path.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// MLflow's error code, such as `RESOURCE_DOES_NOT_EXIST`.
        code: Option<String>,
        /// The server's message.
        message: String,
    },
    /// The server's TLS certificate was refused, or the TLS settings
    /// cannot be used. Never retried.
    #[error("{}", if server.is_empty() { format!("TLS: {reason}") } else { format!("TLS connection to {server} failed: {reason}") })]
    Tls {
        /// `https://host[:port]`, or empty for a setting.
        server: String,
        /// What was refused, and what to set.
        reason: String,
    },
    /// The server refused the credentials (HTTP 401), or asked for some
    /// when none were set.
    #[error("{method} {endpoint}: HTTP 401 Unauthorized: {hint}")]
    Unauthorized {
        /// `GET`, `POST`, `PUT` or `PATCH`.
        method: &'static str,
        /// The API path.
        endpoint: String,
        /// Which variable to set or check (never a credential).
        hint: String,
    },
    /// The server's answer is not what MLflow's API gives.
    #[error("{endpoint}: unexpected answer: {reason}")]
    BadResponse {
        /// The API path.
        endpoint: String,
        /// What was wrong.
        reason: String,
    },
    /// A param of the run already exists on the server with another value.
    /// Nothing of the run was sent.
    #[error(
        "run {run_id}: param {key:?} is {remote:?} on the server (run {remote_run_id}) \
         but {local:?} in the store; params cannot change, so nothing of this run was sent"
    )]
    ParamConflict {
        /// The local run.
        run_id: String,
        /// Its run on the server.
        remote_run_id: String,
        /// The param's key.
        key: String,
        /// The value in the store.
        local: String,
        /// The value on the server.
        remote: String,
    },
    /// The run cannot be exported as things stand on the server.
    #[error("run {run_id}: {reason}")]
    Run {
        /// The local run.
        run_id: String,
        /// Why.
        reason: String,
    },
    /// After the export, the server does not hold what the store does.
    #[error("run {run_id} (server run {remote_run_id}): verification failed: {what}")]
    Verify {
        /// The local run.
        run_id: String,
        /// Its run on the server.
        remote_run_id: String,
        /// What differs.
        what: String,
    },
    /// A statement of the direct mode failed (the database's message, with
    /// any password replaced by `***`).
    #[error("PostgreSQL {target}: {what}: {reason}")]
    Postgres {
        /// The database URL, password hidden.
        target: String,
        /// What was being done.
        what: String,
        /// The database's (or the driver's) message.
        reason: String,
    },
    /// The database does not hold an MLflow schema the direct mode writes.
    #[error(
        "PostgreSQL {target}: MLflow schema revision (alembic_version) is {found}; the direct \
         mode writes only revision {supported}. Export through the tracking server's REST API \
         instead: tracklite export --to http(s)://HOST:PORT"
    )]
    UnsupportedSchema {
        /// The database URL, password hidden.
        target: String,
        /// The revision found (or what is missing).
        found: String,
        /// The revisions supported, with their MLflow releases.
        supported: String,
    },
}

impl ExportError {
    /// MLflow's error code, for errors the server gave.
    pub fn code(&self) -> Option<&str> {
        match self {
            ExportError::Server { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}
