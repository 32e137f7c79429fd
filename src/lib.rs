//! Outpost: black-box probes, a SQLite store, states, alerts and a status page.
//!
//! Data flows one way: [`config`] → [`engine`] runs [`probe`]s (checked by
//! [`assert`]) → [`model::ProbeResult`]s → [`store`] → [`report`].

pub mod alert;
pub mod assert;
pub mod bounded_read;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod demo;
pub mod engine;
pub mod evaluate;
pub mod fd_limit;
pub mod human_incidents;
pub mod model;
pub mod probe;
pub mod redact;
pub mod render;
pub mod report;
pub mod rollup;
pub mod schedule;
pub mod shutdown;
pub mod store;
