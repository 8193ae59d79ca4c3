#![no_main]
//! See [`pandadoc_fuzz::timestamp`].

libfuzzer_sys::fuzz_target!(|data: &[u8]| pandadoc_fuzz::timestamp(data));
