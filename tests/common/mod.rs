//! Helpers shared by the integration tests.

pub mod chromium;
pub mod cli;
pub mod fixture;
pub mod schema;
pub mod synthetic;
