//! Phone numbers as the ledger keys them: canonical E.164.

use crate::sync::StoreError;

/// The canonical E.164 form of `input`: `+` and 2 to 15 digits, the first not `0`.
///
/// The usual formatting is accepted and dropped: spaces, dashes, dots and parentheses, e.g.
/// `+1 (415) 555-0100` or `+1.415.555.0100`. Anything else (no leading `+`, letters, too few or
/// too many digits) is [`StoreError::InvalidInput`], naming the value.
///
/// ```
/// use pandadoc_api_ext::ledger::canonical_phone;
///
/// assert_eq!(canonical_phone("+1 (415) 555-0100").unwrap(), "+14155550100");
/// assert!(canonical_phone("415 555 0100").is_err()); // no country code: ambiguous
/// ```
pub fn canonical_phone(input: &str) -> Result<String, StoreError> {
    let invalid = |why: &str| StoreError::InvalidInput {
        message: format!("not a phone number in E.164 form (+ and country code): {input:?}: {why}"),
    };
    let rest = input
        .trim()
        .strip_prefix('+')
        .ok_or_else(|| invalid("it does not start with +"))?;
    let mut canonical = String::with_capacity(16);
    canonical.push('+');
    for c in rest.chars() {
        match c {
            '0'..='9' => canonical.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err(invalid(&format!("unexpected {c:?}"))),
        }
    }
    let digits = canonical.len() - 1;
    if !(2..=15).contains(&digits) {
        return Err(invalid(&format!("{digits} digits, E.164 has 2 to 15")));
    }
    if canonical.as_bytes()[1] == b'0' {
        return Err(invalid("a country code never starts with 0"));
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::canonical_phone;

    #[test]
    fn usual_formatting_is_dropped_and_anything_else_is_named() {
        for ok in [
            "+14155550100",
            "+1 415 555 0100",
            "+1-415-555-0100",
            "+1.415.555.0100",
            "+1 (415) 555-0100",
            " +14155550100 ",
        ] {
            assert_eq!(canonical_phone(ok).unwrap(), "+14155550100", "{ok}");
        }
        for bad in [
            "14155550100",
            "+1 415 555 0100 ext 2",
            "+",
            "+1",
            "+1234567890123456",
            "+0123456",
            "+1/415",
            "",
        ] {
            let err = canonical_phone(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }
}
