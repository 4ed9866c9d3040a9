//! Why a viewer could not start.

/// What went wrong starting the viewer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store could not be opened for reading.
    #[error(transparent)]
    Store(#[from] tracklite::Error),
    /// A host other than the loopback interface without `allow_remote`.
    #[error("host {host:?} is not a loopback address; serving a store beyond this machine needs allow_remote (the CLI's --allow-remote), since the viewer has no authentication")]
    RemoteNotAllowed {
        /// The host asked for.
        host: String,
    },
    /// The address could not be bound (in use, not this machine's, ...).
    #[error("cannot listen on {host}:{port}: {reason}")]
    Bind {
        /// The host asked for.
        host: String,
        /// The port asked for (0: any free port).
        port: u16,
        /// What the system said.
        reason: String,
    },
}
