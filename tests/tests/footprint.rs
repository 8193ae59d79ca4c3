//! Users of the library never compile the generator, nor OpenSSL, nor what only the contract
//! tests use (`schemars`, behind `pandadoc-api`'s `schemars` feature). (`syn` is there, as for
//! any crate using serde's derive macros; the generator's own crates are not.)

use std::process::Command;

#[test]
fn the_ext_crate_depends_on_no_generator_and_no_openssl() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "-p",
            "pandadoc-api-ext",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(&root)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"pandadoc-api")
            && crates.contains(&"reqwest")
            && crates.contains(&"rustls"),
        "{tree}"
    );
    for banned in [
        "progenitor",
        "progenitor-impl",
        "typify",
        "typify-impl",
        "prettyplease",
        "openapiv3",
        "openssl",
        "openssl-sys",
        "native-tls",
        "hyper-tls",
        "schemars",
        "schemars_derive",
        "tracing-attributes",
    ] {
        assert!(
            !crates.contains(&banned),
            "{banned} is in the dependency tree of pandadoc-api-ext:\n{tree}"
        );
    }
}
