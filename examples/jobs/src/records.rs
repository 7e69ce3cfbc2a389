use flux::prelude::*;

/// How many records of each kind: a record is `field: value` lines ended by a blank line,
/// a line that starts with a space continues the field above it.
pub fn count_by_kind(path: impl AsRef<std::path::Path>) -> Outputs<Keyed<u64>> {
    let pipeline = Pipeline::from_source(FramedSource::lines(path)?)
        .key_by(|_| "records")
        .accumulate(collect().ends_when(|line: &Bytes| line.is_empty()), Policy::default())
        .filter(|record| record.value.iter().any(|line| !line.is_empty())) // runs of blank lines
        .try_map(|record| -> Result<Bytes, BoxError> {
            let mut lines = record.value.into_iter().skip_while(|line| !line.starts_with(b"kind:"));
            let first = lines.next().ok_or("a record without a kind")?.slice(5..);
            let more = lines.take_while(|line| line.first() == Some(&b' '));
            let words: Vec<Bytes> = std::iter::once(first).chain(more).collect();
            let words: Vec<&[u8]> = words.iter().map(|word| word.trim_ascii()).filter(|w| !w.is_empty()).collect();
            Ok(Bytes::from(words.join(&b' ')))
        })
        .key_by(|kind| kind.clone())
        .accumulate(count(), Policy::default());
    Ok(flux::run_to_vec(pipeline)?)
}
