//! End-to-end delivery tracking: an input learns which of its positions
//! have been fully handled, so its checkpoint never runs ahead of what the
//! outputs have written.
//!
//! An input registers each batch it delivers ([`DeliveryTracker::begin`])
//! and attaches the returned guard to every pack made from that batch. The
//! guard travels with the packs through decoders, the router, filters and
//! outputs; outputs that buffer keep a clone until their bytes are written.
//! When the last clone drops, the batch is done. The committed position is
//! the position after the newest batch whose predecessors are all done.
//! That is what the input writes to its journal: after a crash, reading
//! resumes there, so nothing is lost (lines after it may be delivered twice).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::message::DeliveryGuard;

struct State<P> {
    next_seq: u64,
    /// Batches not yet committed: position (once known) and done flag.
    pending: BTreeMap<u64, (Option<P>, bool)>,
    committed: Option<P>,
}

/// Tracks the batches of one stream. `P` is the stream's position type.
pub struct DeliveryTracker<P> {
    state: Arc<Mutex<State<P>>>,
}

impl<P> Clone for DeliveryTracker<P> {
    fn clone(&self) -> Self {
        DeliveryTracker { state: Arc::clone(&self.state) }
    }
}

impl<P: Clone + Send + 'static> Default for DeliveryTracker<P> {
    fn default() -> Self {
        Self::new()
    }
}

/// The guard of one batch; its position is set once the batch is split.
pub struct BatchGuard<P: Clone + Send + 'static> {
    seq: u64,
    state: Arc<Mutex<State<P>>>,
}

impl<P: Clone + Send + 'static> BatchGuard<P> {
    /// Records where the stream stands after this batch.
    pub fn set_position(&self, pos: P) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = st.pending.get_mut(&self.seq) {
            entry.0 = Some(pos);
        }
    }
}

impl<P: Clone + Send + 'static> Drop for BatchGuard<P> {
    fn drop(&mut self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = st.pending.get_mut(&self.seq) {
            entry.1 = true;
        }
        // Commit every finished batch at the front, in order.
        while let Some(entry) = st.pending.first_entry() {
            if !entry.get().1 {
                break;
            }
            let (pos, _) = entry.remove();
            if let Some(pos) = pos {
                st.committed = Some(pos);
            }
        }
    }
}

impl<P: Clone + Send + 'static> DeliveryTracker<P> {
    /// A tracker with nothing delivered.
    pub fn new() -> Self {
        DeliveryTracker {
            state: Arc::new(Mutex::new(State {
                next_seq: 0,
                pending: BTreeMap::new(),
                committed: None,
            })),
        }
    }

    /// Registers a new batch. Attach `Arc` clones of the guard to its packs
    /// (as a [`DeliveryGuard`]), call `set_position`, then drop your own.
    pub fn begin(&self) -> Arc<BatchGuard<P>> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let seq = st.next_seq;
        st.next_seq += 1;
        st.pending.insert(seq, (None, false));
        Arc::new(BatchGuard { seq, state: Arc::clone(&self.state) })
    }

    /// The position up to which everything has been handled.
    pub fn committed(&self) -> Option<P> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).committed.clone()
    }

    /// Batches still in flight.
    pub fn in_flight(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).pending.len()
    }
}

/// Type-erases a batch guard for a pack.
pub fn as_delivery_guard<P: Clone + Send + 'static>(g: &Arc<BatchGuard<P>>) -> DeliveryGuard {
    Arc::clone(g) as DeliveryGuard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_in_order_even_when_batches_finish_out_of_order() {
        let t: DeliveryTracker<u64> = DeliveryTracker::new();
        let a = t.begin();
        a.set_position(10);
        let b = t.begin();
        b.set_position(20);
        let c = t.begin();
        c.set_position(30);
        drop(b);
        assert_eq!(t.committed(), None, "a still in flight");
        drop(a);
        assert_eq!(t.committed(), Some(20));
        let held = as_delivery_guard(&c);
        drop(c);
        assert_eq!(t.committed(), Some(20), "a pack still holds c");
        drop(held);
        assert_eq!(t.committed(), Some(30));
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn guard_without_position_does_not_move_the_checkpoint() {
        let t: DeliveryTracker<u64> = DeliveryTracker::new();
        let a = t.begin();
        a.set_position(5);
        drop(a);
        let b = t.begin();
        drop(b);
        assert_eq!(t.committed(), Some(5));
    }
}
