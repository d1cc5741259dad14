//! Database access for async handlers: one writer connection behind a
//! mutex (SQLite has one writer at a time anyway) and a pool of readers
//! that see committed data in WAL mode. Every call runs on the blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use vtj_store::{SqliteStore, StoreError};

use crate::problem::ApiError;

#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<SqliteStore>,
    readers: Mutex<Vec<SqliteStore>>,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, StoreError> {
        let writer = SqliteStore::open(path)?;
        Ok(Db {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteStore) -> Result<T, ApiError> + Send + 'static,
    {
        let inner = self.inner.clone();
        join(tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().map_err(|_| ApiError::internal())?.pop();
            let store = match pooled {
                Some(s) => s,
                None => SqliteStore::open(&inner.path)?,
            };
            let out = f(&store);
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
        F: FnOnce(&mut SqliteStore) -> Result<T, ApiError> + Send + 'static,
    {
        let inner = self.inner.clone();
        join(tokio::task::spawn_blocking(move || {
            let mut w = inner.writer.lock().map_err(|_| ApiError::internal())?;
            f(&mut w)
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
