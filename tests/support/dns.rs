//! A tiny authoritative DNS server on 127.0.0.1 (UDP) for tests, answering from
//! a fixed table; and a UDP socket that reads queries and never answers.
//!
//! The zone, under `example.test`:
//!
//! | name | type | answer |
//! | --- | --- | --- |
//! | `www.example.test` | A | 192.0.2.10, 192.0.2.11 |
//! | `www.example.test` | AAAA | 2001:db8::10 |
//! | `alias.example.test` | CNAME | www.example.test |
//! | `example.test` | MX | 10 mail.example.test, 20 backup.example.test |
//! | `example.test` | TXT | "v=spf1 " "-all" (two strings) |
//! | `example.test` | NS | ns1.example.test, ns2.example.test |
//! | `servfail.example.test` | any | SERVFAIL |
//!
//! A known name asked for a type it lacks gets an empty NOERROR answer; an
//! unknown name gets NXDOMAIN.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::str::FromStr;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// The name that always answers SERVFAIL.
pub const SERVFAIL_NAME: &str = "servfail.example.test";

fn name(s: &str) -> Name {
    Name::from_str(s).expect("test name")
}

/// The fixed zone: (owner, rdata).
fn zone() -> Vec<(Name, RData)> {
    vec![
        (
            name("www.example.test."),
            RData::A(A(Ipv4Addr::new(192, 0, 2, 10))),
        ),
        (
            name("www.example.test."),
            RData::A(A(Ipv4Addr::new(192, 0, 2, 11))),
        ),
        (
            name("www.example.test."),
            RData::AAAA(AAAA(Ipv6Addr::from_str("2001:db8::10").expect("v6"))),
        ),
        (
            name("alias.example.test."),
            RData::CNAME(CNAME(name("www.example.test."))),
        ),
        (
            name("example.test."),
            RData::MX(MX::new(10, name("mail.example.test."))),
        ),
        (
            name("example.test."),
            RData::MX(MX::new(20, name("backup.example.test."))),
        ),
        (
            name("example.test."),
            RData::TXT(TXT::new(vec!["v=spf1 ".into(), "-all".into()])),
        ),
        (
            name("example.test."),
            RData::NS(NS(name("ns1.example.test."))),
        ),
        (
            name("example.test."),
            RData::NS(NS(name("ns2.example.test."))),
        ),
    ]
}

/// The answer to one query packet, or `None` for a packet that is not a query.
fn answer(packet: &[u8], zone: &[(Name, RData)]) -> Option<Vec<u8>> {
    let query = Message::from_vec(packet).ok()?;
    if query.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut response = Message::response(query.metadata.id, OpCode::Query);
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    response.metadata.authoritative = true;
    let Some(q) = query.queries.first() else {
        response.metadata.response_code = ResponseCode::FormErr;
        return response.to_vec().ok();
    };
    response.add_query(q.clone());
    let asked = q.name();
    if asked.eq_ignore_root(&name(SERVFAIL_NAME)) {
        response.metadata.response_code = ResponseCode::ServFail;
        return response.to_vec().ok();
    }
    let known: Vec<&(Name, RData)> = zone
        .iter()
        .filter(|(owner, _)| owner.eq_ignore_root(asked))
        .collect();
    if known.is_empty() {
        response.metadata.response_code = ResponseCode::NXDomain;
        return response.to_vec().ok();
    }
    for (owner, data) in known {
        if data.record_type() == q.query_type() || q.query_type() == RecordType::ANY {
            response.add_answer(Record::from_rdata(owner.clone(), 60, data.clone()));
        }
    }
    response.to_vec().ok()
}

/// Start the authoritative server on a background thread; returns its address.
pub fn serve_dns() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let addr = socket.local_addr().expect("udp addr");
    std::thread::spawn(move || {
        let zone = zone();
        let mut buf = [0u8; 4096];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            if let Some(reply) = answer(&buf[..n], &zone) {
                let _ = socket.send_to(&reply, from);
            }
        }
    });
    addr
}

/// A UDP socket that reads every query and never answers.
pub fn serve_silent() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let addr = socket.local_addr().expect("udp addr");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            let _ = socket.recv_from(&mut buf);
        }
    });
    addr
}
