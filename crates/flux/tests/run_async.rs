//! `flux::run_async`: the same pipeline value as `flux::run`, on tokio.
#![cfg(feature = "async")]

use flux::prelude::*;

/// Sums per key, with a dead letter for every line that is not a number.
fn sums(lines: &[&str], out: &VecSink<Keyed<u64>>) -> impl flux::Runnable {
    let owned: Vec<String> = lines.iter().map(|line| (*line).to_owned()).collect();
    Pipeline::from_source(IterSource::new(owned))
        .try_map(|line: String| -> Result<(String, u64), BoxError> {
            let (key, amount) = line.split_once(',').ok_or("no comma")?;
            Ok((key.to_owned(), amount.parse()?))
        })
        .key_by(|(key, _)| key.clone())
        .map(|(_, amount)| amount)
        .accumulate(fold(0, |sum: &mut u64, amount| *sum += amount), Policy::default())
        .sink(out.clone())
}

#[tokio::test(flavor = "current_thread")]
async fn the_same_pipeline_gives_the_same_records_and_ledger_from_run_and_run_async() {
    let lines = ["a,1", "b,2", "oops", "a,3", "c,x", "b,4"];
    let (on_sync, on_tokio) = (VecSink::new(), VecSink::new());
    let sync = flux::run(sums(&lines, &on_sync)).unwrap();
    let tokio = flux::run_async(sums(&lines, &on_tokio)).await.unwrap();
    assert_eq!(on_tokio.payloads(), on_sync.payloads());
    assert_eq!(on_sync.payloads(), [Keyed { key: "a".into(), value: 4 }, Keyed { key: "b".into(), value: 6 }]);
    assert_eq!(tokio.ledger, sync.ledger);
    let sequences = |letters: &[flux::ErrorEnvelope]| letters.iter().map(|l| l.meta.sequence).collect::<Vec<_>>();
    assert_eq!(sequences(&tokio.dead_letters), [2, 4]);
    assert_eq!(sequences(&tokio.dead_letters), sequences(&sync.dead_letters));
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_async_run_carries_its_report_through_the_facade_error() {
    let pipeline = Pipeline::from_source(IterSource::new(0..10u32))
        .map(|n| if n == 4 { panic!("four") } else { n })
        .named("check")
        .sink(VecSink::new());
    let error = flux::run_async(pipeline).await.unwrap_err();
    assert_eq!(error.to_string(), "stage `check` stopped the run at sequence 4");
    assert_eq!(error.report().unwrap().dead_letters[0].meta.sequence, 4);
}
