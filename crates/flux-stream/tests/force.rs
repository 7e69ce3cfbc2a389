//! An accumulator's force handle wakes an idle pipeline on either engine:
//! with no input arriving, the open groups still go out at once.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use flux_accumulate::{Accumulate, AccumulateExt, Keyed, Policy, REASON_HEADER, count};
use flux_core::{Envelope, Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_stream::{OutputStream, Stream, StreamSource, output};
use tokio::sync::mpsc;

/// The receiving half of a channel, as a `Stream` that stays pending
/// until something is sent or the sender is dropped.
struct Channel(mpsc::UnboundedReceiver<&'static str>);

impl Stream for Channel {
    type Item = &'static str;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<&'static str>> {
        self.0.poll_recv(cx)
    }
}

async fn next<T: 'static>(records: &mut OutputStream<T>) -> Option<Envelope<T>> {
    let next = poll_fn(|cx| Pin::new(&mut *records).poll_next(cx));
    tokio::time::timeout(Duration::from_secs(10), next).await.expect("a record within ten seconds")
}

fn reason<T>(record: &Envelope<T>) -> String {
    String::from_utf8(record.meta().headers.get(REASON_HEADER).unwrap().to_vec()).unwrap()
}

/// Which engine runs the pipeline: the tokio engine on the runtime, or the
/// sync engine on a thread of its own.
#[derive(Clone, Copy, Debug)]
enum Engine {
    Tokio,
    Sync,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_from_the_handle_wakes_an_idle_pipeline_and_completes_every_group() {
    for engine in [Engine::Tokio, Engine::Sync] {
        forced_while_idle(engine).await;
    }
}

async fn forced_while_idle(engine: Engine) {
    let (send, receive) = mpsc::unbounded_channel();
    let mut layer = Accumulate::new(count(), Policy::default());
    let force = layer.force_handle();
    let stats = layer.stats();
    let (sink, mut records) = output::<Keyed<u64>>(16);
    let pipeline = Pipeline::from_source(StreamSource::new(Channel(receive)))
        .key_by(|word: &&'static str| *word)
        .accumulate_with(layer)
        .sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let consumed = match engine {
        Engine::Tokio => {
            let run = tokio::spawn(async move { AsyncEngine::new().run(&plan, pipeline).await });
            Run::Tokio(run)
        }
        Engine::Sync => Run::Sync(std::thread::spawn(move || SyncEngine::new().run(&plan, pipeline))),
    };

    send.send("a").unwrap();
    send.send("b").unwrap();
    // Wait until the stage holds both groups: the input is idle from here.
    while stats.pressure().pending_keys < 2 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    force.complete_all();
    let first = next(&mut records).await.unwrap();
    let second = next(&mut records).await.unwrap();
    let got = [&first, &second].map(|r| (r.payload().key.clone(), r.payload().value, reason(r)));
    let forced = [("a".into(), 1, "forced".to_owned()), ("b".into(), 1, "forced".to_owned())];
    assert_eq!(got, forced, "{engine:?}");

    send.send("a").unwrap();
    drop(send);
    let last = next(&mut records).await.unwrap();
    assert_eq!((last.payload().value, reason(&last)), (1, "end-of-stream".to_owned()), "{engine:?}");
    assert!(next(&mut records).await.is_none(), "the run ends with its input");
    let consumed = match consumed {
        Run::Tokio(run) => run.await.unwrap().unwrap().row("sink").unwrap().counts.consumed,
        Run::Sync(run) => run.join().unwrap().unwrap().row("sink").unwrap().counts.consumed,
    };
    assert_eq!(consumed, 3, "{engine:?}");
}

/// A run in progress on either engine.
enum Run {
    Tokio(tokio::task::JoinHandle<Result<flux_engine_async::RunReport, flux_engine_async::RunError>>),
    Sync(std::thread::JoinHandle<Result<flux_engine_sync::RunReport, flux_engine_sync::RunError>>),
}
