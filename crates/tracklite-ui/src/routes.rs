//! From a request's method, path and headers to a reply: the API under
//! `/api/`, the embedded pages at `/` and `/assets/<name>`.

use tracklite::Store;

use crate::assets;
use crate::host::HostCheck;
use crate::query::Query;
use crate::reply::{ApiError, Reply};

/// What the viewer's page may load and run: only its own scripts, styles
/// and API, images also from `data:`/`blob:` URLs (previews); no inline
/// script, no plugin, no form posting elsewhere.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

/// Shown at `/` when the build embedded no `index.html`.
const NO_PAGES: &str = "<!doctype html><meta charset=utf-8><title>tracklite ui</title>\
    <p>This tracklite viewer was built without its pages (no assets/index.html); \
    the JSON API under <a href=\"/api/health\">/api/</a> works.</p>";

/// One request, as the router sees it.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    /// Path and query, as sent: `/api/runs?filter=...`.
    pub url: &'a str,
    pub host: Option<&'a str>,
}

/// Answers a request; every reply also carries [`common_headers`].
pub(crate) fn route(store: &Store, hosts: &HostCheck, req: &Request<'_>) -> Reply {
    let mut reply = answer(store, hosts, req).unwrap_or_else(ApiError::into_reply);
    reply.headers.extend(common_headers());
    reply
}

fn answer(store: &Store, hosts: &HostCheck, req: &Request<'_>) -> Result<Reply, ApiError> {
    let host = req.host.unwrap_or("");
    if !hosts.allows(host) {
        return Err(ApiError {
            status: 403,
            code: "PERMISSION_DENIED",
            message: format!(
                "request addressed to host {host:?}, which is not this viewer's address; \
                 open the viewer at the URL it printed"
            ),
        });
    }
    if req.method != "GET" && req.method != "HEAD" {
        return Err(ApiError {
            status: 405,
            code: "METHOD_NOT_ALLOWED",
            message: format!(
                "{} is not allowed: the viewer is read-only (GET only)",
                req.method
            ),
        });
    }
    let (path, query) = req.url.split_once('?').unwrap_or((req.url, ""));
    if let Some(endpoint) = path.strip_prefix("/api/") {
        let q = Query::parse(query)?;
        let reply = crate::api::handle(store, endpoint, &q)?;
        return Ok(reply.with_header("Cache-Control", "no-store"));
    }
    if path == "/" || path == "/index.html" {
        return Ok(match assets::find("index.html") {
            Some(page) => Reply::bytes(page.content_type, page.bytes.to_vec())
                .with_header("Content-Security-Policy", PAGE_POLICY)
                .with_header("Cache-Control", "no-cache"),
            None => Reply {
                status: 404,
                ..Reply::bytes("text/html; charset=utf-8", NO_PAGES.as_bytes().to_vec())
            },
        });
    }
    if let Some(asset) = path.strip_prefix("/assets/").and_then(assets::find) {
        return Ok(Reply::bytes(asset.content_type, asset.bytes.to_vec())
            .with_header("Cache-Control", "no-cache"));
    }
    Err(ApiError {
        status: 404,
        code: "ENDPOINT_NOT_FOUND",
        message: format!("nothing at {path}"),
    })
}

/// Headers on every reply: no content sniffing, no referrer sent on.
fn common_headers() -> [(&'static str, String); 2] {
    [
        ("X-Content-Type-Options", "nosniff".into()),
        ("Referrer-Policy", "no-referrer".into()),
    ]
}
