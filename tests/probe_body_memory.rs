//! Memory stays flat whatever a target sends: a 1 GiB body and a gzip bomb
//! that inflates to 1 GiB, with no body assertion, are read to their end and
//! counted while the process stays small. Alone in its test binary, so the
//! peak memory of the child processes is this test's.

mod support;

use std::io::Write;

use support::http;
use support::{Workspace, result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GIB: u64 = 1024 * 1024 * 1024;

/// The largest resident set of any child process waited for so far, in bytes.
fn children_peak_rss() -> u64 {
    // SAFETY: getrusage only writes into the struct we hand it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    // Linux reports kilobytes.
    usage.ru_maxrss as u64 * 1024
}

/// A raw server that answers with `head` and then `body` repeated `times`.
fn repeating(head: String, body: Vec<u8>, times: usize) -> std::net::SocketAddr {
    let body = std::sync::Arc::new(body);
    http::serve_raw(move |mut s| {
        let head = head.clone();
        let body = body.clone();
        async move {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..times {
                if s.write_all(&body).await.is_err() {
                    return;
                }
            }
        }
    })
}

#[test]
fn a_gigabyte_and_a_gzip_bomb_keep_memory_flat() {
    let chunk = vec![b'a'; 1024 * 1024];
    let plain = repeating(
        format!("HTTP/1.1 200 OK\r\nContent-Length: {GIB}\r\n\r\n"),
        chunk,
        1024,
    );
    // One gzip member of 1 MiB of zeros (about 1 KiB), sent 1024 times: a
    // multi-member stream that inflates to 1 GiB.
    let member = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 1024 * 1024]).expect("gzip");
        e.finish().expect("gzip")
    };
    let wire = member.len() as u64 * 1024;
    let bomb = repeating(
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {wire}\r\n\r\n"),
        member,
        1024,
    );
    let config = format!(
        "[defaults]\ntimeout = \"120s\"\ndegraded_after = \"120s\"\n\
         [[probe]]\nid = \"gigabyte\"\nurl = \"http://{plain}/\"\n\
         [[probe]]\nid = \"bomb\"\nurl = \"http://{bomb}/\"\n"
    );
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&config, &[]);
    assert_eq!(code, 0, "{doc:#}");
    let r = result(&doc, "gigabyte");
    assert_eq!(r["outcome"], "up", "{r:#}");
    assert_eq!(r["body_bytes"], GIB, "{r:#}");
    let r = result(&doc, "bomb");
    assert_eq!(r["outcome"], "up", "{r:#}");
    assert_eq!(r["body_bytes"], wire, "{r:#}");
    assert_eq!(r["body_decoded_bytes"], GIB, "{r:#}");

    let peak = children_peak_rss();
    eprintln!("outpost peak RSS: {} MiB", peak / (1024 * 1024));
    assert!(
        peak < 150 * 1024 * 1024,
        "outpost peaked at {} MiB reading 1 GiB bodies",
        peak / (1024 * 1024)
    );
}
