//! Fixtures for driving the built Kovan app: tauri-driver on free loopback ports, a WebDriver session
//! with a fresh profile, and screenshots saved as files.
//!
//! Needs an X display (the test script starts Xvfb), `tauri-driver` and Debian's `WebKitWebDriver`
//! on PATH, and the app built (`KOVAN_APP`, else the workspace's target/debug/kovan-desktop).

use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// One app at a time: two WebKit windows on a 2-core machine make each other's timeouts flaky.
static ONE_APP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn app_binary() -> PathBuf {
    let app = std::env::var_os("KOVAN_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| repo_root().join("target"), PathBuf::from);
            target.join("debug/kovan-desktop")
        });
    assert!(
        app.is_file(),
        "{} is missing: build the app first (cargo build -p kovan-desktop) or set KOVAN_APP",
        app.display()
    );
    app
}

pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("KOVAN_SCREENSHOTS")
        .map_or_else(|| repo_root().join("tests/screenshots"), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

use kovan_testsupport::free_port;

/// tauri-driver and everything it starts (WebKitWebDriver, the app), in a process group of their own
/// so that dropping it leaves nothing behind.
struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    fn start(env: &[(&str, &Path)]) -> Self {
        let (port, native_port) = (free_port(), free_port());
        let log_path = screenshot_dir().join(format!("tauri-driver-{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut cmd = Command::new("tauri-driver");
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .expect("tauri-driver is not on PATH: cargo install tauri-driver --locked");
        let driver = Self {
            child,
            port,
            log: log_path,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on 127.0.0.1:{port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = -(self.child.id() as i32);
        // SAFETY: kill(2) on our own process group; no memory is involved.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && unsafe { libc::kill(group, 0) } == 0 {
            let _ = self.child.try_wait();
            std::thread::sleep(Duration::from_millis(50));
        }
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// A running Kovan window under WebDriver, with its own empty profile (as on a first launch).
pub struct App {
    pub client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl App {
    /// Launch the app with `args`; `env` is added to its environment.
    pub async fn launch(args: &[&str], env: &[(&str, &Path)]) -> Self {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "DISPLAY is not set: start Xvfb first (scripts/test.sh does)"
        );
        let turn = ONE_APP.lock().await;
        let profile = tempfile::tempdir().unwrap();
        let mut env: Vec<(&str, &Path)> = env.to_vec();
        // WebKit keeps localStorage (the chosen language) under XDG_DATA_HOME.
        env.push(("XDG_DATA_HOME", profile.path()));
        env.push(("XDG_CONFIG_HOME", profile.path()));
        env.push(("XDG_CACHE_HOME", profile.path()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app_binary(), "args": args }),
        );
        // A session waits for the window without end when the app cannot start (once, on a
        // loaded machine, GTK failed to initialize on a working display): bounded, and tried again
        // once with a fresh driver, then the failure is said with tauri-driver's log.
        for attempt in 1..=2 {
            let driver = Driver::start(&env);
            let session = tokio::time::timeout(
                Duration::from_secs(60),
                ClientBuilder::native()
                    .capabilities(caps.clone())
                    .connect(&format!("http://127.0.0.1:{}", driver.port)),
            )
            .await;
            match session {
                Ok(Ok(client)) => {
                    return Self {
                        client,
                        _driver: driver,
                        _profile: profile,
                        _turn: turn,
                    }
                }
                outcome => {
                    let log = std::fs::read_to_string(&driver.log).unwrap_or_default();
                    let why = match outcome {
                        Ok(Err(e)) => e.to_string(),
                        _ => "no session within 60 s".to_string(),
                    };
                    assert!(
                        attempt < 2,
                        "no WebDriver session with the app ({why}); tauri-driver's log:\n{log}"
                    );
                    eprintln!(
                        "no WebDriver session with the app ({why}), trying again; log:\n{log}"
                    );
                }
            }
        }
        unreachable!("the second attempt returns or panics")
    }

    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.wait_for_secs(css, 30).await
    }

    pub async fn wait_for_secs(&self, css: &str, secs: u64) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(secs))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Scroll the first match to the top of its scrolling box, as a user scrolls to read it (for a
    /// screenshot of a part below the fold).
    pub async fn scroll_to(&self, css: &str) {
        let element = self.wait_for(css).await;
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'start'})",
                vec![serde_json::to_value(&element).unwrap()],
            )
            .await
            .unwrap();
    }

    /// Scroll the first match into view (inside a scrolling dialog too), then click it as a user would.
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'})",
                vec![serde_json::to_value(&element).unwrap()],
            )
            .await
            .unwrap();
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("{css} could not be clicked: {e}"));
    }

    pub async fn all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        // WebKitWebDriver answers "stale element" when a match leaves the page while it is being
        // listed (a banner going away): asked again, the list is the page's as it is now.
        let mut tries = 0;
        loop {
            match self.client.find_all(Locator::Css(css)).await {
                Ok(found) => return found,
                Err(e) if tries < 10 => {
                    tries += 1;
                    eprintln!("{css}: {e}; asking again");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{css} could not be listed: {e}"),
            }
        }
    }

    /// The rendered text (innerText) of the first match. WebKitWebDriver's own Get Element Text
    /// answers "" for some visible elements that clip overflow, such as the header's workspace name.
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await;
        let script = "return document.querySelector(arguments[0]).innerText";
        match self.client.execute(script, vec![css.into()]).await.unwrap() {
            serde_json::Value::String(s) => s,
            other => panic!("{css}: innerText is {other}"),
        }
    }

    /// Save a PNG of the window. Waits two animation frames first: WebKitGTK can return the previous frame.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done()));",
                vec![],
            )
            .await
            .unwrap();
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
    }
}
