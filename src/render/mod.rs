//! Rendering: a [`Report`](crate::report::Report) into bytes. Every renderer
//! writes to any `io::Write`, so tests render into a `Vec<u8>` and delivery is
//! a separate step.

pub mod json;
pub mod table;
