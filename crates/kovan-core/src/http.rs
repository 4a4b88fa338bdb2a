//! Every HTTP call Kovan makes to an instance (or a site's front door): one shared
//! [`reqwest::Client`], plain HTTP to 127.0.0.1 only, no proxies from the environment, bounded in
//! time and in the length of the answer it reads.
//!
//! No TLS is compiled in: every address is `http://127.0.0.1:<port>`. Should an `https` call ever
//! be needed, reqwest's `rustls-no-provider` feature with `tls_backend_preconfigured` and the ring
//! provider the redis client already uses keeps one rustls and one ring in the tree.

use std::error::Error as _;
use std::io;
use std::sync::OnceLock;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The clear endpoint holds the LocMem lock while it empties the cache; generous, yet bounded.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// Kovan's endpoints answer a few hundred bytes of JSON; more than this is not one of them.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

pub(crate) struct Response {
    pub status: u16,
    pub body: String,
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| build(CONNECT_TIMEOUT, RESPONSE_TIMEOUT))
}

fn build(connect: Duration, response: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(response)
        .no_proxy()
        // No connection is kept between calls (as `Connection: close` did): a pooled connection
        // belongs to the tokio runtime that opened it, and the CLI, the window and the tests run
        // several runtimes over their lives.
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client without TLS or proxies always builds")
}

/// `method path` to 127.0.0.1:`port`. A refused connection comes back as
/// [`io::ErrorKind::ConnectionRefused`] (nothing listens there), no answer in time as
/// [`io::ErrorKind::TimedOut`], an answer longer than [`MAX_BODY`] as
/// [`io::ErrorKind::InvalidData`].
pub(crate) async fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> io::Result<Response> {
    send(client(), port, method, path, headers, MAX_BODY).await
}

async fn send(
    client: &reqwest::Client,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    max_body: usize,
) -> io::Result<Response> {
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "not an HTTP method"))?;
    let mut call = client
        .request(method, format!("http://127.0.0.1:{port}{path}"))
        .header(reqwest::header::CONTENT_LENGTH, "0");
    for (name, value) in headers {
        call = call.header(*name, *value);
    }
    let mut reply = call.send().await.map_err(to_io)?;
    let status = reply.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = reply.chunk().await.map_err(to_io)? {
        if body.len() + chunk.len() > max_body {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the answer on port {port} is longer than {} KiB, more than any of Kovan's endpoints sends; Kovan stopped reading it",
                    max_body / 1024
                ),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// reqwest's error as the io kinds the callers tell apart.
fn to_io(e: reqwest::Error) -> io::Error {
    if e.is_timeout() {
        let what = if e.is_connect() {
            "no answer to the connection"
        } else {
            "no response"
        };
        return io::Error::new(io::ErrorKind::TimedOut, what);
    }
    let mut source = e.source();
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return io::Error::new(io.kind(), io.to_string());
        }
        source = inner.source();
    }
    let kind = if e.is_connect() {
        io::ErrorKind::ConnectionAborted
    } else {
        io::ErrorKind::InvalidData
    };
    io::Error::new(kind, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A loopback server that answers every connection with `answer` after reading the request
    /// head (or never answers, for `None`).
    async fn server(answer: Option<Vec<u8>>) -> u16 {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    match answer {
                        Some(bytes) => {
                            let _ = stream.write_all(&bytes).await;
                        }
                        None => {
                            // Hold the connection open without a word.
                            let _ = stream.read(&mut buf).await;
                        }
                    }
                });
            }
        });
        port
    }

    fn ok_with(body: &[u8], chunked: bool) -> Vec<u8> {
        let mut out = if chunked {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec()
        } else {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes()
        };
        if chunked {
            for part in body.chunks(64 * 1024) {
                out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                out.extend_from_slice(part);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        } else {
            out.extend_from_slice(body);
        }
        out
    }

    #[tokio::test]
    async fn reads_an_answer_whole_and_chunked() {
        for chunked in [false, true] {
            let port = server(Some(ok_with(br#"{"instance":"web"}"#, chunked))).await;
            let reply = request(port, "GET", "/health/", &[("X-Kovan-Token", "t")])
                .await
                .unwrap();
            assert_eq!(reply.status, 200);
            assert_eq!(reply.body, r#"{"instance":"web"}"#);
        }
    }

    #[tokio::test]
    async fn an_answer_longer_than_the_bound_is_not_read_to_its_end() {
        let long = vec![b'x'; MAX_BODY + 1];
        for chunked in [false, true] {
            let port = server(Some(ok_with(&long, chunked))).await;
            let err = request(port, "GET", "/health/", &[])
                .await
                .err()
                .expect("an over-long answer is an error");
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert!(err.to_string().contains("longer than 1024 KiB"), "{err}");
        }
        // Exactly the bound is still read.
        let port = server(Some(ok_with(&long[..MAX_BODY], false))).await;
        let reply = request(port, "GET", "/", &[]).await.unwrap();
        assert_eq!(reply.body.len(), MAX_BODY);
    }

    #[tokio::test]
    async fn a_refused_connection_says_nothing_listens_there() {
        let port = kovan_testsupport::free_port();
        let err = request(port, "GET", "/health/", &[])
            .await
            .err()
            .expect("nothing listens on a free port");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let port = server(None).await;
        let client = build(CONNECT_TIMEOUT, Duration::from_millis(300));
        let err = send(&client, port, "GET", "/health/", &[], MAX_BODY)
            .await
            .err()
            .expect("a silent server is an error");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert_eq!(err.to_string(), "no response");
    }
}
