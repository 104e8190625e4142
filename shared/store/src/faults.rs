//! Injected failures, for proving that no operation leaves a half-written state.
//!
//! Adapters call [`Faults::check`] at named points of each multi-step write; the contract
//! suite arms a point, runs the operation, and checks that the store holds either nothing
//! of it or, after a retry, all of it exactly once. Unarmed, a check is one uncontended
//! lock and a vector scan: nothing on the hot path allocates.

use std::sync::{Arc, Mutex};

use crate::error::StoreError;

/// Where a failure can be injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultPoint {
    /// Recording an inbound event: instead of committing its atomic write.
    InboundCommit,
    /// Recording an inbound event: after the atomic write, before the window update.
    InboundWindowUpdate,
    /// Beginning an outbound message: instead of committing its atomic write.
    OutboundCommit,
    /// Completing an outbound message: instead of writing its outcome.
    CompleteCommit,
    /// A conversation command: instead of committing its atomic write.
    CommandCommit,
}

/// The armed fault points of one store. Cloning shares them.
#[derive(Clone, Debug, Default)]
pub struct Faults(Arc<Mutex<Vec<FaultPoint>>>);

impl Faults {
    /// Makes the next check of `point` fail (once).
    pub fn fail_next(&self, point: FaultPoint) {
        if let Ok(mut armed) = self.0.lock() {
            armed.push(point);
        }
    }

    /// Fails if `point` is armed, disarming it.
    pub fn check(&self, point: FaultPoint) -> Result<(), StoreError> {
        let Ok(mut armed) = self.0.lock() else {
            return Ok(());
        };
        match armed.iter().position(|p| *p == point) {
            Some(i) => {
                armed.remove(i);
                Err(StoreError::Unavailable(format!(
                    "injected fault at {point:?}"
                )))
            }
            None => Ok(()),
        }
    }
}
