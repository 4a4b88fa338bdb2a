//! `rediss://` against a real redis-server speaking TLS, with a certificate from a test CA. A test
//! binary of its own: it sets SSL_CERT_FILE, which the whole process sees.

mod support;

use std::path::Path;

use kovan_core::cache::{self, RedisKeys};
use support::Redis;

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    support::openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Kovan test CA",
            ],
        ]
        .concat(),
    );
    support::openssl(
        dir,
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    support::openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
}

#[test]
fn rediss_counts_through_tls_and_an_untrusted_certificate_is_a_tls_failure() {
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    let file = |name: &str| certs.path().join(name).display().to_string();
    let tls_port = support::free_port();
    let redis = Redis::start_with(&[
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &file("server.pem"),
        "--tls-key-file",
        &file("server.key"),
        "--tls-ca-cert-file",
        &file("ca.pem"),
        "--tls-auth-clients",
        "no",
    ]);
    support::wait_for_port(tls_port, "redis-server's TLS port");
    redis.cli(&["SET", "t_chat_main:1:a", "x"]);
    redis.cli(&["SET", "elsewhere", "x"]);
    let (_dir, ws) = support::cache_workspace(&format!(
        "[redis]\nurl = \"rediss://127.0.0.1:{tls_port}/0\"\n\n[[instance]]\nname = \"chat_main\"\nport = 8000\n"
    ));
    let rt = tokio::runtime::Runtime::new().unwrap();

    // This machine does not trust the test CA.
    let counts = rt.block_on(cache::count(&ws, |_| {}));
    match &counts.redis {
        Some(RedisKeys::Failed { kind, message, .. }) => {
            assert_eq!(kind.as_str(), "redis_tls_failed", "{message}");
            assert!(message.contains("certificate"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // SAFETY (edition 2024 wording): this test is alone in its binary; nothing reads the environment
    // concurrently.
    std::env::set_var("SSL_CERT_FILE", file("ca.pem"));
    let counts = rt.block_on(cache::count(&ws, |_| {}));
    assert_eq!(
        counts.instance("chat_main").unwrap().count.counted(),
        Some((1, Some(0))),
        "{counts:#?}"
    );
    assert_eq!(counts.other_apps(), Some(1));
    // Before its folder goes: the other test of this binary reads the system's trust meanwhile.
    std::env::remove_var("SSL_CERT_FILE");
}

/// Count through `[redis]` with these extra lines: Ok(keys of chat_main) or the TLS problem.
fn count_with(port: u16, lines: &str) -> Result<u64, (String, String)> {
    let (_dir, ws) = support::cache_workspace(&format!(
        "[redis]\nurl = \"rediss://127.0.0.1:{port}/0\"\n{lines}\n[[instance]]\nname = \"chat_main\"\nport = 8000\n"
    ));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let counts = rt.block_on(cache::count(&ws, |_| {}));
    match &counts.redis {
        Some(RedisKeys::Failed {
            kind,
            message,
            detail,
            ..
        }) => {
            assert_eq!(kind.as_str(), "redis_tls_failed", "{message}");
            let problem = match detail {
                Some(kovan_core::error::ErrorDetail::RedisTls { problem, .. }) => {
                    serde_json::to_value(problem)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_string()
                }
                other => panic!("{other:?}: {message}"),
            };
            Err((problem, message.clone()))
        }
        _ => Ok(counts
            .instance("chat_main")
            .unwrap()
            .count
            .counted()
            .unwrap_or_else(|| panic!("{counts:#?}"))
            .0),
    }
}

#[test]
fn a_private_ca_a_client_certificate_and_each_verify_mode_are_used_and_each_failure_names_its_part()
{
    let certs = tempfile::tempdir().unwrap();
    support::pki(certs.path());
    let path = |name: &str| certs.path().join(name).display().to_string();
    let ca = format!("ca_file = {:?}\n", path("ca.pem"));

    let (_good, port) = support::tls_server(certs.path(), "good", false);
    let (problem, message) = count_with(port, "").unwrap_err();
    assert_eq!(problem, "unknown_ca", "{message}");
    assert!(
        message.contains("ca_file"),
        "the fix names the key: {message}"
    );
    let (problem, _) =
        count_with(port, &format!("ca_file = {:?}\n", path("other.pem"))).unwrap_err();
    assert_eq!(problem, "unknown_ca");
    assert_eq!(count_with(port, &ca), Ok(1));
    // verify = "none": no CA at all, still encrypted.
    assert_eq!(count_with(port, "verify = \"none\"\n"), Ok(1));

    let (_elsewhere, port) = support::tls_server(certs.path(), "elsewhere", false);
    let (problem, message) = count_with(port, &ca).unwrap_err();
    assert_eq!(problem, "hostname", "{message}");
    assert!(message.contains("verify = \"ca\""), "{message}");
    assert_eq!(count_with(port, &format!("{ca}verify = \"ca\"\n")), Ok(1));

    let (_expired, port) = support::tls_server(certs.path(), "expired", false);
    let (problem, message) = count_with(port, &ca).unwrap_err();
    assert_eq!(problem, "expired", "{message}");

    let (_mutual, port) = support::tls_server(certs.path(), "good", true);
    let (problem, message) = count_with(port, &ca).unwrap_err();
    assert_eq!(problem, "client_certificate_required", "{message}");
    assert!(message.contains("cert_file"), "{message}");
    let client = format!(
        "{ca}cert_file = {:?}\nkey_file = {:?}\n",
        path("client.pem"),
        path("client.key")
    );
    assert_eq!(count_with(port, &client), Ok(1));
    let stranger = format!(
        "{ca}cert_file = {:?}\nkey_file = {:?}\n",
        path("stranger.pem"),
        path("stranger.key")
    );
    let (problem, message) = count_with(port, &stranger).unwrap_err();
    assert_eq!(problem, "client_certificate_refused", "{message}");
}
