use flux::prelude::*;

/// Each key of a `key,amount` file with the sum of its amounts, in first-seen order.
pub fn sum_per_key(path: impl AsRef<std::path::Path>) -> Outputs<Keyed<u64>> {
    let pipeline = Pipeline::from_source(FramedSource::lines(path)?)
        .try_map(|line: Bytes| -> Result<(Bytes, u64), BoxError> {
            let comma = line.iter().position(|&b| b == b',').ok_or("no comma")?;
            Ok((line.slice(..comma), std::str::from_utf8(&line[comma + 1..])?.trim().parse()?))
        })
        .key_by(|(key, _)| key.clone())
        .map(|(_, amount)| amount)
        .accumulate(fold(0, |sum: &mut u64, amount| *sum += amount), Policy::default());
    Ok(flux::run_to_vec(pipeline)?)
}
