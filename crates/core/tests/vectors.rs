//! Runs the shared evaluation vectors (`tests/vectors/evaluation.json`)
//! and reports every failing case by name.

use switchyard_core::vectors::{EVALUATION_VECTORS_PATH, VectorFile};

fn load() -> VectorFile {
    let json = std::fs::read_to_string(EVALUATION_VECTORS_PATH)
        .unwrap_or_else(|e| panic!("reading {EVALUATION_VECTORS_PATH}: {e}"));
    VectorFile::from_json(&json).expect("vectors parse")
}

#[test]
fn golden_buckets_pin_the_hash() {
    let file = load();
    assert!(file.buckets.len() >= 20, "need at least 20 golden buckets");
    let failures: Vec<String> =
        file.buckets.iter().filter_map(|b| switchyard_core::vectors::check_bucket(b).err()).collect();
    assert!(failures.is_empty(), "{} bucket failure(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_evaluation_case_passes() {
    let file = load();
    assert!(file.cases.len() >= 200, "need at least 200 cases, have {}", file.cases.len());
    let failures: Vec<String> = file
        .cases
        .iter()
        .filter_map(|c| switchyard_core::vectors::run_case(c).err().map(|e| format!("[{}] {e}", c.name)))
        .collect();
    assert!(failures.is_empty(), "{} of {} case(s) failed:\n{}", failures.len(), file.cases.len(), failures.join("\n"));
}

#[test]
fn case_names_are_unique() {
    let file = load();
    let mut names: Vec<&str> = file.cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate case names");
}

#[test]
fn a_wrong_expectation_is_reported_by_name() {
    let file = load();
    let mut case = file.cases[0].clone();
    case.expected.variant = Some("no-such-variant".into());
    let err = switchyard_core::vectors::run_case(&case).unwrap_err();
    assert!(err.contains("no-such-variant"), "{err}");
    let mut file = file;
    file.cases.truncate(1);
    file.cases[0] = case;
    let failures = file.run_all();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].starts_with(&file.cases[0].name), "{}", failures[0]);
}
