//! The state machine of one probe at one location: consecutive results move the
//! state only when a threshold is met, so one bad result pages nobody.

pub use crate::model::Machine;
use crate::model::{Outcome, State};

/// The thresholds of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub failure: u32,
    pub success: u32,
}

impl Machine {
    /// Feed one result; `in_maintenance` pins the state to `maintenance` while
    /// the streaks keep counting, so a target still failing when the window ends
    /// is reported at once.
    pub fn step(self, outcome: Outcome, t: Thresholds, in_maintenance: bool) -> Machine {
        let mut m = self;
        match outcome {
            Outcome::Up => {
                m.up_streak = m.up_streak.saturating_add(1);
                m.bad_streak = 0;
                m.down_streak = 0;
            }
            Outcome::Degraded => {
                m.up_streak = 0;
                m.bad_streak = m.bad_streak.saturating_add(1);
                m.down_streak = 0;
            }
            Outcome::Down => {
                m.up_streak = 0;
                m.bad_streak = m.bad_streak.saturating_add(1);
                m.down_streak = m.down_streak.saturating_add(1);
            }
        }
        if in_maintenance {
            m.state = State::Maintenance;
            return m;
        }
        let reached = if m.down_streak >= t.failure.max(1) {
            Some(State::Down)
        } else if m.bad_streak >= t.failure.max(1) {
            // Alternating degraded and down results are still a failure: the
            // streak of "not up" decides, the trailing downs decide how bad.
            Some(State::Degraded)
        } else if m.up_streak >= t.success.max(1) {
            Some(State::Operational)
        } else {
            None
        };
        m.state = match (reached, self.state) {
            (Some(s), _) => s,
            // Below every threshold with no state to keep (a new probe, or one
            // leaving a maintenance window): an up result says operational; a
            // failure not yet confirmed says nothing, so the state is unknown
            // rather than a reassuring "operational".
            (None, State::Unknown | State::Maintenance) if outcome == Outcome::Up => {
                State::Operational
            }
            (None, State::Unknown | State::Maintenance) => State::Unknown,
            (None, previous) => previous,
        };
        m
    }
}

/// The state of a probe across locations: the worst state seen by at least
/// `quorum` locations (states ranked down > degraded > operational), so one
/// runner's bad network does not page anyone. Maintenance wins when any
/// location is in a window; no location at all is `unknown`.
pub fn aggregate(states: &[State], quorum: u32) -> State {
    if states.is_empty() {
        return State::Unknown;
    }
    if states.contains(&State::Maintenance) {
        return State::Maintenance;
    }
    let known: Vec<State> = states
        .iter()
        .copied()
        .filter(|s| *s != State::Unknown)
        .collect();
    if known.is_empty() {
        return State::Unknown;
    }
    let quorum = (quorum.max(1) as usize).min(known.len());
    let at_least = |s: State| {
        known
            .iter()
            .filter(|k| k.severity() >= s.severity())
            .count()
    };
    if at_least(State::Down) >= quorum {
        State::Down
    } else if at_least(State::Degraded) >= quorum {
        State::Degraded
    } else {
        State::Operational
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;
    use State as S;

    const T: Thresholds = Thresholds {
        failure: 2,
        success: 1,
    };

    fn run(outcomes: &[Outcome], t: Thresholds) -> Vec<State> {
        let mut m = Machine::default();
        outcomes
            .iter()
            .map(|o| {
                m = m.step(*o, t, false);
                m.state
            })
            .collect()
    }

    #[test]
    fn down_needs_the_failure_threshold() {
        assert_eq!(
            run(&[Up, Down, Down, Down, Up], T),
            vec![
                S::Operational,
                S::Operational,
                S::Down,
                S::Down,
                S::Operational
            ]
        );
        assert_eq!(run(&[Down], T), vec![S::Unknown]);
    }

    #[test]
    fn recovery_needs_the_success_threshold() {
        let t = Thresholds {
            failure: 1,
            success: 3,
        };
        assert_eq!(
            run(&[Down, Up, Up, Down, Up, Up, Up], t),
            vec![
                S::Down,
                S::Down,
                S::Down,
                S::Down,
                S::Down,
                S::Down,
                S::Operational
            ]
        );
    }

    #[test]
    fn degraded_and_mixed_failures() {
        assert_eq!(
            run(&[Degraded, Degraded, Down, Down], T),
            vec![S::Unknown, S::Degraded, S::Degraded, S::Down]
        );
        assert_eq!(
            run(&[Down, Degraded, Down, Degraded], T),
            vec![S::Unknown, S::Degraded, S::Degraded, S::Degraded]
        );
    }

    #[test]
    fn maintenance_pins_the_state_but_keeps_counting() {
        let mut m = Machine::default();
        m = m.step(Down, T, true);
        m = m.step(Down, T, true);
        assert_eq!(m.state, State::Maintenance);
        m = m.step(Down, T, false);
        assert_eq!(m.state, State::Down);
    }

    #[test]
    fn quorum() {
        assert_eq!(aggregate(&[S::Down, S::Operational], 1), S::Down);
        assert_eq!(aggregate(&[S::Down, S::Operational], 2), S::Operational);
        assert_eq!(aggregate(&[S::Down, S::Degraded], 2), S::Degraded);
        assert_eq!(aggregate(&[S::Down, S::Down], 2), S::Down);
        assert_eq!(
            aggregate(&[S::Down], 2),
            S::Down,
            "quorum above the locations seen"
        );
        assert_eq!(aggregate(&[], 1), S::Unknown);
        assert_eq!(aggregate(&[S::Unknown, S::Operational], 1), S::Operational);
        assert_eq!(aggregate(&[S::Maintenance, S::Down], 1), S::Maintenance);
    }
}
