//! The HTTP client of MLflow's REST API: one connection pool, auth,
//! timeouts, and retries with backoff on 429, 5xx and transport errors.
//! Credentials go into the `Authorization` header only: they are never
//! formatted into an error, a log line or a `Debug` output.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::error::{ExportError, Result};

/// How requests authenticate.
#[derive(Clone, Default)]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// HTTP basic auth (`MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`).
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// A bearer token (`MLFLOW_TRACKING_TOKEN`).
    Bearer(String),
}

impl Auth {
    /// Auth as MLflow's client reads it from the environment: a user name
    /// and password first (`MLFLOW_TRACKING_USERNAME` and
    /// `MLFLOW_TRACKING_PASSWORD`, both set), then a token
    /// (`MLFLOW_TRACKING_TOKEN`); none when neither is set. (MLflow's
    /// `rest_utils` takes them in this order too.)
    pub fn from_env() -> Auth {
        Auth::from_vars(|name| std::env::var(name).ok())
    }

    /// [`Auth::from_env`] with the variables of `var`; empty ones are unset.
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Auth {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        match (
            var("MLFLOW_TRACKING_USERNAME"),
            var("MLFLOW_TRACKING_PASSWORD"),
            var("MLFLOW_TRACKING_TOKEN"),
        ) {
            (Some(username), Some(password), _) => Auth::Basic { username, password },
            (_, _, Some(token)) => Auth::Bearer(token),
            _ => Auth::None,
        }
    }

    /// What to set or check when the server answers 401 (no secret in it).
    fn hint(&self) -> &'static str {
        match self {
            Auth::None => {
                "the server asks for credentials; set MLFLOW_TRACKING_USERNAME and \
                 MLFLOW_TRACKING_PASSWORD (basic auth) or MLFLOW_TRACKING_TOKEN (bearer token)"
            }
            Auth::Basic { .. } => {
                "the server refused the user name and password; check MLFLOW_TRACKING_USERNAME \
                 and MLFLOW_TRACKING_PASSWORD"
            }
            Auth::Bearer(_) => "the server refused the token; check MLFLOW_TRACKING_TOKEN",
        }
    }

    fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
        }
    }
}

/// Never shows a credential.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Auth::None => "Auth::None",
            Auth::Basic { .. } => "Auth::Basic(<redacted>)",
            Auth::Bearer(_) => "Auth::Bearer(<redacted>)",
        })
    }
}

/// Timeouts and retries of requests.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Tries per request, the first included. Default: 8.
    pub attempts: u32,
    /// The wait before the first retry, doubled for each next one.
    /// Default: 250 ms.
    pub first_backoff: Duration,
    /// The longest wait between two tries. Default: 8 s.
    pub max_backoff: Duration,
    /// The time one request may take, answer included. Default: 300 s
    /// (a long metric history is one answer).
    pub timeout: Duration,
    /// The time a connection may take. Default: 10 s.
    pub connect_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            first_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// What one try gave.
pub(crate) enum Attempt {
    /// The answer.
    Done(Value),
    /// Worth trying again (429, 5xx, transport), after the wait the server
    /// asked for, if any; the error if it was the last try.
    Again(ExportError, Option<Duration>),
    /// Not worth trying again.
    Failed(ExportError),
}

/// A client of one MLflow server.
pub(crate) struct Client {
    agent: ureq::Agent,
    /// `http(s)://host[:port]`, no trailing `/`.
    base: String,
    authorization: Option<String>,
    /// What to set when the server answers 401.
    auth_hint: &'static str,
    retry: RetryPolicy,
    /// Set when a request found no server through all its tries, cleared
    /// by the next answer: meanwhile each request is tried once, so that
    /// an export whose server died fails in seconds, not in a full round
    /// of retries per request.
    gone: AtomicBool,
}

impl Client {
    /// A client that trusts the system's roots.
    pub fn new(base: &str, auth: &Auth, retry: RetryPolicy, connections: usize) -> Client {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(crate::tls::system_roots())
            .build();
        Client::with_tls(base, auth, retry, connections, tls)
    }

    /// A client with the TLS settings `tls` (see [`crate::TlsOptions`]).
    pub fn with_tls(
        base: &str,
        auth: &Auth,
        retry: RetryPolicy,
        connections: usize,
        tls: ureq::tls::TlsConfig,
    ) -> Client {
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_global(Some(retry.timeout))
            .timeout_connect(Some(retry.connect_timeout))
            .max_idle_connections(connections.max(1))
            .max_idle_connections_per_host(connections.max(1))
            .user_agent(concat!("tracklite-export/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: config.into(),
            base: base.to_string(),
            authorization: auth.header(),
            auth_hint: auth.hint(),
            retry,
            gone: AtomicBool::new(false),
        }
    }

    /// `POST /api/2.0/mlflow/<endpoint>` with a JSON body, retried.
    pub fn post(&self, endpoint: &str, body: &str) -> Result<Value> {
        self.with_retries("POST", endpoint, |c| c.post_attempt(endpoint, body))
    }

    /// `PATCH /api/2.0/mlflow/<endpoint>` with a JSON body, retried (logged
    /// models and registry updates: each is idempotent).
    pub fn patch(&self, endpoint: &str, body: &str) -> Result<Value> {
        self.with_retries("PATCH", endpoint, |c| {
            let mut request = c
                .agent
                .patch(&c.url(endpoint))
                .header("Content-Type", "application/json");
            if let Some(auth) = &c.authorization {
                request = request.header("Authorization", auth);
            }
            c.answer("PATCH", endpoint, request.send(body))
        })
    }

    /// `GET /api/2.0/mlflow/<endpoint>?<query>`, retried.
    pub fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Value> {
        self.with_retries("GET", endpoint, |c| c.get_once(endpoint, query))
    }

    /// One `POST` try, no retry: for calls that must not be repeated
    /// blindly (runs/create).
    pub fn post_once(&self, endpoint: &str, body: &str) -> Attempt {
        self.post_attempt(endpoint, body)
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(16);
        (self.retry.first_backoff * factor).min(self.retry.max_backoff)
    }

    /// Tries per request: one while the server is gone (see `gone`).
    pub fn attempts(&self) -> u32 {
        if self.gone.load(Ordering::Relaxed) {
            1
        } else {
            self.retry.attempts.max(1)
        }
    }

    fn with_retries(
        &self,
        method: &'static str,
        endpoint: &str,
        once: impl Fn(&Client) -> Attempt,
    ) -> Result<Value> {
        let attempts = self.attempts();
        let mut last = None;
        for attempt in 1..=attempts {
            match once(self) {
                Attempt::Done(v) => {
                    self.gone.store(false, Ordering::Relaxed);
                    return Ok(v);
                }
                Attempt::Failed(e) => return Err(e),
                Attempt::Again(e, wait) => {
                    if attempt < attempts {
                        std::thread::sleep(wait.unwrap_or_else(|| self.backoff(attempt)));
                    }
                    last = Some(e);
                }
            }
        }
        Err(match last {
            Some(ExportError::Connection { reason, .. }) => {
                self.gone.store(true, Ordering::Relaxed);
                ExportError::Connection {
                    method,
                    endpoint: endpoint.to_string(),
                    attempts,
                    reason,
                }
            }
            Some(e) => e,
            None => unreachable!("at least one attempt"),
        })
    }

    /// `http(s)://host[:port]` of the server, no trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `PUT url` with `body` (`application/octet-stream`), retried. `label`
    /// names the request in errors instead of `url`, which may carry a
    /// signature. The `Authorization` header goes only to the server's own
    /// URLs.
    pub fn put_bytes(&self, url: &str, label: &str, body: &[u8]) -> Result<Value> {
        let own = url.starts_with(&format!("{}/", self.base));
        self.with_retries("PUT", label, |c| {
            let mut request = c
                .agent
                .put(url)
                .header("Content-Type", "application/octet-stream");
            if let (true, Some(auth)) = (own, &c.authorization) {
                request = request.header("Authorization", auth);
            }
            c.answer("PUT", label, request.send(body))
        })
    }

    /// `method url` with a JSON `body` (or none), retried: its JSON answer.
    /// `label` names the request in errors.
    pub fn json_at(
        &self,
        method: &'static str,
        url: &str,
        label: &str,
        body: Option<&str>,
    ) -> Result<Value> {
        let own = url.starts_with(&format!("{}/", self.base));
        self.with_retries(method, label, |c| {
            let mut request = ureq::http::Request::builder()
                .method(method)
                .uri(url)
                .header("Content-Type", "application/json");
            if let (true, Some(auth)) = (own, &c.authorization) {
                request = request.header("Authorization", auth);
            }
            let request = match request.body(body.unwrap_or_default().to_string()) {
                Ok(r) => r,
                Err(e) => {
                    return Attempt::Failed(ExportError::BadResponse {
                        endpoint: label.to_string(),
                        reason: format!("cannot build the request: {e}"),
                    })
                }
            };
            c.answer(method, label, c.agent.run(request))
        })
    }

    /// `method url` (`GET`, `DELETE`) with the server's credentials when
    /// `url` is the server's, retried: the answer's body as text, whatever
    /// its type (`/version` answers plain text, the artifact proxy the
    /// file). `label` names the request in errors.
    pub fn text_at(&self, method: &'static str, url: &str, label: &str) -> Result<String> {
        let own = url.starts_with(&format!("{}/", self.base));
        let answer = self.with_retries(method, label, |c| {
            let mut request = ureq::http::Request::builder().method(method).uri(url);
            if let (true, Some(auth)) = (own, &c.authorization) {
                request = request.header("Authorization", auth);
            }
            match request.body(()) {
                Ok(r) => c.answer_as(method, label, c.agent.run(r), false),
                Err(e) => Attempt::Failed(ExportError::BadResponse {
                    endpoint: label.to_string(),
                    reason: format!("cannot build the request: {e}"),
                }),
            }
        })?;
        Ok(answer.as_str().unwrap_or_default().to_string())
    }

    /// `PUT url` (a presigned URL of one part of a multipart upload) with
    /// `headers` and `body`, retried: the answer's `ETag`.
    pub fn put_part(
        &self,
        url: &str,
        label: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<String> {
        let answer = self.with_retries("PUT", label, |c| {
            let mut request = c.agent.put(url);
            for (k, v) in headers {
                request = request.header(k, v);
            }
            let etag = match request.send(body) {
                Ok(r) if r.status().is_success() => r
                    .headers()
                    .get("ETag")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                sent => return c.answer("PUT", label, sent),
            };
            match etag {
                Some(etag) => Attempt::Done(Value::String(etag)),
                None => Attempt::Failed(ExportError::BadResponse {
                    endpoint: label.to_string(),
                    reason: "no ETag in the answer".into(),
                }),
            }
        })?;
        Ok(answer.as_str().unwrap_or_default().to_string())
    }

    fn url(&self, endpoint: &str) -> String {
        format!("{}/api/2.0/mlflow/{endpoint}", self.base)
    }

    fn post_attempt(&self, endpoint: &str, body: &str) -> Attempt {
        let mut request = self
            .agent
            .post(&self.url(endpoint))
            .header("Content-Type", "application/json");
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        self.answer("POST", endpoint, request.send(body))
    }

    /// One `GET` try, no retry.
    pub fn get_once(&self, endpoint: &str, query: &[(&str, &str)]) -> Attempt {
        let mut request = self.agent.get(&self.url(endpoint));
        for (k, v) in query {
            request = request.query(*k, *v);
        }
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        self.answer("GET", endpoint, request.call())
    }

    fn answer(
        &self,
        method: &'static str,
        endpoint: &str,
        sent: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Attempt {
        self.answer_as(method, endpoint, sent, true)
    }

    /// The answer as JSON (`json`), or as a JSON string of its text.
    fn answer_as(
        &self,
        method: &'static str,
        endpoint: &str,
        sent: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        json: bool,
    ) -> Attempt {
        let connection = |reason: String| ExportError::Connection {
            method,
            endpoint: endpoint.to_string(),
            attempts: 1,
            reason,
        };
        let mut response = match sent {
            Ok(r) => r,
            // A refused certificate stays refused: no retry.
            Err(e) if crate::tls::explain(&e).is_some() => {
                return Attempt::Failed(ExportError::Tls {
                    server: self.base.clone(),
                    reason: crate::tls::explain(&e).unwrap_or_default(),
                })
            }
            // Transport failures: refused, reset, timed out, cut answers.
            Err(e) => return Attempt::Again(connection(without_queries(&e.to_string())), None),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::retry_after::parse(v, std::time::SystemTime::now()));
        let text = match response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_string()
        {
            Ok(t) => t,
            Err(e) => return Attempt::Again(connection(format!("reading the answer: {e}")), None),
        };
        if (200..300).contains(&status) && !json {
            return Attempt::Done(Value::String(text));
        }
        if (200..300).contains(&status) {
            if text.trim().is_empty() {
                return Attempt::Done(Value::Object(Default::default()));
            }
            return match serde_json::from_str(&text) {
                Ok(v) => Attempt::Done(v),
                Err(e) => Attempt::Failed(ExportError::BadResponse {
                    endpoint: endpoint.to_string(),
                    reason: format!("not JSON ({e}): {}", excerpt(&text)),
                }),
            };
        }
        if status == 401 {
            return Attempt::Failed(ExportError::Unauthorized {
                method,
                endpoint: endpoint.to_string(),
                hint: self.auth_hint.to_string(),
            });
        }
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let error = ExportError::Server {
            method,
            endpoint: endpoint.to_string(),
            status,
            code: field("error_code"),
            message: field("message").unwrap_or_else(|| excerpt(&text)),
        };
        if status == 429 || status >= 500 {
            Attempt::Again(error, retry_after)
        } else {
            Attempt::Failed(error)
        }
    }
}

/// `text` with the query of every URL in it replaced by `?<redacted>`: a
/// transport error may quote the URL it failed on (`bad uri: ...`), and a
/// presigned URL's query holds a signature and maybe a session token.
fn without_queries(text: &str) -> String {
    text.split(' ')
        .map(|word| match word.split_once('?') {
            Some((url, _)) if url.contains("://") => format!("{url}?<redacted>"),
            _ => word.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The start of a long text, for an error message.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// `url` as one target: scheme and host in lower case, no default port,
/// no trailing `/`. A URL with a user or password, a query or a fragment
/// is refused (credentials come from the environment, never the URL).
pub fn normalise_target(url: &str) -> Result<String> {
    let invalid = |reason: &str| ExportError::InvalidTarget {
        // The user part is never echoed back.
        url: match url.split_once('@') {
            Some((_, host)) => format!("<redacted>@{host}"),
            None => url.to_string(),
        },
        reason: reason.to_string(),
    };
    let trimmed = url.trim();
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or_else(|| invalid("expected http://HOST[:PORT] or https://HOST[:PORT]"))?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return Err(invalid("the scheme must be http or https")),
    };
    if rest.contains(['?', '#']) {
        return Err(invalid("a query or fragment is not allowed"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(invalid(
            "credentials in the URL are not accepted; set MLFLOW_TRACKING_USERNAME and \
             MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN",
        ));
    }
    if authority.is_empty() {
        return Err(invalid("no host"));
    }
    let authority = authority.to_ascii_lowercase();
    let authority = authority
        .strip_suffix(&format!(":{default_port}"))
        .unwrap_or(&authority);
    Ok(format!("{scheme}://{authority}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_gone_through_all_tries_is_then_tried_once_per_request() {
        // A port nothing listens on (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let retry = RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
            ..RetryPolicy::default()
        };
        let client = Client::new(&format!("http://127.0.0.1:{port}"), &Auth::None, retry, 1);
        assert_eq!(client.attempts(), 3);
        let first = client.get("experiments/search", &[]).unwrap_err();
        assert!(
            first.to_string().contains("no answer after 3 attempts"),
            "{first}"
        );
        assert_eq!(client.attempts(), 1);
        let next = client.get("experiments/search", &[]).unwrap_err();
        assert!(
            next.to_string().contains("no answer after 1 attempts"),
            "{next}"
        );
    }

    #[test]
    fn targets_are_normalised() {
        for (given, expected) in [
            ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
            ("HTTP://LocalHost:5000/", "http://localhost:5000"),
            ("http://example.org:80", "http://example.org"),
            (
                "https://example.org:443/mlflow/",
                "https://example.org/mlflow",
            ),
            ("https://example.org:8443", "https://example.org:8443"),
        ] {
            assert_eq!(normalise_target(given).unwrap(), expected, "{given}");
        }
        for bad in ["example.org", "ftp://x", "http://", "http://x?a=1"] {
            assert!(normalise_target(bad).is_err(), "{bad}");
        }
        let err = normalise_target("http://bob:secret@host").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(!err.to_string().contains("bob"), "{err}");
    }

    /// A server on a loopback port that gives `answers` in turn, one per
    /// connection, then stops.
    fn server(answers: Vec<&'static str>) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for answer in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = stream.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                stream.write_all(answer.as_bytes()).unwrap();
            }
        });
        url
    }

    #[test]
    fn a_429_waits_as_long_as_retry_after_says() {
        let url = server(vec![
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\
             Connection: close\r\n\r\n{\"ok\": true}",
        ]);
        let retry = RetryPolicy {
            first_backoff: Duration::from_millis(1),
            ..RetryPolicy::default()
        };
        let client = Client::new(&url, &Auth::None, retry, 1);
        let started = std::time::Instant::now();
        let answer = client.get("experiments/search", &[]).unwrap();
        assert_eq!(answer["ok"], true);
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_401_names_the_variables_and_is_not_retried() {
        let url = server(vec![
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ]);
        let auth = Auth::Basic {
            username: "bob".into(),
            password: "hunter2".into(),
        };
        let err = Client::new(&url, &auth, RetryPolicy::default(), 1)
            .get("experiments/search", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("HTTP 401") && err.contains("MLFLOW_TRACKING_PASSWORD"),
            "{err}"
        );
        assert!(!err.contains("hunter2") && !err.contains("bob"), "{err}");
    }

    #[test]
    fn basic_auth_comes_before_a_token_as_in_mlflow() {
        let vars = |set: &'static [(&'static str, &'static str)]| {
            Auth::from_vars(move |name| {
                set.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        let both = vars(&[
            ("MLFLOW_TRACKING_USERNAME", "bob"),
            ("MLFLOW_TRACKING_PASSWORD", "pw"),
            ("MLFLOW_TRACKING_TOKEN", "tok"),
        ]);
        assert!(matches!(both, Auth::Basic { .. }));
        let token = vars(&[
            ("MLFLOW_TRACKING_USERNAME", "bob"),
            ("MLFLOW_TRACKING_TOKEN", "tok"),
        ]);
        assert!(matches!(token, Auth::Bearer(t) if t == "tok"));
        let empty = vars(&[("MLFLOW_TRACKING_TOKEN", "")]);
        assert!(matches!(empty, Auth::None));
    }

    #[test]
    fn transport_errors_quote_no_signed_query() {
        let said =
            "bad uri: http://h:9000/b/k?X-Amz-Security-Token=secret&X-Amz-Signature=s is bad";
        let shown = without_queries(said);
        assert_eq!(shown, "bad uri: http://h:9000/b/k?<redacted> is bad");
        assert_eq!(
            without_queries("io: refused (os error 111)"),
            "io: refused (os error 111)"
        );
    }

    #[test]
    fn auth_never_shows_its_secret() {
        let auth = Auth::Basic {
            username: "bob".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
        assert!(!format!("{:?}", Auth::Bearer("tok".into())).contains("tok"));
        assert_eq!(auth.header().unwrap(), "Basic Ym9iOmh1bnRlcjI=");
    }
}
