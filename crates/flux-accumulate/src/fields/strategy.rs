//! What each strategy makes of one incoming value: a step, checked against
//! the field's merged value before anything is written.

use core::cmp::Ordering;

use serde_json::{Number, Value};

/// How one field's values merge into the record.
///
/// A value that is `null` is a value for [`First`](Strategy::First),
/// [`Last`](Strategy::Last) and [`Append`](Strategy::Append) (they keep
/// what arrived); every other strategy skips it, as if the field were
/// missing from that fragment. A field no fragment gave a kept value is
/// left out of the record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strategy {
    /// A number is added to the field's number (as [`Sum`](Strategy::Sum));
    /// any other value keeps the field's first value. The default for
    /// fields not named: Vector's defaults, decided value by value.
    ByType,
    /// The first value that arrived, `null` included.
    First,
    /// The last value that arrived, `null` included.
    Last,
    /// The last value that was not `null`.
    LastNonNull,
    /// The numbers added up: integers stay integers while the sum fits a
    /// JSON integer (`i64` or `u64`), past that a merge error; a float
    /// makes the sum a float (a sum that is no longer finite is a merge
    /// error). Any other value is a merge error.
    Sum,
    /// The smallest value: numbers compared as numbers, or strings
    /// compared byte by byte (RFC 3339 timestamps in one zone order by
    /// time). The first of equal values is kept. A value of another kind
    /// than the field's is a merge error.
    Min,
    /// The largest value, compared as [`Min`](Strategy::Min) compares.
    Max,
    /// The strings joined with the separator. Any other value is a merge
    /// error.
    Concat(String),
    /// Every value, in arrival order, in one array: an array's elements
    /// are appended one by one, any other value as one element.
    Append,
    /// [`Append`](Strategy::Append) without repeats: each value (an
    /// array's elements one by one) kept once, in first-seen order;
    /// `null` elements are skipped too.
    FlatUnique,
    /// The first value that arrived stays in the field, the last one goes
    /// into a field named `<field>_end` (which replaces an incoming field
    /// of that name). Values are kept as they arrived (strings or numbers,
    /// not parsed): first and last by arrival, not the earliest and the
    /// latest. Any other value is a merge error.
    TimestampWindow,
}

/// What a merge does to one field, decided before any field is written.
#[derive(Debug)]
pub(super) enum Step {
    /// Nothing changes.
    Keep,
    /// The field's value becomes this one.
    Set(Value),
    /// This text (separator first) goes on the end of the field's string.
    Concat(String),
    /// These values go on the end of the field's array.
    Extend(Vec<Value>),
    /// These values go on the end of the field's array, each if not there.
    Unique(Vec<Value>),
    /// The window's first value if it has none, and its last value.
    Window(Value),
}

/// Why a value could not be merged, without the field's name.
pub(super) type Refusal = String;

impl Strategy {
    /// The step that merges `value` into the field's merged value
    /// `current` (`None`: no kept value yet). Reads, never writes.
    pub(super) fn step(&self, current: Option<&Value>, value: Value) -> Result<Step, Refusal> {
        if value.is_null() && !matches!(self, Strategy::ByType | Strategy::First | Strategy::Last | Strategy::Append) {
            return Ok(Step::Keep);
        }
        match self {
            Strategy::ByType => Ok(match (current, &value) {
                (None, _) => Step::Set(value),
                (Some(Value::Number(sum)), Value::Number(n)) => Step::Set(Value::Number(add(sum, n)?)),
                (Some(_), _) => Step::Keep,
            }),
            Strategy::First => Ok(if current.is_none() { Step::Set(value) } else { Step::Keep }),
            Strategy::Last | Strategy::LastNonNull => Ok(Step::Set(value)),
            Strategy::Sum => match (current, &value) {
                (None, Value::Number(_)) => Ok(Step::Set(value)),
                (Some(Value::Number(sum)), Value::Number(n)) => Ok(Step::Set(Value::Number(add(sum, n)?))),
                (_, other) => Err(format!("sum takes numbers, found {}", kind(other))),
            },
            Strategy::Min => extreme("min", Ordering::Less, current, value),
            Strategy::Max => extreme("max", Ordering::Greater, current, value),
            Strategy::Concat(separator) => match (current, value) {
                (None, text @ Value::String(_)) => Ok(Step::Set(text)),
                (Some(_), Value::String(text)) => {
                    let mut piece = String::with_capacity(separator.len() + text.len());
                    piece.push_str(separator);
                    piece.push_str(&text);
                    Ok(Step::Concat(piece))
                }
                (_, other) => Err(format!("concat takes strings, found {}", kind(&other))),
            },
            Strategy::Append => Ok(Step::Extend(elements(value))),
            Strategy::FlatUnique => Ok(Step::Unique(elements(value))),
            Strategy::TimestampWindow => match value {
                Value::String(_) | Value::Number(_) => Ok(Step::Window(value)),
                other => Err(format!("timestamp_window takes strings or numbers, found {}", kind(&other))),
            },
        }
    }

    /// The strategy's name as the builder method that sets it.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Strategy::ByType => "by_type",
            Strategy::First => "first",
            Strategy::Last => "last",
            Strategy::LastNonNull => "last_non_null",
            Strategy::Sum => "sum",
            Strategy::Min => "min",
            Strategy::Max => "max",
            Strategy::Concat(_) => "concat",
            Strategy::Append => "append",
            Strategy::FlatUnique => "flat_unique",
            Strategy::TimestampWindow => "timestamp_window",
        }
    }
}

/// An array's elements, or the value alone.
fn elements(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        single => vec![single],
    }
}

/// `a + b`: integers while the sum fits `i64` or `u64`, else a float if
/// either is one; a sum past those is refused.
fn add(a: &Number, b: &Number) -> Result<Number, Refusal> {
    let overflow = || format!("sum overflows: {a} + {b}");
    if let (Some(x), Some(y)) = (integer(a), integer(b)) {
        // Both fit in i128 with room: the addition cannot overflow there.
        let sum = x + y;
        return match i64::try_from(sum) {
            Ok(small) => Ok(small.into()),
            Err(_) => u64::try_from(sum).map(Number::from).map_err(|_| overflow()),
        };
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => Number::from_f64(x + y).ok_or_else(overflow),
        _ => Err(overflow()),
    }
}

/// The number as an integer, if it is one.
fn integer(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// `min` or `max`: `value` replaces `current` when it compares `wins`.
fn extreme(name: &str, wins: Ordering, current: Option<&Value>, value: Value) -> Result<Step, Refusal> {
    let order = match (current, &value) {
        (None, Value::Number(_) | Value::String(_)) => return Ok(Step::Set(value)),
        (Some(Value::Number(held)), Value::Number(new)) => compare(new, held),
        (Some(Value::String(held)), Value::String(new)) => new.as_str().cmp(held.as_str()),
        (Some(held @ (Value::Number(_) | Value::String(_))), new @ (Value::Number(_) | Value::String(_))) => {
            return Err(format!("{name} compares {}s, found {}", bare(held), kind(new)));
        }
        (_, other) => return Err(format!("{name} takes numbers or strings, found {}", kind(other))),
    };
    Ok(if order == wins { Step::Set(value) } else { Step::Keep })
}

/// Two JSON numbers compared: integers exactly, a float against anything
/// as `f64` (a JSON number is never NaN).
fn compare(a: &Number, b: &Number) -> Ordering {
    match (integer(a), integer(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

/// The value's JSON type, with its article, for messages.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The value's JSON type without its article.
fn bare(value: &Value) -> &'static str {
    kind(value).rsplit(' ').next().unwrap_or("value")
}
