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
pub(super) fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    // Bytes, not `to_str`: one odd byte from the client must not make the
    // proxy's own (right-hand) entries unreadable.
    let hops: Vec<&[u8]> = headers
        .get_all("x-forwarded-for")
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if is_trusted(&ip) => client = ip,
            Some(ip) => return ip,
            // Garbage or "unknown": stop at the last address we could vouch for.
            None => return client,
        }
    }
    client
}

/// The key per-IP limits count under: an IPv4 address, or an IPv6 address's
/// /64 (one customer's link usually gets a whole /64, so a client could
/// otherwise take a fresh budget from each of its 2^64 addresses).
pub(super) fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & (u128::MAX << 64);
            IpAddr::V6(std::net::Ipv6Addr::from(prefix))
        }
    }
}

/// `1.2.3.4`, `2001:db8::1`, `[2001:db8::1]`, with or without `:port`.
fn parse_hop(raw: &[u8]) -> Option<IpAddr> {
    let s = std::str::from_utf8(raw).ok()?.trim();
    let ip = s
        .parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| s.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    #[test]
    fn ipv6_clients_share_a_budget_per_64() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2:aaaa::1")),
            limit_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(limit_key(ip("203.0.113.7")), ip("203.0.113.7"));
    }

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
        // Ports, brackets and IPv4-mapped peers (a relay bound to [::]).
        let mapped = ip("::ffff:127.0.0.1");
        assert_eq!(
            client_ip(mapped, &xff(&["203.0.113.7:5123"]), &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_ip(peer, &xff(&["[2001:db8::7]:443"]), &trusted),
            ip("2001:db8::7")
        );
        assert_eq!(
            client_ip(peer, &xff(&["[2001:db8::8]"]), &trusted),
            ip("2001:db8::8")
        );
        assert_eq!(
            client_ip(peer, &xff(&["::ffff:10.0.0.9"]), &trusted),
            ip("10.0.0.9")
        );
        // A non-ASCII byte in the client's part does not hide the proxy's part.
        let mut h = HeaderMap::new();
        h.append(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_bytes(b"caf\xe9, 203.0.113.9").unwrap(),
        );
        assert_eq!(client_ip(peer, &h, &trusted), ip("203.0.113.9"));
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
