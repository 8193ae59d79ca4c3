//! The leader lease, this replica's side: which epoch it holds, and when it last renewed it by
//! the monotonic clock.
//!
//! The lease itself is a row: holder, epoch, and an expiry set by the database's clock
//! (`clock_timestamp() + ttl`). A stand-by takes it once it has expired, bumping the epoch. The
//! leader renews it every `ttl / 3`, and stops acting (no PandaDoc request, no write) once
//! `2 ttl / 3` have passed since its last successful renewal *began*: the server set that
//! renewal's expiry later than it began, so the leader always stops before its lease can expire
//! on the server, whatever the two clocks say. The epoch is a fencing token: every write checks,
//! in its own transaction, that its epoch still holds an unexpired lease (and extends it), or
//! writes nothing.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sync::StoreError;

/// This replica's view of the lease.
pub(super) struct Lease {
    /// Who this replica is in the lease row: the application name and a random suffix.
    pub holder: String,
    pub ttl: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// This replica took the lease once: from then on it acts only while it holds it.
    led: bool,
    held: Option<Held>,
}

#[derive(Clone, Copy)]
struct Held {
    epoch: i64,
    /// When the last successful take or renewal began.
    renewed: Instant,
}

impl Lease {
    pub fn new(application_name: &str, ttl: Duration) -> Self {
        Self {
            holder: format!("{application_name}#{:08x}", fastrand::u32(..)),
            ttl,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long after a renewal began the leader stops acting.
    pub fn deadline(&self) -> Duration {
        self.ttl * 2 / 3
    }

    /// How often the leader renews.
    pub fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    /// The lease's duration, in seconds, as the SQL takes it.
    pub fn ttl_secs(&self) -> f64 {
        self.ttl.as_secs_f64()
    }

    /// Whether this replica ever took the lease (it then acts only while it holds it).
    pub fn took(&self) -> bool {
        self.state().led
    }

    /// Whether this replica holds the lease and is within its deadline.
    pub fn is_leading(&self) -> bool {
        self.state()
            .held
            .is_some_and(|h| h.renewed.elapsed() < self.deadline())
    }

    /// The epoch held, even past the deadline (a renewal may still find it unexpired).
    pub fn epoch(&self) -> Option<i64> {
        self.state().held.map(|h| h.epoch)
    }

    /// What a write must check: `None` for a replica that never took the lease (it writes
    /// under the checkpoint's compare-and-set alone), the epoch for a leader within its
    /// deadline, [`StoreError::LeaseLost`] for one past it or that lost the lease.
    pub fn fence(&self, location: &str) -> Result<Option<i64>, StoreError> {
        let state = self.state();
        if !state.led {
            return Ok(None);
        }
        match state.held {
            Some(h) if h.renewed.elapsed() < self.deadline() => Ok(Some(h.epoch)),
            _ => Err(StoreError::LeaseLost {
                location: location.to_string(),
            }),
        }
    }

    /// The lease was taken (or renewed) as `epoch` by a call that began at `began`.
    pub fn held(&self, epoch: i64, began: Instant) {
        let mut state = self.state();
        state.led = true;
        state.held = Some(Held {
            epoch,
            renewed: began,
        });
    }

    /// A renewal of `epoch` that began at `began` succeeded.
    pub fn renewed(&self, epoch: i64, began: Instant) {
        let mut state = self.state();
        if let Some(h) = &mut state.held
            && h.epoch == epoch
            && h.renewed < began
        {
            h.renewed = began;
        }
    }

    /// The lease of `epoch` is gone (expired and taken, or released).
    pub fn lost(&self, epoch: i64) {
        let mut state = self.state();
        if state.held.is_some_and(|h| h.epoch == epoch) {
            state.held = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_stops_acting_before_its_lease_can_expire() {
        let lease = Lease::new("t", Duration::from_secs(15));
        assert_eq!(lease.fence("db").unwrap(), None, "no lease taken: no fence");
        assert!(!lease.is_leading());
        lease.held(4, Instant::now());
        assert_eq!(lease.fence("db").unwrap(), Some(4));
        assert!(lease.is_leading());
        assert!(lease.deadline() < lease.ttl && lease.renew_every() < lease.deadline());
        // Past the deadline: nothing is done any more, though the epoch is remembered.
        lease.held(4, Instant::now() - Duration::from_secs(11));
        assert!(!lease.is_leading());
        assert!(matches!(
            lease.fence("db"),
            Err(StoreError::LeaseLost { .. })
        ));
        assert_eq!(lease.epoch(), Some(4));
        lease.renewed(4, Instant::now());
        assert!(lease.is_leading());
        lease.renewed(3, Instant::now());
        lease.lost(3);
        assert!(lease.is_leading(), "another epoch's news changes nothing");
        lease.lost(4);
        assert!(matches!(
            lease.fence("db"),
            Err(StoreError::LeaseLost { .. })
        ));
    }
}
