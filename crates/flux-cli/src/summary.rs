//! What the demo says after the load: the tables against the generator's
//! truth, the dead letters by cause, the first of them.

use std::io::Write;
use std::path::Path;

use flux_sqlite::SqliteStats;

use crate::demo::say;
use crate::error::{DemoError, OrSay};
use crate::feed::Truth;

pub(crate) fn sqlite_figures(stats: &SqliteStats) -> [(&'static str, u64); 5] {
    [
        ("rows", stats.rows()),
        ("transactions", stats.batches()),
        ("passed over (committed by an earlier run)", stats.skipped()),
        ("failed batches", stats.failed_batches()),
        ("retries", stats.retries()),
    ]
}

const TABLES: [&str; 4] = ["orders", "order_items", "partial_orders", "dead_letters"];

pub(crate) fn count_rows(database: &Path) -> Result<[u64; 4], DemoError> {
    let db =
        rusqlite::Connection::open(database).or_say(format_args!("cannot read the database {}", database.display()))?;
    let mut rows = [0; 4];
    for (count, table) in rows.iter_mut().zip(TABLES) {
        *count = db
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0))
            .or_say(format_args!("cannot read the database {}", database.display()))?;
    }
    Ok(rows)
}

/// The tables, against the generator's truth when there is one, and the
/// first dead letters.
pub(crate) fn summarize(
    out: &mut impl Write,
    database: &Path,
    rows: [u64; 4],
    truth: Option<&Truth>,
) -> Result<(), DemoError> {
    say(out, format_args!("{}:\n", database.display()));
    let expected = truth.map(|t| [t.complete, t.complete_items, t.partial(), t.malformed]);
    for (index, table) in TABLES.iter().enumerate() {
        let check = match expected {
            Some(expected) if expected[index] == rows[index] => " (as generated)".to_owned(),
            Some(expected) => format!(" (the generator wrote {}!)", expected[index]),
            None => String::new(),
        };
        say(out, format_args!("  {table:<15} {:>9} rows{check}\n", rows[index]));
    }
    let db =
        rusqlite::Connection::open(database).or_say(format_args!("cannot read the database {}", database.display()))?;
    let mut causes = db
        .prepare("SELECT error, COUNT(*) FROM dead_letters GROUP BY error ORDER BY 2 DESC, 1")
        .or_say(format_args!("cannot read the database {}", database.display()))?;
    let causes = causes
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
        .or_say(format_args!("cannot read the database {}", database.display()))?;
    for cause in causes {
        let (error, count) = cause.or_say(format_args!("cannot read the database {}", database.display()))?;
        say(out, format_args!("  {count:>9} dead letters: {error}\n"));
    }
    let mut first = db
        .prepare("SELECT offset, error, line FROM dead_letters ORDER BY offset LIMIT 3")
        .or_say(format_args!("cannot read the database {}", database.display()))?;
    let letters = first
        .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?)))
        .or_say(format_args!("cannot read the database {}", database.display()))?;
    for letter in letters {
        let (offset, error, line) = letter.or_say(format_args!("cannot read the database {}", database.display()))?;
        say(out, format_args!("  dead letter at byte {offset}: {error}: {line:?}\n"));
    }
    say(
        out,
        format_args!(
            "query it: sqlite3 {} 'SELECT reason, COUNT(*) FROM partial_orders GROUP BY reason'\n",
            database.display()
        ),
    );
    Ok(())
}
