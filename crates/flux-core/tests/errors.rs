//! Every error type says what failed in its message and hands back the
//! error underneath as its `source`, never both.

use std::error::Error;

use flux_core::{Meta, Position, Rejected, SourceError, WriteError};

#[test]
fn a_source_error_names_its_position_and_keeps_its_cause() {
    let error = SourceError { position: Position::ByteOffset(100_000), cause: "disk gone".into() };
    assert_eq!(error.to_string(), "the source failed at byte 100000");
    assert_eq!(error.source().unwrap().to_string(), "disk gone");
}

#[test]
fn a_rejected_input_names_its_position_and_keeps_its_cause() {
    let rejected =
        Rejected { meta: Meta::default(), position: Position::ByteOffset(40), cause: "line too long".into() };
    assert_eq!(rejected.to_string(), "input rejected at byte 40");
    assert_eq!(rejected.source().unwrap().to_string(), "line too long");
}

#[test]
fn a_write_error_names_its_position_whether_it_stops_the_run_and_keeps_its_cause() {
    let meta = Meta { sequence: 7, ..Meta::default() };
    let refused = WriteError::new(meta.clone(), "row too wide");
    assert_eq!(refused.to_string(), "write failed at sequence 7");
    assert_eq!(refused.source().unwrap().to_string(), "row too wide");
    let full = WriteError::new(meta, "no space left").at(Position::ByteOffset(4096)).stop_run("disk full");
    assert_eq!(full.to_string(), "write failed at byte 4096, stopping the run");
}
