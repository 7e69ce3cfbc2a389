//! `key_by` and `event_time`: one field of each envelope's metadata, set
//! from its payload.

use core::marker::PhantomData;

use bytes::Bytes;

use crate::KeyText;

use core::task::Poll;

use flux_core::{
    Context, Envelope, Instant, Layer, LedgerVisitor, Lifecycle, Meta, PanicGuard, Purity, Push, StageDescriptor,
    StageError, StageId, StageKind,
};

/// The layer built by [`Pipeline::key_by`](crate::Steps::key_by) and
/// [`Pipeline::event_time`](crate::Steps::event_time).
pub struct SetMeta<M, In> {
    from: M,
    pub(crate) id: StageId,
    _in: PhantomData<fn(In)>,
}

impl<M, In> SetMeta<M, In> {
    pub(crate) fn new(from: M, id: StageId) -> Self {
        SetMeta { from, id, _in: PhantomData }
    }
}

/// Which field a [`SetMeta`] stage sets, and from what: [`KeyFrom`] or
/// [`EventTimeFrom`] only.
pub trait MetaFrom<In>: Send + sealed::Sealed {
    /// Reads `payload` and sets the field in `meta`.
    fn set(&mut self, payload: &In, meta: &mut Meta);
}

/// The key, from a closure of the payload. A key that is a slice of a
/// `Bytes` payload (`line.slice(..8)`) is a reference count, not a copy;
/// an integer key is copied into the stage's [`KeyText`].
pub struct KeyFrom<F> {
    f: F,
    text: KeyText,
}

impl<F> KeyFrom<F> {
    pub(crate) fn new(f: F) -> Self {
        KeyFrom { f, text: KeyText::default() }
    }
}

/// The event time, from a closure of the payload.
pub struct EventTimeFrom<F>(pub(crate) F);

impl<F: FnMut(&In) -> K + Send, In, K: IntoKey> MetaFrom<In> for KeyFrom<F> {
    #[inline(always)]
    fn set(&mut self, payload: &In, meta: &mut Meta) {
        meta.key = Some((self.f)(payload).into_key_in(&mut self.text));
    }
}

/// What [`Pipeline::key_by`](crate::Steps::key_by) takes as a key: the
/// bytes a keyed stage groups by.
///
/// `Bytes` is taken as it is (a slice of a payload costs a reference
/// count), static text and bytes are borrowed, owned text and bytes are
/// moved, and integers are their big-endian bytes: a small allocation
/// through [`into_key`](IntoKey::into_key), a slice of a shared buffer
/// through [`into_key_in`](IntoKey::into_key_in), which keying stages use.
///
/// ```
/// use flux_steps::IntoKey;
///
/// assert_eq!(42u64.into_key().as_ref(), &[0, 0, 0, 0, 0, 0, 0, 42]);
/// assert_eq!("ann".into_key(), "ann".to_owned().into_key());
/// ```
pub trait IntoKey: Sized {
    /// The key's bytes.
    fn into_key(self) -> Bytes;

    /// The key's bytes, copied into `text` if they must be copied at all:
    /// what `key_by` and `split_key` call. The same bytes as
    /// [`into_key`](IntoKey::into_key), which it defaults to.
    #[inline(always)]
    fn into_key_in(self, text: &mut KeyText) -> Bytes {
        let _ = text;
        self.into_key()
    }
}

/// Key types that convert into `Bytes` without a copy of their own.
macro_rules! key_from_bytes {
    ($($t:ty),*) => {
        $(impl IntoKey for $t {
            #[inline(always)]
            fn into_key(self) -> Bytes {
                Bytes::from(self)
            }
        })*
    };
}

key_from_bytes!(Bytes, &'static str, &'static [u8], String, Vec<u8>, Box<[u8]>);

/// Integer keys: their big-endian bytes, so that keys sort as numbers do.
macro_rules! key_from_integer {
    ($($t:ty),*) => {
        $(impl IntoKey for $t {
            fn into_key(self) -> Bytes {
                Bytes::copy_from_slice(&self.to_be_bytes())
            }

            #[inline]
            fn into_key_in(self, text: &mut KeyText) -> Bytes {
                text.copy(&self.to_be_bytes())
            }
        })*
    };
}

key_from_integer!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

impl<F: FnMut(&In) -> Instant + Send, In> MetaFrom<In> for EventTimeFrom<F> {
    #[inline(always)]
    fn set(&mut self, payload: &In, meta: &mut Meta) {
        meta.event_time = Some((self.0)(payload));
    }
}

impl<M, In> Layer<In> for SetMeta<M, In>
where
    M: MetaFrom<In> + 'static,
    In: 'static,
{
    type Out = In;
    type Node<D: Push<In> + 'static> = SetMetaNode<M, D>;

    fn descriptor(&self) -> StageDescriptor {
        let t = core::any::type_name::<In>();
        StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Transform, Purity::Pure).with_types(t, t)
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<In> + 'static>(self, next: D) -> SetMetaNode<M, D> {
        SetMetaNode { from: self.from, id: self.id, next }
    }
}

/// The node of a `key_by` or `event_time` stage: one in, one out, the
/// payload untouched. A panic in the closure is settled where the segment
/// catches it: the input is a dead letter and the run stops.
pub struct SetMetaNode<M, D> {
    from: M,
    pub(crate) id: StageId,
    next: D,
}

impl<M, In, D> Push<In> for SetMetaNode<M, D>
where
    M: MetaFrom<In>,
    D: Push<In>,
{
    // Always inlined: a fused segment must compile to one loop body.
    #[inline(always)]
    fn push(&mut self, item: Envelope<In>, cx: &mut Context<'_>) {
        let (payload, mut meta, cost) = item.into_parts();
        let guard = PanicGuard::new(&self.id, meta.sequence);
        self.from.set(&payload, &mut meta);
        guard.disarm();
        self.next.push(Envelope::from_parts(payload, meta, cost), cx);
    }

    forward_to_next!();

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.next.visit(visitor);
    }
    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        self.next.poll_lifecycle(phase, cx)
    }
}

impl<F> core::fmt::Debug for KeyFrom<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeyFrom")
    }
}

impl<F> core::fmt::Debug for EventTimeFrom<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("EventTimeFrom")
    }
}

mod sealed {
    pub trait Sealed {}
    impl<F> Sealed for super::KeyFrom<F> {}
    impl<F> Sealed for super::EventTimeFrom<F> {}
}
