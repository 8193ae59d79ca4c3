//! What a ledger answers: a number's entry and whether it may be texted, how current the
//! ledger is, what it set aside, its counts, and what one apply changed.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::SmsOptOutStatus;

/// A number's status as the ledger holds it: its latest change (from [`Ledger::entry`](super::Ledger::entry)), or one
/// change of its history (from [`Ledger::history`](super::Ledger::history)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LedgerEntry {
    /// The number, canonical E.164.
    pub phone_number: String,
    /// Its status.
    pub status: SmsOptOutStatus,
    /// When the status changed (PandaDoc's `opt_out_changed`).
    pub opt_out_changed: DateTime<Utc>,
    /// When the ledger recorded this change (first received it).
    pub recorded: DateTime<Utc>,
}

impl LedgerEntry {
    /// Whether the status allows texting: opt-in only (an unknown status does not).
    pub fn may_text(&self) -> bool {
        self.status == SmsOptOutStatus::OptIn
    }
}

/// The answer to "may I text this number?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Textability {
    /// The number opted out, or has a status this program does not know: do not text.
    OptedOut(LedgerEntry),
    /// The number's latest change is an opt-in.
    OptedIn(LedgerEntry),
    /// No change of the number was ever received (PandaDoc reports numbers that changed).
    NeverSeen,
    /// The sync last confirmed it was caught up longer ago than the bound given, by the
    /// database's clock (or never did): it has stopped or fallen behind, so any answer may be
    /// out of date. What the ledger holds is given anyway.
    Stale {
        /// The checkpoint, `None` before the first window.
        checkpoint: Option<DateTime<Utc>>,
        /// When the sync last confirmed it was caught up (the database's clock).
        caught_up: Option<DateTime<Utc>>,
        /// The number's entry, if any.
        entry: Option<LedgerEntry>,
    },
}

impl Textability {
    /// `true` for [`Self::OptedIn`] and [`Self::NeverSeen`] only.
    pub fn may_text(&self) -> bool {
        matches!(self, Self::OptedIn(_) | Self::NeverSeen)
    }

    /// The verdict's stable name: `opted-out`, `opted-in`, `never-seen` or `stale` (as
    /// `pandadoc-opt-outs check` and `serve` say it).
    pub fn verdict(&self) -> &'static str {
        match self {
            Self::OptedOut(_) => "opted-out",
            Self::OptedIn(_) => "opted-in",
            Self::NeverSeen => "never-seen",
            Self::Stale { .. } => "stale",
        }
    }

    /// The number's entry, whatever the verdict (`None` if never seen).
    pub fn entry(&self) -> Option<&LedgerEntry> {
        match self {
            Self::OptedOut(e) | Self::OptedIn(e) => Some(e),
            Self::NeverSeen => None,
            Self::Stale { entry, .. } => entry.as_ref(),
        }
    }

    /// The answer from an entry, the checkpoint and when the sync last confirmed it was caught
    /// up, at `now` (the same clock as `caught_up`).
    pub(crate) fn decide(
        entry: Option<LedgerEntry>,
        checkpoint: Option<DateTime<Utc>>,
        caught_up: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        max_staleness: TimeDelta,
    ) -> Self {
        let freshness = Freshness {
            checkpoint,
            caught_up,
            as_of: now,
        };
        if freshness.is_stale(max_staleness) {
            return Self::Stale {
                checkpoint,
                caught_up,
                entry,
            };
        }
        match entry {
            None => Self::NeverSeen,
            Some(e) if e.may_text() => Self::OptedIn(e),
            Some(e) => Self::OptedOut(e),
        }
    }
}

/// How current a ledger is, by the database's clock ([`Ledger::freshness`](super::Ledger::freshness)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Freshness {
    /// The sync's checkpoint, `None` before its first window.
    pub checkpoint: Option<DateTime<Utc>>,
    /// When the sync last confirmed it was caught up, `None` if it never did.
    pub caught_up: Option<DateTime<Utc>>,
    /// The database's clock when these were read.
    pub as_of: DateTime<Utc>,
}

impl Freshness {
    /// Whether the ledger's answers are stale: no checkpoint yet, or the sync last confirmed
    /// it was caught up more than `max_staleness` before [`Self::as_of`] (or never did). The
    /// one rule behind [`Textability::Stale`].
    pub fn is_stale(&self, max_staleness: TimeDelta) -> bool {
        self.checkpoint.is_none()
            || self
                .caught_up
                .is_none_or(|c| c < self.as_of - max_staleness)
    }

    /// How far the checkpoint is behind [`Self::as_of`]: what the list may be missing at most
    /// (`None` before the first window).
    pub fn lag(&self) -> Option<TimeDelta> {
        self.checkpoint.map(|c| self.as_of - c)
    }
}

/// A change set aside: the ledger could not apply it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SetAside {
    /// The change as received, in JSON (`null` or absent where the API sent no value).
    pub record: String,
    /// Why it could not be applied.
    pub reason: String,
    /// Its number, canonical, when it could be read: that number is held as opted out.
    pub phone_number: Option<String>,
    /// When the ledger first received it.
    pub received: DateTime<Utc>,
}

/// What a ledger holds, in brief.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LedgerStats {
    /// The sync's checkpoint.
    pub checkpoint: Option<DateTime<Utc>>,
    /// When the sync last confirmed it was caught up (the database's clock).
    pub caught_up: Option<DateTime<Utc>>,
    /// The database's clock when these figures were read.
    pub as_of: DateTime<Utc>,
    /// Numbers by status (`opt-in`, `opt-out`, or an unknown status's text).
    pub numbers_by_status: BTreeMap<String, u64>,
    /// Changes in the history.
    pub history: u64,
    /// Changes set aside ([`Ledger::set_aside`](super::Ledger::set_aside)).
    pub set_aside: u64,
    /// The schema version of the database.
    pub schema_version: i64,
}

/// What one [`Ledger::apply`](super::Ledger::apply) changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// Numbers whose entry was created or replaced by a newer change.
    pub updated: u64,
    /// Changes appended to the history (repeats are not).
    pub recorded: u64,
    /// Changes set aside for the first time (repeats are not).
    pub set_aside: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::HELD;

    #[test]
    fn a_stale_ledger_says_so_whatever_it_holds() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let entry = |status| LedgerEntry {
            phone_number: "+14155550100".into(),
            status,
            opt_out_changed: now,
            recorded: now,
        };
        let fresh = Some(now - TimeDelta::minutes(1));
        let bound = TimeDelta::minutes(15);
        use SmsOptOutStatus::*;
        assert!(matches!(
            Textability::decide(Some(entry(OptOut)), fresh, fresh, now, bound),
            Textability::OptedOut(_)
        ));
        assert!(matches!(
            Textability::decide(Some(entry(Unknown("x".into()))), fresh, fresh, now, bound),
            Textability::OptedOut(_)
        ));
        assert!(Textability::decide(Some(entry(OptIn)), fresh, fresh, now, bound).may_text());
        assert!(Textability::decide(None, fresh, fresh, now, bound).may_text());
        let stale =
            Textability::decide(Some(entry(OptIn)), fresh, Some(now - bound * 2), now, bound);
        assert!(matches!(stale, Textability::Stale { entry: Some(_), .. }));
        assert!(!stale.may_text());
        assert!(!Textability::decide(None, None, None, now, bound).may_text());
        // A checkpoint that moved recently is not enough: the sync must have caught up.
        assert!(!Textability::decide(None, fresh, None, now, bound).may_text());
        assert!(matches!(
            Textability::decide(Some(entry(Unknown(HELD.into()))), fresh, fresh, now, bound),
            Textability::OptedOut(_)
        ));
    }
}
