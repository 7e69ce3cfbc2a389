//! What a finished group becomes: a record, or (for a partial group, when
//! asked) its original fragments again.

use flux_core::{Accumulator, EmitReason, Envelope};

/// The output of a stage that re-emits fragments
/// ([`Accumulate::reemit_fragments`](crate::Accumulate::reemit_fragments)):
/// a record, or one of the original fragments of a group that was not
/// complete.
///
/// A re-emitted fragment is the fragment as it arrived (payload, key,
/// sequence, event time, trace, headers and cost), in arrival order within
/// its group; `reason` says why its group ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Emitted<R, F> {
    /// A group's record, with the usual `acc.*` headers.
    Record(R),
    /// One original fragment of a group that ended for `reason` before it
    /// was complete.
    Fragment {
        /// The fragment's payload.
        fragment: F,
        /// Why its group ended (never a whole group's reason:
        /// [`EmitReason::is_whole`] is false).
        reason: EmitReason,
    },
}

/// Emits one record per group, whatever the reason (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct Records;

/// Keeps each group's fragments (cheap clones: their keys and payload
/// slices are reference counted) and re-emits them instead of a record
/// when the group is cut short: it ends for a reason that is not whole
/// ([`EmitReason::is_whole`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Fragments;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Records {}
    impl Sealed for super::Fragments {}
}

/// What a group keeps of its fragments of type `F`: nothing for
/// [`Records`], the fragments for [`Fragments`]. Sealed.
pub trait Keep<F>: sealed::Sealed {
    /// The kept fragments.
    #[doc(hidden)]
    type Kept: Default + Send;
    /// Whether anything is kept: if not, a merge never reaches for a
    /// group's bookkeeping.
    #[doc(hidden)]
    const KEEPS: bool;
}

impl<F> Keep<F> for Records {
    type Kept = ();
    const KEEPS: bool = false;
}

impl<F: Send> Keep<F> for Fragments {
    type Kept = Vec<Envelope<F>>;
    const KEEPS: bool = true;
}

/// How a stage releases its groups: [`Records`] or [`Fragments`]. Sealed:
/// the stage's ledger depends on exactly these two behaviours.
pub trait Release<A: Accumulator>: Keep<A::Fragment> + Send + 'static {
    /// What the stage emits.
    type Out;
    /// What is taken of a fragment before it is merged.
    #[doc(hidden)]
    type Copy;

    #[doc(hidden)]
    fn copy(fragment: &Envelope<A::Fragment>) -> Self::Copy;
    #[doc(hidden)]
    fn keep(kept: &mut Self::Kept, copy: Self::Copy);
    #[doc(hidden)]
    fn reemits(reason: EmitReason) -> bool;
    #[doc(hidden)]
    fn record(output: A::Output) -> Self::Out;
    /// Pushes the kept fragments to `emit`, returning how many.
    #[doc(hidden)]
    fn reemit(kept: Self::Kept, reason: EmitReason, emit: impl FnMut(Envelope<Self::Out>)) -> u64;
}

impl<A: Accumulator> Release<A> for Records {
    type Out = A::Output;
    type Copy = ();

    #[inline(always)]
    fn copy(_: &Envelope<A::Fragment>) {}
    #[inline(always)]
    fn keep(_: &mut (), _: ()) {}
    #[inline(always)]
    fn reemits(_: EmitReason) -> bool {
        false
    }
    #[inline(always)]
    fn record(output: A::Output) -> A::Output {
        output
    }
    fn reemit(_: (), _: EmitReason, _: impl FnMut(Envelope<A::Output>)) -> u64 {
        0
    }
}

impl<A: Accumulator> Release<A> for Fragments
where
    A::Fragment: Clone + Send,
{
    type Out = Emitted<A::Output, A::Fragment>;
    type Copy = Envelope<A::Fragment>;

    fn copy(fragment: &Envelope<A::Fragment>) -> Envelope<A::Fragment> {
        fragment.clone()
    }
    fn keep(kept: &mut Vec<Envelope<A::Fragment>>, copy: Envelope<A::Fragment>) {
        kept.push(copy);
    }
    fn reemits(reason: EmitReason) -> bool {
        !reason.is_whole()
    }
    fn record(output: A::Output) -> Self::Out {
        Emitted::Record(output)
    }
    fn reemit(kept: Vec<Envelope<A::Fragment>>, reason: EmitReason, mut emit: impl FnMut(Envelope<Self::Out>)) -> u64 {
        let count = kept.len() as u64;
        for fragment in kept {
            emit(fragment.map(|fragment| Emitted::Fragment { fragment, reason }));
        }
        count
    }
}
