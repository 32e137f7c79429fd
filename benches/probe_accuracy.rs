//! Probe accuracy: Outpost's phase timings against `curl -w` on the same
//! local HTTPS (HTTP/1.1) and HTTP/2 targets, in one run.
//!
//! Run with `cargo bench --bench probe_accuracy`. The bench starts, in this
//! process, two TLS servers for `localhost` (a private CA made here): one that
//! speaks HTTP/1.1 only and one that speaks HTTP/2 only, each answering a
//! 16 KiB body. It then alternates, for each target, one Outpost probe (the
//! library's `probe::execute`, as `outpost run` calls it) and one
//! `curl -w '%{time_namelookup} %{time_connect} %{time_appconnect}
//! %{time_starttransfer} %{time_total}'`, turns curl's cumulative times into
//! phases (dns, connect, tls, ttfb, transfer) and prints per phase the median
//! of each tool and the difference. The target: every phase within 1 ms of
//! curl's median.
//!
//! As an independent reference for the TLS phase, the servers time each
//! handshake from the ClientHello's arrival to its end, and the bench prints
//! that median for each tool's connections: a client's TLS phase can only
//! exceed it by about a round trip plus the client's own work before its
//! first TLS byte.
//!
//! Knobs (environment): `PROBE_ACCURACY_RUNS` (default 200 per target).
//! Only 127.0.0.1 / localhost is ever bound or probed.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use outpost::config::ProbeSpec;
use outpost::model::{Outcome, Phases};
use outpost::probe::{self, ProbeContext};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::LazyConfigAcceptor;

/// The body every answer carries: enough for a transfer phase.
const BODY_BYTES: usize = 16 * 1024;
/// What the aim allows between the two tools' medians, per phase.
const AIM: Duration = Duration::from_millis(1);
const PHASES: [&str; 5] = ["dns", "connect", "tls", "ttfb", "transfer"];

fn main() {
    // `cargo test --all-targets` runs bench targets too, without `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("probe_accuracy: skipped (run it with `cargo bench --bench probe_accuracy`)");
        return;
    }
    let runs = std::env::var("PROBE_ACCURACY_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200usize)
        .max(1);
    let Some(curl) = which("curl") else {
        println!("probe_accuracy: curl is not installed: no comparison");
        std::process::exit(1);
    };
    println!(
        "probe_accuracy: {runs} probes per tool and target, {} ({} cores)",
        curl_version(&curl),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let dir = tempfile::tempdir().expect("a temporary folder for the CA");
    let (ca_pem, identity) = certificates();
    std::fs::write(dir.path().join("ca.pem"), &ca_pem).expect("write ca.pem");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let h1 = serve(&identity, Protocol::Http1, seen.clone());
    let h2 = serve(&identity, Protocol::Http2, seen.clone());
    // The server-side handshake times of the connections made since the last call.
    let drain = || std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let ctx = ProbeContext::new();
    let mut failed = false;
    for (name, port, protocol) in [
        ("HTTPS, HTTP/1.1", h1, Protocol::Http1),
        ("HTTP/2", h2, Protocol::Http2),
    ] {
        let url = format!("https://localhost:{port}/");
        let spec = spec(dir.path(), &url, protocol);
        let mut ours: Vec<[f64; 5]> = Vec::new();
        let mut theirs: Vec<[f64; 5]> = Vec::new();
        let mut errors = Vec::new();
        let mut server_ours: Vec<f64> = Vec::new();
        let mut server_theirs: Vec<f64> = Vec::new();
        // A warm-up of each, then alternate, so both meet the same load.
        let _ = rt.block_on(probe::execute(&spec, &ctx));
        let _ = run_curl(&curl, dir.path(), &url, protocol);
        drain();
        for i in 0..runs {
            // Alternate which tool goes first, so neither always follows the other.
            for turn in [i % 2 == 0, i % 2 == 1] {
                if turn {
                    match rt.block_on(probe::execute(&spec, &ctx)) {
                        (obs, _) if obs.outcome == Outcome::Up => ours.push(phases_ms(&obs.phases)),
                        (obs, _) => errors.push(format!("outpost: {:?}", obs.failure)),
                    }
                    server_ours.extend(drain());
                } else {
                    match run_curl(&curl, dir.path(), &url, protocol) {
                        Ok(p) => theirs.push(p),
                        Err(e) => errors.push(format!("curl: {e}")),
                    }
                    server_theirs.extend(drain());
                }
            }
        }
        println!();
        println!(
            "{name} (https://localhost:{port}/, {} body)",
            bytesize::ByteSize(BODY_BYTES as u64)
        );
        println!(
            "  {:<9} {:>12} {:>12} {:>12}  within 1 ms",
            "phase", "outpost ms", "curl ms", "diff ms"
        );
        for (i, phase) in PHASES.iter().enumerate() {
            let o = median(ours.iter().map(|p| p[i]).collect());
            let c = median(theirs.iter().map(|p| p[i]).collect());
            let diff = o - c;
            let ok = diff.abs() <= AIM.as_secs_f64() * 1000.0;
            failed |= !ok;
            println!(
                "  {phase:<9} {o:>12.3} {c:>12.3} {diff:>+12.3}  {}",
                if ok { "yes" } else { "NO" }
            );
        }
        let total_o = median(ours.iter().map(|p| p.iter().sum()).collect());
        let total_c = median(theirs.iter().map(|p| p.iter().sum()).collect());
        println!(
            "  {:<9} {total_o:>12.3} {total_c:>12.3} {:>+12.3}",
            "total",
            total_o - total_c
        );
        println!(
            "  server-side handshake (ClientHello to end), median ms: outpost's connections {:.3}, curl's {:.3}",
            median(server_ours),
            median(server_theirs)
        );
        if !errors.is_empty() {
            failed = true;
            println!("  {} failed probes, first: {}", errors.len(), errors[0]);
        }
    }
    println!();
    println!(
        "aim: every phase within 1 ms of curl's median: {}",
        if failed { "NOT met" } else { "met" }
    );
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
}

fn spec(dir: &Path, url: &str, protocol: Protocol) -> ProbeSpec {
    let version = match protocol {
        Protocol::Http1 => "1.1",
        Protocol::Http2 => "2",
    };
    let toml = format!(
        "[[probe]]\nid = \"target\"\nurl = \"{url}\"\nca_file = \"ca.pem\"\nhttp_version = \"{version}\"\nproxy = \"\"\n"
    );
    let config = outpost::config::parse(&dir.join("probes.toml"), &toml, |_| None)
        .unwrap_or_else(|e| panic!("bench config: {e}"));
    config.probes.into_iter().next().expect("one probe")
}

fn phases_ms(p: &Phases) -> [f64; 5] {
    let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    [
        ms(p.dns),
        ms(p.connect),
        ms(p.tls),
        ms(p.ttfb),
        ms(p.transfer),
    ]
}

/// One curl transfer; its cumulative times turned into the same five phases.
fn run_curl(curl: &Path, dir: &Path, url: &str, protocol: Protocol) -> Result<[f64; 5], String> {
    let out = Command::new(curl)
        .current_dir(dir)
        .args(["-sS", "-o", "/dev/null", "--noproxy", "*", "--cacert", "ca.pem"])
        .arg(match protocol {
            Protocol::Http1 => "--http1.1",
            Protocol::Http2 => "--http2",
        })
        .args([
            "-w",
            "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_starttransfer} %{time_total} %{http_version}",
        ])
        .arg(url)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    let t: Vec<f64> = fields
        .iter()
        .take(5)
        .filter_map(|f| f.parse::<f64>().ok())
        .map(|s| s * 1000.0)
        .collect();
    let want = match protocol {
        Protocol::Http1 => "1.1",
        Protocol::Http2 => "2",
    };
    if !out.status.success() || t.len() != 5 || fields.get(5) != Some(&want) {
        return Err(format!("{text} {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok([t[0], t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3]])
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// A private CA (its PEM for `ca_file` and `--cacert`) and a leaf for localhost.
fn certificates() -> (String, Identity) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Outpost bench CA");
    let issuer =
        CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("ca key")).expect("ca cert");
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("leaf params");
    let key = KeyPair::generate().expect("leaf key");
    let cert = leaf.signed_by(&key, &issuer).expect("sign leaf");
    (
        issuer.pem(),
        Identity {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        },
    )
}

/// Serve a 16 KiB body over TLS on 127.0.0.1 in `protocol` only, recording in
/// `handshakes` each handshake's time in ms from the ClientHello; returns the port.
fn serve(identity: &Identity, protocol: Protocol, handshakes: Arc<Mutex<Vec<f64>>>) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .expect("server cert");
    config.alpn_protocols = match protocol {
        Protocol::Http1 => vec![b"http/1.1".to_vec()],
        Protocol::Http2 => vec![b"h2".to_vec()],
    };
    let config = Arc::new(config);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let _ = tx.send(listener.local_addr().expect("addr").port());
            let body = Bytes::from(vec![b'x'; BODY_BYTES]);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let config = config.clone();
                let body = body.clone();
                let handshakes = handshakes.clone();
                tokio::spawn(async move {
                    let acceptor =
                        LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
                    let Ok(start) = acceptor.await else {
                        return;
                    };
                    let hello = Instant::now();
                    let Ok(tls) = start.into_stream(config).await else {
                        return;
                    };
                    handshakes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(hello.elapsed().as_secs_f64() * 1000.0);
                    let svc = service_fn(move |_req: Request<hyper::body::Incoming>| {
                        let body = body.clone();
                        async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
                    });
                    let io = TokioIo::new(tls);
                    let _ = match protocol {
                        Protocol::Http1 => {
                            hyper::server::conn::http1::Builder::new()
                                .serve_connection(io, svc)
                                .await
                        }
                        Protocol::Http2 => {
                            hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                                .serve_connection(io, svc)
                                .await
                        }
                    };
                });
            }
        });
    });
    rx.recv().expect("server port")
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn curl_version(curl: &Path) -> String {
    Command::new(curl)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.lines()
                .next()
                .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "curl, version unknown".to_string())
}
