//! `rediss://` against a real redis-server speaking TLS, with a certificate from a test CA. A test
//! binary of its own: it sets SSL_CERT_FILE, which the whole process sees.

mod support;

use std::path::Path;
use std::process::Command;

use kovan_core::cache::{self, RedisKeys};
use support::Redis;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
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
    openssl(
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
    openssl(
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
}
