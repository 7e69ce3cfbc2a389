//! The demo's input: a feed of orders whose parts arrive interleaved and
//! out of order, some never completing, some late, some lines garbled;
//! and the generator's own count of what a correct load must produce.
//!
//! Each line is one part of one order:
//!
//! ```text
//! <event ms> <order id> header customer=<id> items=<n>
//! <event ms> <order id> item sku=<sku> qty=<n> cents=<n>
//! <event ms> <order id> payment cents=<n> method=<card|paypal|invoice>
//! <event ms> <order id> shipment carrier=<name>
//! ```
//!
//! An order is complete with its header, as many items as the header
//! says, its payment and its shipment.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

/// How the feed spreads in time; the demo's policy is set from these, so
/// that the generator knows which orders complete.
pub mod timing {
    use super::Duration;

    /// An order's parts happen within this span of its start.
    pub const SPAN: Duration = Duration::from_secs(60);
    /// A part is written up to this long after it happened (out of order).
    pub const JITTER: Duration = Duration::from_secs(5);
    /// How long an order may stay open, from its first part's event time:
    /// longer than `SPAN + JITTER`, so every order whose parts are all
    /// there completes before the clock reaches its deadline.
    pub const TTL: Duration = Duration::from_secs(300);
    /// How far the event-time clock trails the newest event: room for
    /// parts written out of order.
    pub const LAG: Duration = Duration::from_secs(10);
    /// A late part happens this long after its order's TTL ran out.
    pub const LATE_BY: Duration = Duration::from_secs(120);
    /// Orders start this far apart.
    pub const EVERY: Duration = Duration::from_millis(50);
    /// The first order's start, in ms since the Unix epoch (2025-12-01).
    pub const EPOCH_MS: u64 = 1_764_547_200_000;
}

/// What the generator wrote, and so what the load must find.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Truth {
    /// Orders generated.
    pub orders: u64,
    /// Orders with every part in time: rows of `orders`.
    pub complete: u64,
    /// Item lines of the complete orders: rows of `order_items`.
    pub complete_items: u64,
    /// Orders missing a part for good.
    pub incomplete: u64,
    /// Orders whose shipment came after their TTL ran out: the order is
    /// partial, and so is the late shipment on its own.
    pub late: u64,
    /// Garbled lines: rows of `dead_letters`.
    pub malformed: u64,
    /// Lines written.
    pub lines: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl Truth {
    /// Rows `partial_orders` must hold: each incomplete order, and each
    /// late order twice (the order without its shipment, the shipment
    /// without its order).
    pub fn partial(&self) -> u64 {
        self.incomplete + 2 * self.late
    }
}

/// A small, fast, seeded generator (SplitMix64): the same seed gives the
/// same feed, byte for byte, on every machine.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// Up to `span`, in ms.
    fn within(&mut self, span: Duration) -> u64 {
        self.next() % (span.as_millis() as u64 + 1)
    }
}

/// One line waiting for its turn: written when the feed reaches `arrival`.
type Pending = Reverse<(u64, u64, String)>;

/// Writes a feed of `orders` orders to `path`, all of it or nothing: it is
/// written beside `path` and renamed into place, so a run killed while
/// generating leaves no half-written feed to be mistaken for a whole one.
///
/// # Errors
///
/// The file could not be written.
pub fn generate(path: &Path, orders: u64, seed: u64) -> io::Result<Truth> {
    let partial = path.with_extension("partial");
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&partial)?);
    let truth = write_feed(&mut out, orders, seed)?;
    out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()?;
    std::fs::rename(&partial, path)?;
    Ok(truth)
}

/// The feed itself, in arrival order: lines are held in a heap by arrival
/// time and written once no order still to come can arrive before them.
fn write_feed(out: &mut impl Write, orders: u64, seed: u64) -> io::Result<Truth> {
    let mut rng = Rng(seed);
    let mut truth = Truth { orders, ..Truth::default() };
    let mut pending: BinaryHeap<Pending> = BinaryHeap::new();
    let mut serial = 0u64;
    let mut hold = |arrival: u64, line: String, pending: &mut BinaryHeap<Pending>| {
        serial += 1;
        pending.push(Reverse((arrival, serial, line)));
    };
    for index in 0..orders {
        let start = timing::EPOCH_MS + index * timing::EVERY.as_millis() as u64;
        while let Some(Reverse((arrival, _, _))) = pending.peek() {
            if *arrival >= start {
                break;
            }
            let Some(Reverse((_, _, line))) = pending.pop() else { break };
            write_line(out, &line, &mut truth)?;
        }
        for (event, line) in order_lines(&mut rng, index, start, &mut truth) {
            let arrival = event + rng.within(timing::JITTER);
            if rng.next().is_multiple_of(200) {
                truth.malformed += 1;
                hold(arrival, garble(&mut rng, &line), &mut pending);
            }
            hold(arrival, line, &mut pending);
        }
    }
    while let Some(Reverse((_, _, line))) = pending.pop() {
        write_line(out, &line, &mut truth)?;
    }
    Ok(truth)
}

fn write_line(out: &mut impl Write, line: &str, truth: &mut Truth) -> io::Result<()> {
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    truth.lines += 1;
    truth.bytes += line.len() as u64 + 1;
    Ok(())
}

/// The lines of order `index`, each with the time it happened.
fn order_lines(rng: &mut Rng, index: u64, start: u64, truth: &mut Truth) -> Vec<(u64, String)> {
    let id = format!("O{index:08}");
    let fate = rng.next() % 100;
    let (missing_payment, missing_shipment, late) = (fate < 2, (2..4).contains(&fate), (4..6).contains(&fate));
    let items = rng.between(1, 4);
    let at = |rng: &mut Rng| start + rng.within(timing::SPAN);
    let mut lines = Vec::with_capacity(items as usize + 3);
    let customer = format!("C{:05}", rng.next() % 5_000);
    lines.push((at(rng), format!("{id} header customer={customer} items={items}")));
    let mut total = 0;
    for _ in 0..items {
        let (sku, qty, cents) = (rng.between(100, 999), rng.between(1, 5), rng.between(199, 9_999));
        total += qty * cents;
        lines.push((at(rng), format!("{id} item sku=SKU-{sku} qty={qty} cents={cents}")));
    }
    let method = ["card", "paypal", "invoice"][(rng.next() % 3) as usize];
    if !missing_payment {
        lines.push((at(rng), format!("{id} payment cents={total} method={method}")));
    }
    let carrier = ["dhl", "ups", "fedex", "post"][(rng.next() % 4) as usize];
    let shipment = format!("{id} shipment carrier={carrier}");
    if late {
        let after = (timing::TTL + timing::LATE_BY).as_millis() as u64;
        lines.push((start + after, shipment));
    } else if !missing_shipment {
        lines.push((at(rng), shipment));
    }
    if missing_payment || missing_shipment {
        truth.incomplete += 1;
    } else if late {
        truth.late += 1;
    } else {
        truth.complete += 1;
        truth.complete_items += items;
    }
    lines.into_iter().map(|(event, rest)| (event, format!("{event} {rest}"))).collect()
}

/// A line spoiled the way real feeds spoil them, so that it can no longer
/// be read: cut short, a kind nobody knows, a field too many, a number
/// that is not one, or noise.
fn garble(rng: &mut Rng, line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    match rng.next() % 5 {
        0 => words[..3].join(" "),
        1 => format!("{} {} refund {}", words[0], words[1], words[3..].join(" ")),
        2 => format!("{line} note=resent"),
        3 if line.contains("cents=") => line.replacen("cents=", "cents=-", 1),
        _ => format!("#{:x}#", rng.next()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(orders: u64, seed: u64) -> (Vec<u8>, Truth) {
        let mut out = Vec::new();
        let truth = write_feed(&mut out, orders, seed).unwrap();
        (out, truth)
    }

    #[test]
    fn the_same_seed_gives_the_same_feed_and_another_seed_another() {
        assert_eq!(feed(500, 7), feed(500, 7));
        assert_ne!(feed(500, 7).0, feed(500, 8).0);
    }

    #[test]
    fn the_truth_counts_every_order_once_and_every_line_written() {
        let (bytes, truth) = feed(5_000, 1);
        assert_eq!(truth.complete + truth.incomplete + truth.late, 5_000);
        assert_eq!(truth.lines, bytes.iter().filter(|&&b| b == b'\n').count() as u64);
        assert_eq!(truth.bytes, bytes.len() as u64);
        assert!(truth.incomplete > 0 && truth.late > 0 && truth.malformed > 0, "{truth:?}");
    }

    /// A garbled line that still parsed would be a second copy of a part,
    /// and could complete its order early: the truth would be wrong.
    #[test]
    fn no_garbled_line_can_be_read_as_a_part() {
        let mut rng = Rng(9);
        let (bytes, _) = feed(300, 5);
        let text = String::from_utf8(bytes).unwrap();
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            for _ in 0..5 {
                let spoiled = garble(&mut rng, line);
                assert!(crate::parse::parse(spoiled.as_bytes()).is_err(), "{spoiled:?} still parses");
            }
        }
    }

    #[test]
    fn lines_arrive_in_order_within_the_jitter() {
        let (bytes, _) = feed(2_000, 3);
        let text = String::from_utf8(bytes).unwrap();
        let mut newest = 0u64;
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let Some(at) = line.split(' ').next().and_then(|t| t.parse::<u64>().ok()) else { continue };
            newest = newest.max(at);
            assert!(at + timing::JITTER.as_millis() as u64 >= newest, "{line} is further out of order than the jitter");
        }
    }
}
