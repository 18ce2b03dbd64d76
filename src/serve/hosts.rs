//! The `Host` names the server answers to: loopback, the bound address and `--host` names (a
//! defence against DNS rebinding).

/// Which `Host` header values the server answers to.
#[derive(Clone, Debug)]
pub struct Hosts {
    names: Vec<String>,
}

impl Hosts {
    /// The loopback names (`localhost`, `127.0.0.1`, `[::1]`), the bound address's IP, and `extra`.
    pub fn new(bound: std::net::IpAddr, extra: &[String]) -> Hosts {
        let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()];
        if !bound.is_unspecified() {
            names.push(match bound {
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                v4 => v4.to_string(),
            });
        }
        names.extend(extra.iter().map(|h| h.trim().to_ascii_lowercase()));
        Hosts { names }
    }

    /// Loopback only.
    pub fn loopback() -> Hosts {
        Hosts::new(std::net::Ipv4Addr::LOCALHOST.into(), &[])
    }

    /// Whether a request with this `Host` header is served (a request without one is: browsers
    /// always send it, and DNS rebinding needs a browser).
    pub fn allows(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return true };
        let host = host.trim().to_ascii_lowercase();
        // strip the port, minding IPv6's brackets
        let name = match host.rfind(':') {
            Some(i) if !host[i..].contains(']') && host[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..i],
            _ => host.as_str(),
        };
        self.names.iter().any(|n| n == name)
    }
}
