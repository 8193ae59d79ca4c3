//! How a [`PostgresLedger`](super::PostgresLedger) connects and leads.

use std::time::Duration;

/// How a [`PostgresLedger`](super::PostgresLedger) connects and leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresOptions {
    pub(super) lease_poll: Duration,
    pub(super) lease_ttl: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) statement_timeout: Duration,
    pub(super) pool_size: usize,
    pub(super) prepared_statements: bool,
    pub(super) application_name: String,
}

impl Default for PostgresOptions {
    /// A lease of 15 s polled every second, 5 s to connect, 10 s for a statement, 4
    /// connections, application name `pandadoc-ledger`.
    fn default() -> Self {
        Self {
            lease_poll: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            pool_size: 4,
            prepared_statements: true,
            application_name: "pandadoc-ledger".into(),
        }
    }
}

impl PostgresOptions {
    /// How often a stand-by tries to take the lease ([`PostgresLedger::lead`](super::PostgresLedger::lead)).
    pub fn lease_poll(mut self, every: Duration) -> Self {
        self.lease_poll = every;
        self
    }

    /// How long the lease lasts on the server after each renewal (15 s by default). The leader
    /// renews every third of it and stops acting two thirds after its last renewal began; a
    /// stand-by takes over within `lease_ttl + lease_poll` of the leader's last renewal.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(30));
        self
    }

    /// How long connecting, or waiting for a free connection, may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long any statement or transaction may take (on this side: a server behind a
    /// partition never answers). Also the connections' TCP user timeout, and (at most a third
    /// of [`lease_ttl`](Self::lease_ttl)) how long the server keeps a transaction open while
    /// it waits for this side's next statement: a client frozen or cut off mid-transaction
    /// would otherwise keep its locks until the server's TCP keepalives give up.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// At most this many connections (4 by default).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Whether look-ups use prepared statements, cached per connection (the default: about
    /// twice as fast). Turn it off behind PgBouncer in transaction pooling before 1.21, which
    /// cannot keep a prepared statement between transactions: every statement is then sent
    /// whole (`query_typed`). Writes are always sent whole.
    pub fn prepared_statements(mut self, prepared: bool) -> Self {
        self.prepared_statements = prepared;
        self
    }

    /// The `application_name` of the connections, and the start of this replica's name in the
    /// lease (e.g. `opt-outs@host-a`).
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// How long the server keeps a transaction open while it waits for this side's next
    /// statement: the statement bound, and at most a third of the lease, so that a leader
    /// frozen or cut off in the middle of a write releases the lease row before its lease
    /// expires (a stand-by still takes over within `lease_ttl + lease_poll`).
    pub(super) fn idle_in_transaction(&self) -> Duration {
        self.statement_timeout.min(self.lease_ttl / 3)
    }
}
