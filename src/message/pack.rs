//! Packs: pooled, reusable message buffers (Heka's PipelinePack).
//!
//! A [`PackPool`] holds a fixed number of packs. An input takes one
//! ([`PackPool::get`], waiting when none is free: that is the back-pressure),
//! fills it through the unique handle [`PackMut`], then freezes it into a
//! shared [`PackRef`] that the router hands to every plugin whose matcher
//! matched. When the last holder drops its handle the pack goes back to its
//! pool with its allocations kept, so the steady path allocates no pack.
//!
//! Invariants: a `PackMut` is the only handle to its slot (it is never cloned
//! and `freeze` consumes it), so `Arc::get_mut` on it always succeeds. The
//! `holders` counter decides which `PackRef` drop is the last one; that drop
//! sends the slot home. Another holder may still be between its decrement and
//! dropping its `Arc` at that moment, so sending home waits (yields) until
//! the slot is unique again, which takes at most that drop.

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, Weak};

use super::{Message, encode, encode_into};

/// Buffers larger than this are shrunk when a pack is recycled.
const SHRINK_ABOVE: usize = 16 * 1024;

/// A message plus its bookkeeping.
#[derive(Debug, Default)]
pub struct Pack {
    /// The decoded message.
    pub message: Message,
    /// Encoded protobuf bytes of `message`, valid when `bytes_valid`.
    msg_bytes: Vec<u8>,
    bytes_valid: bool,
    /// How many times this message was re-injected (`max_message_loops`).
    pub loop_count: u32,
    /// Name of the signer that authenticated the message, if any.
    pub signer: Option<Arc<str>>,
    /// Keeps the input position of this message "in flight" until every
    /// holder is done with it (see `pipeline::ack`). Outputs that buffer
    /// clone it and drop the clone once their bytes are written.
    pub guard: Option<DeliveryGuard>,
    /// Fields of the pack's previous message, kept with their allocations
    /// so the next decode can refill them instead of allocating (and so
    /// they are freed by no other thread than the one that made them).
    spare_fields: Vec<super::Field>,
}

/// Spare fields a pack keeps at most.
const MAX_SPARE_FIELDS: usize = 64;

/// An opaque token whose last drop tells an input that a message it read
/// has been fully handled.
pub type DeliveryGuard = Arc<dyn std::any::Any + Send + Sync>;

/// Keeps `pack`'s delivery guard in `held` (once per batch: consecutive
/// messages usually share one), for outputs that write later than they
/// accept messages; clear `held` once the bytes are written.
pub fn hold_guard(held: &mut Vec<DeliveryGuard>, pack: &Pack) {
    if let Some(g) = &pack.guard
        && !held.last().is_some_and(|last| Arc::ptr_eq(last, g))
    {
        held.push(Arc::clone(g));
    }
}

impl Pack {
    /// The protobuf bytes when they are known to match the message
    /// (received from the wire, or encoded since the last change).
    pub fn trusted_bytes(&self) -> Option<&[u8]> {
        self.bytes_valid.then_some(self.msg_bytes.as_slice())
    }

    /// The protobuf bytes: the trusted bytes, or a fresh encoding.
    pub fn msg_bytes(&self) -> Cow<'_, [u8]> {
        match self.trusted_bytes() {
            Some(b) => Cow::Borrowed(b),
            None => Cow::Owned(encode(&self.message)),
        }
    }

    /// Encodes the message now (if needed) and keeps the bytes.
    pub fn encode_bytes(&mut self) -> &[u8] {
        if !self.bytes_valid {
            self.msg_bytes.clear();
            encode_into(&self.message, &mut self.msg_bytes);
            self.bytes_valid = true;
        }
        &self.msg_bytes
    }

    /// Stores received bytes as trusted; the caller guarantees that
    /// `message` was decoded from exactly these bytes.
    pub fn set_trusted_bytes(&mut self, bytes: &[u8]) {
        self.msg_bytes.clear();
        self.msg_bytes.extend_from_slice(bytes);
        self.bytes_valid = true;
    }

    /// Buffer for raw record bytes (e.g. a framed message before decoding);
    /// marks the bytes untrusted until `mark_bytes_trusted`.
    pub fn raw_buffer(&mut self) -> &mut Vec<u8> {
        self.bytes_valid = false;
        &mut self.msg_bytes
    }

    /// The raw buffer's contents (whatever was last put there).
    pub fn raw_bytes(&self) -> &[u8] {
        &self.msg_bytes
    }

    /// Declares the raw buffer to be the encoding of `message`.
    pub fn mark_bytes_trusted(&mut self) {
        self.bytes_valid = true;
    }

    /// Decodes the raw buffer into `message`; on success the bytes are
    /// trusted (kept for outputs that forward protobuf unchanged).
    pub fn decode_raw(&mut self) -> Result<(), super::DecodeError> {
        let result = super::decode_into(&self.msg_bytes, &mut self.message);
        self.bytes_valid = result.is_ok();
        result
    }

    /// Must be called after changing `message`: the bytes are stale.
    pub fn invalidate_bytes(&mut self) {
        self.bytes_valid = false;
    }

    /// Moves the spare fields (see [`Pack::clear`]) to `into`.
    pub fn take_spare_fields(&mut self, into: &mut Vec<super::Field>) {
        into.append(&mut self.spare_fields);
    }

    /// Resets everything for reuse, keeping allocations (the fields too, as
    /// spares).
    pub fn clear(&mut self) {
        let room = MAX_SPARE_FIELDS.saturating_sub(self.spare_fields.len());
        let fields = &mut self.message.fields;
        let keep = fields.len().min(room);
        // Like the payload below: a huge value once is not kept as a spare.
        self.spare_fields.extend(fields.drain(..keep).filter(|f| heap_size(f) <= SHRINK_ABOVE));
        self.message.clear();
        self.msg_bytes.clear();
        self.bytes_valid = false;
        self.loop_count = 0;
        self.signer = None;
        self.guard = None;
        // A huge record once should not pin that much memory in every pack.
        if self.message.payload.capacity() > SHRINK_ABOVE {
            self.message.payload.shrink_to(SHRINK_ABOVE);
        }
        if self.msg_bytes.capacity() > SHRINK_ABOVE {
            self.msg_bytes.shrink_to(SHRINK_ABOVE);
        }
    }
}

/// Roughly the bytes a field holds on the heap.
fn heap_size(f: &super::Field) -> usize {
    use super::FieldValue as V;
    let values = match &f.value {
        V::String(v) | V::Bytes(v) => {
            v.iter().map(Vec::capacity).sum::<usize>() + v.capacity() * 24
        }
        V::Integer(v) => v.capacity() * 8,
        V::Double(v) => v.capacity() * 8,
        V::Bool(v) => v.capacity(),
    };
    values + f.name.capacity() + f.representation.capacity()
}

struct Slot {
    pack: Pack,
    holders: AtomicUsize,
    home: Option<Weak<PoolInner>>,
}

/// Waits until a slot whose last holder just counted down is unique (the
/// other holder may still be dropping its `Arc`), and releases its delivery
/// guard: that drop is what tells the input the message was handled.
fn make_unique(slot: &mut Arc<Slot>) {
    loop {
        if let Some(inner) = Arc::get_mut(slot) {
            inner.pack.guard = None;
            return;
        }
        std::thread::yield_now();
    }
}

fn send_home(mut slot: Arc<Slot>) {
    make_unique(&mut slot);
    if let Some(pool) = slot.home.as_ref().and_then(Weak::upgrade) {
        pool.put(std::iter::once(slot));
    }
}

/// Unique, mutable handle to a pack.
pub struct PackMut {
    slot: Option<Arc<Slot>>,
}

impl PackMut {
    /// A pack that belongs to no pool (tools, tests); freed when dropped.
    pub fn standalone() -> Self {
        Self::from_message(Message::default())
    }

    /// A standalone pack holding `message`.
    pub fn from_message(message: Message) -> Self {
        let pack = Pack { message, ..Pack::default() };
        PackMut { slot: Some(Arc::new(Slot { pack, holders: AtomicUsize::new(1), home: None })) }
    }

    fn slot(&self) -> &Arc<Slot> {
        self.slot.as_ref().unwrap_or_else(|| unreachable!("slot is only taken by freeze/drop"))
    }

    /// Turns the pack into a shared, read-only handle for routing.
    pub fn freeze(mut self) -> PackRef {
        let slot = self.slot.take().unwrap_or_else(|| unreachable!("slot is present until freeze"));
        PackRef { slot: Some(slot) }
    }
}

impl Deref for PackMut {
    type Target = Pack;
    fn deref(&self) -> &Pack {
        &self.slot().pack
    }
}

impl DerefMut for PackMut {
    fn deref_mut(&mut self) -> &mut Pack {
        let slot = self.slot.as_mut().unwrap_or_else(|| unreachable!("slot present"));
        &mut Arc::get_mut(slot).unwrap_or_else(|| unreachable!("PackMut is unique")).pack
    }
}

impl Drop for PackMut {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            send_home(slot);
        }
    }
}

impl std::fmt::Debug for PackMut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PackMut").field(&self.message).finish()
    }
}

/// Shared, read-only handle to a routed pack.
pub struct PackRef {
    slot: Option<Arc<Slot>>,
}

impl PackRef {
    fn slot(&self) -> &Arc<Slot> {
        self.slot.as_ref().unwrap_or_else(|| unreachable!("slot is only taken by drop"))
    }

    /// Number of handles sharing this pack.
    pub fn holders(&self) -> usize {
        self.slot().holders.load(Ordering::Acquire)
    }
}

impl Clone for PackRef {
    fn clone(&self) -> Self {
        let slot = self.slot();
        slot.holders.fetch_add(1, Ordering::Relaxed);
        PackRef { slot: Some(Arc::clone(slot)) }
    }
}

impl Deref for PackRef {
    type Target = Pack;
    fn deref(&self) -> &Pack {
        &self.slot().pack
    }
}

impl Drop for PackRef {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take()
            && slot.holders.fetch_sub(1, Ordering::AcqRel) == 1
        {
            send_home(slot);
        }
    }
}

impl std::fmt::Debug for PackRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PackRef").field(&self.message).finish()
    }
}

/// The free list shared by a pool's handles.
struct PoolInner {
    free: Mutex<Vec<Arc<Slot>>>,
    available: Condvar,
}

impl PoolInner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Slot>>> {
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn put(&self, slots: impl IntoIterator<Item = Arc<Slot>>) {
        let mut free = self.lock();
        let before = free.len();
        free.extend(slots);
        if free.len() > before {
            self.available.notify_all();
        }
    }
}

/// A fixed set of packs (Heka's `poolsize`).
#[derive(Clone)]
pub struct PackPool {
    inner: Arc<PoolInner>,
    size: usize,
}

impl PackPool {
    /// A pool of `size` empty packs.
    pub fn new(size: usize) -> Self {
        let inner = Arc::new(PoolInner {
            free: Mutex::new(Vec::with_capacity(size)),
            available: Condvar::new(),
        });
        let slots = (0..size).map(|_| {
            Arc::new(Slot {
                pack: Pack::default(),
                holders: AtomicUsize::new(1),
                home: Some(Arc::downgrade(&inner)),
            })
        });
        inner.put(slots);
        PackPool { inner, size }
    }

    /// Number of packs the pool was made with.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Packs currently free.
    pub fn available(&self) -> usize {
        self.inner.lock().len()
    }

    fn prepare(mut slot: Arc<Slot>) -> PackMut {
        // Slots are unique when they come home (see `send_home`).
        let inner =
            Arc::get_mut(&mut slot).unwrap_or_else(|| unreachable!("pooled slots are unique"));
        inner.holders.store(1, Ordering::Relaxed);
        inner.pack.clear();
        PackMut { slot: Some(slot) }
    }

    /// Takes a cleared pack, waiting until one is free.
    pub fn get(&self) -> PackMut {
        let mut free = self.inner.lock();
        loop {
            if let Some(slot) = free.pop() {
                drop(free);
                return Self::prepare(slot);
            }
            free = self.inner.available.wait(free).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Takes a pack, waiting at most `timeout`.
    pub fn get_timeout(&self, timeout: std::time::Duration) -> Option<PackMut> {
        let deadline = std::time::Instant::now() + timeout;
        let mut free = self.inner.lock();
        loop {
            if let Some(slot) = free.pop() {
                drop(free);
                return Some(Self::prepare(slot));
            }
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            free =
                self.inner.available.wait_timeout(free, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Takes a pack if one is free now.
    pub fn try_get(&self) -> Option<PackMut> {
        let slot = self.inner.lock().pop()?;
        Some(Self::prepare(slot))
    }

    /// Takes between one and `max` packs into `out`, waiting for the first.
    pub fn get_many(&self, max: usize, out: &mut Vec<PackMut>) {
        let mut free = self.inner.lock();
        while free.is_empty() {
            free = self.inner.available.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        let n = max.min(free.len()).max(1);
        let at = free.len() - n;
        let taken: Vec<Arc<Slot>> = free.drain(at..).collect();
        drop(free);
        out.extend(taken.into_iter().map(Self::prepare));
    }
}

/// Drops a batch of shared handles, sending every pack whose last holder
/// this was home in one go (one lock per pool, not one per pack).
pub fn recycle_batch(batch: Vec<PackRef>) {
    let mut home: Vec<(Arc<PoolInner>, Vec<Arc<Slot>>)> = Vec::new();
    for mut r in batch {
        let Some(slot) = r.slot.take() else { continue };
        if slot.holders.fetch_sub(1, Ordering::AcqRel) != 1 {
            continue;
        }
        let mut slot = slot;
        make_unique(&mut slot);
        let Some(pool) = slot.home.as_ref().and_then(Weak::upgrade) else { continue };
        match home.iter_mut().find(|(p, _)| Arc::ptr_eq(p, &pool)) {
            Some((_, v)) => v.push(slot),
            None => home.push((pool, vec![slot])),
        }
    }
    for (pool, slots) in home {
        pool.put(slots);
    }
}

impl std::fmt::Debug for PackPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackPool({}/{} free)", self.available(), self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_return_to_the_pool_when_the_last_holder_drops() {
        let pool = PackPool::new(2);
        let mut a = pool.get();
        a.message.payload.extend_from_slice(b"hello");
        assert_eq!(pool.available(), 1);
        let shared = a.freeze();
        let copies: Vec<PackRef> = (0..5).map(|_| shared.clone()).collect();
        assert_eq!(shared.holders(), 6);
        drop(shared);
        assert_eq!(pool.available(), 1);
        drop(copies);
        assert_eq!(pool.available(), 2);
        let (b, c) = (pool.get(), pool.get());
        assert!(b.message.payload.is_empty() && c.message.payload.is_empty(), "cleared");
        let cap = b.message.payload.capacity().max(c.message.payload.capacity());
        assert!(cap >= 5, "allocations are kept");
    }

    #[test]
    fn cleared_packs_keep_their_fields_as_spares() {
        let pool = PackPool::new(1);
        let mut a = pool.get();
        a.message.fields.push(super::super::Field::string("k", "v"));
        drop(a);
        let mut b = pool.get();
        assert!(b.message.fields.is_empty(), "the message is cleared");
        let mut spares = Vec::new();
        b.take_spare_fields(&mut spares);
        assert_eq!(spares.len(), 1, "the field object is kept for reuse");
        b.take_spare_fields(&mut spares);
        assert_eq!(spares.len(), 1, "and handed out once");
        b.message.fields.push(super::super::Field::string("big", "x".repeat(SHRINK_ABOVE + 1)));
        drop(b);
        pool.get().take_spare_fields(&mut spares);
        assert_eq!(spares.len(), 1, "a huge field is not kept");
    }

    #[test]
    fn empty_pool_blocks_until_a_pack_returns() {
        let pool = PackPool::new(1);
        let held = pool.get();
        assert!(pool.try_get().is_none());
        assert!(pool.get_timeout(std::time::Duration::from_millis(10)).is_none());
        let p2 = pool.clone();
        let t = std::thread::spawn(move || p2.get().message.timestamp);
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(held);
        assert_eq!(t.join().unwrap(), 0);
    }

    #[test]
    fn concurrent_drops_never_lose_a_pack() {
        let pool = PackPool::new(4);
        for _ in 0..2000 {
            let shared = pool.get().freeze();
            let clones: Vec<PackRef> = (0..3).map(|_| shared.clone()).collect();
            let handles: Vec<_> =
                clones.into_iter().map(|c| std::thread::spawn(move || drop(c))).collect();
            drop(shared);
            handles.into_iter().for_each(|h| h.join().unwrap());
        }
        // Every pack can be taken again.
        let all: Vec<PackMut> = (0..4).map(|_| pool.get()).collect();
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn recycle_batch_returns_only_last_holders() {
        let pool = PackPool::new(3);
        let a = pool.get().freeze();
        let b = pool.get().freeze();
        let keep = b.clone();
        recycle_batch(vec![a, b]);
        assert_eq!(pool.available(), 2, "a went home, b is still held");
        recycle_batch(vec![keep]);
        assert_eq!(pool.available(), 3);
    }

    #[test]
    fn delivery_guard_drops_when_the_pack_goes_home() {
        let pool = PackPool::new(1);
        let guard: DeliveryGuard = Arc::new(());
        let mut p = pool.get();
        p.guard = Some(Arc::clone(&guard));
        let shared = p.freeze();
        let copy = shared.clone();
        drop(shared);
        assert_eq!(Arc::strong_count(&guard), 2);
        drop(copy);
        assert_eq!(Arc::strong_count(&guard), 1, "released at recycle, not at reuse");
    }

    #[test]
    fn bytes_are_encoded_lazily_and_trusted_bytes_are_kept() {
        let mut p = PackMut::standalone();
        p.message = Message::new();
        assert!(p.trusted_bytes().is_none());
        let fresh = p.msg_bytes().into_owned();
        assert_eq!(crate::message::decode(&fresh).unwrap(), p.message);
        p.set_trusted_bytes(&fresh);
        assert_eq!(p.trusted_bytes(), Some(fresh.as_slice()));
        p.message.payload.push(b'x');
        p.invalidate_bytes();
        assert!(p.trusted_bytes().is_none());
    }
}
