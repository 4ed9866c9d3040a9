//! The server: binds, opens the store read-only once per worker thread,
//! and answers requests until stopped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use tracklite::Store;

use crate::error::Error;
use crate::host::{self, HostCheck};
use crate::routes::{self, Request};

/// How long a worker waits after a failed accept before the next.
const ACCEPT_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

/// The port `tracklite ui` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 5080;

/// Where and how to serve a store.
#[derive(Debug, Clone)]
pub struct Options {
    /// The store's directory; it must exist.
    pub store: PathBuf,
    /// The address to listen on. Default: `127.0.0.1`.
    pub host: String,
    /// The port; 0 picks a free one. Default: [`DEFAULT_PORT`].
    pub port: u16,
    /// Allows a host other than the loopback interface, which exposes the
    /// store, unauthenticated, to whoever can reach that address.
    /// Default: false.
    pub allow_remote: bool,
    /// Threads answering requests. Default: 4.
    pub workers: usize,
}

impl Options {
    /// Serves `store` on `127.0.0.1:5080` with the defaults above.
    pub fn new(store: impl Into<PathBuf>) -> Options {
        Options {
            store: store.into(),
            host: "127.0.0.1".into(),
            port: DEFAULT_PORT,
            allow_remote: false,
            workers: 4,
        }
    }

    /// True when the host is not the loopback interface: the viewer is
    /// then reachable from other machines (a caller should say so).
    pub fn is_remote(&self) -> bool {
        !host::is_loopback(&self.host)
    }
}

/// A running viewer. Dropping it stops it too.
pub struct Server {
    addr: SocketAddr,
    url: String,
    stopper: StopHandle,
    workers: Vec<JoinHandle<()>>,
}

/// Stops a [`Server`] from another thread (see [`Server::stop_handle`]).
#[derive(Clone)]
pub struct StopHandle {
    /// Weak: a handle kept after the server is gone must not keep its
    /// listening socket open.
    http: Weak<tiny_http::Server>,
    stopping: Arc<AtomicBool>,
    workers: usize,
}

impl StopHandle {
    /// Asks the server to stop: its workers end after the request each is
    /// answering; [`Server::wait`] then returns.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let Some(http) = self.http.upgrade() else {
            return; // every worker has ended
        };
        // Each unblock wakes one worker waiting for a request.
        for _ in 0..self.workers {
            http.unblock();
        }
    }
}

impl Server {
    /// Opens the store read-only and starts serving it on worker threads;
    /// returns once the port is bound.
    pub fn start(options: &Options) -> Result<Server, Error> {
        if options.is_remote() && !options.allow_remote {
            return Err(Error::RemoteNotAllowed {
                host: options.host.clone(),
            });
        }
        let workers = options.workers.max(1);
        // One store per worker: each has its own index connection, so a
        // long search does not hold up a chart's history read.
        let stores = (0..workers)
            .map(|_| Store::open_read_only(&options.store))
            .collect::<Result<Vec<_>, _>>()?;
        let bind_host = options.host.trim_start_matches('[').trim_end_matches(']');
        let http = tiny_http::Server::http((bind_host, options.port)).map_err(|e| Error::Bind {
            host: options.host.clone(),
            port: options.port,
            reason: e.to_string(),
        })?;
        let addr = http.server_addr().to_ip().ok_or_else(|| Error::Bind {
            host: options.host.clone(),
            port: options.port,
            reason: "the listener has no IP address".into(),
        })?;
        let http = Arc::new(http);
        let stopping = Arc::new(AtomicBool::new(false));
        let hosts = HostCheck::new(&options.host);
        let workers: Vec<JoinHandle<()>> = stores
            .into_iter()
            .map(|store| {
                let (http, stopping, hosts) = (http.clone(), stopping.clone(), hosts.clone());
                std::thread::Builder::new()
                    .name("tracklite-ui".into())
                    .spawn(move || serve(&http, &store, &hosts, &stopping))
                    .expect("a thread can be spawned")
            })
            .collect();
        Ok(Server {
            url: url_of(&options.host, addr),
            addr,
            stopper: StopHandle {
                http: Arc::downgrade(&http),
                stopping,
                workers: workers.len(),
            },
            workers,
        })
    }

    /// The address to open in a browser, such as `http://127.0.0.1:5080/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server listens on (with the port it got, when 0
    /// was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving: requests being answered finish, the port is released
    /// and the worker threads have ended when this returns.
    pub fn stop(mut self) {
        self.shut_down();
    }

    /// A handle that stops the server from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stopper.clone()
    }

    /// Blocks until the server is stopped through a [`StopHandle`].
    pub fn wait(mut self) {
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }

    fn shut_down(&mut self) {
        self.stopper.stop();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// One worker: answers requests until the server stops.
fn serve(http: &tiny_http::Server, store: &Store, hosts: &HostCheck, stopping: &AtomicBool) {
    while !stopping.load(Ordering::SeqCst) {
        let Ok(request) = http.recv() else {
            // Woken to stop (the loop ends), or a failed accept, such as
            // too many open files: a pause lets connections close before
            // the next try, instead of a busy loop.
            if !stopping.load(Ordering::SeqCst) {
                std::thread::sleep(ACCEPT_RETRY);
            }
            continue;
        };
        let method = request.method().as_str().to_string();
        let host = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Host"))
            .map(|h| h.value.as_str().to_string());
        let reply = routes::route(
            store,
            hosts,
            &Request {
                method: &method,
                url: request.url(),
                host: host.as_deref(),
            },
        );
        let mut response = tiny_http::Response::from_data(reply.body)
            .with_status_code(reply.status)
            .with_header(header("Content-Type", reply.content_type));
        for (name, value) in &reply.headers {
            response.add_header(header(name, value));
        }
        // A client that went away is no concern of the others.
        let _ = request.respond(response);
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values are ASCII")
}

/// `http://host:port/`, with an IPv6 host in brackets; a server listening
/// on every interface is opened through the loopback one.
fn url_of(host: &str, addr: SocketAddr) -> String {
    let shown = if host::is_unspecified(host) {
        "127.0.0.1".to_string()
    } else if addr.is_ipv6() && !host.starts_with('[') && host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    format!("http://{shown}:{}/", addr.port())
}
