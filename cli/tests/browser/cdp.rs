//! A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe`: Chromium reads
//! commands from its file descriptor 3 and writes answers and events to 4, each message JSON
//! ended by a NUL byte. A shell maps the child's piped stdin and stdout onto 3 and 4, so no
//! WebSocket (and no crate) is needed. The browser acts like a person: it navigates, clicks the
//! centre of elements and types text; nothing runs in the page.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// The Chromium the test command installed (`ADMIT_TEST_CHROMIUM`), else `chromium` on PATH.
pub fn chromium_path() -> String {
    std::env::var("ADMIT_TEST_CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

pub struct Browser {
    child: Child,
    to_browser: ChildStdin,
    from_browser: Receiver<Value>,
    /// Events read while waiting for answers, kept for `wait_for`.
    events: Vec<Value>,
    next_id: u64,
    session: Option<String>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts headless Chromium with a fresh profile in `profile` and opens one page (tab).
    /// Panics (the test fails) when Chromium cannot be started.
    pub fn launch(profile: &std::path::Path, width: u32, height: u32) -> Browser {
        let chromium = chromium_path();
        let found = Command::new(&chromium)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "Chromium is required and `{chromium} --version` failed: ./scripts/test installs it \
             (apt-get install chromium) and sets ADMIT_TEST_CHROMIUM to its path"
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>&2"#)
            .arg(&chromium)
            .args([
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--disable-background-networking",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.display()),
                "about:blank",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromium} through sh: {e}"));
        let to_browser = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, from_browser) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            while reader.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                buf.pop_if(|b| *b == 0);
                if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
                buf.clear();
            }
        });
        let mut b = Browser {
            child,
            to_browser,
            from_browser,
            events: Vec::new(),
            next_id: 0,
            session: None,
        };
        b.open_page(&chromium);
        b
    }

    fn open_page(&mut self, chromium: &str) {
        let version = self.call("Browser.getVersion", json!({}));
        assert!(
            version["product"].as_str().is_some(),
            "{chromium} answered the DevTools protocol with {version}"
        );
        let target = self.call("Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        self.session = attached["sessionId"].as_str().map(str::to_string);
        self.call("Page.enable", json!({}));
    }

    fn next(&mut self, what: &str) -> Value {
        self.from_browser
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no answer from Chromium while waiting for {what}: {e}"))
    }

    /// Sends a command (to the page, once one is attached) and returns its result.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        self.to_browser
            .write_all(&bytes)
            .expect("write to Chromium");
        self.to_browser.flush().expect("flush to Chromium");
        loop {
            let m = self.next(method);
            if m["id"] == json!(id) {
                assert!(m.get("error").is_none(), "{method} failed: {m}");
                return m["result"].clone();
            }
            self.events.push(m);
        }
    }

    /// Does `action` and waits until the page it leads to has loaded.
    pub fn navigating(&mut self, action: impl FnOnce(&mut Browser)) {
        self.events.clear();
        action(self);
        loop {
            if self
                .events
                .iter()
                .any(|e| e["method"] == json!("Page.loadEventFired"))
            {
                self.events.clear();
                return;
            }
            let m = self.next("a page load");
            self.events.push(m);
        }
    }

    pub fn goto(&mut self, url: &str) {
        self.navigating(|b| {
            b.call("Page.navigate", json!({ "url": url }));
        });
    }

    /// The current page's HTML.
    pub fn html(&mut self) -> String {
        let root = self.call("DOM.getDocument", json!({"depth": 0}));
        let html = self.call(
            "DOM.getOuterHTML",
            json!({"nodeId": root["root"]["nodeId"]}),
        );
        html["outerHTML"].as_str().unwrap_or_default().to_string()
    }

    /// Clicks the centre of the first element matching `selector`, `count` times in a row
    /// (3 selects the text of an input, as a triple click does).
    pub fn click(&mut self, selector: &str, count: u32) {
        let root = self.call("DOM.getDocument", json!({"depth": 0}));
        let node = self.call(
            "DOM.querySelector",
            json!({"nodeId": root["root"]["nodeId"], "selector": selector}),
        );
        assert_ne!(
            node["nodeId"],
            json!(0),
            "no element {selector} on the page"
        );
        self.call(
            "DOM.scrollIntoViewIfNeeded",
            json!({"nodeId": node["nodeId"]}),
        );
        // The first box of the element: a link that wraps has one per line.
        let quads = self.call("DOM.getContentQuads", json!({"nodeId": node["nodeId"]}));
        let quad: Vec<f64> = quads["quads"][0]
            .as_array()
            .expect("the element is shown")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        let x = (quad[0] + quad[2] + quad[4] + quad[6]) / 4.0;
        let y = (quad[1] + quad[3] + quad[5] + quad[7]) / 4.0;
        for n in 1..=count {
            for kind in ["mousePressed", "mouseReleased"] {
                self.call(
                    "Input.dispatchMouseEvent",
                    json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": n}),
                );
            }
        }
    }

    /// Types `text` into the focused element (replacing what is selected).
    pub fn type_text(&mut self, text: &str) {
        self.call("Input.insertText", json!({ "text": text }));
    }

    /// Shows pages `width` CSS pixels wide and `height` high; `mobile` as a phone shows them
    /// (the viewport meta tag counts, as on a phone).
    pub fn viewport(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// Reloads the page, as the reload button does (a page got by a redirect is got again).
    pub fn reload(&mut self) {
        self.navigating(|b| {
            b.call("Page.reload", json!({}));
        });
    }

    /// The page's URL.
    pub fn url(&mut self) -> String {
        let history = self.call("Page.getNavigationHistory", json!({}));
        let current = history["currentIndex"].as_u64().unwrap_or(0) as usize;
        history["entries"][current]["url"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// How wide the page's content is, in CSS pixels (wider than the viewport: it scrolls
    /// sideways).
    pub fn content_width(&mut self) -> f64 {
        let m = self.call("Page.getLayoutMetrics", json!({}));
        m["cssContentSize"]["width"].as_f64().unwrap_or(f64::MAX)
    }

    /// A PNG of the page as it is shown.
    pub fn screenshot(&mut self) -> Vec<u8> {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        decode_base64(shot["data"].as_str().expect("image data"))
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

#[test]
fn base64_decodes() {
    assert_eq!(
        decode_base64("YW55IGNhcm5hbCBwbGVhcw=="),
        b"any carnal pleas"
    );
    assert_eq!(
        decode_base64("YW55IGNhcm5hbCBwbGVhc3U="),
        b"any carnal pleasu"
    );
    assert_eq!(
        decode_base64("YW55IGNhcm5hbCBwbGVhc3Vy"),
        b"any carnal pleasur"
    );
}
