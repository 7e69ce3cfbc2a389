//! Four everyday jobs, each written with the `flux` facade alone and each
//! short (a test counts their lines):
//!
//! - [`sum_per_key`]: the sum of the amounts per key of a `key,amount` file;
//! - [`count_by_kind`]: multi-line records, ended by a blank line, with
//!   continuation lines, counted by their `kind:` field;
//! - [`join`]: two files joined on a composite key, one order row and at
//!   least one line row per key, whatever order the rows come in;
//! - [`per_minute`]: a count per key and one-minute event-time window, with
//!   late events sent to the side output.

mod join;
mod records;
mod sum;
mod windows;

pub use join::join;
pub use records::count_by_kind;
pub use sum::sum_per_key;
pub use windows::per_minute;
