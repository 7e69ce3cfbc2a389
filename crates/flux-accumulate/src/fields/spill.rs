//! A group's fields as bytes, for the spill tier: every value exactly as
//! it was (integers as integers, floats bit for bit), which JSON text does
//! not promise for floats.

use serde_json::{Number, Value};

use super::Fields;
use super::state::FieldsState;

/// The first byte of each encoded value.
mod tag {
    pub(super) const NULL: u8 = 0;
    pub(super) const FALSE: u8 = 1;
    pub(super) const TRUE: u8 = 2;
    pub(super) const I64: u8 = 3;
    pub(super) const U64: u8 = 4;
    pub(super) const F64: u8 = 5;
    pub(super) const STRING: u8 = 6;
    pub(super) const ARRAY: u8 = 7;
    pub(super) const OBJECT: u8 = 8;
}

/// Writes `state`: its byte estimate, its fields, its windows' ends.
pub(super) fn encode(state: &FieldsState, out: &mut Vec<u8>) {
    out.extend_from_slice(&(state.bytes as u64).to_le_bytes());
    object(&state.fields, out);
    object(&state.ends, out);
}

/// Reads a state [`encode`] wrote.
pub(super) fn decode(mut input: &[u8]) -> Result<FieldsState, String> {
    let input = &mut input;
    let bytes = usize::try_from(u64::from_le_bytes(take(input, 8)?.try_into().map_err(|_| "truncated")?))
        .map_err(|_| "a byte count past usize")?;
    let fields = read_object(input)?;
    let ends = read_object(input)?;
    if !input.is_empty() {
        return Err(format!("{} bytes after the state", input.len()));
    }
    Ok(FieldsState { fields, ends, bytes })
}

fn object(fields: &Fields, out: &mut Vec<u8>) {
    length(fields.len(), out);
    for (name, value) in fields {
        text(name, out);
        write(value, out);
    }
}

fn length(n: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(&(n as u64).to_le_bytes());
}

fn text(text: &str, out: &mut Vec<u8>) {
    length(text.len(), out);
    out.extend_from_slice(text.as_bytes());
}

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(tag::NULL),
        Value::Bool(false) => out.push(tag::FALSE),
        Value::Bool(true) => out.push(tag::TRUE),
        Value::Number(n) => {
            let (tag, bits) = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => (tag::I64, i.to_le_bytes()),
                (None, Some(u), _) => (tag::U64, u.to_le_bytes()),
                (None, None, f) => (tag::F64, f.unwrap_or(0.0).to_le_bytes()),
            };
            out.push(tag);
            out.extend_from_slice(&bits);
        }
        Value::String(s) => {
            out.push(tag::STRING);
            text(s, out);
        }
        Value::Array(items) => {
            out.push(tag::ARRAY);
            length(items.len(), out);
            items.iter().for_each(|item| write(item, out));
        }
        Value::Object(fields) => {
            out.push(tag::OBJECT);
            object(fields, out);
        }
    }
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if input.len() < n {
        return Err("truncated".to_owned());
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn eight(input: &mut &[u8]) -> Result<[u8; 8], String> {
    take(input, 8)?.try_into().map_err(|_| "truncated".to_owned())
}

fn read_length(input: &mut &[u8]) -> Result<usize, String> {
    let n = u64::from_le_bytes(eight(input)?);
    // A length can never exceed the bytes left: a corrupt one fails here,
    // before anything is allocated for it.
    usize::try_from(n).ok().filter(|&n| n <= input.len()).ok_or_else(|| format!("a length of {n} past the input"))
}

fn read_text(input: &mut &[u8]) -> Result<String, String> {
    let n = read_length(input)?;
    String::from_utf8(take(input, n)?.to_vec()).map_err(|_| "a string that is not UTF-8".to_owned())
}

fn read_object(input: &mut &[u8]) -> Result<Fields, String> {
    let n = read_length(input)?;
    let mut fields = Fields::new();
    for _ in 0..n {
        let name = read_text(input)?;
        fields.insert(name, read(input)?);
    }
    Ok(fields)
}

fn read(input: &mut &[u8]) -> Result<Value, String> {
    let tag = take(input, 1)?[0];
    Ok(match tag {
        tag::NULL => Value::Null,
        tag::FALSE => Value::Bool(false),
        tag::TRUE => Value::Bool(true),
        tag::I64 => Value::from(i64::from_le_bytes(eight(input)?)),
        tag::U64 => Value::from(u64::from_le_bytes(eight(input)?)),
        tag::F64 => {
            let f = f64::from_le_bytes(eight(input)?);
            Value::Number(Number::from_f64(f).ok_or("a float that is not finite")?)
        }
        tag::STRING => Value::String(read_text(input)?),
        tag::ARRAY => {
            let n = read_length(input)?;
            (0..n).map(|_| read(input)).collect::<Result<Vec<_>, _>>().map(Value::Array)?
        }
        tag::OBJECT => Value::Object(read_object(input)?),
        other => return Err(format!("unknown value tag {other}")),
    })
}
