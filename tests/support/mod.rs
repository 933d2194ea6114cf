//! Real components the integration tests and benchmarks run against.
//!
//! Included with `mod support;` by tests and with
//! `#[path = "../tests/support/mod.rs"] mod support;` by benchmarks, so
//! nothing here may depend on the test harness.
// Each including crate uses a different part of the support code.
#![allow(dead_code)]

pub mod apiserver;
