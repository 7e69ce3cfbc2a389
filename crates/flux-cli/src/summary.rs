//! What the demo says after the load: the tables against the generator's
//! truth, the dead letters by cause, the first of them.

use std::io::Write;

use crate::demo::say;
use crate::error::DemoError;
use crate::feed::Truth;
use crate::store::Store;
use crate::tables::TABLES;

/// The tables, against the generator's truth when there is one, and the
/// first dead letters.
pub(crate) fn summarize(
    out: &mut impl Write,
    store: &Store,
    rows: [u64; 4],
    truth: Option<&Truth>,
) -> Result<(), DemoError> {
    say(out, format_args!("{store}:\n"));
    let expected = truth.map(|t| [t.complete, t.complete_items, t.partial(), t.malformed]);
    for (index, table) in TABLES.iter().enumerate() {
        let check = match expected {
            Some(expected) if expected[index] == rows[index] => " (as generated)".to_owned(),
            Some(expected) => format!(" (the generator wrote {}!)", expected[index]),
            None => String::new(),
        };
        say(out, format_args!("  {table:<15} {:>9} rows{check}\n", rows[index]));
    }
    let letters = store.dead_letters()?;
    for (error, count) in letters.causes {
        say(out, format_args!("  {count:>9} dead letters: {error}\n"));
    }
    for (offset, error, line) in letters.first {
        say(out, format_args!("  dead letter at byte {offset}: {error}: {line:?}\n"));
    }
    say(out, format_args!("query it: {}\n", store.query_hint()));
    Ok(())
}
