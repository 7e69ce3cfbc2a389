//! What the kill tests share: the command they kill, and where.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// `flux demo` loading `feed`, quietly, its database in `dir`.
pub(crate) fn flux_demo(dir: &Path, feed: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flux"));
    command
        .args(["demo", "--quiet", "--input"])
        .arg(feed)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// `kills` kill points, as shares of the load (rising, so that each
/// restart gets further), each with a delay that lands it inside a
/// transaction rather than just after one: from a fixed seed, so each run
/// of the test kills at the same points of the data, however fast the
/// machine is today.
pub(crate) fn kill_points(kills: usize) -> Vec<(f64, Duration)> {
    let mut state = 0x5EED_u64;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as f64 / f64::from(u32::MAX >> 1)
    };
    let mut points: Vec<(f64, Duration)> =
        (0..kills).map(|_| (0.02 + 0.9 * next(), Duration::from_millis((next() * 40.0) as u64))).collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}
