//! JSON lines: each newline-framed line deserialized with serde_json.

use core::fmt;
use core::marker::PhantomData;
use std::error::Error;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use flux_memory::{CarryTooLarge, Compression, DEFAULT_MAX_LINE, Frame, NewlineDelimited, PoolConfig, SlabPool};
use serde::de::DeserializeOwned;

use crate::{Parse, ParsedSource};

/// A source of `T`s, one per line of JSON: lines framed in pooled slabs
/// (up to 1 MiB each, [`DEFAULT_MAX_LINE`]) and deserialized where they
/// were read. Made by [`JsonLines::file`], or by [`JsonLine::source`] for
/// any reader.
///
/// A line that is not a `T` is a dead letter at its byte offset, its
/// cause a [`JsonLineError`] whose source is serde_json's error; blank
/// lines are skipped.
pub type JsonLines<T, R = File> = ParsedSource<R, NewlineDelimited, JsonLine<T>>;

/// The [`Parse`] of one line of JSON into a `T`.
///
/// `T` owns its data (`DeserializeOwned`): items outlive the slab their
/// line was read into, so they cannot borrow from it. To borrow while
/// parsing (a `T<'de>` with `&str` fields) and keep only part of it, write
/// the parse as a closure [`Parse`] over the [`Frame`].
pub struct JsonLine<T> {
    _item: PhantomData<fn() -> T>,
}

impl<T> JsonLine<T> {
    /// A parser of lines into `T`s.
    pub fn new() -> Self {
        JsonLine { _item: PhantomData }
    }
}

impl<T> Default for JsonLine<T> {
    fn default() -> Self {
        JsonLine::new()
    }
}

impl<T: DeserializeOwned> JsonLine<T> {
    /// A source of the lines of `input` as `T`s, read into slabs from
    /// `pool`, each line at most `max_line` bytes.
    ///
    /// ```
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_formats::JsonLine;
    /// use flux_memory::{PoolConfig, SlabPool};
    /// use flux_test::VecSink;
    /// # use flux_engine_sync::SyncEngine;
    /// # use flux_plan::Planner;
    ///
    /// let pool = SlabPool::new("json", PoolConfig::default());
    /// let source = JsonLine::<Vec<u8>>::source(&b"[1,2]\n\n[3]\n"[..], pool, 1024)?;
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(source).sink(out.clone());
    /// # let plan = Planner::for_one_thread().plan(pipeline.describe())?;
    /// # let _report = SyncEngine::new().run(&plan, pipeline)?;
    /// assert_eq!(out.payloads(), [vec![1, 2], vec![3]]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `max_line` is `usize::MAX`: no limit at all.
    pub fn source<R: Read>(input: R, pool: SlabPool, max_line: usize) -> Result<JsonLines<T, R>, CarryTooLarge> {
        ParsedSource::new(input, pool, NewlineDelimited::new(max_line), JsonLine::new())
    }
}

impl<T: DeserializeOwned> JsonLines<T> {
    /// The lines of the JSON-lines file at `path`, as `T`s, in a pool of
    /// their own (sixteen 256 KiB slabs), each line at most 1 MiB.
    ///
    /// # Errors
    ///
    /// The file cannot be opened.
    pub fn file(path: impl AsRef<Path>) -> io::Result<Self> {
        let pool = SlabPool::new("json-lines", PoolConfig::default());
        JsonLine::source(File::open(path)?, pool, DEFAULT_MAX_LINE).map_err(io::Error::other)
    }
}

impl<T: DeserializeOwned> JsonLines<T, Box<dyn Read + Send>> {
    /// As [`JsonLines::file`], decompressing the file as it is read when
    /// its first bytes say it is an LZ4 frame or gzip
    /// ([`open_decompressed`](flux_memory::open_decompressed)); offsets
    /// count the decompressed input. Also returns what it found.
    ///
    /// # Errors
    ///
    /// The file cannot be opened.
    pub fn file_decompressed(path: impl AsRef<Path>) -> io::Result<(Self, Compression)> {
        let (input, found) = flux_memory::open_decompressed(path)?;
        let pool = SlabPool::new("json-lines", PoolConfig::default());
        Ok((JsonLine::source(input, pool, DEFAULT_MAX_LINE).map_err(io::Error::other)?, found))
    }
}

impl<T: DeserializeOwned> Parse for JsonLine<T> {
    type Item = T;
    type Error = JsonLineError;

    fn parse(&mut self, frame: Frame<'_>) -> Result<Option<T>, JsonLineError> {
        let line = frame.as_slice();
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(line).map(Some).map_err(|source| JsonLineError { offset: frame.offset(), source })
    }
}

impl<T> fmt::Debug for JsonLine<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLine").field("item", &core::any::type_name::<T>()).finish()
    }
}

/// A line that is not valid JSON for the item type: serde_json's error
/// (what is wrong, and at which column of the line) is its source.
#[derive(Debug)]
pub struct JsonLineError {
    offset: u64,
    source: serde_json::Error,
}

impl JsonLineError {
    /// Byte offset of the line in the input.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Column (from 1) in the line where serde_json found the error.
    pub fn column(&self) -> usize {
        self.source.column()
    }
}

impl fmt::Display for JsonLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line at byte {} does not parse as JSON", self.offset)
    }
}

impl Error for JsonLineError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}
