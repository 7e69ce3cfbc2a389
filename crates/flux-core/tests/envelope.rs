//! The envelope's setters: each sets its own field and keeps the others.

use bytes::Bytes;
use flux_core::{Cost, Envelope, Instant, TraceContext};

#[test]
fn each_setter_keeps_what_the_others_set() {
    let trace = TraceContext::new(7, 9);
    let cost = Cost { bytes: 3, cpu_hint_ns: 4 };
    let envelope = Envelope::new("ada")
        .with_header("origin", Bytes::from_static(b"import"))
        .with_key(Bytes::from_static(b"k1"))
        .with_event_time(Instant::from_secs(5))
        .with_trace(trace)
        .with_cost(cost)
        .with_sequence(12)
        .with_key(Bytes::from_static(b"k2"));
    let meta = envelope.meta();
    assert_eq!(meta.sequence, 12);
    assert_eq!(meta.key.as_deref(), Some(&b"k2"[..]), "the later key replaces the earlier");
    assert_eq!(meta.event_time, Some(Instant::from_secs(5)));
    assert_eq!(meta.trace, trace);
    assert_eq!(meta.headers.get("origin").map(|v| &v[..]), Some(&b"import"[..]));
    assert_eq!(envelope.cost(), cost);
    assert_eq!(*envelope.payload(), "ada");
}
