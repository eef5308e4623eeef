//! Where webhooks may deliver: the SSRF guard.
//!
//! A webhook URL is checked when it is saved *and* before every delivery,
//! after DNS resolution: every address the name resolves to must be
//! allowed, and the delivery then connects to exactly those checked
//! addresses (the name is pinned to them), so a name that re-resolves to an
//! internal address between check and connect (DNS rebinding) gains
//! nothing. Redirects are never followed and proxies are never used.
//!
//! | class | examples | default | `--webhook-allow-private` |
//! |-------|----------|:-------:|:-------------------------:|
//! | public | everything else | ✓ | ✓ |
//! | private | loopback `127.0.0.0/8` `::1`, RFC 1918, CGNAT `100.64.0.0/10`, ULA `fc00::/7`, benchmarking `198.18.0.0/15`, `localhost` | refused | ✓ |
//! | never | unspecified `0.0.0.0/8` `::`, link-local `169.254.0.0/16` `fe80::/10`, cloud metadata (`100.100.100.200`, `fd00:ec2::254`, `metadata.google.internal`, …), multicast, broadcast, reserved | refused | refused |
//!
//! IPv6 addresses that embed an IPv4 address (mapped `::ffff:0:0/96`,
//! compatible `::/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by
//! the embedded address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::Url;

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// How long name resolution may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Host names that are cloud metadata services, refused whatever they resolve to.
const METADATA_NAMES: &[&str] = &[
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
];

/// How an address is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Deliverable.
    Public,
    /// Deliverable only with `--webhook-allow-private`.
    Private(&'static str),
    /// Never deliverable.
    Never(&'static str),
}

/// Why a URL may not be delivered to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not an absolute `http(s)` URL with a host.
    #[error("invalid webhook URL: {0}")]
    InvalidUrl(String),
    /// The host is, or resolves to, a refused address.
    #[error("webhook URL refused: {0}")]
    Forbidden(String),
    /// The host name does not resolve.
    #[error("webhook host does not resolve: {0}")]
    Unresolvable(String),
}

impl Refusal {
    /// Stable code for problem bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::InvalidUrl(_) => "invalid_url",
            Refusal::Forbidden(_) => "forbidden_address",
            Refusal::Unresolvable(_) => "unresolvable_host",
        }
    }
}

/// The address policy of this server.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddressPolicy {
    /// `--webhook-allow-private`.
    pub allow_private: bool,
}

/// A checked destination: the URL and the addresses its host may be reached at.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The URL.
    pub url: Url,
    /// The host name to pin (`None` for an IP-literal URL).
    pub domain: Option<String>,
    /// Every address of the host, all allowed.
    pub addrs: Vec<SocketAddr>,
}

impl AddressPolicy {
    /// Whether `ip` may be delivered to.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        match classify(ip) {
            Class::Public => Ok(()),
            Class::Private(_) if self.allow_private => Ok(()),
            Class::Private(what) => {
                Err(Refusal::Forbidden(format!("{ip} is a {what} address (set --webhook-allow-private to allow it)")))
            }
            Class::Never(what) => Err(Refusal::Forbidden(format!("{ip} is a {what} address"))),
        }
    }

    /// Parses and checks a URL, resolving its host and checking every address.
    pub async fn check(&self, url: &str) -> Result<Checked, Refusal> {
        let url = parse_url(url)?;
        let port = url.port_or_known_default().ok_or_else(|| Refusal::InvalidUrl("no port".into()))?;
        let host = url.host_str().ok_or_else(|| Refusal::InvalidUrl("the URL has no host".into()))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return self.literal(url.clone(), ip, port);
        }
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        self.check_name(&name)?;
        let addrs = resolve(&name, port).await?;
        for addr in &addrs {
            self.check_ip(addr.ip()).map_err(|e| match e {
                Refusal::Forbidden(why) => Refusal::Forbidden(format!("{name} resolves to {why}")),
                other => other,
            })?;
        }
        Ok(Checked { url, domain: Some(name), addrs })
    }

    fn literal(&self, url: Url, ip: IpAddr, port: u16) -> Result<Checked, Refusal> {
        self.check_ip(ip)?;
        Ok(Checked { url, domain: None, addrs: vec![SocketAddr::new(ip, port)] })
    }

    fn check_name(&self, name: &str) -> Result<(), Refusal> {
        if METADATA_NAMES.contains(&name) {
            return Err(Refusal::Forbidden(format!("{name} is a cloud metadata service")));
        }
        if (name == "localhost" || name.ends_with(".localhost")) && !self.allow_private {
            return Err(Refusal::Forbidden(format!(
                "{name} is a loopback name (set --webhook-allow-private to allow it)"
            )));
        }
        Ok(())
    }
}

/// An absolute `http`/`https` URL with a host and no credentials.
pub fn parse_url(url: &str) -> Result<Url, Refusal> {
    if url.len() > MAX_URL_LEN {
        return Err(Refusal::InvalidUrl(format!("longer than {MAX_URL_LEN} characters")));
    }
    let parsed = Url::parse(url.trim()).map_err(|e| Refusal::InvalidUrl(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Refusal::InvalidUrl("the scheme must be http or https".into()));
    }
    if parsed.host().is_none() {
        return Err(Refusal::InvalidUrl("the URL has no host".into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Refusal::InvalidUrl("credentials in the URL are not supported; use the signing secret".into()));
    }
    Ok(parsed)
}

async fn resolve(name: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
    let lookup = tokio::net::lookup_host((name, port));
    let addrs: Vec<SocketAddr> = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => return Err(Refusal::Unresolvable(format!("{name}: {e}"))),
        Err(_) => return Err(Refusal::Unresolvable(format!("{name}: timed out"))),
    };
    if addrs.is_empty() {
        return Err(Refusal::Unresolvable(format!("{name}: no addresses")));
    }
    Ok(addrs)
}

/// The class of an address (see the module table).
pub fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        (0, ..) => Class::Never("unspecified"),
        (127, ..) => Class::Private("loopback"),
        (10, ..) => Class::Private("private"),
        (172, 16..=31, _) => Class::Private("private"),
        (192, 168, _) => Class::Private("private"),
        (169, 254, _) => Class::Never("link-local (cloud metadata)"),
        _ if ip == Ipv4Addr::new(100, 100, 100, 200) => Class::Never("cloud metadata"),
        (100, 64..=127, _) => Class::Private("shared (CGNAT)"),
        (192, 0, 0) => Class::Never("reserved"),
        (198, 18..=19, _) => Class::Private("benchmarking"),
        (224..=239, ..) => Class::Never("multicast"),
        (240..=255, ..) => Class::Never("reserved or broadcast"),
        _ => Class::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> Class {
    let seg = ip.segments();
    if ip.is_unspecified() {
        return Class::Never("unspecified");
    }
    if ip.is_loopback() {
        return Class::Private("loopback");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    // IPv4-compatible (deprecated) ::a.b.c.d
    if seg[..6] == [0; 6] {
        return classify_v4(embedded_v4(seg[6], seg[7]));
    }
    // NAT64 64:ff9b::/96
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded_v4(seg[6], seg[7]));
    }
    // 6to4 2002:a.b.c.d::/48
    if seg[0] == 0x2002 {
        return classify_v4(embedded_v4(seg[1], seg[2]));
    }
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        return Class::Never("cloud metadata");
    }
    match seg[0] {
        s if s & 0xffc0 == 0xfe80 => Class::Never("link-local"),
        s if s & 0xffc0 == 0xfec0 => Class::Never("site-local"),
        s if s & 0xfe00 == 0xfc00 => Class::Private("unique local"),
        s if s & 0xff00 == 0xff00 => Class::Never("multicast"),
        0x0100 if seg[1..4] == [0, 0, 0] => Class::Never("discard"),
        _ => Class::Public,
    }
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Class {
        classify(s.parse().unwrap())
    }

    #[test]
    fn classes() {
        for public in ["8.8.8.8", "1.1.1.1", "100.63.255.255", "172.32.0.1", "2606:4700::1111"] {
            assert_eq!(class(public), Class::Public, "{public}");
        }
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fd12::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(matches!(class(private), Class::Private(_)), "{private}");
        }
        for never in [
            "0.0.0.0",
            "169.254.169.254",
            "100.100.100.200",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "::169.254.169.254",
            "ff02::1",
        ] {
            assert!(matches!(class(never), Class::Never(_)), "{never}");
        }
    }

    #[tokio::test]
    async fn urls() {
        let strict = AddressPolicy::default();
        let lax = AddressPolicy { allow_private: true };
        for bad in ["ftp://example.com/", "/relative", "http://user:pw@example.com/"] {
            assert!(matches!(strict.check(bad).await, Err(Refusal::InvalidUrl(_))), "{bad}");
        }
        for refused in [
            "http://169.254.169.254/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://METADATA.google.internal./",
            "http://[fe80::1]/",
            "http://100.100.100.200/",
            "http://0.0.0.0:8080/",
        ] {
            for policy in [strict, lax] {
                assert!(matches!(policy.check(refused).await, Err(Refusal::Forbidden(_))), "{refused} {policy:?}");
            }
        }
        for private in ["http://127.0.0.1:9/", "http://[::1]/", "http://localhost:1/"] {
            assert!(matches!(strict.check(private).await, Err(Refusal::Forbidden(_))), "{private}");
            assert!(lax.check(private).await.is_ok(), "{private}");
        }
        let checked = lax.check("http://127.0.0.1:4000/hook").await.unwrap();
        assert_eq!(checked.addrs, vec!["127.0.0.1:4000".parse::<SocketAddr>().unwrap()]);
    }
}
