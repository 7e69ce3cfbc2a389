//! House rules, checked as ordinary tests of the workspace's manifests.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

/// Crates that may depend on several Flux crates: applications and
/// harnesses, and the facade that gathers the parts behind one dependency
/// (no other library: docs/ARCHITECTURE.md says why).
const APPLICATIONS: &[&str] = &["flux-benches", "flux-cli", "flux-jobs", "xtask"];
const FACADE: &str = "flux";
/// Connector crates (a file format, a database) and the siblings each may
/// depend on besides flux-core: the parts of Flux a connector builds on,
/// never an engine or the planner.
const CONNECTORS: &[(&str, &[&str])] =
    &[("flux-formats", &["flux-memory"]), ("flux-sqlite", &["flux-sql"]), ("flux-postgres", &["flux-sql"])];

/// The workspace's packages, as `cargo metadata` describes them.
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(crate::cmd::root())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// Normal (non-dev, non-build) dependencies of every workspace package.
fn normal_dependencies() -> BTreeMap<String, Vec<String>> {
    let metadata = metadata();
    let mut deps = BTreeMap::new();
    for package in metadata["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("name").to_owned();
        let normal = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().expect("dependency name").to_owned())
            .collect();
        deps.insert(name, normal);
    }
    deps
}

#[test]
fn no_library_crate_depends_on_a_sibling() {
    for (name, deps) in normal_dependencies() {
        if APPLICATIONS.contains(&name.as_str()) || name == FACADE {
            continue;
        }
        let allowed = CONNECTORS.iter().find(|(connector, _)| *connector == name).map_or(&[][..], |(_, parts)| *parts);
        let siblings: Vec<_> = deps
            .iter()
            .filter(|d| d.starts_with("flux-") && *d != "flux-core" && !allowed.contains(&d.as_str()))
            .collect();
        assert!(siblings.is_empty(), "{name} depends on sibling crate(s) {siblings:?}; only flux-core is allowed");
    }
}

#[test]
fn flux_core_depends_on_no_runtime() {
    let deps = normal_dependencies();
    let core = deps.get("flux-core").expect("flux-core is a workspace member");
    let (optional, required): (Vec<&String>, Vec<&String>) =
        core.iter().partition(|name| optional_dependencies("flux-core").contains(*name));
    assert_eq!(required, ["bytes"], "flux-core must stay runtime-free: only `bytes` is required");
    assert_eq!(optional, ["serde"], "and only `serde` (its `serde` feature) may be added, by choice");
}

/// The optional normal dependencies of `package`.
fn optional_dependencies(package: &str) -> Vec<String> {
    let metadata = metadata();
    let packages = metadata["packages"].as_array().expect("packages");
    let found = packages.iter().find(|p| p["name"] == package).expect("a workspace member");
    let deps = found["dependencies"].as_array().expect("dependencies");
    deps.iter()
        .filter(|d| d["kind"].is_null() && d["optional"] == true)
        .map(|d| d["name"].as_str().expect("dependency name").to_owned())
        .collect()
}

#[test]
fn every_crate_of_the_map_exists() {
    let deps = normal_dependencies();
    for name in [
        "flux-core",
        "flux-memory",
        "flux-backpressure",
        "flux-accumulate",
        "flux-plan",
        "flux-engine-sync",
        "flux-engine-async",
        "flux-observe",
        "flux-test",
        "flux-fan-in",
        "flux-steps",
        "flux-formats",
        FACADE,
    ] {
        assert!(deps.contains_key(name), "{name} is missing from the workspace");
    }
}
