//! Table and column names, checked once: plain identifiers only, so they
//! never need quoting and never carry SQL in.

use core::fmt;
use std::error::Error;

/// A table or column name that is not a plain identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadName {
    /// The name given.
    pub name: String,
}

impl fmt::Display for BadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a table or column name: use letters, digits and `_`, not first a digit", self.name)
    }
}

impl Error for BadName {}

/// `name`, owned, if it is a plain identifier: a letter or `_` first, then
/// letters, digits or `_`.
///
/// # Errors
///
/// Any other name, empty included.
///
/// ```
/// use flux_sql::identifier;
///
/// assert_eq!(identifier("total_cents").as_deref(), Ok("total_cents"));
/// assert!(identifier("orders; DROP TABLE x").is_err());
/// ```
pub fn identifier(name: &str) -> Result<String, BadName> {
    let mut chars = name.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(name.to_owned())
    } else {
        Err(BadName { name: name.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_letter_or_underscore_then_letters_digits_or_underscores_is_a_name() {
        for good in ["a", "_", "orders", "_2024_orders", "Total9"] {
            assert_eq!(identifier(good), Ok(good.to_owned()), "{good}");
        }
        for bad in ["", "9lives", "a-b", "a b", "naïve", "x;", "\"q\""] {
            assert_eq!(identifier(bad), Err(BadName { name: bad.to_owned() }), "{bad:?}");
        }
    }
}
