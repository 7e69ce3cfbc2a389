//! A request log that looks real: interleaved fragments of many requests.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// What was written, to check the run against.
pub(crate) struct Generated {
    pub(crate) lines: u64,
    pub(crate) bytes: u64,
    pub(crate) malformed: u64,
    pub(crate) requests: u64,
}

/// Writes `requests` requests, each as `start`, `auth` and `end` lines,
/// interleaved with up to 64 requests in flight. About one request in 200
/// never ends (its record is flushed partial at end of input) and one line
/// in 1000 is garbled (a dead letter).
pub(crate) fn request_log(path: &Path, requests: u64) -> io::Result<Generated> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut rng = SplitMix(0x5EED);
    let mut in_flight: Vec<(u64, u8)> = Vec::with_capacity(64);
    let (mut next_id, mut clock_ms) = (0u64, 0u64);
    let mut generated = Generated { lines: 0, bytes: 0, malformed: 0, requests };
    while next_id < requests || !in_flight.is_empty() {
        if next_id < requests && (in_flight.len() < 64 && rng.below(3) > 0 || in_flight.is_empty()) {
            in_flight.push((next_id, 0));
            next_id += 1;
        }
        let slot = rng.below(in_flight.len() as u64) as usize;
        let (id, stage) = &mut in_flight[slot];
        clock_ms += rng.below(5);
        let line = match *stage {
            0 => format!("t={clock_ms:09} req=r{id:07} start path=/api/{}", PATHS[rng.below(4) as usize]),
            1 => format!("t={clock_ms:09} req=r{id:07} auth user=u{:05}", rng.below(50_000)),
            _ => format!(
                "t={clock_ms:09} req=r{id:07} end status={} bytes={}",
                STATUS[rng.below(4) as usize],
                rng.below(1 << 16)
            ),
        };
        let garbled = rng.below(1000) == 0;
        let line = if garbled { line.replace("req=", "rq?") } else { line };
        generated.malformed += u64::from(garbled);
        *stage += 1;
        let never_ends = *stage == 2 && *id % 200 == 199;
        if *stage == 3 || never_ends {
            in_flight.swap_remove(slot);
        }
        writeln!(out, "{line}")?;
        generated.lines += 1;
        generated.bytes += line.len() as u64 + 1;
    }
    out.flush()?;
    Ok(generated)
}

const PATHS: [&str; 4] = ["orders", "customers", "invoices", "search"];
const STATUS: [&str; 4] = ["200", "200", "404", "500"];

/// SplitMix64: a tiny deterministic generator, so every run writes the same file.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}
