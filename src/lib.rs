//! kubeeye: Kubernetes cluster inspection.
//!
//! Data flows one way: [`collect`] fills an [`inventory::Inventory`],
//! [`checks`] turn it and the [`rules`] into findings, [`report`] summarises
//! them, and [`render`] turns the report into tables, JSON or YAML.
//!
//! Imports point down these layers, lowest first (a test in `src/layers.rs`
//! holds the table and fails on an import that points up):
//! base ([`clock`], [`quantity`], [`text`], [`error`]) → [`inventory`] →
//! [`report`] → [`config`] → [`rules`], [`checks`] and [`nodecheck`] → [`collect`] → [`inspect`],
//! [`render`], [`deliver`] → [`app`], [`run`], [`install`], [`schedule`], [`cli`], [`exit`].
//! Collection never imports the checks; render and deliver see a report,
//! never the rules, the checks or the cluster.

// What only the crate uses is `pub(crate)`: a `pub` item no one outside can reach hides dead code.
#![warn(unreachable_pub)]

pub mod app;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod collect;
pub mod config;
pub mod deliver;
pub mod error;
pub mod exit;
pub mod inspect;
pub mod install;
pub mod inventory;
#[cfg(test)]
mod layers;
pub mod nodecheck;
pub mod quantity;
pub mod render;
pub mod report;
pub mod rules;
pub mod run;
pub mod schedule;
pub mod text;
pub mod yaml;
