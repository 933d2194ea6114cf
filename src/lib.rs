//! kubeeye: Kubernetes cluster inspection.
//!
//! Data flows one way: [`collect`] fills an [`inventory::Inventory`],
//! [`checks`] turn it and the [`rules`] into findings, [`report`] summarises
//! them, and [`render`] turns the report into tables, JSON or YAML.

pub mod app;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod collect;
pub mod config;
pub mod deliver;
pub mod inspect;
pub mod install;
pub mod inventory;
pub mod quantity;
pub mod render;
pub mod report;
pub mod rules;
pub mod run;
pub mod schedule;
pub mod yaml;
