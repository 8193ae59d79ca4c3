#![no_main]
//! See [`pandadoc_fuzz::response`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| pandadoc_fuzz::response(data));
