//! The response target, and the loopback server of both response targets: it answers every request with the bytes the fuzzer
//! chose last (one process-wide server and client, so an execution costs one round trip).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use pandadoc_api_ext::{Client, Error, RetryPolicy, SmsOptOuts, TimeRange};

static ANSWER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Harness {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    loop {
                        // A GET: its head, up to the empty line.
                        let mut line = String::new();
                        loop {
                            line.clear();
                            match reader.read_line(&mut line) {
                                Ok(0) | Err(_) => return,
                                Ok(_) if line == "\r\n" => break,
                                Ok(_) => {}
                            }
                        }
                        let answer = ANSWER.lock().unwrap().clone();
                        if writer.write_all(&answer).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = Client::builder()
            .api_key("fuzz-key")
            .base_url(base)
            .retry(RetryPolicy::disabled())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        Harness { runtime, client }
    })
}

/// Sends the operation once, answered with `status` and `body` (JSON by its content type).
pub(crate) fn exchange(status: u16, body: &[u8]) -> Result<SmsOptOuts, Error> {
    let head = format!(
        "HTTP/1.1 {status} Fuzz\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let mut answer = head.into_bytes();
    answer.extend_from_slice(body);
    *ANSWER.lock().unwrap() = answer;
    let h = harness();
    let range = TimeRange::last(chrono::TimeDelta::hours(1));
    let result = h.runtime.block_on(h.client.sms_opt_outs(range));
    if let Err(e) = &result {
        // Classified, bounded, printable.
        let shown = format!("{e} {e:?}");
        assert!(shown.len() < 64 * 1024, "{} bytes", shown.len());
        let _ = e.kind().as_str();
        if !(200..300).contains(&status) {
            assert_eq!(e.status().map(|s| s.as_u16()), Some(status), "{e}");
        }
    }
    result
}

/// A status a server may send with a body: 2xx to 5xx but those that have none (204, 205,
/// 304); `selector` below 128 is a 200, the common case.
fn status(selector: u16) -> u16 {
    if selector & 0xff < 128 {
        return 200;
    }
    let status = 200 + (selector >> 8) % 400;
    if matches!(status, 204 | 205 | 304) {
        200
    } else {
        status
    }
}

/// The client's decoding of any answer to the vendored operation, through the whole stack
/// (generated decoder, error classification) over loopback: arbitrary bytes, any status.
pub fn response(data: &[u8]) {
    let Some((selector, body)) = super::typed::<(u16, &[u8])>(data) else {
        return;
    };
    let _ = exchange(status(selector), body);
}
