//! `cargo xtask bench NAME --instructions`: after the timed comparison,
//! the instructions each side executes per item, counted by callgrind.
//!
//! Instruction counts repeat exactly for the same binary and input however
//! loaded the machine is, so a change's cost shows where a ratio cannot.
//! Both sides are run once each by the `instructions` binary, and so is
//! the bench's data generation alone, whose count is taken out of both.
//! So is each comparison's floor: a hand loop fed the items as Flux's
//! source makes them, which tells what the items' own shape costs before
//! any engine work.

use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{Failed, cargo, root};

/// A comparison with a hand loop the `instructions` binary can run.
#[derive(Debug)]
struct Sides {
    /// The bench's name, as `cargo xtask bench NAME` takes it.
    name: &'static str,
    /// The Flux side's mode.
    flux: &'static str,
    /// The hand loop's mode.
    hand: &'static str,
    /// The data generation's mode, taken out of every other count.
    data: &'static str,
    /// The hand loop fed what Flux's source makes.
    floor: &'static str,
}

const SIDES: &[Sides] = &[
    Sides {
        name: "accumulate",
        flux: "accumulate",
        hand: "accumulate_hand",
        data: "accumulate_data",
        // The same merges fed the same envelope batches the source makes.
        floor: "accumulate_floor",
    },
    Sides {
        // The LZ4 job of `async`, on the sync engine: both segments on one
        // thread, so the count is the work the tokio engine splits.
        name: "async",
        flux: "lz4_sync",
        hand: "lz4_hand",
        data: "lz4_data",
        // The hand loop split in two with its lines crossing as envelopes.
        floor: "lz4_hand_envelopes",
    },
];

/// Builds the `instructions` binary and prints, for `name` (or every
/// comparison that has a hand side when `None`), one line:
/// `NAME instructions_per_item flux=F hand=H ratio=R ... floor=L floor_ratio=Q`.
#[allow(clippy::print_stdout, reason = "the counts are this command's output, as the comparison lines are")]
pub(crate) fn run(name: Option<&str>) -> Result<(), Failed> {
    let wanted: Vec<_> = SIDES.iter().filter(|sides| name.is_none_or(|f| f == sides.name)).collect();
    if wanted.is_empty() {
        let known: Vec<_> = SIDES.iter().map(|sides| sides.name).collect();
        eprintln!("no instruction count for `{}`: only {known:?}", name.unwrap_or(""));
        return Ok(());
    }
    cargo(&["build", "--quiet", "--profile", "bench", "-p", "flux-benches", "--bin", "instructions"], &[])?;
    for sides in wanted {
        let (flux, items) = count(sides.flux)?;
        let (hand, _) = count(sides.hand)?;
        let (data, _) = count(sides.data)?;
        let (floor, _) = count(sides.floor)?;
        let per = |total: u64| total.saturating_sub(data) as f64 / items.max(1) as f64;
        let to_hand = |total: u64| per(total) / per(hand).max(f64::MIN_POSITIVE);
        println!(
            "{} instructions_per_item flux={:.1} hand={:.1} ratio={:.2} data_generation={data} items={items} floor={:.1} floor_ratio={:.2}",
            sides.name,
            per(flux),
            per(hand),
            to_hand(flux),
            per(floor),
            to_hand(floor),
        );
    }
    Ok(())
}

/// The instructions callgrind counts for one run of `mode`, and the items
/// the run says it processed.
fn count(mode: &str) -> Result<(u64, u64), Failed> {
    let dir = target_dir();
    let out = dir.join("flux-bench").join(format!("callgrind.{mode}.out"));
    let _ = std::fs::create_dir_all(dir.join("flux-bench"));
    let what = format!("valgrind --tool=callgrind {mode}");
    eprintln!("\n==> {what}");
    let run = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(dir.join("release").join("instructions"))
        .arg(mode)
        .output()
        .map_err(|_| Failed::check(format!("{what} (is valgrind installed?)")))?;
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    let refs = stderr.lines().find_map(|line| Some(line.split_once("refs:")?.1.trim().replace(',', "")));
    let items = stdout.lines().find_map(|line| line.strip_prefix("items ")?.trim().parse().ok());
    match (run.status.success(), refs.and_then(|r| r.parse().ok()), items) {
        (true, Some(refs), Some(items)) => Ok((refs, items)),
        _ => Err(Failed::check(what)),
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}
