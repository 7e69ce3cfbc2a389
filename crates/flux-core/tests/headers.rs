//! Headers: a shared list, copied only when it changes while shared.

use bytes::Bytes;
use flux_core::Headers;

#[test]
fn a_clone_shares_the_list_and_an_insert_copies_it() {
    let mut first = Headers::new();
    first.insert("a", Bytes::from_static(b"1"));
    let mut second = first.clone();
    second.insert("a", Bytes::from_static(b"2"));
    second.insert("b", Bytes::from_static(b"3"));
    assert_eq!(first.get("a").unwrap(), &b"1"[..], "the original keeps its value");
    assert_eq!(first.len(), 1);
    assert_eq!(second.get("a").unwrap(), &b"2"[..]);
    assert_eq!(second.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["a", "b"]);
    let mut alone = second.clone();
    drop(second);
    alone.insert("b", Bytes::from_static(b"4"));
    assert_eq!(alone.get("b").unwrap(), &b"4"[..], "a list no longer shared changes in place");
}

#[test]
fn collected_headers_keep_the_last_value_of_a_name() {
    let pairs = [("a", Bytes::from_static(b"1")), ("b", Bytes::from_static(b"2")), ("a", Bytes::from_static(b"3"))];
    let headers: Headers = pairs.into_iter().collect();
    assert_eq!(headers.len(), 2);
    assert_eq!(headers.get("a").unwrap(), &b"3"[..]);
    assert!(Headers::from_iter([]).is_empty());
    assert_eq!(Headers::from_iter([]), Headers::new(), "no pairs is the empty, unallocated list");
}
