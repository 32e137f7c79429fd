//! Gathering the [`Site`] from the config, the store and `incidents/*.md`:
//! the only part of rendering that reads the store.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::history;
use super::site::*;
use crate::config::{Config, ProbeSpec};
use crate::human_incidents::{self, HumanIncident, UpdateStatus};
use crate::model::{ProbeResult, State, millis};
use crate::store::burn::Hours;
use crate::store::incidents::Incident;
use crate::store::{Store, StoreError};

/// Read everything the page shows as of `now`.
pub fn gather(
    cfg: &Config,
    store: &Store,
    human: &[HumanIncident],
    now: DateTime<Utc>,
) -> Result<Site, StoreError> {
    let mut frame = frame(cfg, store, human, now)?;
    for view in frame.site.groups.iter_mut().flat_map(|g| &mut g.probes) {
        // Groups gather their probes, so a view's place is its position.
        let spec = &cfg.probes[view.position];
        fill(cfg, store, spec, view, frame.incidents.of(&view.id), now)?;
    }
    frame.site.overall = overall_of(&frame.site);
    Ok(frame.site)
}

/// The site without the probes' history and latest results: each probe's
/// stored state, the incidents and maintenance. Cheap to read, and enough
/// for any page to name, group and link every probe; [`fill`] then reads
/// each probe's latest result and history, one probe at a time, and the
/// banner ([`overall_of`]) follows from the filled views.
pub struct Frame {
    pub site: Site,
    pub incidents: ProbeIncidents,
}

/// The store's automatic incidents by probe.
pub struct ProbeIncidents {
    all: Vec<Incident>,
    /// Indexes into `all`, found once: filtering the whole list per probe
    /// was 10,000 × every incident at 10,000 probes.
    by_probe: std::collections::HashMap<String, Vec<usize>>,
}

impl ProbeIncidents {
    fn new(all: Vec<Incident>) -> Self {
        let mut by_probe: std::collections::HashMap<String, Vec<usize>> =
            std::collections::HashMap::new();
        for (n, i) in all.iter().enumerate() {
            by_probe.entry(i.probe.clone()).or_default().push(n);
        }
        ProbeIncidents { all, by_probe }
    }

    /// The automatic incidents of probe `id`, in the store's order.
    pub fn of(&self, id: &str) -> Vec<&Incident> {
        self.by_probe
            .get(id)
            .map(|ix| ix.iter().map(|i| &self.all[*i]).collect())
            .unwrap_or_default()
    }
}

/// Read the [`Frame`] of the site as of `now`: probes in config order, each
/// view without history (see [`fill`]).
pub fn frame(
    cfg: &Config,
    store: &Store,
    human: &[HumanIncident],
    now: DateTime<Utc>,
) -> Result<Frame, StoreError> {
    let states = store.probe_states()?;
    let auto_incidents = store.incidents()?;
    let mut groups: Vec<Group> = Vec::new();
    for (position, spec) in cfg.probes.iter().enumerate() {
        let view = bare_view(cfg, spec, position, states.get(&spec.id.0), now);
        let name = spec.group.clone();
        match groups.iter_mut().find(|g| g.name == name) {
            Some(g) => g.probes.push(view),
            None => groups.push(Group {
                id: group_id(name.as_deref()),
                name,
                probes: vec![view],
            }),
        }
    }
    let names: BTreeMap<&str, &str> = cfg
        .probes
        .iter()
        .map(|p| (p.id.0.as_str(), p.name.as_str()))
        .collect();
    let public: BTreeMap<&str, bool> = cfg
        .probes
        .iter()
        .map(|p| (p.id.0.as_str(), p.public_target))
        .collect();
    let incidents = incidents(&auto_incidents, human, &names, &public, now);
    let probes: Vec<&ProbeView> = groups.iter().flat_map(|g| &g.probes).collect();
    let site = Site {
        page: PageInfo {
            title: cfg.page.title.clone(),
            description: cfg.page.description.clone(),
            url: cfg
                .page
                .url
                .as_ref()
                .map(|u| u.as_str().trim_end_matches('/').to_string()),
            timezone: cfg.page.timezone.clone(),
            history_days: cfg.page.history_days,
        },
        generated_at: now,
        overall: overall(&probes),
        maintenance: maintenance(cfg, now),
        groups,
        incidents,
    };
    Ok(Frame {
        site,
        incidents: ProbeIncidents::new(auto_incidents),
    })
}

fn group_id(name: Option<&str>) -> String {
    match name {
        Some(n) => {
            let s: String = n
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
            let s = s
                .split('-')
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            // Bare: each output adds its own prefix (`g-` on the page,
            // `group-` in the API), so a prefix is never doubled.
            if s.is_empty() { "group".to_string() } else { s }
        }
        None => "ungrouped".to_string(),
    }
}

/// The banner of `site`, whose views are filled.
pub fn overall_of(site: &Site) -> Overall {
    let probes: Vec<&ProbeView> = site.groups.iter().flat_map(|g| &g.probes).collect();
    overall(&probes)
}

/// The banner, from the probes' states.
pub fn overall(probes: &[&ProbeView]) -> Overall {
    let counted: Vec<State> = probes
        .iter()
        .map(|p| p.state)
        .filter(|s| !matches!(s, State::Unknown))
        .collect();
    let down = counted.iter().filter(|s| **s == State::Down).count();
    let live = counted.iter().filter(|s| **s != State::Maintenance).count();
    if down > 0 && down == live {
        Overall::MajorOutage
    } else if down > 0 {
        Overall::PartialOutage
    } else if counted.contains(&State::Degraded) {
        Overall::Degraded
    } else if counted.contains(&State::Maintenance) {
        Overall::Maintenance
    } else {
        Overall::Operational
    }
}

/// A probe's view without its history: what it is and its stored state
/// (made current by [`fill`], which reads its latest result).
fn bare_view(
    cfg: &Config,
    spec: &ProbeSpec,
    position: usize,
    stored: Option<&crate::store::states::ProbeState>,
    now: DateTime<Utc>,
) -> ProbeView {
    let in_window = cfg.maintenance.iter().any(|m| m.covers(&spec.id, now));
    let state = match (in_window, stored) {
        (true, _) => State::Maintenance,
        (false, Some(s)) => s.state,
        (false, None) => State::Unknown,
    };
    ProbeView {
        id: spec.id.0.clone(),
        name: spec.name.clone(),
        group: spec.group.clone(),
        position,
        kind: spec.kind_name(),
        target: spec
            .public_target
            .then(|| public_target(&spec.target_display)),
        state,
        state_since: stored.map(|s| s.since),
        first_seen: None,
        latest: None,
        days: Vec::new(),
        uptime: Windows::default(),
        p50: Windows::default(),
        p95: Windows::default(),
        p99: Windows::default(),
        slo: spec.slo,
        slo_budget_left: None,
        burn: Default::default(),
        recent: Vec::new(),
        daily_latency: Vec::new(),
        weeks: Vec::new(),
        months: Vec::new(),
        locations: Vec::new(),
        steps: Vec::new(),
    }
}

/// Read the latest result and history of `spec` into `view` (from
/// [`frame`]): its state now, day bars, windows, budgets, the last 24 hours
/// of results and 30 days of latency. `own` are its automatic incidents.
pub fn fill(
    cfg: &Config,
    store: &Store,
    spec: &ProbeSpec,
    view: &mut ProbeView,
    own: Vec<&Incident>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let latest = store.results_for(&spec.id, 1)?.into_iter().next();
    let fresh = latest.as_ref().is_some_and(|r| {
        now - r.started_at <= Duration::from_std(spec.interval * 2).unwrap_or(Duration::MAX)
    });
    // A state without a recent result says nothing about now: "no data" is
    // shown as unknown rather than as the last thing we knew.
    if view.state != State::Maintenance && !fresh {
        view.state = State::Unknown;
    }
    view.latest = latest
        .as_ref()
        .map(|r| latest_result(r, spec.public_target));
    // The last 24 hours up to and including `now`: the page shows those
    // before it, the burn windows count those up to it.
    let from = now - Duration::hours(24);
    let read = store.results_between(&spec.id.0, from, now + Duration::milliseconds(1))?;
    let recent =
        &read[..read.partition_point(|r| r.started_at.timestamp_millis() < now.timestamp_millis())];
    let mut h = history::probe_history(cfg, store, spec, recent, &own, now)?;
    if let Some(today) = h.days.last_mut() {
        today_reflects_now(today, view.state);
    }
    let read = ReadAlready {
        store,
        results: &read,
        from_ms: from.timestamp_millis(),
        to_ms: now.timestamp_millis(),
    };
    view.burn = crate::evaluate::burn::status::read_from(store, &read, cfg, spec, now)?;
    view.first_seen = h.first_seen;
    view.days = h.days;
    view.uptime = h.uptime;
    view.p50 = h.p50;
    view.p95 = h.p95;
    view.p99 = h.p99;
    view.slo_budget_left = h.budget_left;
    view.recent = history::points(recent);
    view.daily_latency = h.daily_latency;
    view.weeks = h.weeks;
    view.months = h.months;
    view.locations = locations(recent);
    view.steps = super::steps::step_stats(recent, spec.public_target);
    Ok(())
}

/// The burn windows' source during a render: raw results inside what
/// [`fill`] has already read (`from_ms ..= to_ms`) come from it, the rest
/// and the hourly counts from the store.
struct ReadAlready<'a> {
    store: &'a Store,
    /// Oldest first, every result with `from_ms <= started_at <= to_ms`.
    results: &'a [ProbeResult],
    from_ms: i64,
    to_ms: i64,
}

impl crate::evaluate::burn::windows::Source for ReadAlready<'_> {
    fn hours(&self, probe: &str, from: i64, to: i64) -> Result<Hours, StoreError> {
        self.store.burn_hours(probe, from, to)
    }

    /// Results with `from < started_at <= to`, as [`Store::results_in`].
    fn raw(
        &self,
        probe: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
        if from_ms < self.from_ms || to_ms > self.to_ms {
            return self.store.results_in(probe, from, to);
        }
        Ok(self
            .results
            .iter()
            .filter(|r| (from_ms + 1..=to_ms).contains(&r.started_at.timestamp_millis()))
            .cloned()
            .collect())
    }
}

/// A target as it may be shown: the config's text (so `${NAME}` references,
/// never their values), without credentials, query or fragment.
pub fn public_target(display: &str) -> String {
    let mut t = display.split(['?', '#']).next().unwrap_or("").to_string();
    if let Some(scheme_end) = t.find("://") {
        let rest = &t[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            t = format!("{}{}", &t[..scheme_end + 3], &rest[at + 1..]);
        }
    }
    t
}

pub(super) fn phases(r: &ProbeResult) -> PhasesMs {
    PhasesMs {
        dns: r.phases.dns.map(millis),
        connect: r.phases.connect.map(millis),
        tls: r.phases.tls.map(millis),
        ttfb: r.phases.ttfb.map(millis),
        transfer: r.phases.transfer.map(millis),
    }
}

/// Today's bar is drawn from rollups and incident minutes, which lag the
/// state by up to a minute: a probe that is down now makes today at least
/// as bad as down, whatever has been counted so far.
fn today_reflects_now(today: &mut DayView, state: State) {
    let rank = |s: Option<State>| match s {
        Some(State::Down) => 3,
        Some(State::Degraded) => 2,
        _ => 0,
    };
    if matches!(state, State::Down | State::Degraded) && rank(Some(state)) > rank(today.worst) {
        today.worst = Some(state);
    }
}

/// A message as the public may read it: addresses hidden unless the
/// target is public.
pub(super) fn public_message(message: Option<&String>, public_target: bool) -> Option<String> {
    message.map(|m| {
        if public_target {
            m.clone()
        } else {
            super::scrub::hide_addresses(m)
        }
    })
}

fn latest_result(r: &ProbeResult, public_target: bool) -> LatestResult {
    LatestResult {
        at: r.started_at,
        location: r.location.clone(),
        outcome: r.outcome,
        cause: r.cause,
        message: public_message(r.message.as_ref(), public_target),
        status: r.status,
        latency_ms: millis(r.latency),
        phases: phases(r),
        cert_expires_at: r.cert_expires_at,
        body_bytes: r.body_bytes,
        body_decoded_bytes: r.body_decoded_bytes,
        http_version: r.http_version,
        ip: r.ip,
        steps: super::steps::latest_steps(r),
    }
}

fn locations(recent: &[ProbeResult]) -> Vec<LocationLatency> {
    let mut by: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in recent {
        by.entry(r.location.as_str())
            .or_default()
            .push(millis(r.latency));
    }
    by.into_iter()
        .map(|(location, mut v)| {
            v.sort_by(f64::total_cmp);
            LocationLatency {
                location: location.to_string(),
                p50: exact_percentile(&v, 0.50),
                p95: exact_percentile(&v, 0.95),
                results: v.len() as u64,
            }
        })
        .collect()
}

/// Nearest-rank percentile of sorted values.
pub fn exact_percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn maintenance(cfg: &Config, now: DateTime<Utc>) -> Vec<MaintenanceView> {
    cfg.maintenance
        .iter()
        .enumerate()
        // Ended windows stay, completed, for the history window.
        .filter(|(_, m)| m.end > now - Duration::days(i64::from(cfg.page.history_days)))
        .map(|(i, m)| MaintenanceView {
            id: format!("maintenance-{}", i + 1),
            title: m.title.clone(),
            description: m.description.clone(),
            probes: if m.probes.is_empty() {
                cfg.probes.iter().map(|p| p.id.0.clone()).collect()
            } else {
                m.probes.iter().map(|p| p.0.clone()).collect()
            },
            start: m.start,
            end: m.end,
            status: if now < m.start {
                "scheduled"
            } else if now < m.end {
                "in_progress"
            } else {
                "completed"
            },
        })
        .collect()
}

fn incidents(
    auto: &[Incident],
    human: &[HumanIncident],
    names: &BTreeMap<&str, &str>,
    public: &BTreeMap<&str, bool>,
    now: DateTime<Utc>,
) -> Vec<IncidentView> {
    let mut views: Vec<IncidentView> = auto
        .iter()
        .map(|i| {
            auto_view(
                i,
                names,
                public.get(i.probe.as_str()).copied().unwrap_or(false),
            )
        })
        .collect();
    for h in human {
        let (Some(start), end) = (h.started_at(), h.resolved_at()) else {
            continue;
        };
        // A note about the same probes at the same time joins the automatic
        // incident: people explain, the machine measures.
        let attached = views.iter_mut().find(|v| {
            v.id.starts_with("auto-")
                && v.probes.iter().any(|p| h.probes.contains(p))
                && start <= v.resolved_at.unwrap_or(now)
                && end.unwrap_or(now) >= v.started_at
        });
        let updates: Vec<IncidentUpdate> = h
            .updates
            .iter()
            .enumerate()
            .rev()
            .map(|(n, u)| IncidentUpdate {
                id: format!("{}-{}", h.id, n + 1),
                at: u.at,
                status: update_status(u.status),
                body: u.body.clone(),
                body_html: u.body_html.clone(),
                automatic: false,
            })
            .collect();
        match attached {
            Some(v) => {
                v.title = h.title.clone();
                v.impact = impact(h.impact);
                v.postmortem = h.summary.clone();
                v.postmortem_html = h.summary_html.clone();
                v.updates.extend(updates);
                v.updates.sort_by_key(|u| std::cmp::Reverse(u.at));
                if v.resolved_at.is_none() {
                    v.status = v.updates.first().map(|u| u.status).unwrap_or(v.status);
                }
            }
            None => views.push(IncidentView {
                id: h.id.clone(),
                title: h.title.clone(),
                status: updates
                    .first()
                    .map(|u| u.status)
                    .unwrap_or(IncidentStatus::Investigating),
                impact: impact(h.impact),
                probes: h.probes.clone(),
                started_at: start,
                resolved_at: end,
                worst_state: None,
                cause: None,
                message: None,
                updates,
                automatic: false,
                postmortem: h.summary.clone(),
                postmortem_html: h.summary_html.clone(),
            }),
        }
    }
    views.sort_by_key(|v| std::cmp::Reverse(v.started_at));
    views
}

fn update_status(s: UpdateStatus) -> IncidentStatus {
    match s {
        UpdateStatus::Investigating => IncidentStatus::Investigating,
        UpdateStatus::Identified => IncidentStatus::Identified,
        UpdateStatus::Monitoring => IncidentStatus::Monitoring,
        UpdateStatus::Resolved => IncidentStatus::Resolved,
    }
}

fn impact(i: human_incidents::Impact) -> Impact {
    match i {
        human_incidents::Impact::None => Impact::None,
        human_incidents::Impact::Minor => Impact::Minor,
        human_incidents::Impact::Major => Impact::Major,
        human_incidents::Impact::Critical => Impact::Critical,
    }
}

fn auto_view(i: &Incident, names: &BTreeMap<&str, &str>, public_target: bool) -> IncidentView {
    let name = names
        .get(i.probe.as_str())
        .copied()
        .unwrap_or(i.probe.as_str());
    let word = if i.worst_state == State::Down {
        "down"
    } else {
        "degraded"
    };
    let message = public_message(i.message.as_ref(), public_target);
    let detail = match (&i.cause, &message) {
        (Some(c), Some(m)) => format!("{name} is {word}: {c}: {m}"),
        (Some(c), None) => format!("{name} is {word}: {c}"),
        _ => format!("{name} is {word}."),
    };
    let mut updates = vec![IncidentUpdate {
        id: format!("auto-{}-1", i.id),
        at: i.started_at,
        status: IncidentStatus::Investigating,
        body_html: html_escape(&detail),
        body: detail,
        automatic: true,
    }];
    if let Some(end) = i.resolved_at {
        let text = format!(
            "{name} recovered after {} ({} failed results).",
            // The same words as the incident's "lasted …".
            super::html::format::duration((end - i.started_at).to_std().unwrap_or_default()),
            i.failed_results
        );
        updates.insert(
            0,
            IncidentUpdate {
                id: format!("auto-{}-2", i.id),
                at: end,
                status: IncidentStatus::Resolved,
                body_html: html_escape(&text),
                body: text,
                automatic: true,
            },
        );
    }
    IncidentView {
        id: format!("auto-{}", i.id),
        title: format!(
            "{name} {}",
            if i.worst_state == State::Down {
                "outage"
            } else {
                "degraded performance"
            }
        ),
        status: if i.resolved_at.is_some() {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Investigating
        },
        impact: if i.worst_state == State::Down {
            Impact::Major
        } else {
            Impact::Minor
        },
        probes: vec![i.probe.clone()],
        started_at: i.started_at,
        resolved_at: i.resolved_at,
        worst_state: Some(i.worst_state),
        cause: i.cause,
        message,
        updates,
        automatic: true,
        postmortem: None,
        postmortem_html: None,
    }
}

/// Escape text for HTML (for `body_html` of automatic updates).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_lose_credentials_and_queries() {
        assert_eq!(
            public_target("https://user:${PASS}@api.example.test/health?key=${KEY}#x"),
            "https://api.example.test/health"
        );
        assert_eq!(
            public_target("db.example.test:5432"),
            "db.example.test:5432"
        );
    }

    #[test]
    fn percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(exact_percentile(&v, 0.5), Some(5.0));
        assert_eq!(exact_percentile(&v, 0.95), Some(10.0));
        assert_eq!(exact_percentile(&[], 0.5), None);
    }
}
