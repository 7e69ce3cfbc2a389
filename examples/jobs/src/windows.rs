use std::time::Duration;

use flux::prelude::*;

/// Events of a `unix_seconds,key` file counted per (minute, key), as (minute, key, count);
/// an event whose minute the watermark (10 s behind the newest event) has passed goes to the side output.
pub fn per_minute(path: impl AsRef<std::path::Path>) -> Outputs<(u64, Bytes, u64)> {
    let minute = Watermark {
        window: Duration::from_secs(60),
        out_of_orderness: Duration::from_secs(10),
        allowed_lateness: Duration::ZERO,
    };
    let pipeline = Pipeline::from_source(FramedSource::lines(path)?)
        .try_map(|line: Bytes| -> Result<(u64, Bytes), BoxError> {
            let comma = line.iter().position(|&b| b == b',').ok_or("no comma")?;
            Ok((std::str::from_utf8(&line[..comma])?.parse()?, line.slice(comma + 1..)))
        })
        .event_time(|(seconds, _)| flux::Instant::from_secs(*seconds))
        .key_by(|(_, key)| key.clone())
        .accumulate(count(), Policy::builder().watermark(minute).build()?)
        .map_with_meta(|counted, meta| {
            (meta.event_time.map_or(0, |at| at.as_nanos() / 60_000_000_000), counted.key, counted.value)
        });
    Ok(flux::run_to_vec(pipeline)?)
}
