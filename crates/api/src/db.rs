//! Database access for async handlers: one writer connection behind a
//! mutex (SQLite has one writer at a time anyway; PostgreSQL serialises
//! appends itself) and a pool of reader connections. Every call runs on the
//! blocking pool, where the blocking PostgreSQL client may run its own runtime.
//!
//! Reads wait for one of a fixed number of slots: a page is CPU-bound work
//! holding thousands of decoded entries, so running more of them at once
//! than there are cores adds memory (64 clients at once took 718 MiB) and
//! no throughput.

use std::sync::{Arc, Mutex};

use vtj_store::{Backend, StoreError};

use crate::problem::ApiError;

#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    spec: String,
    writer: Mutex<Box<dyn Backend>>,
    readers: Mutex<Vec<Box<dyn Backend>>>,
    read_slots: tokio::sync::Semaphore,
    slots: usize,
}

/// Two reads per core keep every core busy while one waits on I/O.
fn read_slots() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Db {
    /// A SQLite file path or a `postgres://` URL.
    pub fn open(spec: &str) -> Result<Db, StoreError> {
        // On a thread of its own: the blocking PostgreSQL client cannot
        // connect from inside an async runtime, and App::new may be called there.
        let s = spec.to_string();
        let writer = std::thread::spawn(move || vtj_store::open(&s))
            .join()
            .map_err(|_| StoreError::Corrupt("the database connection thread panicked".into()))??;
        Ok(Db {
            inner: Arc::new(Inner {
                spec: spec.to_string(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                read_slots: tokio::sync::Semaphore::new(read_slots()),
                slots: read_slots(),
            }),
        })
    }

    /// Reads that may run at once.
    pub fn read_slots(&self) -> usize {
        self.inner.slots
    }

    /// For set-up, outside any runtime.
    pub fn meta_blocking(&self, key: &str) -> Result<Option<String>, StoreError> {
        let w = self.inner.writer.lock().map_err(|_| StoreError::Corrupt("the writer lock is poisoned".into()))?;
        w.meta(key)
    }

    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Backend) -> Result<T, ApiError> + Send + 'static,
    {
        let _slot = self.inner.read_slots.acquire().await.map_err(|_| ApiError::internal())?;
        self.run(f).await
    }

    /// A read only if a slot is free now (`None` otherwise): for work that
    /// helps only when nothing else waits, such as a page made ahead.
    pub async fn read_if_free<T, F>(&self, f: F) -> Option<Result<T, ApiError>>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Backend) -> Result<T, ApiError> + Send + 'static,
    {
        let _slot = self.inner.read_slots.try_acquire().ok()?;
        Some(self.run(f).await)
    }

    /// Runs `f` on a pooled reader, on the blocking pool; the caller holds a slot.
    async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Backend) -> Result<T, ApiError> + Send + 'static,
    {
        let inner = self.inner.clone();
        join(tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().map_err(|_| ApiError::internal())?.pop();
            let store = match pooled {
                Some(s) => s,
                None => vtj_store::open(&inner.spec)?,
            };
            let out = f(store.as_ref());
            if let Ok(mut pool) = inner.readers.lock() {
                if pool.len() < 16 {
                    pool.push(store);
                }
            }
            out
        }))
        .await
    }

    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Backend) -> Result<T, ApiError> + Send + 'static,
    {
        let inner = self.inner.clone();
        join(tokio::task::spawn_blocking(move || {
            let mut w = inner.writer.lock().map_err(|_| ApiError::internal())?;
            f(w.as_mut())
        }))
        .await
    }
}

async fn join<T>(h: tokio::task::JoinHandle<Result<T, ApiError>>) -> Result<T, ApiError> {
    h.await.unwrap_or_else(|e| {
        eprintln!("vtj-api: database task failed: {e}");
        Err(ApiError::internal())
    })
}
