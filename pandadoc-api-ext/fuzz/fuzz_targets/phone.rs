#![no_main]
//! See [`pandadoc_fuzz::phone`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| pandadoc_fuzz::phone(data));
