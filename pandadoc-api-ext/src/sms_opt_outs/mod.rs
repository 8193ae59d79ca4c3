//! `GET /public/v1/sms-opt-outs`: the latest SMS opt-out change of each phone number.

mod records;

use std::fmt;

use chrono::{DateTime, Utc};
use pandadoc_api::operations;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Serialize, Serializer};

use crate::{Client, Error, ResponseValue, TimeRange, Window};

/// A phone number's SMS status.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SmsOptOutStatus {
    /// The recipient replied START: texts are allowed.
    OptIn,
    /// The recipient replied STOP: do not text.
    OptOut,
    /// A value this client does not know yet, kept as sent. Treat it as "do not text" until
    /// you know what it means.
    Unknown(String),
}

impl SmsOptOutStatus {
    /// The value as the API writes it (`opt-in`, `opt-out`, or the unknown text).
    pub fn as_str(&self) -> &str {
        match self {
            Self::OptIn => "opt-in",
            Self::OptOut => "opt-out",
            Self::Unknown(text) => text,
        }
    }
}

impl fmt::Display for SmsOptOutStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SmsOptOutStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl From<&str> for SmsOptOutStatus {
    /// Reads the API's spelling back: `opt-in`, `opt-out`, anything else [`Self::Unknown`].
    fn from(text: &str) -> Self {
        match text {
            "opt-in" => Self::OptIn,
            "opt-out" => Self::OptOut,
            other => Self::Unknown(other.to_string()),
        }
    }
}

/// The status as the generated client decoded it, by its text. The generated type is named
/// after the spec's schema, which PandaDoc renamed between releases (an inline response before
/// 7.18, a component since), so nothing here names it: a spec bump needs no edit. Statuses are
/// short, so the text is formatted on the stack.
fn status_of(raw: &impl fmt::Display) -> SmsOptOutStatus {
    struct Short {
        bytes: [u8; 32],
        len: usize,
    }
    impl fmt::Write for Short {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            let slot = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
            slot.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    let mut short = Short {
        bytes: [0; 32],
        len: 0,
    };
    if fmt::write(&mut short, format_args!("{raw}")).is_ok()
        && let Ok(text) = std::str::from_utf8(&short.bytes[..short.len])
    {
        return SmsOptOutStatus::from(text);
    }
    SmsOptOutStatus::from(raw.to_string().as_str())
}

/// The latest opt-out change of one phone number. The spec makes every field optional, so a
/// field the server left out is `None`, never a guessed value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmsOptOutChange {
    /// The phone number, as the API writes it (E.164, e.g. `+1234567890`).
    pub phone_number: Option<String>,
    /// Its current status.
    pub status: Option<SmsOptOutStatus>,
    /// When the status last changed.
    pub opt_out_changed: Option<DateTime<Utc>>,
    /// Set when the server sent this record in a shape the client cannot read whole (a field
    /// of the wrong type, a time that does not parse, a record that is not an object): the
    /// record as received and what is wrong with it. The fields above then hold what could be
    /// read and `None` for the rest, so never act on such a change as if it were complete: the
    /// ledger sets it aside and holds its number as opted out. The other records of the page
    /// are read as usual. `None` for every well-formed record (and not written then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<Box<Unreadable>>,
}

/// A record the client could not read whole ([`SmsOptOutChange::unreadable`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    /// The record as received (its JSON text).
    pub record: String,
    /// What could not be read, field by field (each problem cut to 200 bytes).
    pub reason: String,
}

/// The changes of a window, and the window that was asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsOptOuts {
    /// The window sent as `timestamp_from` / `timestamp_to`.
    pub window: Window,
    /// Every change the server returned, in its order.
    pub changes: Vec<SmsOptOutChange>,
}

impl Client {
    /// The latest SMS opt-out change of each phone number within `range`
    /// (`GET /public/v1/sms-opt-outs`). Both ends of the window are sent explicitly and
    /// returned with the changes; poll with overlapping windows and keep the latest change of
    /// each number.
    pub async fn sms_opt_outs(&self, range: TimeRange) -> Result<SmsOptOuts, Error> {
        let window = range.resolve_with(|| self.now())?;
        let changes = self
            .call(&operations::LIST_RECENT_SMS_OPT_OUTS, || async {
                let sent = self
                    .raw()
                    .list_recent_sms_opt_outs()
                    .timestamp_from(window.from)
                    .timestamp_to(window.to)
                    .send()
                    .await;
                match sent {
                    Ok(page) => {
                        let status = page.status();
                        let changes =
                            page.into_inner()
                                .results
                                .into_iter()
                                .map(|raw| SmsOptOutChange {
                                    phone_number: raw.phone_number,
                                    status: raw.status.as_ref().map(status_of),
                                    opt_out_changed: raw.opt_out_changed.map(Into::into),
                                    unreadable: None,
                                });
                        Ok(ResponseValue::new(
                            changes.collect::<Vec<_>>(),
                            status,
                            HeaderMap::new(),
                        ))
                    }
                    // A success answer the generated types refuse: read record by record.
                    Err(pandadoc_api::Error::InvalidResponsePayload(body, e)) => {
                        match crate::transport::answered_success()
                            .then(|| records::changes(&body))
                            .flatten()
                        {
                            Some(changes) => Ok(ResponseValue::new(
                                changes,
                                StatusCode::OK,
                                HeaderMap::new(),
                            )),
                            None => Err(pandadoc_api::Error::InvalidResponsePayload(body, e)),
                        }
                    }
                    Err(e) => Err(e),
                }
            })
            .await?
            .into_inner();
        Ok(SmsOptOuts { window, changes })
    }
}
