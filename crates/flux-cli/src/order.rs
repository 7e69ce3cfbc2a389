//! An order accumulated from its parts, and what the load writes: a
//! complete order, a partial one with the reason it was let go, or a
//! malformed line.

use std::error::Error;

use bytes::Bytes;
use flux_core::{Accumulator, Completeness, EmitReason, Envelope, Instant};

use crate::parse::{Line, Malformed, Part};

/// An order as far as its parts have come.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Order {
    /// The order's id.
    pub id: String,
    /// The customer, once the header came.
    pub customer: Option<String>,
    /// Item lines the header announced.
    pub declared_items: Option<u32>,
    /// The item lines that came.
    pub items: Vec<Item>,
    /// Amount paid and how, once the payment came.
    pub payment: Option<(i64, String)>,
    /// The carrier, once the shipment came.
    pub carrier: Option<String>,
    /// The earliest and latest event times among its parts, in ms.
    pub events: Option<(u64, u64)>,
}

/// One item line of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The product.
    pub sku: String,
    /// How many.
    pub qty: u32,
    /// Price of one, in cents.
    pub cents: i64,
}

impl Order {
    /// The items' total, in cents.
    pub fn total_cents(&self) -> i64 {
        self.items.iter().map(|item| i64::from(item.qty) * item.cents).sum()
    }

    /// The parts still missing, by name, comma-separated.
    pub fn missing(&self) -> String {
        let mut missing = Vec::new();
        if self.customer.is_none() {
            missing.push("header".to_owned());
        }
        match self.declared_items {
            Some(declared) if (self.items.len() as u32) < declared => {
                missing.push(format!("{} items", declared - self.items.len() as u32));
            }
            None if self.items.is_empty() => missing.push("items".to_owned()),
            _ => {}
        }
        if self.payment.is_none() {
            missing.push("payment".to_owned());
        }
        if self.carrier.is_none() {
            missing.push("shipment".to_owned());
        }
        missing.join(", ")
    }

    fn merge(&mut self, part: Part, at: Option<Instant>) {
        if let Some(at) = at.map(|at| at.as_nanos() / 1_000_000) {
            self.events = Some(self.events.map_or((at, at), |(first, last)| (first.min(at), last.max(at))));
        }
        match part {
            Part::Header { customer, items } => (self.customer, self.declared_items) = (Some(customer), Some(items)),
            Part::Item { sku, qty, cents } => self.items.push(Item { sku, qty, cents }),
            Part::Payment { cents, method } => self.payment = Some((cents, method)),
            Part::Shipment { carrier } => self.carrier = Some(carrier),
        }
    }

    /// Which of the four things a whole order needs are here, as bits.
    fn seen(&self) -> u64 {
        let items_done = self.declared_items.is_some_and(|n| self.items.len() as u32 >= n);
        u64::from(self.customer.is_some())
            | u64::from(items_done) << 1
            | u64::from(self.payment.is_some()) << 2
            | u64::from(self.carrier.is_some()) << 3
    }
}

/// What the load writes for each group the accumulator lets go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// An order with every part.
    Complete(Order),
    /// An order let go before it was whole.
    Partial {
        /// What came of it.
        order: Order,
        /// Why it was let go: `lifetime`, `end-of-stream`, ...
        reason: &'static str,
    },
    /// A line that could not be read.
    Malformed(Malformed),
}

/// An open group: an order, or a malformed line passing through.
#[derive(Debug)]
pub enum OrderState {
    /// Parts of an order.
    Order(Order),
    /// A malformed line, complete at once.
    Malformed(Malformed),
}

/// Merges the parts of each order; an order is complete with its header,
/// every item it announced, its payment and its shipment.
#[derive(Debug, Default)]
pub struct Orders;

const WHOLE: u64 = 0b1111;

impl Accumulator for Orders {
    type Fragment = Line;
    type State = OrderState;
    type Output = Loaded;

    fn open(&mut self, key: &Bytes) -> OrderState {
        OrderState::Order(Order { id: String::from_utf8_lossy(key).into_owned(), ..Order::default() })
    }

    fn merge(&mut self, state: &mut OrderState, line: Envelope<Line>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let at = line.meta().event_time;
        match (state, line.into_payload()) {
            (OrderState::Order(order), Line::Part(part)) => order.merge(part, at),
            (state, Line::Malformed(bad)) => *state = OrderState::Malformed(bad),
            (OrderState::Malformed(_), Line::Part(_)) => unreachable!("a malformed line's key is its own"),
        }
        Ok(())
    }

    fn completeness(&self, state: &OrderState) -> Completeness {
        match state {
            OrderState::Order(order) => Completeness::from_mask(order.seen(), WHOLE),
            OrderState::Malformed(_) => Completeness::new(1.0),
        }
    }

    fn close(&mut self, _key: Bytes, state: OrderState, reason: EmitReason) -> Loaded {
        match state {
            OrderState::Malformed(bad) => Loaded::Malformed(bad),
            OrderState::Order(order) if reason.is_whole() => Loaded::Complete(order),
            OrderState::Order(order) => Loaded::Partial { order, reason: reason.as_str() },
        }
    }

    fn state_bytes(&self, state: &OrderState) -> usize {
        let text = match state {
            OrderState::Order(order) => order.id.len() + order.items.len() * size_of::<Item>() + 64,
            OrderState::Malformed(bad) => bad.text.len(),
        };
        size_of::<OrderState>() + text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(part: Part) -> Envelope<Line> {
        Envelope::new(Line::Part(part)).with_event_time(Instant::from_millis(7))
    }

    #[test]
    fn an_order_is_whole_with_its_header_every_item_its_payment_and_its_shipment() {
        let mut orders = Orders;
        let mut state = orders.open(&Bytes::from_static(b"O1"));
        let steps = [
            Part::Header { customer: "C1".into(), items: 2 },
            Part::Item { sku: "A".into(), qty: 2, cents: 100 },
            Part::Payment { cents: 350, method: "card".into() },
            Part::Shipment { carrier: "dhl".into() },
        ];
        for step in steps {
            orders.merge(&mut state, part(step)).unwrap();
            assert!(!orders.completeness(&state).is_complete());
        }
        let OrderState::Order(order) = &state else { panic!("an order") };
        assert_eq!(order.missing(), "1 items");
        orders.merge(&mut state, part(Part::Item { sku: "B".into(), qty: 1, cents: 150 })).unwrap();
        assert!(orders.completeness(&state).is_complete());
        let Loaded::Complete(order) = orders.close(Bytes::new(), state, EmitReason::Complete) else { panic!() };
        assert_eq!((order.total_cents(), order.events, order.missing()), (350, Some((7, 7)), String::new()));
    }

    #[test]
    fn a_partial_order_keeps_its_reason_and_names_what_is_missing() {
        let mut orders = Orders;
        let mut state = orders.open(&Bytes::from_static(b"O2"));
        orders.merge(&mut state, part(Part::Shipment { carrier: "ups".into() })).unwrap();
        let Loaded::Partial { order, reason } = orders.close(Bytes::new(), state, EmitReason::Lifetime) else {
            panic!("partial")
        };
        assert_eq!((order.missing().as_str(), reason), ("header, items, payment", "lifetime"));
    }
}
