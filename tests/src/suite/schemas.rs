//! Schemas: random instances decode and round-trip; generated JSON Schemas match the spec's.

use super::*;

/// Random valid instances of each response schema decode and round-trip; with unknown fields
/// and unknown enum values they still decode and keep the unknown values; the generated types'
/// JSON Schema matches the spec's.
pub(super) fn schemas(spec: &Spec, op: &Operation, report: &mut Report) {
    for response in &op.responses {
        let Some(schema) = &response.schema else {
            continue;
        };
        let label = format!("{} {}", op.id, response.status);
        let seed = op
            .id
            .bytes()
            .chain(response.status.bytes())
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        for (i, case) in instances(spec, schema, seed, 32).into_iter().enumerate() {
            report.schema_cases += 1;
            let bytes = serde_json::to_vec(&case.with_extras).unwrap();
            match harness::decode(&op.id, response.is_success(), &bytes) {
                None => report.failures.push(format!("{label}: no harness entry")),
                Some(Err(e)) => report.failures.push(format!(
                    "{label} case {i} (seed {seed}): does not decode: {e}\n  {}",
                    case.with_extras
                )),
                Some(Ok(decoded)) => {
                    if let Err(path) = includes(&decoded, &case.expected) {
                        report.failures.push(format!(
                            "{label} case {i} (seed {seed}): lost or changed {path}"
                        ));
                    }
                }
            }
        }
        report.schema_cases += 1;
        let Some(generated) = harness::schema(&op.id, response.is_success()) else {
            continue;
        };
        let generated = serde_json::to_value(generated).unwrap();
        let diff = compare_schemas(spec, schema, &generated);
        for narrowing in diff.narrowing {
            report.failures.push(format!(
                "{label}: generated type is narrower than the spec: {narrowing}"
            ));
        }
        for widening in diff.widening {
            report.notes.push(format!("{label}: {widening}"));
        }
    }
}
