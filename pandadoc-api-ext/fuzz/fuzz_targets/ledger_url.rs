#![no_main]
//! See [`pandadoc_fuzz::ledger_url`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| pandadoc_fuzz::ledger_url(data));
