//! The contract suite on the vendored spec, as tests the runner knows: `coverage` and one test
//! per operation (its `operationId`), so `cargo test -p pandadoc-contract-tests --test contract
//! -- listRecentSmsOptOuts` runs one operation and `-- --list` lists them (libtest-mimic). The
//! report lines (`contract: ...`) follow the results, summed over the tests that ran.
//!
//! `cargo test -p pandadoc-contract-tests -- --ignored live` runs the live checks instead
//! (with `PANDADOC_API_KEY`; skipped without it).

use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Failed, Trial};
use pandadoc_contract_tests::suite::{self, Report};
use pandadoc_contract_tests::{Spec, live};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// `report`'s failures as the test's failure, its counts added to `total`.
fn conclude(report: Report, total: &Mutex<Report>) -> Result<(), Failed> {
    let failures = report.failures.clone();
    total.lock().expect("not poisoned").merge(report);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let spec = Arc::new(Spec::vendored());
    let total = Arc::new(Mutex::new(Report::default()));

    let mut trials = Vec::new();
    {
        let (spec, total) = (spec.clone(), total.clone());
        trials.push(Trial::test("coverage", move || {
            conclude(suite::coverage(&spec), &total)
        }));
    }
    for op in spec.operations() {
        let (spec, total) = (spec.clone(), total.clone());
        trials.push(Trial::test(op.id.clone(), move || {
            conclude(runtime().block_on(suite::run_operation(&spec, &op)), &total)
        }));
    }
    {
        let spec = spec.clone();
        trials.push(
            Trial::test("live", move || {
                if runtime().block_on(live::run(&spec)) == std::process::ExitCode::SUCCESS {
                    Ok(())
                } else {
                    Err("the live checks failed".into())
                }
            })
            .with_ignored_flag(true),
        );
    }

    let listing = args.list;
    let conclusion = libtest_mimic::run(&args, trials);
    if !listing {
        let report = total.lock().expect("not poisoned");
        for note in &report.notes {
            println!("note: {note}");
        }
        for failure in &report.failures {
            println!("FAILED: {failure}");
        }
        println!("{}", report.line());
        println!(
            "contract: {} passed, {} failed",
            report.passed(),
            report.failures.len()
        );
    }
    conclusion.exit();
}
