//! Connections to the bank's PostgreSQL: a maintained pool (`r2d2`), sized by `poolSize`, whose
//! connections carry the statement timeout and the bank's schema on their search path.
//!
//! Failure policy: a call that cannot get a healthy connection within `connectTimeoutMs`, or
//! whose connection breaks under it (server restart, dropped socket, statement timeout,
//! admin shutdown), fails with `ERR_STORE_UNAVAILABLE` and nothing of it is acknowledged: each
//! write is one transaction, committed before the call returns or not at all. Every checkout
//! runs the pool's health check, so connections broken by a restart are replaced (the pool keeps
//! trying with backoff) instead of failing the next calls too.

use std::str::FromStr;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, NoTls};
use r2d2_postgres::PostgresConnectionManager;

use crate::error::{Error, ErrorCode, Result};
use crate::memory::BankConfig;

/// The bank's connection pool.
pub struct Pool {
    pool: r2d2::Pool<PostgresConnectionManager<NoTls>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may carry a password.
        f.debug_struct("Pool")
            .field("size", &self.pool.max_size())
            .finish()
    }
}

impl Pool {
    /// Connects (waiting at most `connectTimeoutMs` for the first connection).
    pub fn connect(url: &str, cfg: &BankConfig) -> Result<Pool> {
        let mut config = postgres::Config::from_str(url).map_err(|e| {
            Error::new(
                ErrorCode::InvalidConfig,
                format!("bank.url is not a valid PostgreSQL URL ({e}); expected postgres://user:password@host:port/database"),
            )
        })?;
        config.application_name("lean-agentic-native");
        config.connect_timeout(Duration::from_millis(cfg.connect_timeout_ms));
        config.options(&format!(
            "-c statement_timeout={} -c search_path={},public",
            cfg.statement_timeout_ms, cfg.pg_schema
        ));
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(cfg.pool_size as u32)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_millis(cfg.connect_timeout_ms))
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build(manager)
            .map_err(|e| {
                Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("cannot connect to the bank's PostgreSQL within {} ms ({e}); check bank.url and that the server is running", cfg.connect_timeout_ms),
                )
            })?;
        Ok(Pool { pool })
    }

    /// Runs `f` on a pooled connection; connection failures become `ERR_STORE_UNAVAILABLE`.
    pub fn with<R>(&self, f: impl FnOnce(&mut Client) -> Result<R>) -> Result<R> {
        let mut conn = self.pool.get().map_err(|e| {
            Error::new(
                ErrorCode::StoreUnavailable,
                format!("the bank's PostgreSQL is unavailable: no connection within the connect timeout ({e}); retry later"),
            )
        })?;
        f(&mut conn)
    }
}

/// A PostgreSQL error as an engine error: connection loss, shutdown and timeouts are
/// `ERR_STORE_UNAVAILABLE`, the rest `ERR_STORE`.
pub fn pg_error(e: postgres::Error) -> Error {
    let unavailable = e.is_closed()
        || match e.code() {
            Some(code) => {
                code.code().starts_with("08")
                    || *code == SqlState::ADMIN_SHUTDOWN
                    || *code == SqlState::CRASH_SHUTDOWN
                    || *code == SqlState::CANNOT_CONNECT_NOW
                    || *code == SqlState::QUERY_CANCELED
                    || *code == SqlState::TOO_MANY_CONNECTIONS
            }
            // No server error: the socket failed (I/O) or the connection is gone.
            None => true,
        };
    if unavailable {
        let what = match e.code() {
            Some(code) if *code == SqlState::QUERY_CANCELED => {
                "a statement hit bank.statementTimeoutMs"
            }
            _ => "the connection failed",
        };
        Error::new(
            ErrorCode::StoreUnavailable,
            format!("the bank's PostgreSQL is unavailable: {what} ({e}); the call did not complete, retry it"),
        )
    } else {
        Error::new(ErrorCode::Store, format!("PostgreSQL error: {e}"))
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        pg_error(e)
    }
}
