//! A browser's part in a site's tests, by hand: plain HTTP/1.1 requests, a form POST with its
//! CSRF cookie, token and origin, and a websocket opened as a tab opens it (origin and session
//! cookie), for the CLI's site test and the window's alike.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An HTTP answer: its status, headers (as sent, in order) and body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// The value of the cookie `name` this answer sets, if it sets it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| {
                let (k, rest) = v.split_once('=')?;
                (k.trim() == name).then(|| rest.split(';').next().unwrap_or("").to_string())
            })
    }

    /// The value of the header `name`, if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request to 127.0.0.1:`port` on a connection of its own (`Connection: close`), read to the
/// end (at most 30 s).
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("{method} {path} on 127.0.0.1:{port}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A form POST as a browser on `port` sends it: the form's page fetched first (with `cookies`),
/// then the fields with the CSRF cookie `csrf` and its token from that page, and the page's origin.
pub fn post_form(port: u16, path: &str, csrf: &str, cookies: &str, fields: &str) -> Answer {
    let page = http(port, "GET", path, &[("Cookie", cookies)], "");
    assert_eq!(page.status, 200, "GET {path}: {}", page.body);
    let token = page
        .cookie(csrf)
        .unwrap_or_else(|| panic!("no {csrf} cookie from {path}: {:?}", page.headers));
    let origin = format!("http://127.0.0.1:{port}");
    let cookie = if cookies.is_empty() {
        format!("{csrf}={token}")
    } else {
        format!("{cookies}; {csrf}={token}")
    };
    http(
        port,
        "POST",
        path,
        &[
            ("Origin", &origin),
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("{fields}&csrfmiddlewaretoken={token}"),
    )
}

/// Sign `user` up and log them in on `port` with real form POSTs (/signup/, then /login/), as the
/// example's pages ask; the `Cookie` header of the session cookie `session` the login set.
pub fn sign_up_and_log_in(
    port: u16,
    csrf: &str,
    session: &str,
    user: &str,
    password: &str,
) -> String {
    let signed_up = post_form(
        port,
        "/signup/",
        csrf,
        "",
        &format!("username={user}&password1={password}&password2={password}"),
    );
    assert_eq!(
        signed_up.status, 302,
        "signup on {port}: {}",
        signed_up.body
    );
    let login = post_form(
        port,
        "/login/",
        csrf,
        "",
        &format!("username={user}&password={password}"),
    );
    assert_eq!(login.status, 302, "login on {port}: {}", login.body);
    let key = login
        .cookie(session)
        .unwrap_or_else(|| panic!("no {session} cookie from the login: {:?}", login.headers));
    format!("{session}={key}")
}

/// A websocket as a browser tab opens it: the page's origin and the session cookie; reads wait at
/// most 15 s.
pub fn socket(port: u16, path: &str, cookie: &str) -> tungstenite::WebSocket<TcpStream> {
    use tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://127.0.0.1:{port}{path}")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Origin",
        format!("http://127.0.0.1:{port}").parse().unwrap(),
    );
    req.headers_mut().insert("Cookie", cookie.parse().unwrap());
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let (ws, response) = tungstenite::client(req, stream).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(response.status(), 101);
    ws
}

/// The next text message on `ws`, as JSON (pings and pongs skipped); a close is a panic.
pub fn next_json(ws: &mut tungstenite::WebSocket<TcpStream>) -> serde_json::Value {
    loop {
        match ws.read().expect("a message within 15 s") {
            tungstenite::Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            tungstenite::Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

/// Send `{"message": text}` on `ws`, as the example's room page does.
pub fn say(ws: &mut tungstenite::WebSocket<TcpStream>, text: &str) {
    ws.send(tungstenite::Message::text(
        serde_json::json!({ "message": text }).to_string(),
    ))
    .unwrap();
}
