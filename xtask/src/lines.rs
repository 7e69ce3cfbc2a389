//! How big the kernel is: code lines and doc lines of `flux-core`.
//!
//! A code line is a non-blank line that is not a comment; a doc line is a
//! `///` or `//!` line. Unit-test modules (from `#[cfg(test)]` to the end
//! of their file) are not counted.

use std::path::Path;

/// Code and doc lines of the Rust files under `dir`.
pub(crate) fn count(dir: &Path) -> (usize, usize) {
    let mut totals = (0, 0);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let (code, doc) = if path.is_dir() {
            count(&path)
        } else if path.extension().is_some_and(|e| e == "rs") {
            count_text(&std::fs::read_to_string(&path).unwrap_or_default())
        } else {
            (0, 0)
        };
        totals = (totals.0 + code, totals.1 + doc);
    }
    totals
}

fn count_text(text: &str) -> (usize, usize) {
    let (mut code, mut doc) = (0, 0);
    for line in text.lines().map(str::trim) {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        if line.starts_with("///") || line.starts_with("//!") {
            doc += 1;
        } else if !line.is_empty() && !line.starts_with("//") {
            code += 1;
        }
    }
    (code, doc)
}

/// Prints the kernel's size against its budget.
pub(crate) fn print_kernel_size() {
    let (code, doc) = count(&crate::cmd::root().join("crates/flux-core/src"));
    eprintln!("flux-core: {code} code lines (budget 1,600), {doc} doc lines (at least as many as code)");
}

#[cfg(test)]
mod tests {
    use super::count_text;

    #[test]
    fn doc_comments_and_code_are_told_apart_and_tests_are_left_out() {
        let text = "//! crate doc\n\n/// item doc\nfn f() {} // trailing\n// a comment\n  let x = 1;\n#[cfg(test)]\nmod tests { fn g() {} }\n";
        assert_eq!(count_text(text), (2, 2));
    }
}
