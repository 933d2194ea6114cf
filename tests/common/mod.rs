//! Helpers shared by the integration tests. Each test crate uses a part of them.
#![allow(dead_code)]

pub mod chromium;
pub mod cli;
pub mod fixture;
pub mod schema;
pub mod synthetic;
