use flux::prelude::*;

/// Rows of `orders` (`id,region,total`) joined with rows of `lines` (`id,region,sku`)
/// on (id, region), files without a header row: each record should hold one order and at least one line.
pub fn join(
    orders: impl AsRef<std::path::Path>,
    lines: impl AsRef<std::path::Path>,
) -> Outputs<Assembled<Sourced<Bytes>>> {
    let both = FanIn::as_ready().source(FramedSource::lines(orders)?).source(FramedSource::lines(lines)?);
    let pipeline = Pipeline::from_source(both)
        .key_by(|row: &Sourced<Bytes>| {
            let commas = row.item.iter().enumerate().filter(|&(_, &b)| b == b',');
            row.item.slice(..commas.map(|(i, _)| i).nth(1).unwrap_or(row.item.len()))
        })
        .accumulate(
            parts(|row: &Sourced<Bytes>| if row.source == 0 { "order" } else { "line" })
                .once("order")
                .at_least_once("line"),
            Policy::default(),
        );
    Ok(flux::run_to_vec(pipeline)?)
}
