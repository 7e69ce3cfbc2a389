//! A caught panic keeps what it said.

use std::any::Any;

use flux_core::Panicked;

#[test]
fn a_panic_message_is_read_from_either_text_payload() {
    let from_str: Box<dyn Any + Send> = Box::new("a literal");
    let from_string: Box<dyn Any + Send> = Box::new(String::from("formatted 7"));
    let other: Box<dyn Any + Send> = Box::new(7_u32);
    assert_eq!(Panicked::from_payload(&*from_str).message(), "a literal");
    assert_eq!(Panicked::from_payload(&*from_string).message(), "formatted 7");
    assert_eq!(Panicked::from_payload(&*other).message(), "a panic with a payload that is not text");
    assert_eq!(Panicked::from_payload(&*from_str).to_string(), "user code panicked: a literal");
}
