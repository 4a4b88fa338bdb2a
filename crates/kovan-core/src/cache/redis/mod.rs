//! Redis, shared by the instances whose cache = "redis": one connection, errors told apart, and the
//! passes over the keyspace (`count`, `flush`).
//!
//! Keys are bytes from end to end; nothing here decodes them as text.

mod count;
mod flush;
pub mod keyspace;
mod restore;
pub mod tls;

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ErrorKind, RedisError};

pub use count::KeyspaceCount;
pub use flush::{DeleteCommand, DeletePass, Deleted, SharedSnapshot};
pub use keyspace::{glob_matches, Prefixes, Selection};
pub use restore::Restored;
pub use tls::TlsProblem;

use super::error::{CacheError, Operation, Reached};
use crate::workspace::RedisConfig;

/// Keys asked of each `SCAN`: SCAN's default of 10 is what makes `redis-cli --scan` slow, while a
/// batch this size costs the server well under a millisecond, so other clients barely wait.
pub const SCAN_COUNT: usize = 1000;

/// How long to wait for Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// Per command, not per operation: each SCAN or UNLINK batch answers in milliseconds, so this
    /// only fires on a server that has stopped answering. (The client's own default is far shorter.)
    pub response: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            response: Duration::from_secs(30),
        }
    }
}

/// A connection to the workspace's Redis database.
#[derive(Clone)]
pub struct RedisCache {
    conn: MultiplexedConnection,
    /// To open more connections to the same server (a flush deletes on one while it scans on
    /// another).
    client: redis::Client,
    settings: AsyncConnectionConfig,
    server: Server,
}

/// What errors say about the server: its URL as shown, and what they must never show.
#[derive(Clone)]
struct Server {
    /// The URL with its password replaced.
    url: String,
    /// The password as written and as decoded, wiped from any message that might echo it.
    secrets: Vec<String>,
    tls: bool,
    /// `[redis] managed`, for the wording of a refused connection.
    managed: bool,
    timeouts: Timeouts,
}

impl RedisCache {
    pub async fn connect(config: &RedisConfig) -> Result<Self, CacheError> {
        Self::connect_with(config, Timeouts::default()).await
    }

    pub async fn connect_with(
        config: &RedisConfig,
        timeouts: Timeouts,
    ) -> Result<Self, CacheError> {
        let server = Server::of(config, timeouts);
        if server.tls {
            // rustls needs a process-wide crypto provider; another crate may have installed one.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let connect_error =
            |e: RedisError| server.error(&e, Operation::Connect, Reached::default());
        let client = tls::client(config).map_err(|(problem, detail)| CacheError::RedisTls {
            url: server.url.clone(),
            problem,
            detail: server.scrub(detail),
        })?;
        let settings = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeouts.connect))
            .set_response_timeout(Some(timeouts.response));
        let mut conn = match client
            .get_multiplexed_async_connection_with_config(&settings)
            .await
        {
            Ok(conn) => conn,
            // A server without TLS reads the handshake as a half-sent command and stays silent.
            Err(e) if server.tls && e.is_timeout() && accepts_tcp(config.url()).await => {
                return Err(CacheError::RedisTls {
                    url: server.url.clone(),
                    problem: TlsProblem::NoHandshake,
                    detail: format!(
                        "the server took the connection but did not answer the TLS handshake within {} s",
                        timeouts.connect.as_secs_f32()
                    ),
                })
            }
            Err(e) => return Err(connect_error(e)),
        };
        // The login and SELECT are checked here, not on the first SCAN.
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(connect_error)?;
        Ok(Self {
            conn,
            client,
            settings,
            server,
        })
    }

    /// Another connection to the same server, with the same login and database.
    async fn another_connection(&self) -> Result<MultiplexedConnection, CacheError> {
        self.client
            .get_multiplexed_async_connection_with_config(&self.settings)
            .await
            .map_err(|e| self.error(&e, Operation::Connect, Reached::default()))
    }

    /// The server's URL with the password replaced.
    pub fn url(&self) -> &str {
        &self.server.url
    }

    /// Keys in the database now.
    pub async fn dbsize(&self) -> Result<u64, CacheError> {
        redis::cmd("DBSIZE")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| self.server.error(&e, Operation::Count, Reached::default()))
    }

    fn error(&self, e: &RedisError, operation: Operation, reached: Reached) -> CacheError {
        self.server.error(e, operation, reached)
    }

    /// The connection, for the passes outside this module (the inspector's).
    pub(crate) fn connection(&self) -> MultiplexedConnection {
        self.conn.clone()
    }

    /// A Redis error in words, the password never among them.
    pub(crate) fn failure(
        &self,
        e: &RedisError,
        operation: Operation,
        reached: Reached,
    ) -> CacheError {
        self.server.error(e, operation, reached)
    }
}

/// Whether a plain TCP connection to the URL's host and port opens.
async fn accepts_tcp(url: &url::Url) -> bool {
    let (Some(host), port) = (url.host_str(), url.port().unwrap_or(6379)) else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let connect = tokio::net::TcpStream::connect((host, port));
    matches!(
        tokio::time::timeout(Duration::from_secs(1), connect).await,
        Ok(Ok(_))
    )
}

/// One `SCAN` step: the next cursor and the keys it returned.
async fn scan_step(
    conn: &mut MultiplexedConnection,
    cursor: u64,
    pattern: Option<&[u8]>,
    count: usize,
) -> Result<(u64, Vec<Vec<u8>>), RedisError> {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor);
    if let Some(pattern) = pattern {
        cmd.arg("MATCH").arg(pattern);
    }
    cmd.arg("COUNT").arg(count).query_async(conn).await
}

impl Server {
    fn of(config: &RedisConfig, timeouts: Timeouts) -> Self {
        let written = config.url().password().unwrap_or_default();
        let mut secrets: Vec<String> = [written.to_string(), percent_decoded(written)]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        secrets.dedup();
        Self {
            url: config.redacted(),
            secrets,
            tls: config.url().scheme() == "rediss",
            managed: config.managed,
            timeouts,
        }
    }

    fn scrub(&self, text: String) -> String {
        self.secrets.iter().fold(text, |text, secret| {
            text.replace(secret.as_str(), crate::redact::MASK)
        })
    }

    /// Tell apart what the user fixes differently: a server that is down, a wrong password, TLS, a
    /// server too slow to answer, a connection that broke part-way.
    fn error(&self, e: &RedisError, operation: Operation, reached: Reached) -> CacheError {
        let url = self.url.clone();
        let detail = self.scrub(e.to_string());
        if is_auth_failure(e) {
            return CacheError::RedisAuthFailed { url, detail };
        }
        if self.tls && e.kind() == ErrorKind::InvalidClientConfig {
            // rustls refused to build the client from the files (a v1 or malformed certificate).
            return CacheError::RedisTls {
                url,
                problem: TlsProblem::Files,
                detail,
            };
        }
        if let Some((problem, tls)) = tls::failure(e) {
            return CacheError::RedisTls {
                url,
                problem,
                detail: self.scrub(tls),
            };
        }
        if e.is_connection_refusal() {
            return CacheError::RedisRefused {
                url,
                managed: self.managed,
            };
        }
        if e.is_timeout() {
            return CacheError::RedisTimeout {
                url,
                timeout: if operation == Operation::Connect {
                    self.timeouts.connect
                } else {
                    self.timeouts.response
                },
                operation,
                reached,
            };
        }
        match (operation, e.is_io_error()) {
            // The handshake failed after the socket opened: a TLS server closes on a plain client.
            (Operation::Connect, true) if self.tls => CacheError::RedisTls {
                url,
                problem: TlsProblem::Other,
                detail,
            },
            (Operation::Connect, true) => CacheError::Redis {
                url,
                detail: format!("could not connect ({detail}). If the server expects TLS, write the URL as rediss://."),
            },
            (_, true) => CacheError::RedisConnectionLost {
                url,
                operation,
                reached,
                detail,
            },
            (_, false) => CacheError::Redis { url, detail },
        }
    }
}

/// `p%40ss` as `p@ss`: how the password reaches the server, and so how a message might echo it.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_auth_failure(e: &RedisError) -> bool {
    e.kind() == ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH"))
        || ["WRONGPASS", "NOAUTH", "invalid password"]
            .iter()
            .any(|mark| e.to_string().contains(mark))
}

/// A server error saying the command does not exist (renamed away, or older than the command).
fn is_unknown_command(e: &RedisError) -> bool {
    !e.is_io_error()
        && e.to_string()
            .to_ascii_lowercase()
            .contains("unknown command")
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_decoded_as_the_server_receives_them() {
        assert_eq!(
            super::percent_decoded("p%40ss%3Aw%2Frd%25+x"),
            "p@ss:w/rd%+x"
        );
        assert_eq!(super::percent_decoded("100%"), "100%");
    }
}
