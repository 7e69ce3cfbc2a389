//! How the kernel's values that are not plain data serialize (behind the
//! `serde` feature): a stage error as its stage, position and chain of
//! causes, read back as the same chain of messages; headers as a map; a
//! side reason as its text.

use core::fmt;
use std::error::Error;

use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::{Headers, Position, SideReason, StageError, StageId};

/// A stage error as data: the cause's message first, then each source's.
#[derive(Serialize, Deserialize)]
#[serde(rename = "StageError")]
struct StageErrorData {
    stage: StageId,
    position: Position,
    causes: Vec<String>,
}

impl Serialize for StageError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut causes = Vec::new();
        let mut next: Option<&(dyn Error + 'static)> = Some(self.cause());
        while let Some(cause) = next {
            causes.push(cause.to_string());
            next = cause.source();
        }
        StageErrorData { stage: self.stage().clone(), position: self.position(), causes }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StageError {
    /// The error read back has the same stage, position and messages; its
    /// causes are the messages, chained as they were.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let data = StageErrorData::deserialize(deserializer)?;
        let cause = data
            .causes
            .into_iter()
            .rev()
            .fold(None, |source, message| Some(Described { message, source: source.map(Box::new) }));
        let cause = cause.unwrap_or(Described { message: String::new(), source: None });
        Ok(StageError::new(data.stage, data.position, cause))
    }
}

/// A cause read back from its message, with the rest of its chain.
#[derive(Debug)]
struct Described {
    message: String,
    source: Option<Box<Described>>,
}

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for Described {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|source| source as &(dyn Error + 'static))
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, &value[..])?;
        }
        map.end()
    }
}

impl Serialize for SideReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
