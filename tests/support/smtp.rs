//! A small SMTP server for tests, in process: EHLO advertising STARTTLS and
//! AUTH PLAIN LOGIN, STARTTLS with a certificate from a test CA, AUTH checked
//! against expected credentials, MAIL/RCPT/DATA capturing each message, QUIT.
//! Everything is recorded before the reply that acknowledges it, so a client
//! that got its answer can read the record at once.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rustls::ServerConfig;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_rustls::TlsAcceptor;

use super::tls::{Ca, LOCAL};

/// How the server behaves.
#[derive(Clone)]
pub struct Options {
    /// Offer STARTTLS.
    pub starttls: bool,
    /// Expected `(user, password)`; AUTH is offered only when set, and then
    /// MAIL is refused until the client authenticated.
    pub auth: Option<(String, String)>,
    /// Offer AUTH only over TLS, as real submission servers do.
    pub auth_needs_tls: bool,
    /// Answer MAIL FROM with this line instead of `250`, e.g. `451 4.3.0 busy`.
    pub mail_reply: Option<String>,
    /// The mechanisms advertised after `AUTH` (both are always understood).
    pub mechanisms: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            starttls: true,
            auth: None,
            auth_needs_tls: true,
            mail_reply: None,
            mechanisms: "PLAIN LOGIN",
        }
    }
}

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub tls: bool,
    /// The user that authenticated in this session.
    pub user: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA (dot-unstuffed, CRLF line ends).
    pub data: String,
}

impl Received {
    /// The value of header `name` (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with(' ') || line.starts_with('\t') {
                    v.push_str(line);
                    continue;
                }
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value
    }

    /// The body after the header block.
    pub fn body(&self) -> String {
        self.data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default()
    }
}

/// One AUTH attempt.
#[derive(Debug, Clone)]
pub struct AuthAttempt {
    pub mechanism: String,
    pub user: String,
    pub password: String,
    pub tls: bool,
    pub ok: bool,
}

#[derive(Default)]
struct Record {
    messages: Vec<Received>,
    auth: Vec<AuthAttempt>,
    /// Sessions that completed a TLS handshake.
    tls_sessions: usize,
    sessions: usize,
}

/// A running server on 127.0.0.1.
pub struct SmtpServer {
    pub addr: SocketAddr,
    /// The CA that signed the server's certificate (for 127.0.0.1, localhost).
    pub ca: Arc<Ca>,
    record: Arc<Mutex<Record>>,
}

impl SmtpServer {
    pub fn start(options: Options) -> Self {
        let ca = Arc::new(Ca::new());
        let identity = ca.leaf(LOCAL, 30);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(identity.chain, identity.key)
            .expect("server certificate");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let record = Arc::new(Mutex::new(Record::default()));
        let shared = record.clone();
        let options = Arc::new(options);
        let addr = super::http::serve_raw(move |stream| {
            let session = Session {
                options: options.clone(),
                acceptor: acceptor.clone(),
                record: shared.clone(),
                tls: false,
                user: None,
                from: None,
                to: Vec::new(),
            };
            async move {
                let _ = session.run(Box::new(stream)).await;
            }
        });
        SmtpServer { addr, ca, record }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn messages(&self) -> Vec<Received> {
        self.record.lock().expect("record").messages.clone()
    }

    pub fn auth_attempts(&self) -> Vec<AuthAttempt> {
        self.record.lock().expect("record").auth.clone()
    }

    /// Sessions that upgraded to TLS.
    pub fn tls_sessions(&self) -> usize {
        self.record.lock().expect("record").tls_sessions
    }

    pub fn sessions(&self) -> usize {
        self.record.lock().expect("record").sessions
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Stream = BufReader<Box<dyn Io>>;

struct Session {
    options: Arc<Options>,
    acceptor: TlsAcceptor,
    record: Arc<Mutex<Record>>,
    tls: bool,
    user: Option<String>,
    from: Option<String>,
    to: Vec<String>,
}

/// A line without its CRLF; `None` at end of stream. Lines are bounded.
async fn read_line(s: &mut Stream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = (&mut *s)
        .take(64 * 1024)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

async fn reply(s: &mut Stream, text: &str) -> std::io::Result<()> {
    s.get_mut()
        .write_all(format!("{text}\r\n").as_bytes())
        .await?;
    s.get_mut().flush().await
}

impl Session {
    async fn run(mut self, stream: Box<dyn Io>) -> std::io::Result<()> {
        self.record.lock().expect("record").sessions += 1;
        let mut s: Stream = BufReader::new(stream);
        reply(&mut s, "220 smtp.test ESMTP outpost-test").await?;
        while let Some(line) = read_line(&mut s).await? {
            let (verb, arg) = match line.split_once(' ') {
                Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_string()),
                None => (line.to_ascii_uppercase(), String::new()),
            };
            match verb.as_str() {
                "EHLO" => {
                    let mut lines = vec!["smtp.test greets you".to_string()];
                    if self.options.starttls && !self.tls {
                        lines.push("STARTTLS".to_string());
                    }
                    if self.options.auth.is_some() && (self.tls || !self.options.auth_needs_tls) {
                        lines.push(format!("AUTH {}", self.options.mechanisms));
                    }
                    lines.push("8BITMIME".to_string());
                    let last = lines.len() - 1;
                    let text: Vec<String> = lines
                        .iter()
                        .enumerate()
                        .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
                        .collect();
                    reply(&mut s, &text.join("\r\n")).await?;
                }
                "HELO" => reply(&mut s, "250 smtp.test").await?,
                "STARTTLS" if self.options.starttls && !self.tls => {
                    reply(&mut s, "220 2.0.0 Ready to start TLS").await?;
                    // Anything the client pipelined before the handshake is dropped,
                    // as RFC 3207 requires.
                    let plain = s.into_inner();
                    let tls = self.acceptor.accept(plain).await?;
                    self.tls = true;
                    self.user = None;
                    self.from = None;
                    self.to.clear();
                    self.record.lock().expect("record").tls_sessions += 1;
                    s = BufReader::new(Box::new(tls));
                }
                "AUTH" if self.options.auth.is_some() => {
                    self.auth(&mut s, &arg).await?;
                }
                "MAIL" => {
                    if let Some(r) = &self.options.mail_reply {
                        reply(&mut s, r).await?;
                    } else if self.options.auth.is_some() && self.user.is_none() {
                        reply(&mut s, "530 5.7.0 Authentication required").await?;
                    } else {
                        self.from = Some(address(&arg));
                        self.to.clear();
                        reply(&mut s, "250 2.1.0 Ok").await?;
                    }
                }
                "RCPT" if self.from.is_some() => {
                    self.to.push(address(&arg));
                    reply(&mut s, "250 2.1.5 Ok").await?;
                }
                "DATA" if !self.to.is_empty() => {
                    reply(&mut s, "354 End data with <CR><LF>.<CR><LF>").await?;
                    let mut data = String::new();
                    loop {
                        let Some(line) = read_line(&mut s).await? else {
                            return Ok(());
                        };
                        if line == "." {
                            break;
                        }
                        data.push_str(line.strip_prefix('.').unwrap_or(&line));
                        data.push_str("\r\n");
                    }
                    let id = {
                        let mut r = self.record.lock().expect("record");
                        r.messages.push(Received {
                            tls: self.tls,
                            user: self.user.clone(),
                            from: self.from.take().unwrap_or_default(),
                            to: std::mem::take(&mut self.to),
                            data,
                        });
                        r.messages.len()
                    };
                    reply(&mut s, &format!("250 2.0.0 Ok: queued as TEST{id}")).await?;
                }
                "RSET" => {
                    self.from = None;
                    self.to.clear();
                    reply(&mut s, "250 2.0.0 Ok").await?;
                }
                "NOOP" => reply(&mut s, "250 2.0.0 Ok").await?,
                "QUIT" => {
                    reply(&mut s, "221 2.0.0 Bye").await?;
                    return Ok(());
                }
                "RCPT" | "DATA" => reply(&mut s, "503 5.5.1 Bad sequence of commands").await?,
                _ => reply(&mut s, "502 5.5.2 Command not recognized").await?,
            }
        }
        Ok(())
    }

    async fn auth(&mut self, s: &mut Stream, arg: &str) -> std::io::Result<()> {
        let (mechanism, initial) = match arg.split_once(' ') {
            Some((m, i)) => (m.to_ascii_uppercase(), Some(i.to_string())),
            None => (arg.to_ascii_uppercase(), None),
        };
        let (user, password) = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(i) => i,
                    None => {
                        reply(s, "334 ").await?;
                        read_line(s).await?.unwrap_or_default()
                    }
                };
                let decoded = base64_decode(&response).unwrap_or_default();
                let mut parts = decoded.split(|b| *b == 0).skip(1);
                let user = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
                let password =
                    String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
                (user, password)
            }
            "LOGIN" => {
                let user = match initial {
                    Some(i) => i,
                    None => {
                        reply(s, "334 VXNlcm5hbWU6").await?;
                        read_line(s).await?.unwrap_or_default()
                    }
                };
                reply(s, "334 UGFzc3dvcmQ6").await?;
                let password = read_line(s).await?.unwrap_or_default();
                let text = |b64: &str| {
                    String::from_utf8_lossy(&base64_decode(b64).unwrap_or_default()).into_owned()
                };
                (text(&user), text(&password))
            }
            _ => {
                return reply(s, "504 5.5.4 Unrecognized authentication type").await;
            }
        };
        let ok = self
            .options
            .auth
            .as_ref()
            .is_some_and(|(u, p)| *u == user && *p == password);
        self.record.lock().expect("record").auth.push(AuthAttempt {
            mechanism,
            user: user.clone(),
            password,
            tls: self.tls,
            ok,
        });
        if ok {
            self.user = Some(user);
            reply(s, "235 2.7.0 Authentication successful").await
        } else {
            reply(s, "535 5.7.8 Authentication credentials invalid").await
        }
    }
}

/// `FROM:<a@b> SIZE=1` → `a@b`.
fn address(arg: &str) -> String {
    let start = arg.find('<').map(|i| i + 1).unwrap_or(0);
    let end = arg[start..]
        .find('>')
        .map(|i| start + i)
        .unwrap_or(arg.len());
    arg[start..end].to_string()
}

/// Standard base64 with padding; `None` on anything else.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = text.trim().bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let take = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Some(out)
}
