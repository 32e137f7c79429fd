//! The per-step records of `flow` results, stored beside their result block
//! in `step_blocks` (same key: probe, location, UTC hour), so probes that are
//! not flows pay nothing and merges and pruning treat both alike.
//!
//! Layout: a version byte; a table of the names used (step and capture
//! names, in first-use order: a name costs its bytes once per block, then an
//! index); the count of results with steps; then per result, in block order,
//! its start (ms after the previous one, the first after the hour) and id,
//! the step count and each step: a flags byte (outcome or skipped in bits
//! 0–1, then which fields follow: cause, message, status, phases, always,
//! captures), the name's index, latency in µs, then the present fields as in
//! a result block. Canonical like result blocks: equal sets, equal bytes.

use std::collections::HashMap;
use std::time::Duration;

use integer_encoding::VarInt;
use rusqlite::{OptionalExtension, params};

use super::block::{BLOCK_MS, BlockError, Reader, cause_code, cause_from, put_phases};
use super::error::StoreError;
use super::writer::Writer;
use crate::model::{Outcome, Phases, ProbeResult, ResultId, StepRecord};

const VERSION: u8 = 1;

const SKIPPED: u8 = 3;
const CAUSE: u8 = 1 << 2;
const MESSAGE: u8 = 1 << 3;
const STATUS: u8 = 1 << 4;
const PHASES: u8 = 1 << 5;
const ALWAYS: u8 = 1 << 6;
const CAPTURES: u8 = 1 << 7;

fn put(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 10];
    let n = v.encode_var(&mut buf);
    out.extend_from_slice(&buf[..n]);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The step records of `results` (one block's, in block order), or `None`
/// when none of them has any.
pub fn encode(hour: i64, results: &[&ProbeResult]) -> Option<Vec<u8>> {
    let with: Vec<&ProbeResult> = results
        .iter()
        .copied()
        .filter(|r| !r.steps.is_empty())
        .collect();
    if with.is_empty() {
        return None;
    }
    // Names in first-use order, so the table is canonical too.
    let mut names: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, u64> = HashMap::new();
    for s in with.iter().flat_map(|r| &r.steps) {
        for n in std::iter::once(&s.name).chain(&s.captures) {
            if !index.contains_key(n.as_str()) {
                index.insert(n.as_str(), names.len() as u64);
                names.push(n.as_str());
            }
        }
    }
    let mut out = Vec::new();
    out.push(VERSION);
    put(&mut out, names.len() as u64);
    for n in &names {
        put_str(&mut out, n);
    }
    put(&mut out, with.len() as u64);
    let mut previous_ms = hour.saturating_mul(BLOCK_MS);
    for r in &with {
        let at = r.started_at.timestamp_millis();
        put(&mut out, u64::try_from(at - previous_ms).unwrap_or(0));
        previous_ms = at;
        out.extend_from_slice(&r.id.0.to_le_bytes());
        put(&mut out, r.steps.len() as u64);
        for s in &r.steps {
            encode_step(&mut out, s, &index);
        }
    }
    Some(out)
}

fn encode_step(out: &mut Vec<u8>, s: &StepRecord, index: &HashMap<&str, u64>) {
    let phases = phase_list(&s.phases);
    let mut flags = match s.outcome {
        Some(Outcome::Up) => 0,
        Some(Outcome::Degraded) => 1,
        Some(Outcome::Down) => 2,
        None => SKIPPED,
    };
    for (present, bit) in [
        (s.cause.is_some(), CAUSE),
        (s.message.is_some(), MESSAGE),
        (s.status.is_some(), STATUS),
        (phases.iter().any(Option::is_some), PHASES),
        (s.always, ALWAYS),
        (!s.captures.is_empty(), CAPTURES),
    ] {
        if present {
            flags |= bit;
        }
    }
    out.push(flags);
    put(out, index.get(s.name.as_str()).copied().unwrap_or(0));
    put(out, micros(s.latency));
    if let Some(c) = s.cause {
        out.push(cause_code(c));
    }
    if let Some(m) = &s.message {
        put_str(out, m);
    }
    if let Some(st) = s.status {
        put(out, u64::from(st));
    }
    if flags & PHASES != 0 {
        put_phases(out, phases);
    }
    if !s.captures.is_empty() {
        put(out, s.captures.len() as u64);
        for c in &s.captures {
            put(out, index.get(c.as_str()).copied().unwrap_or(0));
        }
    }
}

fn phase_list(p: &Phases) -> [Option<Duration>; 5] {
    [p.dns, p.connect, p.tls, p.ttfb, p.transfer]
}

/// Decode a step block into (start ms, id, steps), in block order.
pub fn decode(data: &[u8], hour: i64) -> Result<Vec<(i64, ResultId, Vec<StepRecord>)>, BlockError> {
    let mut r = Reader::new(data);
    if r.byte()? != VERSION {
        return Err(BlockError::new(
            "unknown step block version (written by a newer Outpost?)",
        ));
    }
    let n_names = r.len()?;
    let mut names = Vec::with_capacity(n_names);
    for _ in 0..n_names {
        names.push(r.string()?);
    }
    let name = |i: u64| -> Result<String, BlockError> {
        usize::try_from(i)
            .ok()
            .and_then(|i| names.get(i))
            .cloned()
            .ok_or(BlockError::new("unknown name index"))
    };
    let n = r.len()?;
    let mut out = Vec::with_capacity(n);
    let mut previous_ms = hour.saturating_mul(BLOCK_MS);
    let us = Duration::from_micros;
    for _ in 0..n {
        let delta = i64::try_from(r.varint()?).map_err(|_| BlockError::new("bad start"))?;
        let at = previous_ms
            .checked_add(delta)
            .ok_or(BlockError::new("bad start"))?;
        previous_ms = at;
        let mut id = [0u8; 4];
        for b in &mut id {
            *b = r.byte()?;
        }
        let count = r.len()?;
        let mut steps = Vec::with_capacity(count);
        for _ in 0..count {
            let flags = r.byte()?;
            let outcome = match flags & 0b11 {
                0 => Some(Outcome::Up),
                1 => Some(Outcome::Degraded),
                2 => Some(Outcome::Down),
                _ => None,
            };
            let step_name = name(r.varint()?)?;
            let latency = us(r.varint()?);
            let cause = if flags & CAUSE != 0 {
                Some(cause_from(r.byte()?).ok_or(BlockError::new("unknown cause"))?)
            } else {
                None
            };
            let message = if flags & MESSAGE != 0 {
                Some(r.string()?)
            } else {
                None
            };
            let status = if flags & STATUS != 0 {
                Some(u16::try_from(r.varint()?).map_err(|_| BlockError::new("bad status"))?)
            } else {
                None
            };
            let phases = if flags & PHASES != 0 {
                r.phases()?
            } else {
                [None; 5]
            };
            let [dns, connect, tls, ttfb, transfer] = phases;
            let mut captures = Vec::new();
            if flags & CAPTURES != 0 {
                for _ in 0..r.len()? {
                    captures.push(name(r.varint()?)?);
                }
            }
            steps.push(StepRecord {
                name: step_name,
                outcome,
                cause,
                message,
                status,
                latency,
                phases: Phases {
                    dns,
                    connect,
                    tls,
                    ttfb,
                    transfer,
                },
                always: flags & ALWAYS != 0,
                captures,
            });
        }
        out.push((at, ResultId(u32::from_le_bytes(id)), steps));
    }
    if !r.at_end() {
        return Err(BlockError::new("trailing bytes in step block"));
    }
    Ok(out)
}

/// Give each result of a decoded block its steps from the block's step data.
pub fn attach(results: &mut [ProbeResult], data: &[u8], hour: i64) -> Result<(), BlockError> {
    let mut by_key: HashMap<(i64, ResultId), usize> = results
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.started_at.timestamp_millis(), r.id), i))
        .collect();
    for (at, id, steps) in decode(data, hour)? {
        let i = by_key
            .remove(&(at, id))
            .ok_or(BlockError::new("steps of a result the block does not hold"))?;
        results[i].steps = steps;
    }
    Ok(())
}

impl Writer<'_> {
    /// The encoded step block of a result block, if it has one.
    pub(super) fn step_bytes(
        &self,
        probe: i64,
        location: i64,
        hour: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.tx
            .prepare_cached(
                "SELECT data FROM step_blocks WHERE probe = ?1 AND location = ?2 AND hour = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![probe, location, hour], |r| r.get(0))
                    .optional()
            })
            .map_err(self.err("reading flow steps"))
    }

    /// Write (or replace) the step block beside a result block. Results
    /// without steps leave step_blocks alone: a block only grows, so a step
    /// block written before still describes the results it names.
    pub(super) fn put_steps(
        &self,
        probe: i64,
        location: i64,
        hour: i64,
        results: &[&ProbeResult],
    ) -> Result<(), StoreError> {
        let Some(data) = encode(hour, results) else {
            return Ok(());
        };
        self.tx
            .prepare_cached(
                "INSERT INTO step_blocks (probe, location, hour, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (probe, location, hour) DO UPDATE SET data = excluded.data",
            )
            .and_then(|mut s| s.execute(params![probe, location, hour, data]))
            .map_err(self.err("writing flow steps"))?;
        Ok(())
    }

    /// Drop the step blocks of `probe` before `hour`, with its result blocks.
    pub(super) fn prune_steps(&self, probe: i64, hour: i64) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("DELETE FROM step_blocks WHERE probe = ?1 AND hour < ?2")
            .and_then(|mut s| s.execute(params![probe, hour]))
            .map_err(self.err("pruning old flow steps"))?;
        Ok(())
    }
}

/// The table, created by one migration (see migrations.rs).
pub const SCHEMA: &str = "
-- The per-step records of `flow` results, one row per result block that has
-- any (same probe, location and hour as in result_blocks).
CREATE TABLE step_blocks (
    probe    INTEGER NOT NULL,
    location INTEGER NOT NULL,
    hour     INTEGER NOT NULL,
    data     BLOB    NOT NULL,
    PRIMARY KEY (probe, location, hour)
) STRICT;
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cause, ProbeId};
    use chrono::DateTime;

    const HOUR: i64 = 490_000;

    fn result(ms: i64, id: u32, steps: Vec<StepRecord>) -> ProbeResult {
        ProbeResult {
            probe: ProbeId("f".into()),
            id: ResultId(id),
            location: "eu".into(),
            started_at: DateTime::from_timestamp_millis(HOUR * BLOCK_MS + ms).unwrap(),
            outcome: Outcome::Up,
            cause: None,
            message: None,
            status: Some(200),
            latency: Duration::from_millis(40),
            phases: Phases::default(),
            cert_expires_at: None,
            body_bytes: None,
            body_decoded_bytes: None,
            http_version: None,
            ip: None,
            steps,
        }
    }

    fn step(name: &str, outcome: Option<Outcome>) -> StepRecord {
        StepRecord {
            name: name.into(),
            outcome,
            cause: (outcome == Some(Outcome::Down)).then_some(Cause::Status),
            message: (outcome == Some(Outcome::Down))
                .then(|| "expected status 2xx, got 500".into()),
            status: outcome.map(|_| 201),
            latency: Duration::from_micros(12_345),
            phases: Phases {
                connect: Some(Duration::from_micros(300)),
                ttfb: Some(Duration::from_micros(9_000)),
                ..Phases::default()
            },
            always: name == "clean up",
            captures: if name == "log in" {
                vec!["token".into()]
            } else {
                vec![]
            },
        }
    }

    fn flow_steps(fail: bool) -> Vec<StepRecord> {
        vec![
            step("log in", Some(Outcome::Up)),
            step(
                "create",
                Some(if fail { Outcome::Down } else { Outcome::Up }),
            ),
            step("read", if fail { None } else { Some(Outcome::Up) }),
            step("clean up", Some(Outcome::Up)),
        ]
    }

    #[test]
    fn round_trips_and_attaches_to_the_right_results() {
        let rs = vec![
            result(1_000, 1, flow_steps(false)),
            result(61_000, 2, flow_steps(true)),
            result(61_000, 3, vec![]),
        ];
        let refs: Vec<&ProbeResult> = rs.iter().collect();
        let data = encode(HOUR, &refs).expect("has steps");
        let mut bare: Vec<ProbeResult> = rs
            .iter()
            .map(|r| ProbeResult {
                steps: vec![],
                ..r.clone()
            })
            .collect();
        attach(&mut bare, &data, HOUR).expect("attach");
        assert_eq!(bare, rs);
        // Canonical: encoding the decoded set gives the same bytes.
        let again = encode(HOUR, &bare.iter().collect::<Vec<_>>()).expect("steps");
        assert_eq!(again, data);
    }

    #[test]
    fn results_without_steps_cost_nothing() {
        let rs = [result(0, 1, vec![])];
        assert_eq!(encode(HOUR, &rs.iter().collect::<Vec<_>>()), None);
    }

    #[test]
    fn a_run_of_four_steps_costs_a_few_dozen_bytes() {
        let rs: Vec<ProbeResult> = (0..60)
            .map(|m| result(m * 60_000, m as u32, flow_steps(false)))
            .collect();
        let data = encode(HOUR, &rs.iter().collect::<Vec<_>>()).expect("steps");
        let per_run = data.len() / 60;
        assert!(per_run <= 64, "{per_run} bytes a run");
    }

    #[test]
    fn damaged_blocks_are_errors_not_panics() {
        let rs = [result(5, 9, flow_steps(true))];
        let data = encode(HOUR, &rs.iter().collect::<Vec<_>>()).expect("steps");
        for cut in 0..data.len() {
            assert!(decode(&data[..cut], HOUR).is_err(), "cut at {cut}");
        }
        let mut other = [result(6, 9, vec![])];
        assert!(attach(&mut other, &data, HOUR).is_err());
    }
}
