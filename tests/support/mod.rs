//! Real components the integration tests run against, started in-process by
//! the tests themselves.
// Each including test crate uses a different part of the support code.
#![allow(dead_code)]

pub mod http;
pub mod s3;
pub mod smtp;
