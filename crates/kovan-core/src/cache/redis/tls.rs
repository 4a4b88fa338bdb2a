//! Redis over TLS: the client built from `[redis] ca_file`, `cert_file`, `key_file` and `verify`,
//! and a failed handshake told apart by what the user must fix.

use redis::{ConnectionInfo, IntoConnectionInfo, RedisError, TlsCertificates};

use crate::workspace::{RedisConfig, TlsVerify};

pub use crate::error::TlsProblem;

/// The client for `config`: rediss:// with the files and checks kovan.toml names, plain otherwise.
pub(super) fn client(config: &RedisConfig) -> Result<redis::Client, (TlsProblem, String)> {
    let tls = &config.tls;
    let mut url = config.url().clone();
    if url.scheme() != "rediss" {
        return redis::Client::open(url.as_str()).map_err(|e| (TlsProblem::Other, e.to_string()));
    }
    if tls.verify == TlsVerify::None {
        // redis-rs reads "no check at all" from the URL's fragment.
        url.set_fragment(Some("insecure"));
    }
    let read =
        |path: &Option<std::path::PathBuf>| -> Result<Option<Vec<u8>>, (TlsProblem, String)> {
            path.as_ref()
                .map(|p| {
                    std::fs::read(p)
                        .map_err(|e| (TlsProblem::Files, format!("{}: {e}", p.display())))
                })
                .transpose()
        };
    let (ca, cert, key) = (
        read(&tls.ca_file)?,
        read(&tls.cert_file)?,
        read(&tls.key_file)?,
    );
    let info: ConnectionInfo = if ca.is_none() && cert.is_none() {
        url.as_str().into_connection_info()
    } else {
        redis::Client::build_with_tls(
            url.as_str(),
            TlsCertificates {
                client_tls: cert
                    .zip(key)
                    .map(|(client_cert, client_key)| redis::ClientTlsConfig {
                        client_cert,
                        client_key,
                    }),
                root_cert: ca,
            },
        )
        .map(|c| c.get_connection_info().clone())
    }
    .map_err(|e| (TlsProblem::Files, e.to_string()))?;
    let info = if tls.verify == TlsVerify::Ca {
        let mut addr = info.addr().clone();
        addr.set_danger_accept_invalid_hostnames(true);
        info.set_addr(addr)
    } else {
        info
    };
    redis::Client::open(info).map_err(|e| (TlsProblem::Other, e.to_string()))
}

/// The TLS library's own error behind a Redis error, when the failure is one, with its part.
pub(super) fn failure(e: &RedisError) -> Option<(TlsProblem, String)> {
    // rustls's error sits a level or two down: inside an io::Error, inside the Redis error.
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(mut level) = next {
        // redis-rs keeps the io::Error behind an Arc: its source is the Arc itself.
        if let Some(shared) =
            level.downcast_ref::<std::sync::Arc<dyn std::error::Error + Send + Sync>>()
        {
            level = &**shared;
        }
        let found = level.downcast_ref::<rustls::Error>().or_else(|| {
            level
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(tls) = found {
            return Some((problem_of(tls), tls.to_string()));
        }
        next = level.source();
    }
    None
}

fn problem_of(e: &rustls::Error) -> TlsProblem {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(c) => match c {
            C::UnknownIssuer | C::BadSignature | C::UnhandledCriticalExtension => {
                TlsProblem::UnknownCa
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsProblem::Hostname,
            C::Expired | C::ExpiredContext { .. } => TlsProblem::Expired,
            C::NotValidYet | C::NotValidYetContext { .. } => TlsProblem::NotYetValid,
            _ => TlsProblem::Other,
        },
        E::AlertReceived(A::CertificateRequired) => TlsProblem::ClientCertificateRequired,
        E::AlertReceived(
            A::BadCertificate
            | A::UnknownCA
            | A::CertificateUnknown
            | A::UnsupportedCertificate
            | A::DecryptError,
        ) => TlsProblem::ClientCertificateRefused,
        _ => TlsProblem::Other,
    }
}
