//! Connecting to one of several addresses Happy-Eyeballs style (RFC 8305):
//! attempts start 250 ms apart (or at once when the previous one fails), the
//! families alternate, and the first connection wins. A blackholed address, such
//! as an IPv6 one on a runner without IPv6, costs 250 ms instead of the timeout.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::net::TcpStream;

/// RFC 8305's recommended Connection Attempt Delay.
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Order addresses as RFC 8305 §4 does: the resolver's first family first, then
/// alternating families, each family keeping the resolver's order.
pub fn interleave(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return Vec::new();
    };
    let (mut preferred, mut other): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs
        .iter()
        .copied()
        .partition(|a| a.is_ipv4() == first.is_ipv4());
    preferred.reverse();
    other.reverse();
    let mut out = Vec::with_capacity(addrs.len());
    loop {
        match (preferred.pop(), other.pop()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// Race connections to `addrs` (already ordered): the winner and its address,
/// or the last error when every attempt failed.
pub async fn race(
    addrs: &[SocketAddr],
    delay: Duration,
) -> Result<(TcpStream, SocketAddr), io::Error> {
    let mut pending = FuturesUnordered::new();
    let mut next = addrs.iter();
    let mut last_error = None;
    let start = |addr: SocketAddr| async move { (addr, TcpStream::connect(addr).await) };
    match next.next() {
        Some(addr) => pending.push(start(*addr)),
        None => {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "no address to connect to",
            ));
        }
    }
    let timer = tokio::time::sleep(delay);
    tokio::pin!(timer);
    loop {
        tokio::select! {
            finished = pending.next() => match finished {
                Some((addr, Ok(stream))) => return Ok((stream, addr)),
                Some((_, Err(e))) => {
                    last_error = Some(e);
                    // A failed attempt starts the next one at once (RFC 8305 §5).
                    if let Some(addr) = next.next() {
                        pending.push(start(*addr));
                        timer.as_mut().reset(tokio::time::Instant::now() + delay);
                    } else if pending.is_empty() {
                        break;
                    }
                }
                None => break,
            },
            () = &mut timer, if next.len() > 0 => {
                if let Some(addr) = next.next() {
                    pending.push(start(*addr));
                }
                timer.as_mut().reset(tokio::time::Instant::now() + delay);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no address")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn families_alternate_starting_with_the_resolvers_first() {
        let got = interleave(&[
            a("[2001:db8::1]:443"),
            a("[2001:db8::2]:443"),
            a("192.0.2.1:443"),
            a("192.0.2.2:443"),
            a("192.0.2.3:443"),
        ]);
        assert_eq!(
            got,
            vec![
                a("[2001:db8::1]:443"),
                a("192.0.2.1:443"),
                a("[2001:db8::2]:443"),
                a("192.0.2.2:443"),
                a("192.0.2.3:443"),
            ]
        );
        assert_eq!(interleave(&[a("192.0.2.1:1")]), vec![a("192.0.2.1:1")]);
        assert!(interleave(&[]).is_empty());
    }

    /// A listener on 127.0.0.1 whose accept queue is full: further SYNs are
    /// dropped, so a connect to it never completes (a blackholed address).
    async fn blackhole() -> (
        tokio::net::TcpListener,
        Vec<std::net::TcpStream>,
        SocketAddr,
    ) {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(a("127.0.0.1:0")).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        // Fill the queue: a backlog of 0 admits one connection; more are dropped.
        let mut fillers = Vec::new();
        for _ in 0..2 {
            if let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                fillers.push(s);
            }
        }
        (listener, fillers, addr)
    }

    #[tokio::test]
    async fn an_unreachable_first_address_loses_to_the_second() {
        let (_hole, _fillers, dead) = blackhole().await;
        // Proof that the first address really never answers on its own.
        let alone = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(dead)).await;
        assert!(alone.is_err(), "the blackhole accepted a connection");

        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_addr = live.local_addr().unwrap();
        // One after the other, this would wait for the kernel's connect timeout
        // (minutes); raced, the second address starts after ATTEMPT_DELAY.
        let raced = tokio::time::timeout(
            Duration::from_secs(5),
            race(&[dead, live_addr], ATTEMPT_DELAY),
        )
        .await
        .expect("the second address connected within the probe budget");
        let (_stream, reached) = raced.unwrap();
        assert_eq!(reached, live_addr);
    }

    #[tokio::test]
    async fn a_refused_first_address_starts_the_next_at_once() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused = closed.local_addr().unwrap();
        drop(closed);
        let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let live_addr = live.local_addr().unwrap();
        // A delay far beyond the test's budget: only "start at once on failure"
        // can reach the second address in time.
        let raced = tokio::time::timeout(
            Duration::from_secs(5),
            race(&[refused, live_addr], Duration::from_secs(3600)),
        )
        .await
        .expect("next attempt started when the first failed");
        assert_eq!(raced.unwrap().1, live_addr);
        let err = race(&[refused], ATTEMPT_DELAY).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }
}
