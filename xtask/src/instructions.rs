//! `cargo xtask bench NAME --instructions`: after the timed comparison,
//! the instructions each side executes per item, counted by callgrind.
//!
//! Instruction counts repeat exactly for the same binary and input however
//! loaded the machine is, so a change's cost shows where a ratio cannot.
//! Both sides are run once each by the `instructions` binary, and so is
//! the bench's data generation alone, whose count is taken out of both.

use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{Failed, cargo, root};

/// Comparisons with a hand loop the `instructions` binary can run: the
/// Flux side's mode, the hand loop's, and the data generation's.
const SIDES: &[(&str, &str, &str, &str)] = &[("accumulate", "accumulate", "accumulate_hand", "accumulate_data")];

/// Builds the `instructions` binary and prints, for `name` (or every
/// comparison that has a hand side when `None`), one line:
/// `NAME instructions_per_item flux=F hand=H ratio=R`.
#[allow(clippy::print_stdout, reason = "the counts are this command's output, as the comparison lines are")]
pub(crate) fn run(name: Option<&str>) -> Result<(), Failed> {
    let wanted: Vec<_> = SIDES.iter().filter(|(n, ..)| name.is_none_or(|f| f == *n)).collect();
    if wanted.is_empty() {
        eprintln!("no instruction count for `{}`: only {:?}", name.unwrap_or(""), SIDES.iter().map(|s| s.0));
        return Ok(());
    }
    cargo(&["build", "--quiet", "--profile", "bench", "-p", "flux-benches", "--bin", "instructions"], &[])?;
    for (name, flux, hand, data) in wanted {
        let (flux, items) = count(flux)?;
        let (hand, _) = count(hand)?;
        let (data, _) = count(data)?;
        let per = |total: u64| total.saturating_sub(data) as f64 / items.max(1) as f64;
        println!(
            "{name} instructions_per_item flux={:.1} hand={:.1} ratio={:.2} data_generation={data} items={items}",
            per(flux),
            per(hand),
            per(flux) / per(hand).max(f64::MIN_POSITIVE),
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
