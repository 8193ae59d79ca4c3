//! Tests of the drift gate and spec bumps; the published releases in `releases.rs` (each
//! normalization rule is tested beside it, in `normalize/`).

use std::path::Path;

use serde_json::{Value, json};

use crate::codegen::generate::{self, Drift};

/// The xtask's own fixture spec. Tests of the xtask never read facts of the vendored spec: a
/// bump to any release must leave them green.
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/widgets-1.0.0.json"
);

fn fixture() -> Value {
    serde_json::from_slice(&std::fs::read(FIXTURE).unwrap()).unwrap()
}

/// A scratch workspace whose vendored spec is the fixture, with its client generated (and the
/// raw client's manifest and changelog beside it, as `generate` and `bump` update them).
fn scratch_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = crate::paths::workspace_root();
    for (from, to) in [
        (std::path::PathBuf::from(FIXTURE), generate::VENDORED_SPEC),
        (root.join(generate::MANIFEST), generate::MANIFEST),
        (
            root.join(crate::commands::bump::CHANGELOG),
            crate::commands::bump::CHANGELOG,
        ),
    ] {
        let to = dir.path().join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("pandadoc-api/src")).unwrap();
    std::fs::create_dir_all(dir.path().join("tests/src")).unwrap();
    let spec = generate::load(&dir.path().join(generate::VENDORED_SPEC)).unwrap();
    let code = generate::render(&spec, generate::VENDORED_SPEC).unwrap();
    crate::commands::generate::write_generated(dir.path(), &code).unwrap();
    dir
}

fn drift_of(root: &Path) -> Drift {
    crate::commands::generate::workspace_drift(root).unwrap().2
}

#[test]
fn check_passes_on_the_committed_file() {
    assert!(matches!(
        drift_of(&crate::paths::workspace_root()),
        Drift::Same
    ));
    assert!(matches!(drift_of(scratch_workspace().path()), Drift::Same));
}

#[test]
fn check_fails_on_a_stale_file_with_a_diff() {
    let dir = scratch_workspace();
    let file = dir.path().join(generate::GENERATED_FILE);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("pub struct WidgetList ", "pub struct WidgetListStale ");
    std::fs::write(&file, text).unwrap();
    match drift_of(dir.path()) {
        Drift::Differs(diff) => {
            assert!(
                diff.contains("-") && diff.contains("WidgetListStale"),
                "{diff}"
            );
            assert!(diff.lines().count() <= 61, "the diff is bounded");
        }
        _ => panic!("a stale file must be reported"),
    }
}

#[test]
fn check_fails_on_a_missing_file() {
    let dir = scratch_workspace();
    std::fs::remove_file(dir.path().join(generate::GENERATED_FILE)).unwrap();
    assert!(matches!(drift_of(dir.path()), Drift::Missing));
}

#[test]
fn check_fails_when_the_manifest_lacks_a_dependency_the_code_uses() {
    let dir = scratch_workspace();
    let spec_path = dir.path().join(generate::VENDORED_SPEC);
    let mut spec = fixture();
    spec["components"]["schemas"]["WidgetList"]["properties"]["owner"] =
        json!({ "type": "string", "format": "uuid" });
    std::fs::write(&spec_path, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
    let code = crate::commands::generate::workspace_drift(dir.path())
        .unwrap()
        .1;
    std::fs::write(dir.path().join(generate::GENERATED_FILE), &code.client).unwrap();
    std::fs::write(dir.path().join(generate::HARNESS_FILE), &code.harness).unwrap();
    let Drift::Differs(note) = drift_of(dir.path()) else {
        panic!("the manifest must follow the code")
    };
    assert!(
        note.contains(generate::MANIFEST) && note.contains("uuid"),
        "{note}"
    );
    crate::commands::generate::write_generated(dir.path(), &code).unwrap();
    assert!(matches!(drift_of(dir.path()), Drift::Same));
    let manifest = std::fs::read_to_string(dir.path().join(generate::MANIFEST)).unwrap();
    assert!(
        manifest.contains("uuid = { workspace = true }"),
        "{manifest}"
    );
}

#[test]
fn check_fails_after_any_change_to_the_spec() {
    // Even a change that alters no type (a summary) changes the sha256 in the header.
    let dir = scratch_workspace();
    let spec_path = dir.path().join(generate::VENDORED_SPEC);
    let text = std::fs::read_to_string(&spec_path).unwrap();
    std::fs::write(&spec_path, text.replace("Recent widgets", "Latest widgets")).unwrap();
    let Drift::Differs(diff) = drift_of(dir.path()) else {
        panic!("a changed spec must be reported")
    };
    assert!(diff.contains("SHA-256"), "{diff}");

    // And a change of a type shows in the code.
    let mut json = fixture();
    json.pointer_mut(
        "/components/schemas/WidgetList/properties/results/items/properties/state/enum",
    )
    .unwrap()
    .as_array_mut()
    .unwrap()
    .push(json!("broken"));
    std::fs::write(&spec_path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let Drift::Differs(diff) = drift_of(dir.path()) else {
        panic!("a changed enum must be reported")
    };
    assert!(diff.contains("Broken"), "{diff}");
}

#[test]
fn output_is_deterministic() {
    let root = crate::paths::workspace_root();
    for path in [root.join(generate::VENDORED_SPEC), FIXTURE.into()] {
        let spec = generate::load(&path).unwrap();
        let a = generate::render(&spec, generate::VENDORED_SPEC).unwrap();
        let b = generate::render(&spec, generate::VENDORED_SPEC).unwrap();
        assert_eq!(a, b);
        for text in [&a.client, &a.harness] {
            assert!(text.starts_with("// @generated"));
            assert!(
                text.contains(&spec.sha256)
                    && text.contains(&format!("// Version:    {}\n", spec.version)),
                "the header names the spec's version and hash"
            );
        }
    }
}

#[test]
fn bad_specs_get_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let err = generate::load(&missing).err().unwrap().to_string();
    assert!(
        err.contains("cannot read spec") && err.contains("nope.json"),
        "{err}"
    );

    let invalid = dir.path().join("invalid.json");
    std::fs::write(&invalid, "{ not json").unwrap();
    let err = format!("{:#}", generate::load(&invalid).err().unwrap());
    assert!(
        err.contains("not valid JSON") && err.contains("invalid.json"),
        "{err}"
    );

    let swagger = dir.path().join("swagger.json");
    std::fs::write(
        &swagger,
        r#"{"swagger": "2.0", "info": {"title": "t", "version": "1"}}"#,
    )
    .unwrap();
    let err = generate::load(&swagger).err().unwrap().to_string();
    assert!(
        err.contains("not an OpenAPI 3.0.x document") && err.contains("swagger.json"),
        "{err}"
    );
}

mod releases;

// ---- spec bumps ---------------------------------------------------------------------------------

/// The fixture with one change of each kind a release can bring.
fn bumped_spec() -> Value {
    let mut spec = fixture();
    spec["info"]["version"] = json!("1.1.0");
    let op = &mut spec["paths"]["/v1/widgets"]["get"];
    let params = op["parameters"].as_array_mut().unwrap();
    params.retain(|p| p["name"] != "order");
    params.push(json!({ "name": "limit", "in": "query", "schema": { "type": "integer" } }));
    op["responses"]["404"] = json!({ "description": "Not found" });
    let item = &mut spec["components"]["schemas"]["WidgetList"]["properties"]["results"]["items"];
    item["properties"]["state"]["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("broken"));
    item["properties"]
        .as_object_mut()
        .unwrap()
        .remove("changed");
    item["properties"]["color"] = json!({ "type": "string" });
    spec["paths"]["/v1/widgets/{id}"] = json!({ "get": {
        "operationId": "getWidget",
        "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
        "responses": { "200": { "description": "ok", "content": { "application/json": { "schema": { "type": "object" } } } } }
    }});
    spec
}

#[test]
fn the_change_report_lists_each_change_marked_breaking_or_not() {
    let (old, new) = (fixture(), bumped_spec());
    let changes = crate::spec_diff::changes(&old, &new);
    let lines: Vec<(bool, &str)> = changes
        .iter()
        .map(|c| (c.breaking, c.what.as_str()))
        .collect();
    let item = "schema `WidgetList`.results[]";
    let expected = [
        (
            false,
            "operation `getWidget` (GET /v1/widgets/{id}) added".to_string(),
        ),
        (
            true,
            "`listWidgets`: query parameter `order` removed".to_string(),
        ),
        (
            false,
            "`listWidgets`: optional query parameter `limit` added".to_string(),
        ),
        (false, "`listWidgets`: response 404 added".to_string()),
        (false, format!("{item}.state: enum value \"broken\" added")),
        (true, format!("{item}: property `changed` removed")),
        (false, format!("{item}: optional property `color` added")),
    ];
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    for (breaking, what) in &expected {
        assert!(
            lines.contains(&(*breaking, what.as_str())),
            "missing {what:?} in {lines:#?}"
        );
    }
    let report = crate::spec_diff::report(&old, &new, &changes);
    assert!(
        report.starts_with("## Widgets API 1.0.0 → 1.1.0"),
        "{report}"
    );
    assert!(
        report.contains("### Breaking")
            && report.contains("- **breaking**: `listWidgets`: query parameter `order` removed"),
        "{report}"
    );
}

#[test]
fn bump_replaces_the_spec_byte_for_byte_regenerates_and_writes_the_report() {
    let dir = scratch_workspace();
    let new_path = dir.path().join("new.json");
    let text = serde_json::to_string_pretty(&bumped_spec()).unwrap() + "\n";
    std::fs::write(&new_path, &text).unwrap();
    let (report, report_path) =
        crate::commands::bump::bump_workspace(dir.path(), &new_path).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join(generate::VENDORED_SPEC)).unwrap(),
        text.as_bytes()
    );
    let generated = std::fs::read_to_string(dir.path().join(generate::GENERATED_FILE)).unwrap();
    let sha = generate::load(&new_path).unwrap().sha256;
    assert!(generated.contains("// Version:    1.1.0") && generated.contains(&sha));
    assert!(
        generated.contains("pub const SPEC_VERSION: &str = \"1.1.0\";")
            && generated.contains("fn get_widget")
    );
    assert_eq!(std::fs::read_to_string(&report_path).unwrap(), report);
    assert!(
        report_path.ends_with("1.0.0-to-1.1.0.md"),
        "{}",
        report_path.display()
    );
    let changelog =
        std::fs::read_to_string(dir.path().join(crate::commands::bump::CHANGELOG)).unwrap();
    let at = changelog
        .find(&report)
        .expect("the report is in the changelog");
    assert!(
        changelog[..at].starts_with("# Changelog") && !changelog[..at].contains("\n## "),
        "newest first, under the title:\n{changelog}"
    );
    assert!(
        matches!(drift_of(dir.path()), Drift::Same),
        "the workspace is consistent after a bump"
    );
}

#[test]
fn a_bad_spec_bumps_nothing() {
    let dir = scratch_workspace();
    let before = std::fs::read(dir.path().join(generate::VENDORED_SPEC)).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"openapi\": \"3.1.0\", \"info\": {\"title\": \"t\", \"version\": \"9\"}}",
    )
    .unwrap();
    let err = crate::commands::bump::bump_workspace(dir.path(), &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an OpenAPI 3.0.x document"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join(generate::VENDORED_SPEC)).unwrap(),
        before
    );
}
