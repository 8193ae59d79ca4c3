#![no_main]
//! See [`pandadoc_fuzz::response_json`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| pandadoc_fuzz::response_json(data));
