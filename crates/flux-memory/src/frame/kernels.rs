//! Every mask kernel, through the whole reader, against a byte-by-byte
//! reference: random lines with CRLF, stray `\r`, empty lines, oversize
//! lines, and lines cut by 64-byte block edges, 1 KiB run edges and slab
//! edges.

use super::mask::every_kernel;
use crate::{
    FrameErrorKind, FrameReader, NewlineDelimited, PoolConfig, Scanned, SlabPool, Unterminated, assert_no_leaks,
};

/// What a reader found: frames as (offset, bytes), bad frames as (offset, kind).
#[derive(Debug, Default, PartialEq)]
struct Seen {
    frames: Vec<(u64, Vec<u8>)>,
    bad: Vec<(u64, FrameErrorKind)>,
}

struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn random_lines(rng: &mut Xorshift, len: usize) -> Vec<u8> {
    let mut input = Vec::with_capacity(len + 4000);
    while input.len() < len {
        let line = match rng.below(10) {
            0 | 1 => 0,
            2..=5 => rng.below(40),
            6..=8 => rng.below(200),
            _ => rng.below(3000),
        };
        for _ in 0..line {
            // A stray `\r` now and then, which is part of the line.
            input.push(if rng.below(50) == 0 { b'\r' } else { b'a' + rng.below(26) as u8 });
        }
        if rng.below(3) == 0 {
            input.push(b'\r');
        }
        input.push(b'\n');
    }
    // Half the inputs end inside a line.
    input.truncate(len + rng.below(2) as usize * rng.below(30) as usize);
    input
}

/// The frames and the offsets of the bad frames, found byte by byte.
fn reference(input: &[u8], max_frame: usize) -> (Vec<(u64, Vec<u8>)>, Vec<u64>) {
    let (mut frames, mut bad) = (Vec::new(), Vec::new());
    let mut start = 0;
    while start < input.len() {
        let newline = input[start..].iter().position(|&b| b == b'\n').map(|i| start + i);
        let mut line = &input[start..newline.unwrap_or(input.len())];
        if newline.is_some() {
            line = line.strip_suffix(b"\r").unwrap_or(line);
        }
        if line.len() > max_frame {
            bad.push(start as u64);
        } else {
            frames.push((start as u64, line.to_vec()));
        }
        start = newline.map_or(input.len(), |n| n + 1);
    }
    (frames, bad)
}

/// Reads `input` with `framer` through `scan`, handing out at most a
/// random number of frames per call.
fn scan_all(input: &[u8], slab_size: usize, framer: NewlineDelimited, rng: &mut Xorshift) -> Seen {
    let pool = SlabPool::new("kernels", PoolConfig::default().slab_size(slab_size).max_slabs(1));
    let mut reader = FrameReader::new(input, pool.clone(), framer).unwrap();
    let mut seen = Seen::default();
    loop {
        let limit = if rng.below(2) == 0 { usize::MAX } else { 1 + rng.below(20) as usize };
        let scanned = reader.scan(limit, |frame| seen.frames.push((frame.offset(), frame.as_slice().to_vec())));
        match scanned.unwrap() {
            Scanned::Limit | Scanned::Refill => {}
            Scanned::Bad(error) => seen.bad.push((error.offset(), error.kind().clone())),
            Scanned::End => break,
            Scanned::WouldBlock => unreachable!("an in-memory input never blocks"),
        }
    }
    drop(reader);
    assert_no_leaks(&pool);
    seen
}

#[test]
fn every_kernel_frames_random_lines_like_a_byte_by_byte_scan() {
    let mut rng = Xorshift(0x2545_f491_4f6c_dd1d);
    // (max frame, slab sizes): slabs just over the carry, odd sizes, and
    // sizes holding many 1 KiB runs.
    let cases = [(64, [97, 130, 1000]), (2500, [2600, 4099, 65_536])];
    for round in 0..12 {
        let input = random_lines(&mut rng, 20_000 + round * 3_000);
        for (max_frame, slab_sizes) in cases {
            let (frames, bad) = reference(&input, max_frame);
            for slab_size in slab_sizes {
                let mut first: Option<Seen> = None;
                for kernel in every_kernel() {
                    let framer = NewlineDelimited::new(max_frame).with_kernel(kernel);
                    let seen = scan_all(&input, slab_size, framer, &mut rng);
                    let context = format!("{kernel:?}, round {round}, max {max_frame}, slab {slab_size}");
                    assert_eq!(seen.frames, frames, "{context}");
                    assert_eq!(seen.bad.iter().map(|(at, _)| *at).collect::<Vec<_>>(), bad, "{context}");
                    match &first {
                        None => first = Some(seen),
                        Some(first) => assert_eq!(&seen, first, "kernels disagree: {context}"),
                    }
                }
            }
        }
    }
}

#[test]
fn every_kernel_rejects_an_unterminated_last_line_when_told_to() {
    let input = b"one\r\n\r\ntwo\nthree";
    for kernel in every_kernel() {
        let framer = NewlineDelimited::new(8).unterminated(Unterminated::Reject).with_kernel(kernel);
        let seen = scan_all(input, 16, framer, &mut Xorshift(7));
        let frames: Vec<_> = [(0, &b"one"[..]), (5, b""), (7, b"two")].map(|(at, f)| (at, f.to_vec())).into();
        assert_eq!(seen.frames, frames, "{kernel:?}");
        assert_eq!(seen.bad, [(11, FrameErrorKind::TruncatedRecord { expected: None, have: 5 })], "{kernel:?}");
    }
}
