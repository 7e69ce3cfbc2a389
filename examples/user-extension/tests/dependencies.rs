//! Kernel question 3: the extensions need `flux-core` and nothing else of Flux.

/// The names listed under one `[section]` of this crate's manifest.
fn dependencies_in(section: &str) -> Vec<String> {
    let manifest = include_str!("../Cargo.toml");
    let header = format!("[{section}]");
    manifest
        .lines()
        .skip_while(|line| line.trim() != header)
        .skip(1)
        .take_while(|line| !line.starts_with('['))
        .filter_map(|line| line.split(['.', '=']).next())
        .map(str::trim)
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_library_depends_on_flux_core_and_bytes_only() {
    assert_eq!(dependencies_in("dependencies"), ["flux-core", "bytes"]);
}

#[test]
fn engines_planner_steps_accumulate_and_the_test_kit_are_only_for_running_the_tests() {
    assert_eq!(
        dependencies_in("dev-dependencies"),
        ["flux-steps", "flux-test", "flux-plan", "flux-engine-sync", "flux-accumulate"]
    );
}
