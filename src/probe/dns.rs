//! `dns` probes: one question to the configured or system resolver.
//!
//! A fresh resolver is built for every probe, with no cache and no retries, so a
//! result measures one real lookup; the whole-probe timeout of
//! [`super::execute`] bounds it.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType as WireType};

use super::{Progress, Stage};
use crate::assert::short;
use crate::config::{DnsTarget, ProbeSpec, RecordType};
use crate::model::{Cause, Failure, Observation};

/// Run a `dns` probe.
pub async fn probe(target: &DnsTarget, spec: &ProbeSpec, progress: &mut Progress) -> Observation {
    progress.stage = Stage::Dns;
    let resolver = match build_resolver(target.resolver, spec.timeout) {
        Ok(r) => r,
        Err(message) => return progress.fail(Cause::Dns, message),
    };
    let name = match Name::from_utf8(&target.name) {
        Ok(mut n) => {
            // Ask exactly this name: no search domains, no ndots guessing.
            n.set_fqdn(true);
            n
        }
        Err(e) => {
            return progress.fail(
                Cause::Dns,
                format!("invalid DNS name {:?}: {e}", short(&target.name)),
            );
        }
    };
    let wire = wire_type(target.record);

    let started = Instant::now();
    let lookup = resolver.lookup(name, wire).await;
    progress.phases.dns = Some(started.elapsed());

    let lookup = match lookup {
        Ok(l) => l,
        Err(e) => {
            return progress
                .observation()
                .down(classify(&e, target, spec.timeout));
        }
    };
    // The answer section may carry the CNAME chain that led to the records asked for.
    let answers: Vec<String> = lookup
        .answers()
        .iter()
        .filter(|r| r.record_type() == wire)
        .filter_map(|r| format_answer(&r.data))
        .collect();
    if answers.is_empty() {
        return progress.fail(
            Cause::Dns,
            format!(
                "no {} records for {}",
                target.record.as_str(),
                short(&target.name)
            ),
        );
    }

    let observation = progress.observation();
    if let Err(f) = check_answers(&spec.expect.answers, &answers, target.record) {
        return observation.down(f);
    }
    match check_answers(&spec.degraded.answers, &answers, target.record) {
        Ok(()) => observation,
        Err(f) => observation.degrade(f),
    }
}

/// A resolver that asks `server` (or the system's name servers) once, uncached.
fn build_resolver(server: Option<SocketAddr>, timeout: Duration) -> Result<TokioResolver, String> {
    let mut builder = match server {
        Some(addr) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            // TCP is used only when a UDP answer comes back truncated.
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system resolver configuration: {e}"))?,
    };
    let opts = builder.options_mut();
    // `attempts` counts retries after the first try.
    opts.attempts = 0;
    opts.cache_size = 0;
    opts.timeout = timeout;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.preserve_intermediates = true;
    builder
        .build()
        .map_err(|e| format!("cannot set up the DNS resolver: {e}"))
}

fn wire_type(record: RecordType) -> WireType {
    match record {
        RecordType::A => WireType::A,
        RecordType::Aaaa => WireType::AAAA,
        RecordType::Cname => WireType::CNAME,
        RecordType::Mx => WireType::MX,
        RecordType::Txt => WireType::TXT,
        RecordType::Ns => WireType::NS,
    }
}

/// Turn a resolver error into a classified failure with a short message.
fn classify(e: &NetError, target: &DnsTarget, timeout: Duration) -> Failure {
    let what = format!("{} {}", target.record.as_str(), short(&target.name));
    let server = match target.resolver {
        Some(addr) => format!("resolver {addr}"),
        None => "system resolver".to_string(),
    };
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => {
            let suffix = match nr.response_code {
                ResponseCode::NXDomain => " (NXDOMAIN)",
                _ => "",
            };
            Failure::new(
                Cause::Dns,
                format!(
                    "no {} records for {}{suffix}",
                    target.record.as_str(),
                    short(&target.name)
                ),
            )
        }
        NetError::Dns(DnsError::ResponseCode(code)) => Failure::new(
            Cause::Dns,
            format!("{server} answered {} for {what}", rcode_name(*code)),
        ),
        NetError::Timeout => Failure::new(
            Cause::Timeout,
            format!(
                "no answer from {server} within {}",
                humantime::format_duration(timeout)
            ),
        ),
        NetError::NoConnections => Failure::new(
            Cause::Dns,
            format!("no name server to ask ({server} has none configured)"),
        ),
        NetError::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => Failure::new(
            Cause::Dns,
            format!("{server} refused the connection (nothing listens there)"),
        ),
        other => Failure::new(
            Cause::Dns,
            format!("lookup of {what} failed: {}", short(&other.to_string())),
        ),
    }
}

fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "SERVFAIL".to_string(),
        ResponseCode::Refused => "REFUSED".to_string(),
        ResponseCode::FormErr => "FORMERR".to_string(),
        ResponseCode::NotImp => "NOTIMP".to_string(),
        ResponseCode::NXDomain => "NXDOMAIN".to_string(),
        other => other.to_string(),
    }
}

/// One answer as text: A/AAAA as the address, CNAME/NS as the name without the
/// trailing dot, MX as `"10 mail.example.com"`, TXT as its strings joined.
fn format_answer(data: &RData) -> Option<String> {
    Some(match data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(n) => name_text(&n.0),
        RData::NS(n) => name_text(&n.0),
        RData::MX(mx) => format!("{} {}", mx.preference, name_text(&mx.exchange)),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|part| String::from_utf8_lossy(part))
            .collect::<String>(),
        _ => return None,
    })
}

fn name_text(name: &Name) -> String {
    let text = name.to_string();
    match text.strip_suffix('.') {
        Some(stripped) if !stripped.is_empty() => stripped.to_string(),
        _ => text,
    }
}

/// Every expected answer must be among `got`.
fn check_answers(expected: &[String], got: &[String], record: RecordType) -> Result<(), Failure> {
    let missing: Vec<&str> = expected
        .iter()
        .map(String::as_str)
        .filter(|want| !got.iter().any(|g| answer_matches(record, want, g)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        Cause::Assertion,
        format!(
            "expected {} {} not among the answers; got {}",
            record.as_str(),
            short(&missing.join(", ")),
            short(&got.join(", "))
        ),
    ))
}

/// Whether an answer as formatted by [`format_answer`] is the one expected.
/// Names compare without case and trailing dot; addresses as addresses; an MX
/// expectation may name the exchange alone.
fn answer_matches(record: RecordType, want: &str, got: &str) -> bool {
    let want = want.trim();
    match record {
        RecordType::A | RecordType::Aaaa => match (want.parse::<IpAddr>(), got.parse::<IpAddr>()) {
            (Ok(w), Ok(g)) => w == g,
            _ => want == got,
        },
        RecordType::Cname | RecordType::Ns => same_name(want, got),
        RecordType::Mx => {
            let Some((got_pref, got_name)) = got.split_once(' ') else {
                return same_name(want, got);
            };
            match want.split_once(char::is_whitespace) {
                Some((pref, name)) => {
                    pref.parse::<u16>().ok() == got_pref.parse::<u16>().ok()
                        && same_name(name.trim(), got_name)
                }
                None => same_name(want, got_name),
            }
        }
        RecordType::Txt => want == got,
    }
}

fn same_name(a: &str, b: &str) -> bool {
    let a = a.strip_suffix('.').unwrap_or(a);
    let b = b.strip_suffix('.').unwrap_or(b);
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME, MX, NS, TXT};

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    #[test]
    fn formats_each_record_type() {
        assert_eq!(
            format_answer(&RData::A(A::new(192, 0, 2, 1))).as_deref(),
            Some("192.0.2.1")
        );
        assert_eq!(
            format_answer(&RData::AAAA(AAAA::from_str("2001:db8::1").unwrap())).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            format_answer(&RData::CNAME(CNAME(name("www.example.com.")))).as_deref(),
            Some("www.example.com")
        );
        assert_eq!(
            format_answer(&RData::NS(NS(name("ns1.example.com.")))).as_deref(),
            Some("ns1.example.com")
        );
        assert_eq!(
            format_answer(&RData::MX(MX::new(10, name("mail.example.com.")))).as_deref(),
            Some("10 mail.example.com")
        );
        assert_eq!(
            format_answer(&RData::TXT(TXT::new(vec!["v=spf1 ".into(), "-all".into()]))).as_deref(),
            Some("v=spf1 -all")
        );
        assert_eq!(
            format_answer(&RData::NS(NS(Name::root()))).as_deref(),
            Some(".")
        );
    }

    #[test]
    fn txt_with_invalid_utf8_does_not_fail() {
        let txt = TXT::from_bytes(vec![b"ok \xff".as_slice()]);
        assert_eq!(
            format_answer(&RData::TXT(txt)).as_deref(),
            Some("ok \u{fffd}")
        );
    }

    #[test]
    fn answers_match_loosely_where_dns_does() {
        assert!(answer_matches(RecordType::A, "192.0.2.1", "192.0.2.1"));
        assert!(!answer_matches(RecordType::A, "192.0.2.2", "192.0.2.1"));
        assert!(answer_matches(
            RecordType::Aaaa,
            "2001:DB8:0::1",
            "2001:db8::1"
        ));
        assert!(answer_matches(
            RecordType::Cname,
            "WWW.Example.com.",
            "www.example.com"
        ));
        assert!(answer_matches(
            RecordType::Ns,
            "ns1.example.com",
            "ns1.example.com"
        ));
        assert!(answer_matches(
            RecordType::Mx,
            "10 mail.example.com",
            "10 mail.example.com"
        ));
        assert!(answer_matches(
            RecordType::Mx,
            "mail.example.com.",
            "10 mail.example.com"
        ));
        assert!(!answer_matches(
            RecordType::Mx,
            "20 mail.example.com",
            "10 mail.example.com"
        ));
        assert!(answer_matches(
            RecordType::Txt,
            "v=spf1 -all",
            "v=spf1 -all"
        ));
        assert!(!answer_matches(
            RecordType::Txt,
            "V=SPF1 -all",
            "v=spf1 -all"
        ));
    }

    #[test]
    fn missing_answers_are_named() {
        let got = vec!["192.0.2.1".to_string(), "192.0.2.2".to_string()];
        assert!(check_answers(&[], &got, RecordType::A).is_ok());
        assert!(check_answers(&["192.0.2.2".into()], &got, RecordType::A).is_ok());
        let err = check_answers(&["192.0.2.9".into()], &got, RecordType::A).unwrap_err();
        assert_eq!(err.cause, Cause::Assertion);
        assert_eq!(
            err.message,
            "expected A 192.0.2.9 not among the answers; got 192.0.2.1, 192.0.2.2"
        );
    }

    #[test]
    fn errors_are_classified() {
        let target = DnsTarget {
            name: "example.test".into(),
            record: RecordType::A,
            resolver: Some("127.0.0.1:5353".parse().unwrap()),
        };
        let t = Duration::from_secs(1);
        let nx = NetError::from(hickory_resolver::net::NoRecords::new(
            hickory_resolver::proto::op::Query::query(name("example.test."), WireType::A),
            ResponseCode::NXDomain,
        ));
        let f = classify(&nx, &target, t);
        assert_eq!(f.cause, Cause::Dns);
        assert_eq!(f.message, "no A records for example.test (NXDOMAIN)");
        let f = classify(
            &NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)),
            &target,
            t,
        );
        assert_eq!(
            f.message,
            "resolver 127.0.0.1:5353 answered SERVFAIL for A example.test"
        );
        assert_eq!(
            classify(&NetError::Timeout, &target, t).cause,
            Cause::Timeout
        );
    }
}
