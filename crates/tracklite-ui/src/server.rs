//! The server: binds, accepts connections on one thread and answers each
//! connection's requests on a thread of its own (a browser keeps a few
//! keep-alive connections open; a fixed pool of threads, one held by
//! each open connection, left new connections waiting), with read-only
//! handles on the store taken from a small pool.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use tracklite::Store;

use crate::error::Error;
use crate::host::{self, HostCheck};
use crate::http::{self, ReadError};
use crate::reply::ApiError;
use crate::routes::{self, Request};

/// A keep-alive connection with no request for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the server waits after a failed accept before the next.
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
    /// Read-only handles on the store kept open between requests (more
    /// are opened while more requests are answered at once). Default: 4.
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
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// Stops a [`Server`] from another thread (see [`Server::stop_handle`]).
#[derive(Clone)]
pub struct StopHandle {
    /// Weak: a handle kept after the server is gone keeps nothing of it.
    shared: Weak<Shared>,
}

impl StopHandle {
    /// Asks the server to stop: open connections are closed after the
    /// request each is answering; [`Server::wait`] then returns.
    pub fn stop(&self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.begin_stop();
        }
    }
}

/// What the acceptor, the connections and stop handles share.
struct Shared {
    stopping: AtomicBool,
    /// Where to connect to wake the acceptor out of `accept`.
    wake_addr: SocketAddr,
    connections: Mutex<Connections>,
}

/// The open connections: a second handle on each socket (to shut it down
/// on stop) and the threads answering them.
#[derive(Default)]
struct Connections {
    next_id: u64,
    sockets: HashMap<u64, TcpStream>,
    threads: Vec<JoinHandle<()>>,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn connections(&self) -> std::sync::MutexGuard<'_, Connections> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn begin_stop(&self) {
        if self.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        // The acceptor sees the flag once `accept` returns: connect to it.
        let _ = TcpStream::connect_timeout(&self.wake_addr, Duration::from_secs(1));
        // Connections waiting for their next request end now; one being
        // answered ends after its reply.
        for socket in self.connections().sockets.values() {
            let _ = socket.shutdown(Shutdown::Read);
        }
    }
}

/// Read-only handles on the store, reused between requests.
struct Stores {
    path: PathBuf,
    idle: Mutex<Vec<Store>>,
    keep: usize,
}

impl Stores {
    fn take(&self) -> tracklite::Result<Store> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(store) => Ok(store),
            None => Store::open_read_only(&self.path),
        }
    }

    fn give_back(&self, store: Store) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.keep {
            idle.push(store);
        }
    }
}

impl Server {
    /// Opens the store read-only and starts serving it; returns once the
    /// port is bound.
    pub fn start(options: &Options) -> Result<Server, Error> {
        if options.is_remote() && !options.allow_remote {
            return Err(Error::RemoteNotAllowed {
                host: options.host.clone(),
            });
        }
        // Opened now, so that a missing or unreadable store is an error
        // here rather than in every request.
        let first = Store::open_read_only(&options.store)?;
        let stores = Arc::new(Stores {
            path: options.store.clone(),
            idle: Mutex::new(vec![first]),
            keep: options.workers.max(1),
        });
        let bind_host = options.host.trim_start_matches('[').trim_end_matches(']');
        let bind_error = |reason: String| Error::Bind {
            host: options.host.clone(),
            port: options.port,
            reason,
        };
        let listener =
            TcpListener::bind((bind_host, options.port)).map_err(|e| bind_error(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| bind_error(e.to_string()))?;
        let shared = Arc::new(Shared {
            stopping: AtomicBool::new(false),
            wake_addr: wake_addr(addr),
            connections: Mutex::new(Connections::default()),
        });
        let hosts = HostCheck::new(&options.host);
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("tracklite-ui".into())
                .spawn(move || accept(&listener, &shared, &stores, &hosts))
                .expect("a thread can be spawned")
        };
        Ok(Server {
            url: url_of(&options.host, addr),
            addr,
            shared,
            acceptor: Some(acceptor),
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
    /// and the server's threads have ended when this returns.
    pub fn stop(mut self) {
        self.shut_down();
    }

    /// A handle that stops the server from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            shared: Arc::downgrade(&self.shared),
        }
    }

    /// Blocks until the server is stopped through a [`StopHandle`].
    pub fn wait(mut self) {
        self.join();
    }

    fn shut_down(&mut self) {
        self.shared.begin_stop();
        self.join();
    }

    fn join(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        // No connection starts once the acceptor has ended.
        let threads = std::mem::take(&mut self.shared.connections().threads);
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// The address that reaches a listener bound at `addr` (an unspecified
/// address is reached through the loopback interface).
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let mut wake = addr;
    if addr.ip().is_unspecified() {
        wake.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    wake
}

/// The acceptor: a thread per connection, until the server stops.
fn accept(listener: &TcpListener, shared: &Arc<Shared>, stores: &Arc<Stores>, hosts: &HostCheck) {
    loop {
        let accepted = listener.accept();
        if shared.stopping() {
            return;
        }
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Such as too many open files: a pause lets connections
                // close before the next try, instead of a busy loop.
                std::thread::sleep(ACCEPT_RETRY);
                continue;
            }
        };
        let Ok(second) = stream.try_clone() else {
            continue;
        };
        let mut connections = shared.connections();
        connections.threads.retain(|t| !t.is_finished());
        let id = connections.next_id;
        connections.next_id += 1;
        connections.sockets.insert(id, second);
        let (shared_c, stores, hosts) = (Arc::clone(shared), Arc::clone(stores), hosts.clone());
        let thread = std::thread::Builder::new()
            .name("tracklite-ui-conn".into())
            .spawn(move || {
                serve(stream, &stores, &hosts, &shared_c);
                shared_c.connections().sockets.remove(&id);
            });
        match thread {
            Ok(t) => connections.threads.push(t),
            Err(_) => {
                // No thread to answer it: the connection is closed.
                if let Some(s) = connections.sockets.remove(&id) {
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
        }
    }
}

/// One connection: its requests, answered in turn, until the client
/// closes it, asks to, goes quiet, or the server stops.
fn serve(stream: TcpStream, stores: &Stores, hosts: &HostCheck, shared: &Shared) {
    // Replies are written whole and flushed: without this, the end of one
    // waits for the client's delayed acknowledgement of the start (~40 ms).
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = BufWriter::new(stream);
    while !shared.stopping() {
        let head = match http::read_head(&mut reader) {
            Ok(head) => head,
            Err(ReadError::Gone) => return,
            Err(ReadError::Malformed(why)) => {
                let _ = http::write_reply(
                    &mut writer,
                    &ApiError::invalid(why).into_reply(),
                    false,
                    true,
                );
                return;
            }
        };
        let reply = match stores.take() {
            Ok(store) => {
                let request = Request {
                    method: &head.method,
                    url: &head.target,
                    host: head.host.as_deref(),
                };
                let reply = routes::route(&store, hosts, &request);
                stores.give_back(store);
                reply
            }
            Err(e) => ApiError::from(e).into_reply(),
        };
        let close = head.close || shared.stopping();
        let head_only = head.method == "HEAD";
        if http::write_reply(&mut writer, &reply, head_only, close).is_err() || close {
            return;
        }
    }
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
