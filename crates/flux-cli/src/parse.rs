//! A feed line into one part of one order, keyed by order id with its
//! event time; a line that is not one becomes a malformed line that goes
//! on to the dead-letter table with its file offset.

use bytes::Bytes;
use flux_core::{Emit, Envelope, Instant, Stage};
use flux_memory::frame_offset;

/// One part of an order, its text fields copied out of the line: an
/// order can stay open for minutes of the feed, and a slice would pin the
/// whole input slab it points into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Who ordered, and how many items the order has.
    Header {
        /// The customer's id.
        customer: String,
        /// Item lines the order has.
        items: u32,
    },
    /// One item line.
    Item {
        /// The product.
        sku: String,
        /// How many.
        qty: u32,
        /// Price of one, in cents.
        cents: i64,
    },
    /// The payment.
    Payment {
        /// Amount paid, in cents.
        cents: i64,
        /// How.
        method: String,
    },
    /// The shipment.
    Shipment {
        /// Who carries it.
        carrier: String,
    },
}

/// What a line is: a part of an order, or a line the feed should not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A part, keyed (in its envelope) by its order id.
    Part(Part),
    /// A line that could not be read, keyed by its offset so that it goes
    /// through the accumulator on its own.
    Malformed(Malformed),
}

/// A line that could not be read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// Where the line starts in the input file.
    pub offset: u64,
    /// The line, as text (bytes that are not UTF-8 replaced).
    pub text: String,
    /// What is wrong with it.
    pub error: &'static str,
}

/// Parses each line of the feed. The source must stamp frame offsets
/// (`FramedSource::with_offsets`), so a malformed line's row says where it is.
#[derive(Debug, Default)]
pub struct ParseLine;

impl Stage<Bytes> for ParseLine {
    type Out = Line;

    fn process(&mut self, input: Envelope<Bytes>, out: &mut impl Emit<Line>) {
        let (line, meta, cost) = input.into_parts();
        let envelope = match parse(&line) {
            Ok((at, order, part)) => {
                Envelope::from_parts(Line::Part(part), meta, cost).with_key(line.slice_ref(order)).with_event_time(at)
            }
            Err(error) => {
                let offset = frame_offset(&meta).unwrap_or(u64::MAX);
                let text = String::from_utf8_lossy(&line).into_owned();
                let key = Bytes::from(format!("!malformed@{offset}"));
                Envelope::from_parts(Line::Malformed(Malformed { offset, text, error }), meta, cost).with_key(key)
            }
        };
        out.emit(envelope);
    }
}

/// The event time, the order id (a slice of `line`) and the part.
pub(crate) fn parse(line: &[u8]) -> Result<(Instant, &[u8], Part), &'static str> {
    let text = core::str::from_utf8(line).map_err(|_| "not UTF-8")?;
    let mut words = text.split(' ');
    let at = words.next().and_then(|t| t.parse::<u64>().ok()).ok_or("no event time")?;
    let order = words.next().filter(|id| id.starts_with('O') && id.len() > 1).ok_or("no order id")?;
    let kind = words.next().ok_or("no part")?;
    let mut field = |name: &str| {
        let word = words.next().ok_or("a field is missing")?;
        word.strip_prefix(name).and_then(|w| w.strip_prefix('=')).ok_or("a field is out of place")
    };
    let part = match kind {
        "header" => Part::Header { customer: field("customer")?.to_owned(), items: number(field("items")?)? },
        "item" => {
            Part::Item { sku: field("sku")?.to_owned(), qty: number(field("qty")?)?, cents: number(field("cents")?)? }
        }
        "payment" => Part::Payment { cents: number(field("cents")?)?, method: field("method")?.to_owned() },
        "shipment" => Part::Shipment { carrier: field("carrier")?.to_owned() },
        _ => return Err("an unknown part"),
    };
    if words.next().is_some() {
        return Err("a field too many");
    }
    Ok((Instant::from_millis(at), order.as_bytes(), part))
}

fn number<N: core::str::FromStr + Default + PartialOrd>(text: &str) -> Result<N, &'static str> {
    text.parse::<N>().ok().filter(|n| *n >= N::default()).ok_or("a number that is not one")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_parses_with_its_order_and_time() {
        let (at, order, part) = parse(b"1000 O00000001 item sku=SKU-1 qty=2 cents=199").unwrap();
        assert_eq!((at, order), (Instant::from_millis(1000), &b"O00000001"[..]));
        assert_eq!(part, Part::Item { sku: "SKU-1".into(), qty: 2, cents: 199 });
        let (_, _, part) = parse(b"5 O1 header customer=C1 items=3").unwrap();
        assert_eq!(part, Part::Header { customer: "C1".into(), items: 3 });
    }

    #[test]
    fn a_malformed_line_says_what_is_wrong() {
        for (line, error) in [
            (&b"x O1 shipment carrier=dhl"[..], "no event time"),
            (b"5 X1 shipment carrier=dhl", "no order id"),
            (b"5 O1 refund cents=1", "an unknown part"),
            (b"5 O1 item sku=S qty=two cents=1", "a number that is not one"),
            (b"5 O1 payment cents=-1 method=card", "a number that is not one"),
            (b"5 O1 payment", "a field is missing"),
            (b"5 O1 shipment carrier=dhl extra", "a field too many"),
            (b"5 O1 shipment by=dhl", "a field is out of place"),
            (b"5 O1 \xff", "not UTF-8"),
        ] {
            assert_eq!(parse(line).err(), Some(error), "{}", String::from_utf8_lossy(line));
        }
    }
}
