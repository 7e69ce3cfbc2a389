//! Deterministic data for comparisons: the same inputs on every run.

/// An endless xorshift64 sequence from `seed` (non-zero): cheap, fixed, and
/// with no pattern a loop could exploit.
pub fn xorshift(seed: u64) -> impl Iterator<Item = u64> {
    let mut state = seed;
    core::iter::repeat_with(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    })
}
