//! The two shapes of closure `map` and `filter` take: of the payload
//! alone, or of the payload and a read-only view of its metadata.

use flux_core::Meta;

/// A closure of the payload alone, as [`Pipeline::map`](crate::Steps::map)
/// and [`Pipeline::filter`](crate::Steps::filter) take it.
pub struct OnPayload<F>(pub(crate) F);

/// A closure of the payload and its metadata (key, event time, headers),
/// as [`Pipeline::map_with_meta`](crate::Steps::map_with_meta) and
/// [`Pipeline::filter_with_meta`](crate::Steps::filter_with_meta) take
/// it. The metadata is read-only: sequences and keys stay the engine's.
pub struct WithMeta<F>(pub(crate) F);

impl<F> core::fmt::Debug for OnPayload<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("OnPayload")
    }
}

impl<F> core::fmt::Debug for WithMeta<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("WithMeta")
    }
}

/// What a `map` stage calls: one payload in, one out. Implemented by
/// [`OnPayload`] and [`WithMeta`] only.
pub trait Transform<In>: Send + sealed::Sealed {
    /// The output payload.
    type Out;
    /// Transforms one payload.
    fn apply(&mut self, payload: In, meta: &Meta) -> Self::Out;
}

/// What a `filter` stage calls. Implemented by [`OnPayload`] and
/// [`WithMeta`] only.
pub trait Predicate<T>: Send + sealed::Sealed {
    /// Whether the envelope goes on.
    fn test(&mut self, payload: &T, meta: &Meta) -> bool;
}

impl<F: FnMut(In) -> Out + Send, In, Out> Transform<In> for OnPayload<F> {
    type Out = Out;
    #[inline(always)]
    fn apply(&mut self, payload: In, _meta: &Meta) -> Out {
        (self.0)(payload)
    }
}

impl<F: FnMut(In, &Meta) -> Out + Send, In, Out> Transform<In> for WithMeta<F> {
    type Out = Out;
    #[inline(always)]
    fn apply(&mut self, payload: In, meta: &Meta) -> Out {
        (self.0)(payload, meta)
    }
}

impl<F: FnMut(&T) -> bool + Send, T> Predicate<T> for OnPayload<F> {
    #[inline(always)]
    fn test(&mut self, payload: &T, _meta: &Meta) -> bool {
        (self.0)(payload)
    }
}

impl<F: FnMut(&T, &Meta) -> bool + Send, T> Predicate<T> for WithMeta<F> {
    #[inline(always)]
    fn test(&mut self, payload: &T, meta: &Meta) -> bool {
        (self.0)(payload, meta)
    }
}

mod sealed {
    pub trait Sealed {}
    impl<F> Sealed for super::OnPayload<F> {}
    impl<F> Sealed for super::WithMeta<F> {}
}
