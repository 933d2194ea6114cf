//! Collection: filling an [`Inventory`](crate::inventory::Inventory) from a source.
//! Collection never judges; it records what it read and what it could not read.

pub mod cert;
pub mod client;
pub mod live;
pub mod offline;
pub mod pager;
pub mod resources;
pub mod snapshot;
