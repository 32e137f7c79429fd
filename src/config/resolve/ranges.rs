//! Value ranges of the tunables (`[defaults]` and per-probe keys): counts,
//! durations, retention, SLO, body and host limits, the user agent; each
//! problem located at its key.

use super::*;

pub(super) fn check_tunables(t: &Tunables, p: &mut Problems<'_>) {
    check_counts(
        [
            &t.failure_threshold,
            &t.success_threshold,
            &t.quorum,
            &t.retention_days,
        ],
        p,
    );
    check_retention(t.retention_days.as_ref(), p);
    check_slo(t.slo.as_ref(), p);
    super::burn::check_objectives(t.latency_slo.as_ref(), t.burn.as_ref(), p);
    check_client_limits(t.max_body.as_ref(), t.host_concurrency.as_ref(), p);
    check_durations([&t.timeout, &t.interval, &t.degraded_after], p);
    check_user_agent(t.user_agent.as_ref(), p);
}

/// `max_body` within 1 byte..64 MiB and `host_concurrency` within 1..256.
pub(super) fn check_client_limits(
    max_body: Option<&Spanned<schema::ByteSize>>,
    host_concurrency: Option<&Spanned<u32>>,
    p: &mut Problems<'_>,
) {
    if let Some(m) = max_body {
        let v = m.get_ref().0;
        if v == 0 || v > MAX_MAX_BODY {
            p.at(
                m.span(),
                "max_body must be between 1 byte and 64MiB",
                Some("for example \"1MiB\" (the default) or \"16MiB\""),
            );
        }
    }
    if let Some(h) = host_concurrency {
        let v = *h.get_ref();
        if v == 0 || v > MAX_HOST_CONCURRENCY {
            p.at(
                h.span(),
                "host_concurrency must be between 1 and 256",
                Some("the number of probes at once against one host; default 4"),
            );
        }
    }
}

/// The probe sends `user_agent` as a header: a value no header can carry
/// would be dropped silently at run time, so it is refused here.
pub(super) fn check_user_agent(ua: Option<&Spanned<Text>>, p: &mut Problems<'_>) {
    if let Some(ua) = ua
        && HeaderValue::from_str(ua.get_ref().value()).is_err()
    {
        p.at(
            ua.span(),
            "user_agent cannot be sent as a header",
            Some("header values cannot contain line breaks or control characters"),
        );
    }
}

/// Each duration key within its documented range (duration.rs), located.
pub(super) fn check_durations(
    [timeout, interval, degraded_after]: [&Option<Dur>; 3],
    p: &mut Problems<'_>,
) {
    let keys = [
        ("timeout", timeout, duration::TIMEOUT),
        ("interval", interval, duration::INTERVAL),
        ("degraded_after", degraded_after, duration::DEGRADED_AFTER),
    ];
    for (key, value, bounds) in keys {
        if let Some(d) = value
            && let Err(message) = bounds.check(key, d.value)
        {
            p.at(d.span.clone(), message, None);
        }
    }
}

/// The longest retention: ten years of raw results (and of `now - retention`
/// arithmetic that cannot leave chrono's range).
const MAX_RETENTION_DAYS: u32 = 3650;

pub(super) fn check_retention(days: Option<&Spanned<u32>>, p: &mut Problems<'_>) {
    if let Some(d) = days
        && *d.get_ref() > MAX_RETENTION_DAYS
    {
        p.at(
            d.span(),
            format!("retention_days must be between 1 and {MAX_RETENTION_DAYS}"),
            None,
        );
    }
}

pub(super) fn check_counts(values: [&Option<Spanned<u32>>; 4], p: &mut Problems<'_>) {
    for v in values.into_iter().flatten() {
        if *v.get_ref() == 0 {
            p.at(v.span(), "must be at least 1", None);
        }
    }
}

pub(super) fn check_slo(slo: Option<&Spanned<f64>>, p: &mut Problems<'_>) {
    if let Some(s) = slo {
        let v = *s.get_ref();
        if !(v > 0.0 && v <= 100.0) {
            p.at(
                s.span(),
                "slo is a percentage above 0 and at most 100",
                Some("for example 99.9"),
            );
        }
    }
}
