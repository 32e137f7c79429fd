//! Persisted state machines: one per probe and location, and the probe's
//! aggregate state with its open incident.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::StoreError;
use super::writer::{Writer, from_ms, ms};
use crate::model::{Machine, State};

/// The machine of one probe at one location, when it last saw a result, and
/// where its current failure streak began.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationState {
    pub machine: Machine,
    pub last_result_at: DateTime<Utc>,
    /// The first failed result since the last `up` one, with the count of
    /// failed results since: kept here so opening an incident reads no history.
    pub streak: Option<FirstFailure>,
}

impl LocationState {
    /// A location that has never reported.
    pub fn new() -> LocationState {
        LocationState {
            machine: Machine::default(),
            last_result_at: DateTime::<Utc>::MIN_UTC,
            streak: None,
        }
    }

    /// Count `r` in the failure streak: an `up` result ends it, any other
    /// starts it or makes it longer.
    pub fn track_streak(&mut self, r: &crate::model::ProbeResult) {
        if r.outcome == crate::model::Outcome::Up {
            self.streak = None;
        } else if let Some(s) = &mut self.streak {
            s.count = s.count.saturating_add(1);
        } else {
            self.streak = Some(FirstFailure {
                at: r.started_at,
                cause: r.cause,
                message: r.message.clone(),
                count: 1,
            });
        }
    }
}

impl Default for LocationState {
    fn default() -> Self {
        LocationState::new()
    }
}

/// A probe's aggregate state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeState {
    pub state: State,
    pub since: DateTime<Utc>,
    pub incident_id: Option<i64>,
}

impl Writer<'_> {
    /// The machine of `probe` at `location`, if it has run there before.
    pub fn location_state(
        &self,
        probe: &str,
        location: &str,
    ) -> Result<Option<LocationState>, StoreError> {
        let row = self
            .tx
            .prepare_cached(
                "SELECT state, up_streak, bad_streak, down_streak, last_result_at,
                        streak_since, streak_cause, streak_message, streak_count
                 FROM location_states WHERE probe = ?1 AND location = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![probe, location], |r| {
                    Ok((
                        (
                            r.get::<_, String>(0)?,
                            r.get::<_, u32>(1)?,
                            r.get::<_, u32>(2)?,
                            r.get::<_, u32>(3)?,
                            r.get::<_, i64>(4)?,
                        ),
                        (
                            r.get::<_, Option<i64>>(5)?,
                            r.get::<_, Option<String>>(6)?,
                            r.get::<_, Option<String>>(7)?,
                            r.get::<_, u32>(8)?,
                        ),
                    ))
                })
            })
            .optional()
            .map_err(self.err("reading a location state"))?;
        let Some(((state, up, bad, down, last), (since, cause, message, count))) = row else {
            return Ok(None);
        };
        let streak = match since {
            Some(at) => Some(FirstFailure {
                at: from_ms(at).ok_or_else(|| self.bad("location_states.streak_since", at))?,
                cause: cause
                    .map(|c| {
                        c.parse()
                            .map_err(|_| self.bad("location_states.streak_cause", &c))
                    })
                    .transpose()?,
                message,
                count,
            }),
            None => None,
        };
        Ok(Some(LocationState {
            machine: Machine {
                state: state
                    .parse()
                    .map_err(|_| self.bad("location_states.state", &state))?,
                up_streak: up,
                bad_streak: bad,
                down_streak: down,
            },
            last_result_at: from_ms(last)
                .ok_or_else(|| self.bad("location_states.last_result_at", last))?,
            streak,
        }))
    }

    /// Save the machine of `probe` at `location`.
    pub fn save_location_state(
        &self,
        probe: &str,
        location: &str,
        s: &LocationState,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("INSERT INTO location_states (probe, location, state, up_streak, bad_streak, down_streak,
                   last_result_at, streak_since, streak_cause, streak_message, streak_count)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (probe, location) DO UPDATE SET
                   state = excluded.state, up_streak = excluded.up_streak,
                   bad_streak = excluded.bad_streak, down_streak = excluded.down_streak,
                   last_result_at = excluded.last_result_at, streak_since = excluded.streak_since,
                   streak_cause = excluded.streak_cause, streak_message = excluded.streak_message,
                   streak_count = excluded.streak_count")
            .and_then(|mut stmt| stmt.execute(params![
                    probe,
                    location,
                    s.machine.state.as_str(),
                    s.machine.up_streak,
                    s.machine.bad_streak,
                    s.machine.down_streak,
                    ms(s.last_result_at),
                    s.streak.as_ref().map(|f| ms(f.at)),
                    s.streak.as_ref().and_then(|f| f.cause.map(|c| c.as_str())),
                    s.streak.as_ref().and_then(|f| f.message.as_deref()),
                    s.streak.as_ref().map_or(0, |f| f.count),
                ]))
            .map_err(self.err("saving a location state"))?;
        Ok(())
    }

    /// Every location's machine for `probe`.
    pub fn location_states(&self, probe: &str) -> Result<Vec<(String, LocationState)>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached(
                // Sorted here: ORDER BY with a bound parameter makes SQLite
                // plan the statement again at every run.
                "SELECT location FROM location_states WHERE probe = ?1",
            )
            .map_err(self.err("listing location states"))?;
        let mut locations: Vec<String> = stmt
            .query_map(params![probe], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(self.err("listing location states"))?;
        locations.sort();
        let mut out = Vec::new();
        for loc in locations {
            if let Some(s) = self.location_state(probe, &loc)? {
                out.push((loc, s));
            }
        }
        Ok(out)
    }

    /// The aggregate state of `probe`, if it has one.
    pub fn probe_state(&self, probe: &str) -> Result<Option<ProbeState>, StoreError> {
        read_probe_state(self.tx, probe)
            .map_err(self.err("reading a probe state"))?
            .map(|(state, since, incident)| {
                Ok(ProbeState {
                    state: state
                        .parse()
                        .map_err(|_| self.bad("probe_states.state", &state))?,
                    since: from_ms(since).ok_or_else(|| self.bad("probe_states.since", since))?,
                    incident_id: incident,
                })
            })
            .transpose()
    }

    /// Save the aggregate state of `probe`.
    pub fn save_probe_state(&self, probe: &str, s: &ProbeState) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("INSERT INTO probe_states (probe, state, since, incident_id) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (probe) DO UPDATE SET
                   state = excluded.state, since = excluded.since, incident_id = excluded.incident_id")
            .and_then(|mut stmt| stmt.execute(params![probe, s.state.as_str(), ms(s.since), s.incident_id]))
            .map_err(self.err("saving a probe state"))?;
        Ok(())
    }
}

type RawProbeState = (String, i64, Option<i64>);

fn read_probe_state(
    conn: &rusqlite::Connection,
    probe: &str,
) -> rusqlite::Result<Option<RawProbeState>> {
    conn.prepare_cached("SELECT state, since, incident_id FROM probe_states WHERE probe = ?1")
        .and_then(|mut stmt| {
            stmt.query_row(params![probe], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        })
        .optional()
}

/// The first failed result of the current failure streak of a probe.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstFailure {
    pub at: DateTime<Utc>,
    pub cause: Option<crate::model::Cause>,
    pub message: Option<String>,
    /// Failed results since the last `up` one.
    pub count: u32,
}

impl Writer<'_> {
    /// Where the current failure streak of `probe` began, across the
    /// locations that reported since `fresh_after`: an incident starts at its
    /// first failed result, not at the run that crossed the threshold. Read
    /// from the location states, so it costs the same at any store age.
    pub fn first_failure(
        &self,
        probe: &str,
        fresh_after: DateTime<Utc>,
    ) -> Result<Option<FirstFailure>, StoreError> {
        let mut first: Option<FirstFailure> = None;
        let mut count = 0u32;
        for (_, s) in self.location_states(probe)? {
            let Some(streak) = s.streak.filter(|_| s.last_result_at >= fresh_after) else {
                continue;
            };
            count = count.saturating_add(streak.count);
            if first.as_ref().is_none_or(|f| streak.at < f.at) {
                first = Some(streak);
            }
        }
        Ok(first.map(|f| FirstFailure { count, ..f }))
    }
}

impl super::Store {
    /// Every probe's aggregate state, by probe id.
    pub fn probe_states(
        &self,
    ) -> Result<std::collections::BTreeMap<String, ProbeState>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT probe, state, since, incident_id FROM probe_states")
            .map_err(StoreError::sqlite(&self.path, "reading probe states"))?;
        let rows: Vec<(String, String, i64, Option<i64>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sqlite(&self.path, "reading probe states"))?;
        let bad =
            |column: &'static str, value: String| StoreError::bad_value(&self.path, column, value);
        let mut out = std::collections::BTreeMap::new();
        for (probe, state, since, incident_id) in rows {
            let state = state
                .parse()
                .map_err(|_| bad("probe_states.state", state.clone()))?;
            let since =
                from_ms(since).ok_or_else(|| bad("probe_states.since", since.to_string()))?;
            out.insert(
                probe,
                ProbeState {
                    state,
                    since,
                    incident_id,
                },
            );
        }
        Ok(out)
    }

    /// When each location last reported `probe`, newest first.
    pub fn last_results_by_location(
        &self,
        probe: &str,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT location, last_result_at FROM location_states WHERE probe = ?1")
            .map_err(StoreError::sqlite(&self.path, "reading location states"))?;
        let mut rows: Vec<(String, i64)> = stmt
            .query_map(params![probe], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sqlite(&self.path, "reading location states"))?;
        // Newest first, sorted here (see `location_states`).
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(rows
            .into_iter()
            .filter_map(|(l, t)| from_ms(t).map(|t| (l, t)))
            .collect())
    }
}
