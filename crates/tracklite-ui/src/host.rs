//! Which addresses the viewer may bind, and which `Host` headers it answers.
//!
//! A page on another site can make a browser send requests to a loopback
//! port through a DNS name that it points at 127.0.0.1 (DNS rebinding);
//! such a request carries that name in its `Host` header. Answering only
//! requests addressed to a loopback name, or to the address the viewer
//! was bound to, refuses them.

use std::net::IpAddr;

/// True when `host` names this machine's loopback interface.
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// True when `host` is the unspecified address (every interface).
pub(crate) fn is_unspecified(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
}

/// The `Host` header values a viewer bound to `bound` answers.
#[derive(Debug, Clone)]
pub(crate) struct HostCheck {
    /// The bound host, lowercased, without brackets.
    bound: String,
    /// Bound to every interface: any name may reach it.
    any: bool,
}

impl HostCheck {
    pub fn new(bound: &str) -> Self {
        HostCheck {
            bound: strip_brackets(bound).to_ascii_lowercase(),
            any: is_unspecified(bound),
        }
    }

    /// True when a request with this `Host` header (name, optionally with a
    /// port) is addressed to the viewer.
    pub fn allows(&self, header: &str) -> bool {
        let name = host_name(header).to_ascii_lowercase();
        self.any || is_loopback(&name) || name == self.bound
    }
}

fn strip_brackets(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

/// The name part of a `Host` header: `[::1]:8080` → `::1`,
/// `localhost:8080` → `localhost`.
fn host_name(header: &str) -> &str {
    let header = header.trim();
    if let Some(rest) = header.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match header.rsplit_once(':') {
        // One colon: name and port. More: an unbracketed IPv6 address.
        Some((name, _)) if !name.contains(':') => name,
        _ => header,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names() {
        for h in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.3.4.5",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "0.0.0.0",
            "192.168.1.2",
            "example.com",
            "localhost.evil.com",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn host_headers() {
        let local = HostCheck::new("127.0.0.1");
        for h in [
            "127.0.0.1:5080",
            "localhost:5080",
            "[::1]:5080",
            "localhost",
        ] {
            assert!(local.allows(h), "{h}");
        }
        for h in ["evil.com:5080", "evil.com", "192.168.1.2:5080", ""] {
            assert!(!local.allows(h), "{h}");
        }
        let lan = HostCheck::new("192.168.1.2");
        assert!(lan.allows("192.168.1.2:5080"));
        assert!(!lan.allows("evil.com:5080"));
        assert!(HostCheck::new("0.0.0.0").allows("my-laptop:5080"));
    }
}
