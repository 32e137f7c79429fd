//! When rounds and probes start: fixed slots for `run --repeat`, spread and
//! jittered intervals for `watch`. Pure arithmetic on instants, so it is tested
//! without sleeping.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

/// How far a probe's interval in `watch` may stray either way, in percent: enough
/// that probes started together drift apart, small enough to keep the cadence.
pub const JITTER_PERCENT: u32 = 5;

/// The beat of `run --repeat N --every D`: round `k` starts at `start + k·every`,
/// whatever the earlier rounds took.
#[derive(Debug, Clone, Copy)]
pub struct Slots {
    start: Instant,
    every: Duration,
}

/// When a round may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Wait for its slot.
    At(Instant),
    /// Its slot passed while the previous round ran (by this much): start now.
    Late(Duration),
}

impl Slots {
    /// Slots `every` apart from `start` (round 0).
    pub fn new(start: Instant, every: Duration) -> Self {
        Slots { start, every }
    }

    /// The slot of round `k`.
    pub fn slot(&self, k: u32) -> Instant {
        self.start + self.every.saturating_mul(k)
    }

    /// When round `k` starts if it is `now`: its slot, or at once when the
    /// slot has passed. A late round never skips the ones after it: they keep
    /// their slots, so N rounds end near `start + (N-1)·every` when they can.
    pub fn start_of(&self, k: u32, now: Instant) -> Start {
        let slot = self.slot(k);
        if now > slot {
            Start::Late(now - slot)
        } else {
            Start::At(slot)
        }
    }
}

/// A small, fast random source for jitter (SplitMix64); seeded per process, as
/// spreading load needs no cryptographic strength.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    /// Seeded from the standard library's per-process random keys.
    pub fn seeded() -> Self {
        Jitter::with_seed(RandomState::new().hash_one(std::process::id()))
    }

    /// A fixed seed (tests).
    pub fn with_seed(seed: u64) -> Self {
        Jitter { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, span)` at nanosecond resolution; zero for a zero span.
    fn below(&mut self, span: Duration) -> Duration {
        let nanos = span.as_nanos().min(u128::from(u64::MAX)) as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        // 128-bit multiply-shift: uniform enough, no modulo bias worth naming.
        let pick = ((u128::from(self.next_u64()) * u128::from(nanos)) >> 64) as u64;
        Duration::from_nanos(pick)
    }

    /// A first run's delay: uniform over one interval, so probes that share an
    /// interval do not all fire the moment `watch` starts.
    pub fn first_delay(&mut self, interval: Duration) -> Duration {
        self.below(interval)
    }

    /// `interval` ± `JITTER_PERCENT` %.
    pub fn around(&mut self, interval: Duration) -> Duration {
        let spread = interval / 100 * JITTER_PERCENT;
        interval - spread + self.below(spread * 2)
    }
}

/// The next start of a probe in `watch` that was due at `due` and is launched
/// at `now`: one jittered interval after `due`, keeping its cadence; or after
/// `now` when it fell a whole interval behind (a run that outlasted its
/// interval), so a slow probe does not make up missed runs in a burst.
pub fn next_due(due: Instant, now: Instant, interval: Duration, jitter: &mut Jitter) -> Instant {
    let base = if now.saturating_duration_since(due) >= interval {
        now
    } else {
        due
    };
    base + jitter.around(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn rounds_keep_to_their_slots() {
        let t0 = Instant::now();
        let slots = Slots::new(t0, MIN);
        assert_eq!(slots.slot(0), t0);
        assert_eq!(slots.slot(3), t0 + 3 * MIN);
        // Round 1 after a 10 s round 0: wait until its slot, not 1 m after the end.
        assert_eq!(
            slots.start_of(1, t0 + Duration::from_secs(10)),
            Start::At(t0 + MIN)
        );
    }

    #[test]
    fn an_overrun_starts_the_next_round_at_once_and_the_beat_resumes() {
        let t0 = Instant::now();
        let slots = Slots::new(t0, MIN);
        let end_of_0 = t0 + Duration::from_secs(75);
        assert_eq!(
            slots.start_of(1, end_of_0),
            Start::Late(Duration::from_secs(15))
        );
        // Round 1 ends 5 s later; round 2 keeps its own slot.
        assert_eq!(
            slots.start_of(2, end_of_0 + Duration::from_secs(5)),
            Start::At(t0 + 2 * MIN)
        );
    }

    #[test]
    fn first_runs_spread_over_the_interval() {
        let mut j = Jitter::with_seed(7);
        let interval = Duration::from_secs(300);
        let delays: Vec<Duration> = (0..1000).map(|_| j.first_delay(interval)).collect();
        assert!(delays.iter().all(|d| *d < interval));
        // Every fifth of the interval gets some of 1000 starts, none gets most.
        for fifth in 0..5u32 {
            let lo = interval / 5 * fifth;
            let hi = interval / 5 * (fifth + 1);
            let n = delays.iter().filter(|d| **d >= lo && **d < hi).count();
            assert!((100..=300).contains(&n), "fifth {fifth}: {n}");
        }
    }

    #[test]
    fn jitter_stays_within_five_percent() {
        let mut j = Jitter::with_seed(42);
        let interval = Duration::from_secs(60);
        for _ in 0..1000 {
            let d = j.around(interval);
            assert!(
                d >= Duration::from_secs(57) && d <= Duration::from_secs(63),
                "{d:?}"
            );
        }
        assert_eq!(Jitter::with_seed(1).around(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn a_probe_keeps_its_cadence_unless_it_fell_behind() {
        let mut j = Jitter::with_seed(3);
        let t0 = Instant::now();
        // Launched a little late: the next run counts from when it was due.
        let next = next_due(t0, t0 + Duration::from_millis(200), MIN, &mut j);
        assert!(next >= t0 + MIN * 95 / 100 && next <= t0 + MIN * 105 / 100);
        // Launched two intervals late (it ran long): count from now.
        let now = t0 + 2 * MIN;
        let next = next_due(t0, now, MIN, &mut j);
        assert!(next >= now + MIN * 95 / 100 && next <= now + MIN * 105 / 100);
    }
}
