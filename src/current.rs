//! A value replaced as a whole at a reload (the config, the engine) and
//! read as a snapshot: readers take an `Arc` and keep using it to the end of
//! their work, so a reload never waits for them and they never see half of
//! a change.

use std::sync::{Arc, RwLock};

pub struct Current<T>(RwLock<Arc<T>>);

impl<T> Current<T> {
    pub fn new(value: Arc<T>) -> Current<T> {
        Current(RwLock::new(value))
    }

    /// The value now. The lock is held only to clone the `Arc`.
    pub fn get(&self) -> Arc<T> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Puts `value` in place; readers holding the old one keep it.
    pub fn set(&self, value: Arc<T>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = value;
    }
}
