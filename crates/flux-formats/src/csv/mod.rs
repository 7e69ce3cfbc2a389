//! CSV rows from pooled slabs: records cut where csv-core says they end,
//! fields kept in place unless unquoting changes them.

mod error;
mod fields;
mod headers;
mod quotes;
mod records;
mod row;
mod rows;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use flux_memory::{CarryTooLarge, Compression, DEFAULT_MAX_LINE, PoolConfig, SlabPool};

pub use error::CsvError;
pub use headers::Headers;
pub use records::CsvRecords;
pub use row::CsvRow;
pub use rows::CsvRows;

use crate::ParsedSource;

/// A source of [`CsvRow`]s: CSV records framed in pooled slabs and
/// parsed where they were read. Made by [`Csv`], or by
/// [`CsvSource::file`] for the usual file.
pub type CsvSource<R = File> = ParsedSource<R, CsvRecords, CsvRows>;

/// How a CSV input is written: its delimiter and quote, whether it has a
/// header row, whether records may differ in length, and the longest
/// record.
///
/// The defaults are RFC 4180's: `,` and `"`, a header row, every record as
/// long as the header, records of up to 1 MiB
/// ([`DEFAULT_MAX_LINE`]); records may end in `\n`, `\r\n` or `\r`.
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Position, Runnable};
/// use flux_formats::{Csv, CsvRow};
/// use flux_memory::{PoolConfig, SlabPool};
/// use flux_test::VecSink;
/// # use flux_engine_sync::SyncEngine;
/// # use flux_plan::Planner;
///
/// let input = &b"id;city\r\n1;\"Paris\r\nFrance\"\r\n2;Oslo;extra\r\n3;Rome\r\n"[..];
/// let pool = SlabPool::new("csv", PoolConfig::default());
/// let source = Csv::new().delimiter(b';').source(input, pool)?;
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(source).sink(out.clone());
/// # let plan = Planner::for_one_thread().plan(pipeline.describe())?;
/// let report = SyncEngine::new().run(&plan, pipeline)?;
///
/// let rows: Vec<CsvRow> = out.payloads();
/// assert_eq!(rows[0].by_name("city"), Some(&b"Paris\r\nFrance"[..]));
/// assert_eq!(rows[1].get_str(1), Some("Rome"));
/// assert_eq!(report.dead_letters[0].error.position(), Position::ByteOffset(28), "three fields, not two");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Csv {
    delimiter: u8,
    quote: u8,
    header_row: bool,
    flexible: bool,
    max_record: usize,
}

impl Default for Csv {
    fn default() -> Self {
        Csv { delimiter: b',', quote: b'"', header_row: true, flexible: false, max_record: DEFAULT_MAX_LINE }
    }
}

impl Csv {
    /// RFC 4180 CSV with a header row (see [`Csv`]).
    pub fn new() -> Self {
        Csv::default()
    }

    /// Sets the byte between fields (default `,`).
    #[must_use]
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Sets the byte that quotes fields (default `"`).
    #[must_use]
    pub fn quote(mut self, quote: u8) -> Self {
        self.quote = quote;
        self
    }

    /// The first record is a row like the others, not a header row.
    #[must_use]
    pub fn no_header_row(mut self) -> Self {
        self.header_row = false;
        self
    }

    /// Lets records differ in their number of fields.
    #[must_use]
    pub fn flexible(mut self) -> Self {
        self.flexible = true;
        self
    }

    /// Sets the longest record in bytes; a longer one is a dead letter.
    #[must_use]
    pub fn max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes;
        self
    }

    /// The framer of this format's records.
    pub fn records(&self) -> CsvRecords {
        CsvRecords::new(self.delimiter, self.quote, self.max_record)
    }

    /// The parser of this format's records into rows.
    pub fn rows(&self) -> CsvRows {
        CsvRows::new(self.delimiter, self.quote, self.header_row, self.flexible)
    }

    /// A source of the rows of `input`, read into slabs from `pool`.
    ///
    /// # Errors
    ///
    /// The record limit is `usize::MAX`: no limit at all.
    pub fn source<R: Read>(&self, input: R, pool: SlabPool) -> Result<CsvSource<R>, CarryTooLarge> {
        ParsedSource::new(input, pool, self.records(), self.rows())
    }

    /// A source of the rows of the file at `path`, in a pool of its own
    /// (sixteen 256 KiB slabs).
    ///
    /// # Errors
    ///
    /// The file cannot be opened, or the record limit is `usize::MAX`.
    pub fn file(&self, path: impl AsRef<Path>) -> io::Result<CsvSource> {
        let pool = SlabPool::new("csv", PoolConfig::default());
        self.source(File::open(path)?, pool).map_err(io::Error::other)
    }

    /// As [`Csv::file`], decompressing the file as it is read when its
    /// first bytes say it is an LZ4 frame or gzip
    /// ([`open_decompressed`](flux_memory::open_decompressed)); offsets
    /// count the decompressed input. Also returns what it found.
    ///
    /// # Errors
    ///
    /// The file cannot be opened, or the record limit is `usize::MAX`.
    pub fn file_decompressed(
        &self,
        path: impl AsRef<Path>,
    ) -> io::Result<(CsvSource<Box<dyn Read + Send>>, Compression)> {
        let (input, found) = flux_memory::open_decompressed(path)?;
        let pool = SlabPool::new("csv", PoolConfig::default());
        Ok((self.source(input, pool).map_err(io::Error::other)?, found))
    }
}

impl CsvSource {
    /// The rows of the CSV file at `path`, read as [`Csv::new`] reads
    /// them: a header row, `,` and `"`, records of up to 1 MiB.
    ///
    /// ```
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_formats::CsvSource;
    /// use flux_steps::Steps;
    /// use flux_test::VecSink;
    /// # use flux_engine_sync::SyncEngine;
    /// # use flux_plan::Planner;
    ///
    /// let path = std::env::temp_dir().join(format!("flux-csv-doc-{}.csv", std::process::id()));
    /// std::fs::write(&path, "name,qty\nbolt,3\n\"nut, hex\",5\n")?;
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(CsvSource::file(&path)?)
    ///     .map(|row: flux_formats::CsvRow| row.get_str(0).unwrap_or_default().to_owned())
    ///     .sink(out.clone());
    /// # let plan = Planner::for_one_thread().plan(pipeline.describe())?;
    /// # let _report = SyncEngine::new().run(&plan, pipeline)?;
    /// assert_eq!(out.payloads(), ["bolt", "nut, hex"]);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The file cannot be opened.
    pub fn file(path: impl AsRef<Path>) -> io::Result<Self> {
        Csv::new().file(path)
    }
}
