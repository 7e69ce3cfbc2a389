//! The write sink: delimiting, flush thresholds in bytes and engine time,
//! and a failed flush reported with what it lost.

use core::time::Duration;
use std::io::{self, Write};

use bytes::Bytes;
use flux_core::{Context, Envelope, Instant, Sink};
use flux_memory::{Delimit, FlushPolicy, WriteSink};
use flux_test::Diverted;

/// A writer that records each flush as one chunk.
#[derive(Debug, Default)]
struct Chunks {
    pending: Vec<u8>,
    flushed: Vec<Vec<u8>>,
    fail: bool,
}

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.fail {
            return Err(io::Error::other("disk full"));
        }
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.flushed.push(std::mem::take(&mut self.pending));
        }
        Ok(())
    }
}

fn write_at(sink: &mut WriteSink<Chunks>, at: Instant, frame: &'static [u8]) -> Result<(), flux_core::WriteError> {
    let mut diverted = Diverted::default();
    let written = sink.write(Envelope::new(Bytes::from_static(frame)), &mut Context::new(at, &mut diverted));
    assert!(diverted.failures.is_empty(), "{:?}", diverted.failures);
    written
}

fn close(sink: &mut WriteSink<Chunks>) {
    let mut diverted = Diverted::default();
    Sink::<Bytes>::close(sink, &mut Context::new(Instant::ZERO, &mut diverted)).unwrap();
    assert!(diverted.failures.is_empty(), "{:?}", diverted.failures);
}

#[test]
fn the_buffer_is_flushed_when_it_reaches_the_byte_threshold() {
    let policy = FlushPolicy { bytes: 8, interval: None };
    let mut sink = WriteSink::with_policy(Chunks::default(), Delimit::Newline, policy);
    for frame in [&b"abc"[..], b"def", b"ghi"] {
        write_at(&mut sink, Instant::ZERO, frame).unwrap();
    }
    assert_eq!(sink.get_ref().flushed, [b"abc\ndef\n".to_vec()], "the third frame would overflow 8 bytes");
    close(&mut sink);
    assert_eq!(sink.get_ref().flushed[1], b"ghi\n");
    assert_eq!(sink.stats().flushes, 2);
    assert_eq!(sink.stats().frames, 3);
}

#[test]
fn the_buffer_is_flushed_after_the_interval_of_engine_time() {
    let policy = FlushPolicy { bytes: 1024, interval: Some(Duration::from_secs(5)) };
    let mut sink = WriteSink::with_policy(Chunks::default(), Delimit::Newline, policy);
    write_at(&mut sink, Instant::from_secs(0), b"a").unwrap();
    write_at(&mut sink, Instant::from_secs(4), b"b").unwrap();
    assert!(sink.get_ref().flushed.is_empty(), "four seconds is before the interval");
    write_at(&mut sink, Instant::from_secs(5), b"c").unwrap();
    assert_eq!(sink.get_ref().flushed, [b"a\nb\nc\n".to_vec()]);
    write_at(&mut sink, Instant::from_secs(9), b"d").unwrap();
    assert_eq!(sink.get_ref().flushed.len(), 1, "the interval restarts at the last flush");
}

#[test]
fn length_prefixed_output_and_large_frames_written_straight_through() {
    let policy = FlushPolicy { bytes: 8, interval: None };
    let mut sink = WriteSink::with_policy(Chunks::default(), Delimit::LengthPrefix, policy);
    write_at(&mut sink, Instant::ZERO, b"ab").unwrap();
    write_at(&mut sink, Instant::ZERO, b"a-large-frame").unwrap();
    close(&mut sink);
    // One flush of the buffered frame, one write of the large one.
    assert_eq!((sink.stats().flushes, sink.stats().frames, sink.stats().bytes), (2, 2, 23));
    let written: Vec<u8> = sink.into_inner().expect("every frame was written").flushed.concat();
    let mut expected = vec![0, 0, 0, 2, b'a', b'b', 0, 0, 0, 13];
    expected.extend_from_slice(b"a-large-frame");
    assert_eq!(written, expected);
}

#[test]
fn a_failed_flush_hands_back_the_frames_it_lost_and_the_sink_stops() {
    let policy = FlushPolicy { bytes: 8, interval: None };
    let mut sink = WriteSink::with_policy(Chunks::default(), Delimit::Newline, policy);
    write_at(&mut sink, Instant::ZERO, b"one").unwrap();
    sink.get_mut().fail = true;
    let refused = write_at(&mut sink, Instant::ZERO, b"two-two").unwrap_err();
    assert_eq!(refused.cause.to_string(), "the writer failed after 0 bytes of output; the sink stopped");
    let mut lost = Vec::new();
    Sink::<Bytes>::take_undelivered(&mut sink, &mut lost);
    assert_eq!(
        lost.iter().map(|u| u.cause.to_string()).collect::<Vec<_>>(),
        ["frame at output byte 0 was not written"]
    );
    let io = std::error::Error::source(&*lost[0].cause).unwrap().to_string();
    assert_eq!(io, "disk full");
    assert_eq!(Sink::<Bytes>::held(&sink), 0);
}

#[test]
fn a_sink_says_what_it_holds_and_when_it_has_frames_to_hand_back() {
    let policy = FlushPolicy { bytes: 8, interval: None };
    let mut sink = WriteSink::with_policy(Chunks::default(), Delimit::Newline, policy)
        .on_error(flux_memory::OnWriteError::DeadLetter);
    assert!(!Sink::<Bytes>::has_news(&sink));
    write_at(&mut sink, Instant::ZERO, b"one").unwrap();
    write_at(&mut sink, Instant::ZERO, b"2").unwrap();
    assert_eq!(Sink::<Bytes>::held(&sink), 2, "buffered, not yet written");
    assert!(!Sink::<Bytes>::has_news(&sink));
    sink.get_mut().fail = true;
    // "three" overflows the buffer: the flush of the two held frames fails.
    write_at(&mut sink, Instant::ZERO, b"three").unwrap();
    assert!(Sink::<Bytes>::has_news(&sink), "two frames to hand back");
    let mut lost = Vec::new();
    Sink::<Bytes>::take_undelivered(&mut sink, &mut lost);
    assert_eq!(lost.len(), 2);
    assert!(!Sink::<Bytes>::has_news(&sink), "handed back, and no stop under DeadLetter");
    assert!(Sink::<Bytes>::take_stop(&mut sink).is_none());
    assert_eq!(Sink::<Bytes>::held(&sink), 1, "the frame that came after the failure");
    sink.get_mut().fail = false;
    close(&mut sink);
    assert_eq!(Sink::<Bytes>::held(&sink), 0);
    assert_eq!(sink.get_ref().flushed, [b"three\n".to_vec()]);
}
