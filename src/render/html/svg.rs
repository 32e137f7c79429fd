//! Latency charts as geometry for the templates to draw in inline SVG.
//!
//! The plot is a 600 × 200 viewBox stretched to the width of the page
//! (`preserveAspectRatio="none"`, strokes that do not scale); axis labels are
//! HTML placed by percentage beside it, so they stay readable on a phone
//! where SVG text would shrink with the drawing. Everything here is numbers
//! and fixed words: the templates never need to mark any of it safe.

use chrono::{DateTime, Duration, Timelike, Utc};
use serde::Serialize;

mod path;
mod table;

use path::{C, N, n, path, step_path, steps};
pub use table::Table;

use super::format;
use crate::render::site::{DayLatency, PhasesMs, Point};

const W: f64 = 600.0;
const H: f64 = 200.0;
/// 15-minute buckets over 24 hours.
const BUCKETS: usize = 96;

/// The phases, bottom to top, with their legend words.
const PHASES: [(&str, &str); 5] = [
    ("dns", "DNS"),
    ("connect", "Connect"),
    ("tls", "TLS"),
    ("ttfb", "Time to first byte"),
    ("transfer", "Transfer"),
];

/// One chart, ready to draw.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// For `<title>`.
    pub title: String,
    /// For `<desc>`: what it shows and the headline numbers.
    pub desc: String,
    pub empty: bool,
    /// Filled areas or bars: a class (`ph-dns`…) and a path.
    pub areas: Vec<Shape>,
    /// Lines drawn over the areas (`line-total`, `line-p50`, `line-p95`).
    pub lines: Vec<Shape>,
    /// Failure marks along the bottom (`mark-down`, `mark-warn`): a path of rectangles.
    pub marks: Vec<Shape>,
    /// Horizontal grid lines (y in the viewBox).
    pub grid: Vec<String>,
    /// Y labels, `pos` in percent from the bottom.
    pub yticks: Vec<Tick>,
    /// X labels, `pos` in percent from the left.
    pub xticks: Vec<Tick>,
    /// Legend entries: class and words.
    pub legend: Vec<Legend>,
    /// The numbers behind the chart.
    pub table: Table,
}

/// A path with its class.
#[derive(Debug, Clone, Serialize)]
pub struct Shape {
    pub class: &'static str,
    pub d: String,
}

/// An axis label.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub pos: String,
    pub label: String,
    /// `start` or `end` for an x label so near an edge that centring it
    /// would push it out of the chart; empty otherwise.
    pub edge: &'static str,
}

impl Tick {
    fn x(pct: f64, label: String) -> Self {
        Tick {
            pos: n(pct),
            label,
            edge: if pct < 6.0 {
                "start"
            } else if pct > 94.0 {
                "end"
            } else {
                ""
            },
        }
    }

    fn y(v: f64, top: f64) -> Self {
        Tick {
            pos: n(v / top * 100.0),
            label: format::latency(Some(v)),
            edge: "",
        }
    }
}

/// A legend entry.
#[derive(Debug, Clone, Serialize)]
pub struct Legend {
    pub class: &'static str,
    pub label: &'static str,
}

/// The 24-hour chart: phases stacked per 15 minutes, mean total latency on
/// top, failed and degraded results marked along the bottom.
pub fn last_24h(points: &[Point], now: DateTime<Utc>) -> Chart {
    let start = now - Duration::hours(24);
    let span = (now - start).num_milliseconds() as f64;
    let mut buckets: Vec<Bucket> = vec![Bucket::default(); BUCKETS];
    for p in points {
        let off = (p.at - start).num_milliseconds() as f64;
        if !(0.0..=span).contains(&off) {
            continue;
        }
        let i = ((off / span * BUCKETS as f64) as usize).min(BUCKETS - 1);
        buckets[i].add(p);
    }
    let stacks: Vec<Option<[f64; 5]>> = buckets.iter().map(Bucket::phase_means).collect();
    let totals: Vec<Option<f64>> = buckets.iter().map(Bucket::mean_latency).collect();
    let max = stacks
        .iter()
        .flatten()
        .map(|s| s.iter().sum::<f64>())
        .chain(totals.iter().flatten().copied())
        .fold(0.0, f64::max);
    let (top, yticks) = y_axis(max);
    let y = |v: f64| H - v / top * H;
    let bw = W / BUCKETS as f64;

    let areas = stacked_steps(&stacks, bw, &y);
    let mut line = String::new();
    step_path(&mut line, &totals, bw, &y);
    let lines = vec![Shape {
        class: "line-total",
        d: line,
    }];

    let mut down = String::new();
    let mut warn = String::new();
    for (i, b) in buckets.iter().enumerate() {
        let target = if b.down > 0 {
            &mut down
        } else if b.degraded > 0 {
            &mut warn
        } else {
            continue;
        };
        path(
            target,
            &[
                C("M"),
                N(i as f64 * bw),
                C(" "),
                N(H - 6.0),
                C("h"),
                N(bw),
                C("v6h-"),
                N(bw),
                C("z"),
            ],
        );
    }
    let marks = [("mark-down", down), ("mark-warn", warn)]
        .into_iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(class, d)| Shape { class, d })
        .collect();

    // A label every 6 hours, on the hour.
    let mut xticks = Vec::new();
    let first = (start + Duration::hours(1))
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(start);
    let mut t = first;
    while t <= now {
        if t.hour().is_multiple_of(6) {
            let pos = (t - start).num_milliseconds() as f64 / span * 100.0;
            xticks.push(Tick::x(pos, t.format("%H:%M").to_string()));
        }
        t += Duration::hours(1);
    }

    let shown = || points.iter().filter(|p| p.at >= start && p.at <= now);
    let results: u64 = shown().map(|p| u64::from(p.count)).sum();
    let failed: u64 = shown().map(|p| u64::from(p.down)).sum();
    // Points may stand for several results each: weigh them.
    let mean = (results > 0).then(|| {
        shown()
            .map(|p| p.latency_ms * f64::from(p.count))
            .sum::<f64>()
            / results as f64
    });
    let desc = if results == 0 {
        "No results in the last 24 hours.".to_string()
    } else {
        format!(
            "{results} results from {} to {}; mean latency {}, highest 15-minute mean {}; {failed} failed.",
            format::datetime(start, chrono_tz::UTC),
            format::datetime(now, chrono_tz::UTC),
            format::latency(mean),
            format::latency(totals.iter().flatten().copied().reduce(f64::max)),
        )
    };

    Chart {
        title: "Latency over the last 24 hours, by phase".to_string(),
        desc,
        empty: results == 0,
        areas,
        lines,
        marks,
        grid: grid(&yticks, top),
        yticks: yticks.iter().map(|&v| Tick::y(v, top)).collect(),
        xticks,
        legend: legend(&["line-total"], true),
        table: table::hourly(points, start, now),
    }
}

/// The 30-day chart: mean phases stacked per day, p50 and p95 lines.
pub fn last_30d(days: &[DayLatency]) -> Chart {
    let stacks: Vec<Option<[f64; 5]>> = days.iter().map(|d| phase_array(&d.phases)).collect();
    let p50: Vec<Option<f64>> = days.iter().map(|d| d.p50).collect();
    let p95: Vec<Option<f64>> = days.iter().map(|d| d.p95).collect();
    // Each day's highest value: its p95 or its stacked phases.
    let peaks: Vec<Option<f64>> = stacks
        .iter()
        .zip(&p95)
        .zip(&p50)
        .map(|((s, a), b)| {
            let vals = s
                .map(|s| s.iter().sum::<f64>())
                .into_iter()
                .chain(*a)
                .chain(*b);
            vals.reduce(f64::max)
        })
        .collect();
    let cap = clip_at(&peaks);
    let (top, yticks) = y_axis(cap);
    // Values above the axis are drawn at its top and marked there.
    let y = |v: f64| H - v.min(top) / top * H;
    let slot = W / days.len().max(1) as f64;
    let clipped: Vec<usize> = peaks
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_some_and(|p| p > top))
        .map(|(i, _)| i)
        .collect();
    let mut clip_marks = String::new();
    for i in &clipped {
        let x = *i as f64 * slot + slot / 2.0;
        path(&mut clip_marks, &[C("M"), N(x), C(" 0l-5 9h10z")]);
    }

    // Bars 70% of a day's slot, centred.
    let mut areas: Vec<Shape> = PHASES
        .iter()
        .map(|(k, _)| Shape {
            class: phase_class(k),
            d: String::new(),
        })
        .collect();
    for (i, stack) in stacks.iter().enumerate() {
        let Some(stack) = stack else { continue };
        let x = i as f64 * slot + slot * 0.15;
        let mut base = 0.0;
        for (k, v) in stack.iter().enumerate() {
            if *v <= 0.0 {
                continue;
            }
            let (y0, y1) = (y(base), y(base + v));
            if y0 <= y1 {
                continue;
            }
            path(
                &mut areas[k].d,
                &[
                    C("M"),
                    N(x),
                    C(" "),
                    N(y0),
                    C("h"),
                    N(slot * 0.7),
                    C("V"),
                    N(y1),
                    C("h-"),
                    N(slot * 0.7),
                    C("z"),
                ],
            );
            base += v;
        }
    }
    areas.retain(|a| !a.d.is_empty());

    let centre = |i: usize| i as f64 * slot + slot / 2.0;
    let lines = [("line-p50", &p50), ("line-p95", &p95)]
        .into_iter()
        .map(|(class, vals)| {
            let mut d = String::new();
            let mut pen = false;
            for (i, v) in vals.iter().enumerate() {
                match v {
                    Some(v) => {
                        path(
                            &mut d,
                            &[
                                C(if pen { "L" } else { "M" }),
                                N(centre(i)),
                                C(" "),
                                N(y(*v)),
                            ],
                        );
                        pen = true;
                    }
                    None => pen = false,
                }
            }
            Shape { class, d }
        })
        .collect();

    // A label about every week, the last day always.
    let xticks = days
        .iter()
        .enumerate()
        .filter(|(i, _)| (days.len() - 1 - i).is_multiple_of(7))
        .map(|(i, d)| Tick::x(centre(i) / W * 100.0, format::day_short(d.date)))
        .collect();

    let with_data = days.iter().filter(|d| d.p50.is_some()).count();
    let desc = match (days.first(), days.last()) {
        (Some(a), Some(b)) if with_data > 0 => format!(
            "Daily latency from {} to {}: median p50 {}, highest p95 {} on {} days with data.",
            format::day(a.date),
            format::day(b.date),
            format::latency(median(p50.iter().flatten().copied())),
            format::latency(p95.iter().flatten().copied().reduce(f64::max)),
            with_data
        ),
        _ => "No latency data in the last 30 days.".to_string(),
    };
    let desc = if clipped.is_empty() {
        desc
    } else {
        format!(
            "{desc} The axis is clipped at {} (1.5 times the 90th percentile of daily peaks), so one spike does not flatten the rest; {} above it {} marked with a triangle at the top.",
            format::latency(Some(top)),
            if clipped.len() == 1 {
                "1 day".to_string()
            } else {
                format!("{} days", clipped.len())
            },
            if clipped.len() == 1 { "is" } else { "are" }
        )
    };

    Chart {
        title: "Daily latency over the last 30 days: p50, p95 and mean phases".to_string(),
        desc,
        empty: with_data == 0,
        areas,
        lines,
        marks: if clip_marks.is_empty() {
            Vec::new()
        } else {
            vec![Shape {
                class: "mark-clip",
                d: clip_marks,
            }]
        },
        grid: grid(&yticks, top),
        yticks: yticks.iter().map(|&v| Tick::y(v, top)).collect(),
        xticks,
        legend: legend(&["line-p50", "line-p95"], false),
        table: table::daily(days),
    }
}

#[derive(Debug, Clone, Default)]
struct Bucket {
    count: usize,
    down: usize,
    degraded: usize,
    latency: f64,
    phase_sum: [f64; 5],
    phase_n: [usize; 5],
}

impl Bucket {
    /// Add a point, weighted by the results it stands for.
    fn add(&mut self, p: &Point) {
        let w = p.count.max(1);
        self.count += w as usize;
        self.down += p.down as usize;
        self.degraded += p.degraded as usize;
        self.latency += p.latency_ms * f64::from(w);
        for (k, v) in phase_values(&p.phases).iter().enumerate() {
            if let Some(v) = v {
                self.phase_sum[k] += v * f64::from(w);
                self.phase_n[k] += w as usize;
            }
        }
    }

    fn mean_latency(&self) -> Option<f64> {
        (self.count > 0).then(|| self.latency / self.count as f64)
    }

    fn phase_means(&self) -> Option<[f64; 5]> {
        if self.phase_n.iter().all(|c| *c == 0) {
            return None;
        }
        Some(std::array::from_fn(|k| {
            if self.phase_n[k] > 0 {
                self.phase_sum[k] / self.phase_n[k] as f64
            } else {
                0.0
            }
        }))
    }
}

fn phase_values(p: &PhasesMs) -> [Option<f64>; 5] {
    [p.dns, p.connect, p.tls, p.ttfb, p.transfer]
}

fn phase_array(p: &PhasesMs) -> Option<[f64; 5]> {
    let v = phase_values(p);
    v.iter()
        .any(Option::is_some)
        .then(|| v.map(|x| x.unwrap_or(0.0).max(0.0)))
}

fn phase_class(key: &str) -> &'static str {
    match key {
        "dns" => "ph-dns",
        "connect" => "ph-connect",
        "tls" => "ph-tls",
        "ttfb" => "ph-ttfb",
        _ => "ph-transfer",
    }
}

/// One area per phase, drawn as steps over the buckets; gaps where a bucket is empty.
fn stacked_steps(stacks: &[Option<[f64; 5]>], bw: f64, y: &impl Fn(f64) -> f64) -> Vec<Shape> {
    let mut out = Vec::new();
    for (k, (key, _)) in PHASES.iter().enumerate() {
        let mut d = String::new();
        let mut i = 0;
        while i < stacks.len() {
            if stacks[i].is_none() {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < stacks.len() && stacks[j].is_some() {
                j += 1;
            }
            let run: Vec<[f64; 5]> = stacks[i..j].iter().flatten().copied().collect();
            if run.iter().all(|s| s[k] <= 0.0) {
                i = j;
                continue;
            }
            let lower = |s: &[f64; 5]| s[..k].iter().sum::<f64>();
            let upper = |s: &[f64; 5]| s[..=k].iter().sum::<f64>();
            // Along the top, left to right, then back along the bottom.
            let top = run.iter().enumerate().map(|(m, s)| {
                let x0 = (i + m) as f64 * bw;
                (x0, x0 + bw, y(upper(s)))
            });
            steps(&mut d, top, true);
            let bottom = run.iter().enumerate().rev().map(|(m, s)| {
                let x0 = (i + m) as f64 * bw;
                (x0 + bw, x0, y(lower(s)))
            });
            steps(&mut d, bottom, false);
            d.push('Z');
            i = j;
        }
        if !d.is_empty() {
            out.push(Shape {
                class: phase_class(key),
                d,
            });
        }
    }
    out
}

/// Where the 30-day axis ends: the highest day, unless it stands above 1.5
/// times the 90th percentile of the daily peaks; then there (one bad day
/// must not flatten a month of normal ones into the floor).
fn clip_at(peaks: &[Option<f64>]) -> f64 {
    let mut v: Vec<f64> = peaks
        .iter()
        .flatten()
        .copied()
        .filter(|p| p.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    let Some(&max) = v.last() else { return 0.0 };
    if v.len() < 5 {
        return max;
    }
    let rank = ((0.9 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    let cap = v[rank] * 1.5;
    if max > cap && cap > 0.0 { cap } else { max }
}

/// A round top for the axis and the tick values below it (steps of 1, 2 or 5 × 10ⁿ).
fn y_axis(max: f64) -> (f64, Vec<f64>) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let top = (max / step).ceil() * step;
    let ticks = (0..)
        .map(|i| i as f64 * step)
        .take_while(|v| *v <= top + step / 2.0)
        .collect();
    (top, ticks)
}

fn grid(ticks: &[f64], top: f64) -> Vec<String> {
    ticks
        .iter()
        .filter(|v| **v > 0.0)
        .map(|v| n(H - v / top * H))
        .collect()
}

fn legend(lines: &[&'static str], total: bool) -> Vec<Legend> {
    let mut out: Vec<Legend> = PHASES
        .iter()
        .map(|(k, w)| Legend {
            class: phase_class(k),
            label: w,
        })
        .collect();
    for l in lines {
        out.push(Legend {
            class: l,
            label: match *l {
                "line-total" if total => "Total (mean)",
                "line-p50" => "p50 (median)",
                "line-p95" => "p95",
                _ => "Total",
            },
        });
    }
    out
}

fn median(vals: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = vals.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(y_axis(123.0).0, 150.0);
        assert_eq!(y_axis(123.0).1, vec![0.0, 50.0, 100.0, 150.0]);
        assert_eq!(y_axis(0.0).0, 1.0);
        assert_eq!(y_axis(3800.0).0, 4000.0);
    }

    #[test]
    fn one_spike_does_not_flatten_the_30_day_chart() {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
        let days: Vec<DayLatency> = (0..30)
            .map(|i| DayLatency {
                date: start + chrono::Duration::days(i),
                p50: Some(40.0),
                p95: Some(if i == 12 { 9_000.0 } else { 80.0 + i as f64 }),
                phases: PhasesMs::default(),
            })
            .collect();
        let c = last_30d(&days);
        let labels: Vec<&str> = c.yticks.iter().map(|t| t.label.as_str()).collect();
        assert!(
            labels.iter().all(|l| l.ends_with(" ms")),
            "the axis stops far below the 9 s spike: {labels:?}"
        );
        assert_eq!(c.marks.len(), 1);
        assert_eq!(c.marks[0].class, "mark-clip");
        assert_eq!(c.marks[0].d.matches('M').count(), 1);
        assert!(c.desc.contains("clipped"), "{}", c.desc);
        // Without a spike, nothing is clipped.
        let calm: Vec<DayLatency> = days
            .into_iter()
            .map(|mut d| {
                d.p95 = Some(80.0);
                d
            })
            .collect();
        assert!(last_30d(&calm).marks.is_empty());
    }

    /// The templates write path data unescaped (`| safe`): escaping a page's
    /// coordinates was a tenth of rendering it, and they are only numbers
    /// and path commands, never text from a target.
    #[test]
    fn path_data_is_only_numbers_and_commands() {
        use chrono::TimeZone;
        let now = Utc
            .with_ymd_and_hms(2026, 11, 2, 12, 0, 0)
            .single()
            .expect("time");
        let points: Vec<Point> = (0..288)
            .map(|i| Point {
                at: now - Duration::minutes(5 * i),
                outcome: crate::model::Outcome::Up,
                latency_ms: 40.0 + (i % 7) as f64,
                phases: PhasesMs {
                    dns: Some(1.5),
                    connect: Some(3.0),
                    tls: Some(7.25),
                    ttfb: Some(20.0),
                    transfer: Some(0.4),
                },
                count: 1,
                down: u32::from(i % 50 == 0),
                degraded: u32::from(i % 30 == 0),
            })
            .collect();
        let start = chrono::NaiveDate::from_ymd_opt(2026, 10, 3).expect("date");
        let days: Vec<DayLatency> = (0..30)
            .map(|i| DayLatency {
                date: start + chrono::Duration::days(i),
                p50: Some(40.0),
                p95: Some(if i == 12 { 9_000.0 } else { 80.0 + i as f64 }),
                phases: points[0].phases,
            })
            .collect();
        let mut shapes = 0;
        for chart in [last_24h(&points, now), last_30d(&days)] {
            for shape in chart.areas.iter().chain(&chart.lines).chain(&chart.marks) {
                shapes += 1;
                assert!(
                    shape
                        .d
                        .chars()
                        .all(|c| "MLHVZmlhvz0123456789.- ".contains(c)),
                    "{}",
                    shape.d
                );
            }
        }
        assert!(shapes >= 8, "{shapes}");
    }
}
