//! Just enough HTTP/1.1 for the viewer: reading a request's head (the
//! viewer takes no request bodies) and writing a reply with its length,
//! over keep-alive connections.

use std::io::{self, BufRead, Write};

use crate::reply::Reply;

/// The longest request head read (request line and headers).
const MAX_HEAD: usize = 16 * 1024;

/// A request's head: what routing and the connection need.
#[derive(Debug)]
pub(crate) struct Head {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub host: Option<String>,
    /// The connection ends after the reply: the client asked, spoke
    /// HTTP/1.0, or sent a body the viewer does not read.
    pub close: bool,
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The client closed the connection (or went quiet) between requests.
    Gone,
    /// Not an HTTP request the viewer understands: answered with 400, then
    /// the connection is closed.
    Malformed(String),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> ReadError {
        ReadError::Gone
    }
}

/// Reads the next request's head from a connection.
pub(crate) fn read_head(reader: &mut impl BufRead) -> Result<Head, ReadError> {
    let mut read = 0;
    let mut line = String::new();
    let request_line = loop {
        let n = read_line(reader, &mut line, &mut read)?;
        if n == 0 {
            return Err(ReadError::Gone);
        }
        // Clients may send empty lines between requests (RFC 9112 §2.2).
        if !line.trim().is_empty() {
            break std::mem::take(&mut line);
        }
        line.clear();
    };
    let mut parts = request_line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed(format!(
            "bad request line {:?}",
            request_line.trim_end()
        )));
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        other => {
            return Err(ReadError::Malformed(format!(
                "HTTP version {other:?} is not spoken here (HTTP/1.1 is)"
            )))
        }
    };
    let mut head = Head {
        method: method.to_string(),
        target: target.to_string(),
        host: None,
        close: http10,
    };
    loop {
        line.clear();
        if read_line(reader, &mut line, &mut read)? == 0 {
            return Err(ReadError::Gone);
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            return Ok(head);
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(ReadError::Malformed(format!("bad header line {header:?}")));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("host") {
            head.host = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("connection") {
            let value = value.to_ascii_lowercase();
            if value.contains("close") {
                head.close = true;
            } else if value.contains("keep-alive") {
                head.close = false;
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            || (name.eq_ignore_ascii_case("content-length") && value != "0")
        {
            // A body the viewer will not read: the connection cannot be
            // reused after the reply, since its next bytes are the body.
            head.close = true;
        }
    }
}

/// One line of the head into `line`, counting toward [`MAX_HEAD`].
fn read_line<R: BufRead>(
    reader: &mut R,
    line: &mut String,
    read: &mut usize,
) -> Result<usize, ReadError> {
    let mut bytes = Vec::new();
    let limit = (MAX_HEAD - *read) as u64 + 1;
    let n = io::Read::take(&mut *reader, limit).read_until(b'\n', &mut bytes)?;
    *read += n;
    if *read > MAX_HEAD {
        return Err(ReadError::Malformed(format!(
            "request head longer than {MAX_HEAD} bytes"
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| ReadError::Malformed("request head is not UTF-8".into()))?;
    line.push_str(&text);
    Ok(n)
}

/// Writes `reply` (its body left out for a HEAD request), then flushes.
pub(crate) fn write_reply(
    out: &mut impl Write,
    reply: &Reply,
    head_only: bool,
    close: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
        reply.status,
        reason(reply.status),
        reply.content_type,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str(if close {
        "Connection: close\r\n\r\n"
    } else {
        "Connection: keep-alive\r\n\r\n"
    });
    out.write_all(head.as_bytes())?;
    if !head_only {
        out.write_all(&reply.body)?;
    }
    out.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        500 => "Internal Server Error",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Head, ReadError> {
        read_head(&mut io::BufReader::new(text.as_bytes()))
    }

    #[test]
    fn a_keep_alive_request_and_its_headers() {
        let head =
            parse("GET /api/runs?x=1 HTTP/1.1\r\nHost: 127.0.0.1:5080\r\nAccept: */*\r\n\r\n")
                .unwrap();
        assert_eq!(
            (
                head.method.as_str(),
                head.target.as_str(),
                head.host.as_deref(),
                head.close
            ),
            ("GET", "/api/runs?x=1", Some("127.0.0.1:5080"), false)
        );
    }

    #[test]
    fn what_ends_a_connection() {
        assert!(
            parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                .unwrap()
                .close
        );
        assert!(parse("GET / HTTP/1.0\r\n\r\n").unwrap().close);
        assert!(
            !parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
                .unwrap()
                .close
        );
        assert!(
            parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
                .unwrap()
                .close
        );
    }

    #[test]
    fn malformed_heads_are_named() {
        let bad = |text: &str| match parse(text) {
            Err(ReadError::Malformed(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(bad("GET /\r\n\r\n").contains("bad request line"));
        assert!(bad("GET / HTTP/2.0\r\n\r\n").contains("HTTP/2.0"));
        assert!(bad("GET / HTTP/1.1\r\nno colon\r\n\r\n").contains("no colon"));
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(bad(&long).contains("longer than"));
        assert!(matches!(parse(""), Err(ReadError::Gone)));
        assert!(matches!(
            parse("GET / HTTP/1.1\r\nHost: x\r\n"),
            Err(ReadError::Gone)
        ));
    }

    #[test]
    fn replies_carry_their_length_and_head_leaves_the_body_out() {
        let reply = Reply::bytes("text/plain", b"hello".to_vec()).with_header("X-A", "b");
        let mut out = Vec::new();
        write_reply(&mut out, &reply, false, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Content-Length: 5\r\nX-A: b\r\nConnection: keep-alive\r\n\r\nhello"));
        let mut out = Vec::new();
        write_reply(&mut out, &reply, true, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with("Content-Length: 5\r\nX-A: b\r\nConnection: close\r\n\r\n"),
            "{text}"
        );
    }
}
