//! `cargo xtask ci`: the one command CI runs.

use crate::cmd::{Failed, cargo, ensure_tool, root};

/// Format, the dependency rules (cargo-deny), the kernel's size (its
/// ceiling and its doc lines), lints, tests (unit, integration, doc, house rules, optional
/// features), rustdoc with warnings denied, a small run of the demo, and the
/// loom models of the crates that have them.
pub(crate) fn run() -> Result<(), Failed> {
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    // Licenses, banned crates and sources, as `deny.toml` says. cargo-deny
    // comes from crates.io, where its maintainers publish it (a few
    // minutes to build on two cores, once per machine).
    ensure_tool("deny", &["cargo", "install", "cargo-deny", "--locked"])?;
    cargo(&["deny", "check", "licenses", "bans", "sources"], &[])?;
    crate::lines::check_kernel_size()?;
    cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"], &[])?;
    // Benches are compiled by clippy above; running them belongs to `xtask bench`.
    // nextest runs each test in its own process under the time limits of
    // `.config/nextest.toml`: a test that hangs fails instead of stalling CI.
    cargo(&["nextest", "run", "--workspace", "--locked", "--lib", "--bins", "--tests", "--examples"], &[])?;
    cargo(&["test", "--workspace", "--locked", "--doc"], &[])?;
    // Optional features are off in the workspace run; test each one too.
    cargo(
        &["clippy", "--locked", "-p", "flux-memory", "--all-targets", "--features", "tokio", "--", "-D", "warnings"],
        &[],
    )?;
    cargo(&["nextest", "run", "--locked", "-p", "flux-memory", "--features", "tokio"], &[])?;
    cargo(&["test", "--locked", "-p", "flux-memory", "--features", "tokio", "--doc"], &[])?;
    cargo(
        &[
            "clippy",
            "--locked",
            "-p",
            "flux-accumulate",
            "--all-targets",
            "--features",
            "fields",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    // The rest of flux-accumulate's tests ran above: only what the feature adds.
    cargo(&["nextest", "run", "--locked", "-p", "flux-accumulate", "--features", "fields", "--test", "fields"], &[])?;
    cargo(&["test", "--locked", "-p", "flux-accumulate", "--features", "fields", "--doc"], &[])?;
    cargo(
        &["doc", "--locked", "-p", "flux-accumulate", "--features", "fields", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    cargo(
        &[
            "clippy",
            "--locked",
            "-p",
            "flux",
            "--all-targets",
            "--features",
            "async,observe,serde,fields",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    cargo(&["nextest", "run", "--locked", "-p", "flux", "--features", "async,observe,serde,fields"], &[])?;
    cargo(&["test", "--locked", "-p", "flux", "--features", "async,observe,serde,fields", "--doc"], &[])?;
    cargo(&["doc", "--workspace", "--no-deps", "--locked"], &[("RUSTDOCFLAGS", "-D warnings")])?;
    // The README's first command, small: `flux demo` fails if its run's
    // ledger does not balance or its input pool leaks.
    cargo(
        &[
            "run",
            "--locked",
            "-p",
            "flux-cli",
            "--bin",
            "flux",
            "--",
            "demo",
            "--records",
            "2000",
            "--quiet",
            "--fresh",
            "--dir",
            "target/demo-smoke",
        ],
        &[],
    )?;
    loom_models()
}

/// Crates with `tests/loom.rs` run it under `--cfg loom` in a target
/// directory of its own, so the cfg change does not rebuild the main one.
fn loom_models() -> Result<(), Failed> {
    let target = root().join("target").join("loom");
    let target = target.to_string_lossy();
    for entry in std::fs::read_dir(root().join("crates")).into_iter().flatten().flatten() {
        if entry.path().join("tests").join("loom.rs").exists() {
            let name = entry.file_name().to_string_lossy().into_owned();
            cargo(
                &["test", "--locked", "--release", "-p", &name, "--test", "loom"],
                &[("RUSTFLAGS", "--cfg loom"), ("CARGO_TARGET_DIR", &target), ("LOOM_MAX_PREEMPTIONS", "3")],
            )?;
        }
    }
    Ok(())
}
