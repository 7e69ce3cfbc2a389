//! A [`Stage`] that turns one line into many keyed envelopes.

use bytes::Bytes;
use flux_core::{Cost, Emit, Envelope, Stage};

/// Splits a line `user action action ...` into one envelope per action,
/// keyed by the user.
///
/// Each output is emitted as it is cut (no `Vec` per line), and both the
/// action and the key are slices of the line's [`Bytes`], so nothing is
/// copied. Every output keeps the line's sequence, so an error further on
/// still names the line. A line with no action (a blank line, or a user
/// alone) produces nothing; the kernel counts it as dropped in this
/// stage's ledger, so it is not lost silently.
///
/// # Examples
///
/// ```
/// use flux_core::Pipeline;
/// use flux_steps::Steps;
/// use flux_test::VecSink;
/// use flux_user_extension::{LineSource, SplitActions};
///
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(LineSource::new("ada login view\n", 80))
///     .stage(SplitActions)
///     .sink(out.clone());
/// # let _ = pipeline;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SplitActions;

impl Stage<Bytes> for SplitActions {
    type Out = Bytes;

    fn process(&mut self, line: Envelope<Bytes>, out: &mut impl Emit<Bytes>) {
        let (text, meta, _) = line.into_parts();
        let mut words = text.split(u8::is_ascii_whitespace).filter(|word| !word.is_empty());
        let Some(user) = words.next() else { return };
        let user = text.slice_ref(user);
        for action in words {
            let cost = Cost::bytes(u32::try_from(action.len()).unwrap_or(u32::MAX));
            out.emit(Envelope::from_parts(text.slice_ref(action), meta.clone(), cost).with_key(user.clone()));
        }
    }
}
