//! A value one loop publishes wholesale and many readers take without copying:
//! readers clone an `Arc` under a brief read lock and never wait on the producer.

use std::sync::{Arc, RwLock};

pub type Shared<T> = Arc<RwLock<Arc<T>>>;

pub fn shared<T: Default>() -> Shared<T> {
    Arc::new(RwLock::new(Arc::new(T::default())))
}

/// The current value (a poisoned lock still holds the last good one).
pub fn get<T>(s: &Shared<T>) -> Arc<T> {
    match s.read() {
        Ok(g) => Arc::clone(&g),
        Err(p) => Arc::clone(&p.into_inner()),
    }
}

pub fn publish<T>(s: &Shared<T>, value: T) {
    *s.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(value);
}
