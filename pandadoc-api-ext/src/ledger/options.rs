//! Where a ledger's tables live ([`LedgerOptions`]), checked so that no configuration value
//! reaches SQL unquoted.

use crate::sync::StoreError;

/// Where a ledger's tables live: their names start with `prefix` (default `pandadoc_`), and
/// on PostgreSQL they are in `schema` (default `public`). Both must be SQL identifiers
/// (ASCII letters, digits, `_`, not starting with a digit, at most 40 bytes), so that no
/// configuration value can inject SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerOptions {
    prefix: String,
    schema: String,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        Self {
            prefix: "pandadoc_".into(),
            schema: "public".into(),
        }
    }
}

impl LedgerOptions {
    /// Tables named `<prefix>sms_numbers`, `<prefix>sms_history`, ...
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The PostgreSQL schema (created if missing); SQLite has none and ignores it.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The checked names of the tables, `schema.` included where `qualified`.
    pub(crate) fn tables(&self, qualified: bool) -> Result<Tables, StoreError> {
        identifier("table prefix", &self.prefix, true)?;
        identifier("schema", &self.schema, false)?;
        let at = |name: &str| {
            if qualified {
                format!("\"{}\".\"{}{name}\"", self.schema, self.prefix)
            } else {
                format!("\"{}{name}\"", self.prefix)
            }
        };
        Ok(Tables {
            meta: at("sms_meta"),
            numbers: at("sms_numbers"),
            history: at("sms_history"),
            checkpoint: at("sms_checkpoint"),
            rejected: at("sms_rejected"),
            lease: at("sms_lease"),
            schema: format!("\"{}\"", self.schema),
            lease_key: lease_key(&format!("{}.{}", self.schema, self.prefix)),
        })
    }
}

/// Quoted table names, ready to be put into SQL.
#[derive(Clone, Debug)]
pub(crate) struct Tables {
    pub meta: String,
    pub numbers: String,
    pub history: String,
    pub checkpoint: String,
    pub rejected: String,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub lease: String,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub schema: String,
    /// The PostgreSQL advisory-lock key that serializes this ledger's schema changes.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub lease_key: i64,
}

fn identifier(what: &str, value: &str, may_be_empty: bool) -> Result<(), StoreError> {
    let ok = value.len() <= 40
        && (may_be_empty || !value.is_empty())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !value.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidInput {
            message: format!(
                "the ledger {what} {value:?} is not an SQL identifier (letters, digits and _, \
                 not starting with a digit, at most 40)"
            ),
        })
    }
}

/// FNV-1a: a stable 64-bit key from the ledger's name (the same on every replica and release).
fn lease_key(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "pandadoc-ledger:".bytes().chain(name.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_configuration_value_reaches_sql_unchecked() {
        assert!(LedgerOptions::default().tables(true).is_ok());
        assert!(LedgerOptions::default().prefix("").tables(false).is_ok());
        for bad in ["x\"; DROP TABLE t; --", "a b", "1abc", "é", &"a".repeat(41)] {
            let err = LedgerOptions::default()
                .prefix(bad)
                .tables(false)
                .unwrap_err();
            assert!(matches!(err, StoreError::InvalidInput { .. }), "{bad}");
            assert!(
                LedgerOptions::default().schema(bad).tables(true).is_err(),
                "{bad}"
            );
        }
        assert!(LedgerOptions::default().schema("").tables(true).is_err());
    }
}
