//! Whether input ends inside a quoted field: the one thing csv-core does
//! not say (it ends such a record quietly at end of input).

/// Where a byte-by-byte reading of a record is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field: a quote here opens a quoted field.
    FieldStart,
    /// In an unquoted field (or after a quoted part): quotes are literal.
    Unquoted,
    /// Inside quotes.
    Quoted,
    /// A quote inside quotes: the next byte says whether it was doubled.
    QuoteInQuoted,
}

/// Whether `record` (the input's unterminated last record) ends inside a
/// quoted field, read as csv-core reads it: a quote opens a quoted field
/// only at the field's start, and a doubled quote inside one is a quote.
pub(crate) fn ends_inside_quotes(record: &[u8], delimiter: u8, quote: u8) -> bool {
    let mut state = State::FieldStart;
    for &byte in record {
        state = match (state, byte) {
            (State::FieldStart, b) if b == quote => State::Quoted,
            (State::Quoted, b) if b == quote => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, b) if b == quote => State::Quoted,
            (_, b) if b == delimiter => State::FieldStart,
            _ => State::Unquoted,
        };
    }
    state == State::Quoted
}

#[cfg(test)]
mod tests {
    use super::ends_inside_quotes;

    #[test]
    fn only_a_quote_opened_at_a_field_start_and_not_closed_is_open() {
        for (record, open) in [
            (&b"a,\"b"[..], true),
            (b"a,\"b\"\"", true),
            (b"a,\"b\"\"c\"", false),
            (b"a,b\"c", false),
            (b"\"a\"b,\"c", true),
            (b"\"a,b\"", false),
            (b"\"", true),
        ] {
            assert_eq!(ends_inside_quotes(record, b',', b'"'), open, "{}", String::from_utf8_lossy(record));
        }
    }
}
