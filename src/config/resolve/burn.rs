//! `latency_slo` and `[burn]`: their ranges, each problem located at its key,
//! and the policy a probe gets, key by key from the probe, then `[defaults]`,
//! then the SRE Workbook's table.

use std::time::Duration;

use toml::Spanned;

use super::super::Problems;
use super::super::duration::{self, Dur};
use super::super::plan::{BurnPolicy, BurnRule, LatencySlo};
use super::super::schema::{BurnRuleSection, BurnSection, LatencySloSection};
use crate::model::burn::BurnAlert;

/// The shortest window: a burn over less is noise.
const MIN_WINDOW: Duration = Duration::from_secs(60);
/// Burn rates beyond this spend a 30-day budget in under a minute.
const MAX_RATE: f64 = 43_200.0;

/// Check `latency_slo` and `[burn]` as written in one section.
pub(in crate::config) fn check_objectives(
    latency: Option<&Spanned<LatencySloSection>>,
    burn: Option<&Spanned<BurnSection>>,
    p: &mut Problems<'_>,
) {
    if let Some(l) = latency {
        let l = l.get_ref();
        if let Err(message) = duration::TIMEOUT.check("latency_slo.under", l.under.value) {
            p.at(l.under.span.clone(), message, None);
        }
        let v = *l.percent.get_ref();
        if !(v > 0.0 && v < 100.0) {
            p.at(
                l.percent.span(),
                "latency_slo.percent is a percentage above 0 and below 100",
                Some("for example 99: 99% of results faster than `under`"),
            );
        }
    }
    let Some(b) = burn else { return };
    let b = b.get_ref();
    for (key, v) in [
        ("min_results", &b.min_results),
        ("short_min_results", &b.short_min_results),
    ] {
        if let Some(v) = v
            && (*v.get_ref() == 0 || *v.get_ref() > 100_000)
        {
            p.at(
                v.span(),
                format!("burn.{key} must be between 1 and 100000"),
                None,
            );
        }
    }
    for (alert, rule) in rules(b) {
        let Some(rule) = rule else { continue };
        check_rule(alert, rule, p);
    }
}

fn rules(b: &BurnSection) -> [(BurnAlert, Option<&Spanned<BurnRuleSection>>); 3] {
    [
        (BurnAlert::Fast, b.fast.as_ref()),
        (BurnAlert::Slow, b.slow.as_ref()),
        (BurnAlert::Ticket, b.ticket.as_ref()),
    ]
}

fn check_rule(alert: BurnAlert, rule: &Spanned<BurnRuleSection>, p: &mut Problems<'_>) {
    let span = rule.span();
    let rule = rule.get_ref();
    if let Some(rate) = &rule.rate {
        let v = *rate.get_ref();
        if !(v > 0.0 && v <= MAX_RATE) {
            p.at(
                rate.span(),
                format!("burn.{alert}.rate must be above 0 and at most {MAX_RATE}"),
                Some("the Workbook's rates are 14.4 (fast), 6 (slow) and 1 (ticket)"),
            );
        }
    }
    for (key, d) in [("long", &rule.long), ("short", &rule.short)] {
        if let Some(d) = d
            && d.value < MIN_WINDOW
        {
            p.at(
                d.span.clone(),
                format!("burn.{alert}.{key} must be at least 1m"),
                None,
            );
        }
    }
    let (_, long, short) = alert.defaults();
    let long = rule.long.as_ref().map_or(long, |d| d.value);
    let short_value = rule.short.as_ref().map_or(short, |d| d.value);
    if short_value >= long {
        let at = rule
            .short
            .as_ref()
            .map(|d| d.span.clone())
            .or_else(|| rule.long.as_ref().map(|d| d.span.clone()))
            .unwrap_or(span);
        p.at(
            at,
            format!("burn.{alert}.short must be shorter than its long window"),
            Some("the short window makes the alert end soon after the burn stops: about 1/12 of the long one"),
        );
    }
}

/// The latency objective, the probe's own or `[defaults]`'.
pub(super) fn latency_slo(
    own: Option<&Spanned<LatencySloSection>>,
    defaults: Option<&Spanned<LatencySloSection>>,
) -> Option<LatencySlo> {
    own.or(defaults).map(|l| LatencySlo {
        under: l.get_ref().under.value,
        percent: *l.get_ref().percent.get_ref(),
    })
}

/// The burn policy: each key from the probe's `[burn]`, else `[defaults]`'s,
/// else the Workbook's.
pub(super) fn policy(
    own: Option<&Spanned<BurnSection>>,
    defaults: Option<&Spanned<BurnSection>>,
) -> BurnPolicy {
    let (own, defaults) = (own.map(Spanned::get_ref), defaults.map(Spanned::get_ref));
    let base = BurnPolicy::default();
    let count = |f: fn(&BurnSection) -> Option<&Spanned<u32>>, fallback: u32| {
        own.and_then(f)
            .or_else(|| defaults.and_then(f))
            .map_or(fallback, |v| *v.get_ref())
            .max(1)
    };
    let mut rules = Vec::new();
    for alert in BurnAlert::ALL {
        let (o, d) = (pick(own, alert), pick(defaults, alert));
        let (rate, long, short) = alert.defaults();
        let enabled = o
            .and_then(|r| r.enabled)
            .or_else(|| d.and_then(|r| r.enabled))
            .unwrap_or(true);
        if !enabled {
            continue;
        }
        let dur = |f: fn(&BurnRuleSection) -> Option<&Dur>, fallback: Duration| {
            o.and_then(f)
                .or_else(|| d.and_then(f))
                .map_or(fallback, |d| d.value)
        };
        rules.push(BurnRule {
            alert,
            rate: o
                .and_then(|r| r.rate.as_ref())
                .or_else(|| d.and_then(|r| r.rate.as_ref()))
                .map_or(rate, |v| *v.get_ref()),
            long: dur(|r| r.long.as_ref(), long),
            short: dur(|r| r.short.as_ref(), short),
        });
    }
    BurnPolicy {
        rules,
        min_results: count(|b| b.min_results.as_ref(), base.min_results),
        short_min_results: count(|b| b.short_min_results.as_ref(), base.short_min_results),
    }
}

fn pick(b: Option<&BurnSection>, alert: BurnAlert) -> Option<&BurnRuleSection> {
    b.and_then(|b| rules_of(b, alert)).map(Spanned::get_ref)
}

fn rules_of(b: &BurnSection, alert: BurnAlert) -> Option<&Spanned<BurnRuleSection>> {
    match alert {
        BurnAlert::Fast => b.fast.as_ref(),
        BurnAlert::Slow => b.slow.as_ref(),
        BurnAlert::Ticket => b.ticket.as_ref(),
    }
}
