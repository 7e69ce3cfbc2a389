//! CSV files through the sync engine: exactly which rows came out (fields,
//! offsets, which fields were copied) and which dead letters at which
//! offsets, whatever the slab and read sizes.

use flux_core::{BufferPool, ErrorEnvelope, Pipeline, Position, Runnable};
use flux_engine_sync::SyncEngine;
use flux_formats::{Csv, CsvError, CsvRow, CsvSource};
use flux_memory::{FrameError, FrameErrorKind, PoolConfig, SlabPool, assert_no_leaks};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{FaultyReader, VecSink};

/// A row as the tests compare it: its offset and its fields as text.
type Seen = (u64, Vec<String>);

fn seen(row: &CsvRow) -> Seen {
    (row.offset(), row.iter().map(|f| String::from_utf8(f.to_vec()).unwrap()).collect())
}

fn fields(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

/// Runs `source` on the sync engine: the rows, and each dead letter's
/// (sequence, position).
fn run<R: std::io::Read + Send + 'static>(
    source: CsvSource<R>,
) -> (Vec<CsvRow>, Vec<(u64, Position)>, Vec<ErrorEnvelope>) {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(source).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let dead = report.dead_letters.iter().map(|l| (l.meta.sequence, l.error.position())).collect();
    (out.payloads(), dead, report.dead_letters)
}

/// A header, quoted delimiters, doubled quotes, a newline inside quotes
/// (LF and CRLF), CRLF and LF ends, a blank line, a short record, and a
/// last record with no terminator.
const INVENTORY: &str = concat!(
    "sku,name,note\r\n",                     // 0
    "1,bolt,plain\r\n",                      // 15
    "2,\"nut, hex\",\"say \"\"hi\"\"\"\r\n", // 29
    "3,\"washer\",\"two\nlines\"\n",         // 56
    "\r\n",                                  // 79: blank, skipped
    "4,short\n",                             // 81: two fields of three
    "5,\"crlf\r\ninside\",x\r\n",            // 89
    "6,last,\"no end\"",                     // 109
);

fn inventory_rows() -> Vec<Seen> {
    vec![
        (15, fields(&["1", "bolt", "plain"])),
        (29, fields(&["2", "nut, hex", "say \"hi\""])),
        (56, fields(&["3", "washer", "two\nlines"])),
        (89, fields(&["5", "crlf\r\ninside", "x"])),
        (109, fields(&["6", "last", "no end"])),
    ]
}

#[test]
fn a_csv_file_gives_its_rows_with_offsets_and_headers_and_a_short_record_is_a_dead_letter() {
    let path = std::env::temp_dir().join(format!("flux-csv-inventory-{}.csv", std::process::id()));
    std::fs::write(&path, INVENTORY).unwrap();
    let (rows, dead, letters) = run(CsvSource::file(&path).unwrap());
    std::fs::remove_file(&path).unwrap();

    assert_eq!(rows.iter().map(seen).collect::<Vec<_>>(), inventory_rows());
    assert_eq!(dead, [(3, Position::ByteOffset(81))], "sequence 3: rows 0-2 came before it");
    let cause = letters[0].error.cause().downcast_ref::<CsvError>().unwrap();
    assert_eq!(cause, &CsvError::FieldCount { offset: 81, expected: 3, found: 2 });

    let headers = rows[0].headers().unwrap();
    assert_eq!(headers.names(), ["sku", "name", "note"]);
    assert_eq!(rows[1].by_name("note"), Some(&b"say \"hi\""[..]));
    assert_eq!(rows[2].by_name("missing"), None);
}

#[test]
fn fields_are_slices_of_the_slab_unless_unquoting_changed_their_bytes() {
    let (rows, _, _) = run(Csv::new().source(INVENTORY.as_bytes(), pool(4096)).unwrap());
    let copied: Vec<Vec<bool>> = rows.iter().map(|row| (0..row.len()).map(|i| row.is_copied(i)).collect()).collect();
    assert_eq!(copied[0], [false, false, false], "plain fields");
    assert_eq!(copied[1], [false, false, true], "quoted without escapes is a slice; doubled quotes are copied");
    assert_eq!(copied[2], [false, false, false], "a newline inside quotes needs no unescaping");
    let record = rows[1].record().clone();
    let name = rows[1].field(1).unwrap();
    assert_eq!(name, "nut, hex");
    let inside = record.as_ptr_range();
    assert!(inside.contains(&name.as_ptr()), "the field points into the record's slab");
}

fn pool(slab_size: usize) -> SlabPool {
    SlabPool::new("csv", PoolConfig::default().slab_size(slab_size).max_slabs(64))
}

#[test]
fn the_same_rows_and_dead_letters_whatever_the_slab_and_read_sizes() {
    let expected = inventory_rows();
    for slab_size in [8, 13, 16, 31, 64, 4096] {
        for max_read in [1, 3, 7, 1000] {
            let slabs = pool(slab_size);
            let input = FaultyReader::new(INVENTORY.as_bytes().to_vec()).max_read(max_read);
            let (rows, dead, _) = run(Csv::new().source(input, slabs.clone()).unwrap());
            let case = format!("slabs of {slab_size}, reads of {max_read}");
            assert_eq!(rows.iter().map(seen).collect::<Vec<_>>(), expected, "{case}");
            assert_eq!(dead, [(3, Position::ByteOffset(81))], "{case}");
            drop(rows);
            assert_no_leaks(&slabs);
        }
    }
}

#[test]
fn an_unterminated_quote_at_end_of_input_is_a_dead_letter_at_its_record() {
    let input = &b"a,b\n1,2\n3,\"never closed\n4,5\n"[..];
    let (rows, dead, letters) = run(Csv::new().source(input, pool(4096)).unwrap());
    assert_eq!(rows.iter().map(seen).collect::<Vec<_>>(), [(4, fields(&["1", "2"]))]);
    assert_eq!(dead, [(1, Position::ByteOffset(8))]);
    let cause = letters[0].error.cause().downcast_ref::<FrameError>().unwrap();
    assert_eq!(cause.kind(), &FrameErrorKind::TruncatedRecord { expected: None, have: 20 });
}

#[test]
fn a_record_over_the_limit_is_a_dead_letter_and_the_next_is_read_and_long_ones_within_it_are_whole() {
    let long = "x".repeat(75_000);
    let too_long = "y".repeat(100_001);
    let input = format!("id,text\n1,\"{long}\"\n2,{too_long}\n3,ok\n");
    let source = Csv::new().max_record(100_000).source(std::io::Cursor::new(input.into_bytes()), pool(4096));
    let (rows, dead, _) = run(source.unwrap());
    let expected = [(8, fields(&["1", &long])), (175_017, fields(&["3", "ok"]))];
    assert_eq!(rows.iter().map(seen).collect::<Vec<_>>(), expected);
    assert_eq!(dead, [(1, Position::ByteOffset(75_013))]);
}

#[test]
fn without_a_header_row_the_first_record_fixes_the_count_unless_flexible() {
    let input = &b"1,2\n3\n4,5,6\n"[..];
    let (rows, dead, _) = run(Csv::new().no_header_row().source(input, pool(4096)).unwrap());
    assert_eq!(rows.iter().map(seen).collect::<Vec<_>>(), [(0, fields(&["1", "2"]))]);
    assert_eq!(dead, [(1, Position::ByteOffset(4)), (2, Position::ByteOffset(6))]);
    assert!(rows[0].headers().is_none());

    let (rows, dead, _) = run(Csv::new().no_header_row().flexible().source(input, pool(4096)).unwrap());
    assert_eq!(rows.iter().map(CsvRow::len).collect::<Vec<_>>(), [2, 1, 3]);
    assert!(dead.is_empty());
}

#[test]
fn an_lz4_csv_file_gives_the_same_rows_and_offsets_as_the_plain_one() {
    use std::io::Write;

    let path = std::env::temp_dir().join(format!("flux-csv-inventory-{}.csv.lz4", std::process::id()));
    let mut encoder = lz4_flex::frame::FrameEncoder::new(std::fs::File::create(&path).unwrap());
    encoder.write_all(INVENTORY.as_bytes()).unwrap();
    encoder.finish().unwrap();
    let (source, found) = Csv::new().file_decompressed(&path).unwrap();
    let (rows, dead, _) = run(source);
    std::fs::remove_file(&path).unwrap();

    assert_eq!(found, flux_memory::Compression::Lz4);
    assert_eq!(rows.iter().map(seen).collect::<Vec<_>>(), inventory_rows());
    assert_eq!(dead, [(3, Position::ByteOffset(81))], "offsets count the decompressed bytes");
}

/// 100 rows of 18 bytes through 64-byte slabs (three rows a slab). A source
/// over a `Read` asks for a thread of its own, so the default planner cuts
/// after it, and a row's fields are slices of its slab: the source sends
/// each slab's rows on before it rents the next, so one slab is out at a
/// time (gathered into one batch, all 34 would be).
#[test]
fn rows_cross_a_boundary_a_slab_at_a_time_so_one_slab_is_out_at_a_time() {
    let input: &'static str = (0..100).map(|i| format!("{i:03},row of a file\n")).collect::<String>().leak();
    let pool = SlabPool::new("csv-cut", PoolConfig::default().slab_size(64).max_slabs(64));
    let source = Csv::new().no_header_row().source(input.as_bytes(), pool.clone()).unwrap();
    let stats = source.stats();
    let out = VecSink::new();
    // Each row let go of once read: the sink keeps text, not slices.
    let pipeline = Pipeline::from_source(source).map(|row: CsvRow| seen(&row)).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    assert!(matches!(plan.junctions[0], flux_core::Junction::Boundary(_)), "cut after the source");

    let report = SyncEngine::new().run(&plan, pipeline).unwrap();

    let rows: Vec<Seen> = out.payloads();
    let expected: Vec<Seen> = (0..100).map(|i| (i * 18, fields(&[&format!("{i:03}"), "row of a file"]))).collect();
    assert_eq!(rows, expected);
    let edge = &report.edges[0];
    assert_eq!((edge.batches_sent, edge.envelopes_sent), (34, 100), "a batch per slab");
    assert_eq!((stats.get().slabs, pool.stats().high_water), (34, 1));
    assert_no_leaks(&pool);
}
