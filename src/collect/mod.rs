//! Collection: filling an [`Inventory`](crate::inventory::Inventory) from a source.
//! Collection never judges; it records what it read and what it could not read.

pub mod cert;
pub mod client;
mod control_plane;
mod gaps;
pub mod job_spec;
mod lists;
pub mod live;
mod logs;
mod metrics;
pub mod node_jobs;
pub mod offline;
pub mod pager;
mod progress;
pub mod prometheus;
pub mod redact;
pub mod resources;
pub mod service_connect;
pub mod snapshot;
