//! The contract suite on the vendored spec. A test binary of its own (`harness = false`) so
//! that its report line is always in the output of `cargo test`.
//!
//! `cargo test -p pandadoc-contract-tests -- --ignored live` runs the live checks instead
//! (with `PANDADOC_API_KEY`; skipped without it).

use std::process::ExitCode;

use pandadoc_contract_tests::{Spec, live, suite};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return ExitCode::SUCCESS; // no libtest-style tests to list
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if args
        .iter()
        .any(|a| a == "--ignored" || a == "--include-ignored")
    {
        if filters.is_empty() || filters.iter().any(|f| "live".contains(f.as_str())) {
            return runtime.block_on(live::run(&Spec::vendored()));
        }
        return ExitCode::SUCCESS;
    }
    if !filters.is_empty() && !filters.iter().any(|f| "contract".contains(f.as_str())) {
        return ExitCode::SUCCESS;
    }
    let report = runtime.block_on(suite::run(&Spec::vendored()));
    for note in &report.notes {
        println!("note: {note}");
    }
    for failure in &report.failures {
        println!("FAILED: {failure}");
    }
    println!("{}", report.line());
    let checks =
        report.responses * 2 + report.request_checks + report.schema_cases + report.bad_responses;
    println!(
        "contract: {} passed, {} failed",
        checks.saturating_sub(report.failures.len()),
        report.failures.len()
    );
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
