//! Helpers shared by the report tests. Each test crate uses a part of them.
#![allow(dead_code)]

pub mod chromium;
pub mod fixture;
pub mod schema;
pub mod synthetic;
