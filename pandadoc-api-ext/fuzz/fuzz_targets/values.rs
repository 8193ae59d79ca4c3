#![no_main]
//! See [`pandadoc_fuzz::values`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| pandadoc_fuzz::values(data));
