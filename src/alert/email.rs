//! The `email` channel: one plain-text message per notification over SMTP,
//! with STARTTLS required unless the channel turns it off.

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MessageBuilder};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Delivery, DeliveryError, Notification, Receipt, message};
use crate::config::ChannelConfig;

/// The SMTPS port: TLS from the first byte, where STARTTLS would never start.
const SUBMISSIONS_PORT: u16 = 465;

/// Deliver `n` through an `email` channel.
pub async fn send(
    delivery: &Delivery,
    channel: &ChannelConfig,
    n: &Notification,
) -> Result<Receipt, DeliveryError> {
    let host = channel
        .smtp_host
        .as_ref()
        .map(|h| h.value().trim())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| DeliveryError::permanent("an email channel needs `smtp_host`"))?;
    let server = format!("SMTP {host}:{}", channel.smtp_port);
    let email = build(channel, n)?;
    let transport = transport(delivery, channel, host)
        .map_err(|e| DeliveryError::permanent(format!("{server}: {e}")))?;
    let password = channel
        .password
        .as_ref()
        .map(|p| p.value())
        .unwrap_or_default();
    let redact = |text: String| {
        if password.is_empty() {
            text
        } else {
            text.replace(password, "[redacted]")
        }
    };
    // lettre bounds each network step; this bounds the whole conversation.
    match tokio::time::timeout(delivery.timeout, transport.send(email)).await {
        Ok(Ok(reply)) => Ok(Receipt {
            detail: redact(reply_text(&reply)),
        }),
        Ok(Err(e)) => {
            let message = redact(format!("{server}: {}", error_text(&e)));
            if is_permanent(&e) {
                Err(DeliveryError::permanent(message))
            } else {
                Err(DeliveryError::retryable(message))
            }
        }
        Err(_) => Err(DeliveryError::timed_out(format!(
            "{server}: no answer within {}",
            humantime::format_duration(delivery.timeout)
        ))),
    }
}

/// The message: From, To, Subject, a stable Message-ID and the shared body.
fn build(channel: &ChannelConfig, n: &Notification) -> Result<Message, DeliveryError> {
    let from_text = channel.from.as_ref().map(|f| f.value()).unwrap_or_default();
    let from: Mailbox = crate::config::mailbox(from_text)
        .map_err(|e| DeliveryError::permanent(format!("`from` {from_text:?} {e}")))?;
    if channel.to.is_empty() {
        return Err(DeliveryError::permanent("an email channel needs `to`"));
    }
    let domain = from.email.domain().to_string();
    let mut builder: MessageBuilder = Message::builder()
        .from(from)
        .subject(message::title(n))
        .message_id(Some(message_id(n, &domain)))
        .references(incident_id(n, &domain))
        .header(ContentType::TEXT_PLAIN);
    for to in &channel.to {
        let mailbox = crate::config::mailbox(to.value())
            .map_err(|e| DeliveryError::permanent(format!("`to` {:?} {e}", to.value())))?;
        builder = builder.to(mailbox);
    }
    builder
        .body(message::body(n))
        .map_err(|e| DeliveryError::permanent(format!("cannot build the message: {e}")))
}

/// Stable for one event, so a retried delivery can be recognised downstream.
fn message_id(n: &Notification, domain: &str) -> String {
    format!(
        "<outpost.{}.{}.{}.{}@{domain}>",
        id_part(&n.probe_id),
        n.incident_id,
        n.event.as_str(),
        n.at.timestamp_millis()
    )
}

/// Every message of an incident refers to this id, so mail clients thread them.
fn incident_id(n: &Notification, domain: &str) -> String {
    format!(
        "<outpost.{}.{}@{domain}>",
        id_part(&n.probe_id),
        n.incident_id
    )
}

/// Keeps a message id's left part to characters every mail system accepts.
fn id_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The transport for one delivery: STARTTLS (or TLS on port 465) unless turned
/// off, the channel's extra roots beside the system's, AUTH when a user is set.
fn transport(
    delivery: &Delivery,
    channel: &ChannelConfig,
    host: &str,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(channel.smtp_port)
        .timeout(Some(delivery.timeout))
        .hello_name(hello_name());
    builder = if channel.starttls {
        let mut params = TlsParameters::builder(host.to_string());
        if let Some(pem) = &channel.ca_pem {
            params = params.add_root_certificate(Certificate::from_pem(pem)?);
        }
        let params = params.build_rustls()?;
        if channel.smtp_port == SUBMISSIONS_PORT {
            builder.tls(Tls::Wrapper(params))
        } else {
            builder.tls(Tls::Required(params))
        }
    } else {
        builder.tls(Tls::None)
    };
    if let Some(user) = channel.username.as_ref().map(|u| u.value()) {
        let password = channel
            .password
            .as_ref()
            .map(|p| p.value())
            .unwrap_or_default();
        builder = builder
            .credentials(Credentials::new(user.to_string(), password.to_string()))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    Ok(builder.build())
}

/// This machine's name for EHLO, when it is a plain host name.
fn hello_name() -> ClientId {
    let name = gethostname::gethostname().to_string_lossy().into_owned();
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if plain {
        ClientId::Domain(name)
    } else {
        ClientId::default()
    }
}

/// `250 2.0.0 Ok: queued as 1234`.
fn reply_text(reply: &Response) -> String {
    let lines: Vec<&str> = reply.message().collect();
    format!("{} {}", reply.code(), lines.join(" "))
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// A 5xx reply, a refusal on our side (no STARTTLS offered, no usable AUTH
/// mechanism) or a certificate the server's name or roots do not vouch for:
/// trying again will not help. Refused connections, timeouts and 4xx replies may.
fn is_permanent(e: &lettre::transport::smtp::Error) -> bool {
    if e.is_permanent() || e.is_client() || e.is_tls() {
        return true;
    }
    if e.is_transient() || e.is_timeout() {
        return false;
    }
    // A failed handshake arrives as I/O errors around a rustls error.
    std::error::Error::source(e).is_some_and(wraps_rustls)
}

/// Whether `err` is, or wraps, a rustls refusal; io::Errors nest them in their
/// payload, which `source` skips.
fn wraps_rustls(err: &(dyn std::error::Error + 'static)) -> bool {
    if err.is::<rustls::Error>() {
        return true;
    }
    if let Some(inner) = err
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
        && wraps_rustls(inner)
    {
        return true;
    }
    err.source().is_some_and(wraps_rustls)
}

/// lettre's message (kind and cause) on one line, without its repeats.
fn error_text(e: &lettre::transport::smtp::Error) -> String {
    e.to_string()
        .replace("Connection error: Connection error: ", "connection error: ")
        .replace("internal client error: ", "")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_parts_stay_plain() {
        assert_eq!(id_part("api-v2_eu"), "api-v2_eu");
        assert_eq!(id_part("a b<c>@d"), "a-b-c--d");
    }
}
