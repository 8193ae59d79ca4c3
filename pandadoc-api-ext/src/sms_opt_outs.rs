//! `GET /public/v1/sms-opt-outs`: the latest SMS opt-out change of each phone number.

use std::fmt;

use chrono::{DateTime, Utc};
use pandadoc_api::operations;
use pandadoc_api::types::{
    ListSmsOptOutChangelogResponseResultsItem as RawChange,
    ListSmsOptOutChangelogResponseResultsItemStatus as RawStatus,
    ListSmsOptOutChangelogResponseResultsItemStatusKnown as RawKnown,
};
use serde::{Serialize, Serializer};

use crate::{Client, Error, TimeRange, Window};

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

impl From<RawStatus> for SmsOptOutStatus {
    fn from(raw: RawStatus) -> Self {
        match raw {
            RawStatus::Known(RawKnown::OptIn) => Self::OptIn,
            RawStatus::Known(RawKnown::OptOut) => Self::OptOut,
            RawStatus::Unknown(text) => Self::Unknown(text),
        }
    }
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
}

impl From<RawChange> for SmsOptOutChange {
    fn from(raw: RawChange) -> Self {
        Self {
            phone_number: raw.phone_number,
            status: raw.status.map(Into::into),
            opt_out_changed: raw.opt_out_changed.map(Into::into),
        }
    }
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
        let window = range.resolve(self.now())?;
        let page = self
            .call(&operations::LIST_RECENT_SMS_OPT_OUTS, || {
                self.raw()
                    .list_recent_sms_opt_outs()
                    .timestamp_from(window.from)
                    .timestamp_to(window.to)
                    .send()
            })
            .await?
            .into_inner();
        Ok(SmsOptOuts {
            window,
            changes: page.results.into_iter().map(Into::into).collect(),
        })
    }
}
