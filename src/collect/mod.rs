//! Collection: filling an [`Inventory`](crate::inventory::Inventory) from a source.
//! Collection never judges; it records what it read and what it could not read.

pub mod offline;
