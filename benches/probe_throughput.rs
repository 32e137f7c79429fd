//! Probe throughput: `outpost run` against `curl --parallel` on the same targets.
//!
//! Run with `cargo bench --bench probe_throughput`. The bench starts, in this
//! process, an HTTP/1.1 server that answers every request after 100 ms with a
//! small 200 body, listening on 1,000 distinct loopback addresses (127.0.1.1,
//! 127.0.1.2, …) so that outpost's per-host bound (4 at once) never applies.
//! Then, alternating, it runs `outpost run --concurrency 64` and
//! `curl --parallel --parallel-max 64` on the same 1,000 URLs, measures wall
//! time, the child's user+system CPU and peak RSS (from `wait4`), and prints
//! the medians side by side with the ratios outpost/curl.
//!
//! Knobs (environment): `PROBE_BENCH_TARGETS` (default 1000),
//! `PROBE_BENCH_RUNS` (default 3), `PROBE_BENCH_CONCURRENCY` (default 64).
//!
//! Only 127.x.x.x is ever bound or probed.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// How long the server waits before answering each request.
const SERVER_DELAY: Duration = Duration::from_millis(100);
/// The body of every answer.
const BODY: &[u8] = b"ok\n";
/// What the aim allows: outpost's wall time at most this much of curl's…
const AIM_WALL_RATIO: f64 = 1.10;
/// …and its CPU per probe at most this much of curl's.
const AIM_CPU_RATIO: f64 = 2.0;

fn main() {
    // `cargo test --all-targets` runs bench targets too, without `--bench`: a
    // minute-long benchmark has no place in a test run.
    if !std::env::args().any(|a| a == "--bench") {
        println!("probe_throughput: skipped (run it with `cargo bench --bench probe_throughput`)");
        return;
    }
    let targets = env_usize("PROBE_BENCH_TARGETS", 1000).clamp(1, 250 * 250);
    let runs = env_usize("PROBE_BENCH_RUNS", 3).max(1);
    let concurrency = env_usize("PROBE_BENCH_CONCURRENCY", 64).max(1);

    let nofile = raise_nofile();
    let outpost = outpost_binary();
    let curl = which("curl");

    println!("probe_throughput: {targets} targets, {runs} runs each, concurrency {concurrency}");
    println!(
        "  server: answers after {} ms; lower bound ≈ {:.2} s ({targets} / {concurrency} × {} ms)",
        SERVER_DELAY.as_millis(),
        targets.div_ceil(concurrency) as f64 * SERVER_DELAY.as_secs_f64(),
        SERVER_DELAY.as_millis(),
    );
    println!("  outpost: {}", outpost.display());
    match &curl {
        Some(c) => println!("  curl: {} ({})", c.display(), curl_version(c)),
        None => println!("  curl: NOT FOUND on PATH"),
    }
    println!(
        "  machine: {} cores, RLIMIT_NOFILE {nofile}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let server = Server::start(targets);
    let dir =
        tempfile::tempdir().expect("a temporary folder for probes.toml, urls.txt and the store");
    write_probes_toml(dir.path(), &server.addrs);
    write_curl_config(dir.path(), &server.addrs);

    let mut outpost_runs = Vec::new();
    let mut curl_runs = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for run in 1..=runs {
        let m = run_outpost(&outpost, dir.path(), concurrency, &server, targets);
        println!("  run {run} outpost: {}", m.line(targets));
        failures.extend(m.problems.iter().map(|p| format!("outpost run {run}: {p}")));
        outpost_runs.push(m);

        if let Some(curl) = &curl {
            let m = run_curl(curl, dir.path(), concurrency, &server, targets);
            println!("  run {run} curl:    {}", m.line(targets));
            failures.extend(m.problems.iter().map(|p| format!("curl run {run}: {p}")));
            curl_runs.push(m);
        }
    }
    if curl.is_none() {
        failures.push("curl is not installed: no comparison".to_string());
    }

    println!();
    print!("{}", table(&outpost_runs, &curl_runs, targets));

    if let (Some(o), Some(c)) = (
        Summary::of(&outpost_runs, targets),
        Summary::of(&curl_runs, targets),
    ) {
        let wall = o.wall_s / c.wall_s;
        let cpu = o.cpu_ms_per_probe / c.cpu_ms_per_probe;
        println!();
        println!(
            "aim: wall within {:.0}% of curl: {} ({:+.1}%)",
            (AIM_WALL_RATIO - 1.0) * 100.0,
            verdict(wall <= AIM_WALL_RATIO),
            (wall - 1.0) * 100.0
        );
        println!(
            "aim: CPU per probe within {AIM_CPU_RATIO}x of curl: {} ({cpu:.2}x)",
            verdict(cpu <= AIM_CPU_RATIO)
        );
    }

    if !failures.is_empty() {
        println!();
        println!("FAILED: the figures above are not a valid comparison:");
        for f in &failures {
            println!("  - {f}");
        }
        std::process::exit(1);
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?} is not a number: {e}")),
        Err(_) => default,
    }
}

// ---------------------------------------------------------------------------
// The targets

/// The `i`-th loopback address: 127.0.1.1 … 127.0.1.250, 127.0.2.1 … (never
/// .0 nor .255, and never 127.0.0.x, where other services may listen).
fn target_ip(i: usize) -> Ipv4Addr {
    let third = u8::try_from(1 + i / 250).expect("at most 250 × 250 targets");
    let fourth = u8::try_from(1 + i % 250).expect("below 251");
    Ipv4Addr::new(127, 0, third, fourth)
}

/// The in-process server: one listener per target address, one runtime thread.
struct Server {
    addrs: Vec<SocketAddr>,
    /// Requests answered so far.
    served: Arc<AtomicU64>,
}

impl Server {
    fn start(targets: usize) -> Server {
        let served = Arc::new(AtomicU64::new(0));
        let (tx, rx) = std::sync::mpsc::channel::<Result<Vec<SocketAddr>, String>>();
        let counter = served.clone();
        std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
                // One thread is plenty for ~640 answers a second, and keeps the
                // server's share of the two cores small and the same for both tools.
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                rt.block_on(serve(targets, counter, tx));
            })
            .expect("spawn the server thread");
        let addrs = rx
            .recv()
            .expect("the server thread reports its addresses")
            .unwrap_or_else(|e| panic!("cannot start the bench server: {e}"));
        Server { addrs, served }
    }

    fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }
}

async fn serve(
    targets: usize,
    served: Arc<AtomicU64>,
    tx: std::sync::mpsc::Sender<Result<Vec<SocketAddr>, String>>,
) {
    let mut listeners = Vec::with_capacity(targets);
    for i in 0..targets {
        let ip = target_ip(i);
        assert!(ip.is_loopback(), "only loopback addresses are bound");
        match TcpListener::bind((ip, 0)).await {
            Ok(l) => listeners.push(l),
            Err(e) => {
                let _ = tx.send(Err(format!(
                    "bind {ip}:0: {e} (is all of 127.0.0.0/8 routed to lo?)"
                )));
                return;
            }
        }
    }
    let addrs = listeners
        .iter()
        .map(|l| l.local_addr().expect("listener address"))
        .collect();
    tx.send(Ok(addrs)).expect("send the addresses");

    let mut accepting = tokio::task::JoinSet::new();
    for listener in listeners {
        let served = served.clone();
        accepting.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let served = served.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |_req: Request<hyper::body::Incoming>| {
                        let served = served.clone();
                        async move {
                            tokio::time::sleep(SERVER_DELAY).await;
                            served.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(BODY))))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    }
    while accepting.join_next().await.is_some() {}
}

fn url(addr: &SocketAddr) -> String {
    format!("http://{addr}/")
}

fn write_probes_toml(dir: &Path, addrs: &[SocketAddr]) {
    let mut s = String::with_capacity(addrs.len() * 96);
    s.push_str("# Written by benches/probe_throughput.rs\n");
    for (i, addr) in addrs.iter().enumerate() {
        writeln!(
            s,
            "\n[[probe]]\nid = \"t{:04}\"\nurl = \"{}\"\ndegraded_after = \"10s\"\ntimeout = \"10s\"",
            i + 1,
            url(addr)
        )
        .expect("write to a String");
    }
    std::fs::write(dir.join("probes.toml"), s).expect("write probes.toml");
}

/// A curl config (`-K`): one `url` and one `output` per target (curl pairs
/// each `output` with the `url` of the same rank).
fn write_curl_config(dir: &Path, addrs: &[SocketAddr]) {
    let mut s = String::with_capacity(addrs.len() * 64);
    for addr in addrs {
        writeln!(s, "url = \"{}\"\noutput = \"/dev/null\"", url(addr)).expect("write to a String");
    }
    std::fs::write(dir.join("urls.txt"), s).expect("write urls.txt");
}

// ---------------------------------------------------------------------------
// The tools

/// The release binary cargo built for this bench.
fn outpost_binary() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_BIN_EXE_outpost"));
    assert!(
        p.is_file(),
        "{} is missing: cargo should have built it for the bench",
        p.display()
    );
    p
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
        .unwrap_or_else(|| "version unknown".to_string())
}

fn run_outpost(
    bin: &Path,
    dir: &Path,
    concurrency: usize,
    server: &Server,
    targets: usize,
) -> Measured {
    // A fresh store each run, so every run does the same work.
    for f in [
        "bench.db",
        "bench.db-wal",
        "bench.db-shm",
        "bench.db-journal",
    ] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let stdout = dir.join("outpost.json");
    let stderr = dir.join("outpost.stderr");
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .args([
            "run",
            "-c",
            "probes.toml",
            "--db",
            "bench.db",
            "--format",
            "json",
        ])
        .args(["--concurrency", &concurrency.to_string()]);
    let before = server.served();
    let mut m = measure(&mut cmd, &stdout, &stderr);
    let served = server.served() - before;

    let out = std::fs::read_to_string(&stdout).unwrap_or_default();
    match check_outpost_json(&out, targets) {
        Ok(()) => {}
        Err(e) => m.problems.push(e),
    }
    if m.exit != Some(0) {
        m.problems.push(format!(
            "exit status {}; stderr ends with:\n{}",
            m.exit_text(),
            tail(&stderr, 10)
        ));
    }
    if served != targets as u64 {
        m.problems.push(format!(
            "the server answered {served} requests, expected {targets}"
        ));
    }
    m
}

/// The JSON document must hold `targets` results, all `up`.
fn check_outpost_json(out: &str, targets: usize) -> Result<(), String> {
    let doc: serde_json::Value =
        serde_json::from_str(out).map_err(|e| format!("stdout is not JSON ({e})"))?;
    let results = doc["results"]
        .as_array()
        .ok_or_else(|| "no `results` array in the JSON".to_string())?;
    let mut by_outcome: std::collections::BTreeMap<String, usize> = Default::default();
    let mut messages: std::collections::BTreeMap<String, usize> = Default::default();
    for r in results {
        let outcome = r["outcome"].as_str().unwrap_or("?").to_string();
        if outcome != "up" {
            let msg = format!(
                "{}: {}",
                r["cause"].as_str().unwrap_or("-"),
                r["message"].as_str().unwrap_or("-")
            );
            *messages.entry(msg).or_default() += 1;
        }
        *by_outcome.entry(outcome).or_default() += 1;
    }
    let up = by_outcome.get("up").copied().unwrap_or(0);
    if results.len() == targets && up == targets {
        return Ok(());
    }
    let mut s = format!(
        "{} results, {up} up (expected {targets}, all up); outcomes {by_outcome:?}",
        results.len()
    );
    for (msg, n) in messages.iter().take(5) {
        write!(s, "\n      {n} × {msg}").expect("write to a String");
    }
    Err(s)
}

fn run_curl(
    curl: &Path,
    dir: &Path,
    concurrency: usize,
    server: &Server,
    targets: usize,
) -> Measured {
    let stdout = dir.join("curl.out");
    let stderr = dir.join("curl.stderr");
    let mut cmd = Command::new(curl);
    cmd.current_dir(dir)
        .args(["--parallel", "--parallel-immediate", "--parallel-max"])
        .arg(concurrency.to_string())
        // One status code per transfer on stdout, to check every answer was a 200.
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}\\n",
            "-K",
            "urls.txt",
        ]);
    let before = server.served();
    let mut m = measure(&mut cmd, &stdout, &stderr);
    let served = server.served() - before;

    if m.exit != Some(0) {
        m.problems.push(format!(
            "exit status {}; stderr ends with:\n{}",
            m.exit_text(),
            tail(&stderr, 10)
        ));
    }
    let out = std::fs::read_to_string(&stdout).unwrap_or_default();
    let ok = out.lines().filter(|l| l.trim() == "200").count();
    if ok != targets {
        m.problems.push(format!(
            "{ok} transfers answered 200 of {} reported, expected {targets}",
            out.lines().count()
        ));
    }
    if served != targets as u64 {
        m.problems.push(format!(
            "the server answered {served} requests, expected {targets}"
        ));
    }
    m
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..]
        .iter()
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------
// Measuring a child

/// One run of one tool.
struct Measured {
    wall: Duration,
    /// User + system CPU of the child (and its own children, none here).
    cpu: Duration,
    /// Peak resident set, in KiB (`ru_maxrss` on Linux).
    max_rss_kib: u64,
    /// The exit code, or None when a signal ended the child.
    exit: Option<i32>,
    signal: Option<i32>,
    problems: Vec<String>,
}

impl Measured {
    fn line(&self, targets: usize) -> String {
        format!(
            "wall {:.3} s, CPU {:.0} ms ({:.3} ms/probe), peak RSS {:.1} MiB, exit {}{}",
            self.wall.as_secs_f64(),
            self.cpu.as_secs_f64() * 1e3,
            self.cpu.as_secs_f64() * 1e3 / targets as f64,
            self.max_rss_kib as f64 / 1024.0,
            self.exit_text(),
            if self.problems.is_empty() {
                ""
            } else {
                "  [INVALID]"
            }
        )
    }

    fn exit_text(&self) -> String {
        match (self.exit, self.signal) {
            (Some(c), _) => c.to_string(),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "unknown".to_string(),
        }
    }
}

/// Run `cmd` with stdout and stderr into files; wall time from spawn to reap,
/// CPU and peak RSS from the child's own `rusage` (via `wait4`).
fn measure(cmd: &mut Command, stdout: &Path, stderr: &Path) -> Measured {
    cmd.stdin(Stdio::null())
        .stdout(File::create(stdout).expect("create the stdout file"))
        .stderr(File::create(stderr).expect("create the stderr file"));
    let started = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waits for our own child; writes only into `status` and `usage`.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        assert!(
            err.kind() == std::io::ErrorKind::Interrupted,
            "wait4({pid}): {err}"
        );
    }
    let wall = started.elapsed();
    // The child is reaped: `Child` must not wait for it again (dropping it does not).
    drop(child);

    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    let (exit, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    Measured {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        exit,
        signal,
        problems: Vec::new(),
    }
}

/// Raise the soft open-file limit to the hard one: 1,000 listeners plus the
/// connections in flight (the children inherit it). Returns the soft limit.
fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 0;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    lim.rlim_cur
}

// ---------------------------------------------------------------------------
// The table

/// Medians of a tool's runs.
struct Summary {
    wall_s: f64,
    cpu_ms_per_probe: f64,
    rss_mib: f64,
}

impl Summary {
    fn of(runs: &[Measured], targets: usize) -> Option<Summary> {
        if runs.is_empty() {
            return None;
        }
        Some(Summary {
            wall_s: median(runs.iter().map(|m| m.wall.as_secs_f64())),
            cpu_ms_per_probe: median(
                runs.iter()
                    .map(|m| m.cpu.as_secs_f64() * 1e3 / targets as f64),
            ),
            rss_mib: median(runs.iter().map(|m| m.max_rss_kib as f64 / 1024.0)),
        })
    }
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A Markdown table (readable as is in a terminal) of the medians and ratios.
fn table(outpost: &[Measured], curl: &[Measured], targets: usize) -> String {
    let mut rows: Vec<[String; 4]> = vec![[
        "tool".into(),
        "wall s".into(),
        "CPU ms / probe".into(),
        "peak RSS MiB".into(),
    ]];
    let o = Summary::of(outpost, targets);
    let c = Summary::of(curl, targets);
    for (name, s) in [("outpost", &o), ("curl", &c)] {
        if let Some(s) = s {
            rows.push([
                name.into(),
                format!("{:.3}", s.wall_s),
                format!("{:.3}", s.cpu_ms_per_probe),
                format!("{:.1}", s.rss_mib),
            ]);
        }
    }
    if let (Some(o), Some(c)) = (&o, &c) {
        rows.push([
            "outpost / curl".into(),
            format!("{:.2}x", o.wall_s / c.wall_s),
            format!("{:.2}x", o.cpu_ms_per_probe / c.cpu_ms_per_probe),
            format!("{:.2}x", o.rss_mib / c.rss_mib),
        ]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut s = format!("medians of {} runs, {targets} targets:\n\n", outpost.len());
    for (n, row) in rows.iter().enumerate() {
        s.push('|');
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i == 0 {
                write!(s, " {cell}{} |", " ".repeat(pad)).expect("write to a String");
            } else {
                write!(s, " {}{cell} |", " ".repeat(pad)).expect("write to a String");
            }
        }
        s.push('\n');
        if n == 0 {
            s.push('|');
            for (i, w) in widths.iter().enumerate() {
                let dashes = "-".repeat(*w);
                if i == 0 {
                    write!(s, " {dashes} |").expect("write to a String");
                } else {
                    write!(s, " {}: |", &dashes[1..]).expect("write to a String");
                }
            }
            s.push('\n');
        }
    }
    s
}
