//! Every TLS failure as a sentence a person can act on: what is wrong with the
//! certificate (when it expired, which names it has, who issued it) or what the
//! server refused. Never a debug string.

use chrono::{DateTime, Utc};
use rustls::pki_types::UnixTime;
use rustls::{AlertDescription, CertificateError, Error, PeerIncompatible};

use super::verify::LeafInfo;
use crate::assert::short;
use crate::model::{Cause, Failure};

/// What the connection knew when the handshake failed.
#[derive(Debug, Default)]
pub struct Context<'a> {
    pub host: &'a str,
    pub leaf: Option<&'a LeafInfo>,
    /// A client certificate was configured (`client_cert`).
    pub client_cert: bool,
    /// The server asked for a client certificate.
    pub client_cert_requested: bool,
    pub now: Option<DateTime<Utc>>,
}

/// Classify a rustls error: `tls`, except a refused ALPN protocol (`protocol`).
pub fn failure(e: &Error, cx: &Context<'_>) -> Failure {
    match e {
        Error::AlertReceived(AlertDescription::NoApplicationProtocol)
        | Error::NoApplicationProtocol => Failure::new(
            Cause::Protocol,
            "the server does not speak the requested HTTP version (it refused it in ALPN)",
        ),
        _ => Failure::new(Cause::Tls, sentence(e, cx)),
    }
}

fn sentence(e: &Error, cx: &Context<'_>) -> String {
    match e {
        Error::InvalidCertificate(c) => certificate(c, cx),
        Error::AlertReceived(a) => alert(*a, cx),
        Error::InvalidMessage(_)
        | Error::InappropriateMessage { .. }
        | Error::InappropriateHandshakeMessage { .. } => {
            "the server did not answer with TLS (is this port plain HTTP?)".to_string()
        }
        Error::NoCertificatesPresented => "the server presented no certificate".to_string(),
        Error::PeerIncompatible(p) => incompatible(p),
        Error::PeerMisbehaved(p) => format!(
            "the server broke the TLS protocol ({})",
            words(&format!("{p:?}"))
        ),
        Error::DecryptError => "TLS decryption failed: the server sent corrupt data".to_string(),
        Error::PeerSentOversizedRecord => "the server sent an oversized TLS record".to_string(),
        Error::General(s) => short(&format!("the TLS handshake failed: {s}")),
        other => format!(
            "the TLS handshake failed ({})",
            words(&format!("{other:?}"))
        ),
    }
}

fn certificate(c: &CertificateError, cx: &Context<'_>) -> String {
    use CertificateError as C;
    let leaf = cx.leaf;
    let now = cx.now.unwrap_or_else(Utc::now);
    match c {
        C::ExpiredContext { not_after, .. } => expired(unix(*not_after), now),
        C::Expired => match leaf.and_then(|l| l.not_after) {
            Some(t) => expired(t, now),
            None => "the certificate has expired".to_string(),
        },
        C::NotValidYetContext { not_before, .. } => not_yet(unix(*not_before), now),
        C::NotValidYet => match leaf.and_then(|l| l.not_before) {
            Some(t) => not_yet(t, now),
            None => "the certificate is not valid yet".to_string(),
        },
        // The leaf's own names read better than rustls' (`DnsName("a")`).
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            wrong_name(leaf.map(|l| &l.names[..]).unwrap_or_default(), cx.host)
        }
        C::UnknownIssuer => match leaf {
            Some(l) if l.self_signed => self_signed(l),
            Some(l) => format!(
                "the certificate's issuer ({}) is not trusted: put that CA's certificate in ca_file",
                short(&l.issuer)
            ),
            None => "the certificate's issuer is not trusted".to_string(),
        },
        C::Revoked => "the certificate has been revoked".to_string(),
        C::UnknownRevocationStatus
        | C::ExpiredRevocationList
        | C::ExpiredRevocationListContext { .. } => {
            "the certificate's revocation status could not be checked".to_string()
        }
        C::BadSignature => "the certificate's signature is invalid".to_string(),
        C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "the certificate is signed with an algorithm that is not supported".to_string()
        }
        C::BadEncoding => "the server's certificate could not be parsed".to_string(),
        C::UnhandledCriticalExtension => {
            "the certificate has a critical extension that cannot be checked".to_string()
        }
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the certificate is not meant for TLS servers (its extended key usage)".to_string()
        }
        C::Other(other) => {
            let text = other.to_string();
            // webpki refuses a CA:TRUE leaf before it looks for an issuer; for a
            // self-signed one (`openssl req -x509`) that is the untrusted case.
            if text.contains("CaUsedAsEndEntity") {
                match leaf {
                    Some(l) if l.self_signed => self_signed(l),
                    _ => "the server's certificate is a CA certificate, which is accepted only when that very certificate is in ca_file".to_string(),
                }
            } else {
                format!("the certificate was rejected ({})", words(&text))
            }
        }
        other => format!(
            "the certificate was rejected ({})",
            words(&format!("{other:?}"))
        ),
    }
}

fn self_signed(l: &LeafInfo) -> String {
    format!(
        "the certificate is self-signed ({}) and not trusted: put it in ca_file to trust it",
        short(&l.subject)
    )
}

fn alert(a: AlertDescription, cx: &Context<'_>) -> String {
    use AlertDescription as A;
    match a {
        A::CertificateRequired => {
            "the server requires a client certificate: set client_cert and client_key".to_string()
        }
        A::BadCertificate | A::UnsupportedCertificate | A::CertificateUnknown
            if !cx.client_cert =>
        {
            "the server requires a client certificate: set client_cert and client_key".to_string()
        }
        A::BadCertificate | A::UnsupportedCertificate | A::CertificateUnknown => {
            "the server rejected the client certificate".to_string()
        }
        A::UnknownCA => "the server does not trust the client certificate's issuer".to_string(),
        // Servers verify the client certificate's signature against the issuer
        // they know by that name; a different CA of the same name lands here.
        A::DecryptError if cx.client_cert && cx.client_cert_requested => {
            "the server could not verify the client certificate (is it from the CA the server trusts?)"
                .to_string()
        }
        A::CertificateExpired => "the server says the client certificate has expired".to_string(),
        A::CertificateRevoked => "the server says the client certificate is revoked".to_string(),
        A::AccessDenied => "the server denied access during the TLS handshake".to_string(),
        A::HandshakeFailure if cx.client_cert_requested && !cx.client_cert => {
            "the server requires a client certificate: set client_cert and client_key".to_string()
        }
        A::HandshakeFailure => {
            "the server refused the TLS handshake (no TLS version or cipher in common)".to_string()
        }
        A::ProtocolVersion => "the server does not support TLS 1.2 or 1.3".to_string(),
        A::UnrecognisedName => {
            format!("the server does not know the name {} (SNI)", short(cx.host))
        }
        A::InternalError => "the server had an internal error during the TLS handshake".to_string(),
        other => format!(
            "the server ended the TLS handshake with the alert \"{}\"",
            words(&format!("{other:?}"))
        ),
    }
}

fn incompatible(p: &PeerIncompatible) -> String {
    use PeerIncompatible as P;
    match p {
        P::ServerDoesNotSupportTls12Or13 | P::Tls12NotOfferedOrEnabled => {
            "the server does not support TLS 1.2 or 1.3".to_string()
        }
        P::NoCipherSuitesInCommon => {
            "the server has no cipher suite in common with Outpost".to_string()
        }
        P::NoKxGroupsInCommon => {
            "the server has no key exchange group in common with Outpost".to_string()
        }
        P::NoSignatureSchemesInCommon => {
            "the server has no signature scheme in common with Outpost".to_string()
        }
        other => format!(
            "the server's TLS is not compatible ({})",
            words(&format!("{other:?}"))
        ),
    }
}

fn unix(t: UnixTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.as_secs() as i64, 0).unwrap_or_default()
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn expired(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "the certificate expired on {} ({} ago)",
        day(at),
        span(now - at)
    )
}

fn not_yet(from: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "the certificate is not valid until {} (in {}): is the clock right?",
        day(from),
        span(from - now)
    )
}

/// A rough span: "3 days", "5 hours", "12 minutes".
fn span(d: chrono::Duration) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if d.num_days() >= 1 {
        plural(d.num_days(), "day")
    } else if d.num_hours() >= 1 {
        plural(d.num_hours(), "hour")
    } else {
        plural(d.num_minutes().max(1), "minute")
    }
}

fn wrong_name(names: &[String], host: &str) -> String {
    const SHOWN: usize = 5;
    if names.is_empty() {
        return format!(
            "the certificate names no host, so it is not valid for {}",
            short(host)
        );
    }
    let mut list: Vec<&str> = names.iter().take(SHOWN).map(String::as_str).collect();
    let more = names.len().saturating_sub(SHOWN);
    let extra = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    list.dedup();
    short(&format!(
        "the certificate is for {}{extra}, not {host}",
        list.join(", ")
    ))
}

/// `CaUsedAsEndEntity` → "ca used as end entity": a type name as words, with
/// any payload dropped.
fn words(debug: &str) -> String {
    let name: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx<'a>(leaf: Option<&'a LeafInfo>) -> Context<'a> {
        Context {
            host: "127.0.0.1",
            leaf,
            now: DateTime::from_timestamp(1_800_000_000, 0),
            ..Context::default()
        }
    }

    #[test]
    fn words_drop_payloads() {
        assert_eq!(words("CaUsedAsEndEntity"), "ca used as end entity");
        assert_eq!(words("Other(OtherError(X))"), "other");
    }

    #[test]
    fn certificate_sentences_name_what_is_wrong() {
        let leaf = LeafInfo {
            subject: "CN=localhost".into(),
            issuer: "CN=Acme Internal CA".into(),
            self_signed: false,
            names: vec!["a.example".into(), "b.example".into()],
            not_before: DateTime::from_timestamp(1_700_000_000, 0),
            not_after: DateTime::from_timestamp(1_799_740_800, 0),
        };
        let m = sentence(&CertificateError::Expired.into(), &cx(Some(&leaf)));
        assert_eq!(
            m,
            "the certificate expired on 2027-01-12 08:00 UTC (3 days ago)"
        );
        let m = sentence(&CertificateError::NotValidForName.into(), &cx(Some(&leaf)));
        assert_eq!(
            m,
            "the certificate is for a.example, b.example, not 127.0.0.1"
        );
        let m = sentence(&CertificateError::UnknownIssuer.into(), &cx(Some(&leaf)));
        assert!(
            m.contains("issuer (CN=Acme Internal CA) is not trusted"),
            "{m}"
        );
        let own = LeafInfo {
            self_signed: true,
            ..leaf.clone()
        };
        let m = sentence(&CertificateError::UnknownIssuer.into(), &cx(Some(&own)));
        assert!(
            m.starts_with("the certificate is self-signed (CN=localhost)"),
            "{m}"
        );
        let m = sentence(&CertificateError::Revoked.into(), &cx(None));
        assert_eq!(m, "the certificate has been revoked");
    }

    #[test]
    fn no_sentence_is_a_debug_string() {
        let errors: Vec<Error> = vec![
            CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
                std::io::Error::other("CaUsedAsEndEntity"),
            )))
            .into(),
            Error::AlertReceived(AlertDescription::DecodeError),
            Error::PeerIncompatible(PeerIncompatible::NullCompressionRequired),
            Error::EncryptError,
            CertificateError::BadEncoding.into(),
        ];
        for e in errors {
            let m = sentence(&e, &cx(None));
            let camel = m.split_whitespace().any(|w| {
                w.chars()
                    .zip(w.chars().skip(1))
                    .any(|(a, b)| a.is_lowercase() && b.is_uppercase())
            });
            assert!(
                !camel && !m.contains(['{', ':']),
                "looks like debug output: {m}"
            );
        }
    }

    #[test]
    fn refused_alpn_is_a_protocol_failure() {
        let f = failure(
            &Error::AlertReceived(AlertDescription::NoApplicationProtocol),
            &cx(None),
        );
        assert_eq!(f.cause, Cause::Protocol);
    }
}
