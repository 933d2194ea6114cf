//! State shared by every connection of one fake API server.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

use super::cluster::FakeCluster;
use super::faults::Faults;
use super::jobs::Jobs;
use super::stats::Recorder;

/// An object received by server-side apply.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The `fieldManager` query parameter.
    pub field_manager: String,
    /// Whether `force=true` was sent.
    pub force: bool,
    /// The object as stored (with namespace, uid, resourceVersion, creationTimestamp).
    pub object: Value,
}

/// Writes received, in order.
#[derive(Debug, Default)]
pub struct Writes {
    /// Server-side applies.
    pub applied: Vec<Applied>,
    /// Deleted objects, as they were when deleted.
    pub deleted: Vec<Value>,
}

/// Everything a request handler may read or change.
#[derive(Debug)]
pub struct Shared {
    cluster: RwLock<FakeCluster>,
    faults: Mutex<Faults>,
    writes: Mutex<Writes>,
    jobs: Mutex<Jobs>,
    /// Request counters.
    pub stats: Recorder,
    /// The bearer token every request must carry.
    pub token: String,
}

// A handler that panicked leaves the data as consistent as any test needs; keep serving.
impl Shared {
    /// State for a new server.
    pub fn new(cluster: FakeCluster, faults: Faults, token: String) -> Self {
        Self {
            cluster: RwLock::new(cluster),
            faults: Mutex::new(faults),
            writes: Mutex::default(),
            jobs: Mutex::default(),
            stats: Recorder::default(),
            token,
        }
    }

    /// The cluster, for reading.
    pub fn cluster(&self) -> RwLockReadGuard<'_, FakeCluster> {
        self.cluster.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cluster, for a write.
    pub fn cluster_mut(&self) -> RwLockWriteGuard<'_, FakeCluster> {
        self.cluster.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The planted faults.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The Jobs namespace.
    pub fn jobs(&self) -> MutexGuard<'_, Jobs> {
        self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The writes received.
    pub fn writes(&self) -> MutexGuard<'_, Writes> {
        self.writes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
