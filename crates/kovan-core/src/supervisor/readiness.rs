//! Is an instance ready? The port accepts and `GET /health/` answers 200.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The HTTP status of `GET path` on 127.0.0.1:port, or None when nothing answers within `timeout`.
pub async fn http_status(port: u16, path: &str, timeout: Duration) -> Option<u16> {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        // Read the status line, then drain the rest of the (small) answer: closing early makes the
        // server's write fail, which runserver logs as a broken pipe and simpler servers may not
        // survive. A server that keeps the connection open is given a second, not more.
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        let mut status = None;
        let mut drain_until = None;
        loop {
            let read = match drain_until {
                Some(until) => {
                    match tokio::time::timeout_at(until, stream.read(&mut chunk)).await {
                        Ok(r) => r,
                        Err(_) => break,
                    }
                }
                None => stream.read(&mut chunk).await,
            };
            match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if answer.len() < 1024 {
                        answer.extend_from_slice(&chunk[..n]);
                    }
                    if status.is_none() && answer.windows(2).any(|w| w == b"\r\n") {
                        let head = String::from_utf8_lossy(&answer);
                        status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok());
                        drain_until = Some(tokio::time::Instant::now() + Duration::from_secs(1));
                    }
                }
            }
        }
        status
    };
    tokio::time::timeout(timeout, attempt).await.ok().flatten()
}

pub async fn is_ready(port: u16) -> bool {
    http_status(port, "/health/", Duration::from_secs(2)).await == Some(200)
}
