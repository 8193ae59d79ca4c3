//! Replays the committed fuzz corpus (`fuzz/corpus/TARGET/`) and every input a fuzzer ever
//! crashed on (`fuzz/regressions/TARGET/`) through the fuzz targets' own checks, in every
//! `cargo test`: no cargo-fuzz, no nightly. A file that panics here is a regression. Its own
//! binary: the response targets start a process-wide loopback server and client.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod checks;

use std::path::Path;

/// A target's check of one input.
type Check = fn(&[u8]);

const TARGETS: &[(&str, Check)] = &[
    ("timestamp", checks::timestamp),
    ("phone", checks::phone),
    ("ledger_url", checks::ledger_url),
    ("response", checks::response),
    ("response_json", checks::response_json),
    ("values", checks::values),
];

/// Every file of `dir`, sorted (a missing directory has none).
fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn the_committed_corpus_and_every_past_crash_pass() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut replayed = 0;
    for (target, check) in TARGETS {
        let corpus = inputs(&fuzz.join("corpus").join(target));
        assert!(!corpus.is_empty(), "no corpus committed for {target}");
        for file in corpus
            .iter()
            .chain(&inputs(&fuzz.join("regressions").join(target)))
        {
            let data = std::fs::read(file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{target}: {} panics", file.display());
            replayed += 1;
        }
    }
    assert!(replayed >= TARGETS.len());
}
