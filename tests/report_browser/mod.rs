//! A minimal W3C WebDriver client for `report_browser_test`: chromedriver on a loopback
//! port, spoken to in HTTP/1.1 JSON over `std::net`, driving a headless Chromium.
//!
//! The browser comes from Debian's packages (`chromium`, `chromium-driver`); `CHROME`
//! and `CHROMEDRIVER` override the two paths.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The key of an element reference in WebDriver's JSON (W3C WebDriver §12.1).
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// What `apt-get` installs, for the skip and failure messages.
pub const INSTALL_HINT: &str =
    "install a browser with `apt-get install -y chromium chromium-driver` \
(Debian/Ubuntu), or point CHROME and CHROMEDRIVER at a Chromium and its chromedriver";

/// Chromium's flags: headless as root; without the background-networking ones, a
/// machine without a network makes it wait on refused connections.
const CHROME_FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
];

/// The browser and its driver, when both are there.
pub fn browser() -> Option<(PathBuf, PathBuf)> {
    let path = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    };
    let chrome = path("CHROME", "/usr/bin/chromium");
    let driver = path("CHROMEDRIVER", "/usr/bin/chromedriver");
    (chrome.is_file() && driver.is_file()).then_some((chrome, driver))
}

/// A chromedriver process and one browser session; both end when it is dropped.
pub struct Session {
    driver: Child,
    port: u16,
    id: String,
    _profile: tempfile::TempDir,
}

impl Session {
    pub fn start(chrome: &PathBuf, driver: &PathBuf) -> Session {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut session = Session {
            driver: child,
            port,
            id: String::new(),
            _profile: profile,
        };
        session.wait_ready();
        let mut args: Vec<String> = CHROME_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!(
            "--user-data-dir={}",
            session._profile.path().display()
        ));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chrome, "args": args},
        }}});
        let created = session.http("POST", "/session", Some(&capabilities));
        session.id = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        session
    }

    /// chromedriver answers `/status` once it listens: at most 10 s of 100 ms tries.
    fn wait_ready(&mut self) {
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && self.http("GET", "/status", None)["ready"] == json!(true)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not become ready on port {}", self.port);
    }

    /// One command of this session: `path` below `/session/{id}`.
    pub fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.http(method, &format!("/session/{}{path}", self.id), body)
    }

    pub fn open(&self, url: &str) {
        self.command("POST", "/url", Some(&json!({ "url": url })));
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub fn eval(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(&json!({"script": script, "args": []})),
        )
    }

    pub fn element(&self, css: &str) -> String {
        let found = self.command(
            "POST",
            "/element",
            Some(&json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string()
    }

    pub fn click(&self, css: &str) {
        let element = self.element(css);
        self.command(
            "POST",
            &format!("/element/{element}/click"),
            Some(&json!({})),
        );
    }

    pub fn type_text(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(&json!({ "text": text })),
        );
    }

    /// Mouse actions (W3C WebDriver §17.5), offsets from the centre of `css`.
    pub fn pointer(&self, css: &str, steps: &[(&str, i64)]) {
        let origin = json!({ ELEMENT_KEY: self.element(css) });
        let actions: Vec<Value> = steps
            .iter()
            .map(|(kind, x)| match *kind {
                "move" => {
                    json!({"type": "pointerMove", "duration": 50, "origin": origin, "x": x, "y": 0})
                }
                "down" => json!({"type": "pointerDown", "button": 0}),
                _ => json!({"type": "pointerUp", "button": 0}),
            })
            .collect();
        let body = json!({"actions": [{
            "type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"}, "actions": actions,
        }]});
        self.command("POST", "/actions", Some(&body));
        self.command("DELETE", "/actions", None);
    }

    /// One HTTP request to chromedriver; the response's `value`.
    fn http(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("chromedriver");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let payload = read_response(&mut stream);
        let value: Value = serde_json::from_str(&payload)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}: {payload}"));
        if value["value"]["error"].is_string() {
            panic!("{method} {path} failed: {}", value["value"]);
        }
        value["value"].clone()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.id.is_empty() {
            let path = format!("/session/{}", self.id);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.http("DELETE", &path, None)
            }));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// The body of one HTTP response. chromedriver sends `Content-Length` and keeps the
/// connection open despite `Connection: close`, so the body is read by its length.
fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 65536];
    let body_start = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut buffer).expect("a response");
        assert!(
            read > 0,
            "chromedriver closed the connection before its headers"
        );
        bytes.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&bytes[..body_start]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Content-Length in {head}"));
    while bytes.len() < body_start + length {
        let read = stream.read(&mut buffer).expect("the response body");
        assert!(read > 0, "chromedriver closed the connection mid-body");
        bytes.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&bytes[body_start..body_start + length]).into_owned()
}
