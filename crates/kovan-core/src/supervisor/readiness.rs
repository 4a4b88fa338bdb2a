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
        // The status line fits in the first read; the body is not needed.
        let mut head = [0u8; 64];
        let n = stream.read(&mut head).await.ok()?;
        let line = std::str::from_utf8(&head[..n]).ok()?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    tokio::time::timeout(timeout, attempt).await.ok().flatten()
}

pub async fn is_ready(port: u16) -> bool {
    http_status(port, "/health/", Duration::from_secs(2)).await == Some(200)
}
