//! The ledger's statements as PostgreSQL sends them.

use super::lookups;
use crate::ledger::Tables;
use crate::ledger::batch::NEWER_WINS;
use crate::ledger::sql::{Dialect, Statements};

/// The statements: the shared ones, the writes as PostgreSQL sends them (arrays), the lease's.
pub(super) struct Sql {
    pub(super) shared: Statements,
    pub(super) textabilities: String,
    pub(super) history: String,
    pub(super) numbers: String,
    pub(super) set_aside: String,
    pub(super) take: String,
    pub(super) renew: String,
    pub(super) release: String,
    pub(super) holder: String,
}

impl Sql {
    pub(super) fn new(t: &Tables) -> Self {
        Self {
            shared: Statements::new(t, Dialect::Postgres),
            textabilities: lookups::statement(t),
            history: format!(
                "INSERT INTO {} (phone, status, changed, recorded) \
                 SELECT p, s, c, $4 FROM unnest($1::text[], $2::text[], $3::timestamptz[]) \
                 AS u(p, s, c) ON CONFLICT DO NOTHING",
                t.history
            ),
            numbers: format!(
                "INSERT INTO {} AS cur (phone, status, rank, changed, recorded) \
                 SELECT p, s, r, c, $5 FROM \
                 unnest($1::text[], $2::text[], $3::int2[], $4::timestamptz[]) AS u(p, s, r, c) \
                 {NEWER_WINS}",
                t.numbers
            ),
            set_aside: format!(
                "INSERT INTO {} (record, reason, phone, received) \
                 SELECT r, w, p, $4 FROM unnest($1::text[], $2::text[], $3::text[]) \
                 AS u(r, w, p) ON CONFLICT DO NOTHING",
                t.rejected
            ),
            take: format!(
                "UPDATE {} SET holder = $1, epoch = epoch + 1, \
                 expires = clock_timestamp() + make_interval(secs => $2) \
                 WHERE id = 1 AND (expires IS NULL OR expires < clock_timestamp()) \
                 RETURNING epoch",
                t.lease
            ),
            renew: format!(
                "UPDATE {} SET expires = clock_timestamp() + make_interval(secs => $3) \
                 WHERE id = 1 AND holder = $1 AND epoch = $2 AND expires > clock_timestamp() \
                 RETURNING epoch",
                t.lease
            ),
            release: format!(
                "UPDATE {} SET expires = NULL WHERE id = 1 AND holder = $1 AND epoch = $2",
                t.lease
            ),
            holder: format!(
                "SELECT holder, epoch, expires FROM {} \
                 WHERE id = 1 AND expires > clock_timestamp()",
                t.lease
            ),
        }
    }
}
