//! Real components the integration tests and benchmarks run against, started
//! in-process by the tests themselves: a Kubernetes API server, an S3 server,
//! an SMTP server and an HTTP receiver.
//!
//! Included with `mod support;` by tests and with
//! `#[path = "../tests/support/mod.rs"] mod support;` by benchmarks, so
//! nothing here may depend on the test harness.
// Each including crate uses a different part of the support code.
#![allow(dead_code)]

pub mod apiserver;
pub mod http;
pub mod prometheus;
pub mod pushgateway;
pub mod s3;
pub mod silent;
pub mod smtp;
pub mod tls;
