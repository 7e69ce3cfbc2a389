//! Each job stays as short as promised: non-blank lines of its file, doc
//! comments and `use` lines included.

fn non_blank_lines(file: &str) -> usize {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file);
    std::fs::read_to_string(&path).unwrap().lines().filter(|line| !line.trim().is_empty()).count()
}

#[test]
fn each_job_fits_in_its_line_budget() {
    for (file, budget) in [("sum.rs", 15), ("records.rs", 25), ("join.rs", 30), ("windows.rs", 25)] {
        let lines = non_blank_lines(file);
        assert!(lines <= budget, "{file} has {lines} non-blank lines, over its budget of {budget}");
    }
}
