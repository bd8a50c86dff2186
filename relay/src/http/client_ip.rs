//! The address a request really comes from. Behind a reverse proxy (the
//! usual TLS setup) every peer is the proxy, so per-IP limits would lump all
//! users together; `X-Forwarded-For` fixes that, but only from proxies the
//! operator named, since anyone else can write the header.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The client's address: the peer itself unless it is a trusted proxy; then
/// the right-most `X-Forwarded-For` entry that is not a trusted proxy
/// (entries left of it were written by the client and prove nothing).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops: Vec<&str> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(v) = value.to_str() else { return peer };
        hops.extend(v.split(',').map(str::trim));
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return ip,
            // Garbage (or a port, or "unknown"): stop at the last address we could vouch for.
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let peer = ip("127.0.0.1");
        assert_eq!(
            client_ip(peer, &xff(&["203.0.113.7"]), &trusted),
            ip("203.0.113.7")
        );
        // The client wrote the left part; the proxy appended the real address.
        assert_eq!(
            client_ip(peer, &xff(&["1.1.1.1, 203.0.113.7"]), &trusted),
            ip("203.0.113.7")
        );
        // Two proxies in a row; several headers count as one list.
        assert_eq!(
            client_ip(peer, &xff(&["198.51.100.9", "10.1.2.3"]), &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(client_ip(peer, &xff(&[]), &trusted), peer, "no header");
        assert_eq!(
            client_ip(peer, &xff(&["10.0.0.5"]), &trusted),
            ip("10.0.0.5"),
            "all trusted"
        );
        assert_eq!(client_ip(peer, &xff(&["nonsense"]), &trusted), peer);
        assert_eq!(
            client_ip(peer, &xff(&["203.0.113.7, unknown"]), &trusted),
            peer,
            "garbage next to the proxy stops the walk"
        );
        // Anyone else's header is ignored.
        let stranger = ip("192.0.2.1");
        assert_eq!(
            client_ip(stranger, &xff(&["203.0.113.7"]), &trusted),
            stranger
        );
        assert_eq!(
            client_ip(peer, &xff(&["203.0.113.7"]), &[]),
            peer,
            "nothing trusted"
        );
    }
}
