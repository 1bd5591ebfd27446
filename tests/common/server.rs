//! Network tests: a loopback-only network namespace per test, the real `callbot serve` in it,
//! and its HTTP API.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const NETNS_ENV: &str = "CALLBOT_TEST_NETNS";

/// Runs the test named `test` again in a fresh network namespace that has only `lo`, so it
/// can use fixed ports and can reach nothing but 127.0.0.1. Returns true inside it (carry
/// on), false outside (it ran there; its failure fails this test).
pub fn in_loopback_namespace(test: &str) -> bool {
    if std::env::var_os(NETNS_ENV).is_some() {
        return true;
    }
    // One network test at a time, across test binaries: each runs a whole server with its
    // models on a small machine, and they would only slow each other into timeouts.
    let lock_path = std::env::temp_dir().join("callbot-network-tests.lock");
    let lock = std::fs::File::create(&lock_path).expect("lock file");
    lock.lock().expect("lock");
    let exe = std::env::current_exe().expect("test binary path");
    let script = r#"ip link set lo up && exec "$0" "$@""#;
    let run = |unshare_flags: &str| {
        Command::new("unshare")
            .args([unshare_flags, "--", "sh", "-c", script])
            .arg(&exe)
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(NETNS_ENV, "1")
            .status()
    };
    // As root a plain network namespace; otherwise one inside a user namespace.
    let can_root = Command::new("unshare").args(["-n", "true"]).status().is_ok_and(|s| s.success());
    let status = run(if can_root { "-n" } else { "-rn" }).expect("unshare runs (util-linux)");
    assert!(status.success(), "{test} failed inside its network namespace");
    false
}

pub struct Server {
    child: Child,
    pub http: String,
    pub sip_port: u16,
    pub data_dir: tempfile::TempDir,
    log: PathBuf,
}

impl Server {
    /// Starts `callbot serve` on 127.0.0.1 and waits (up to 3 min: models load) until it answers.
    pub fn start(http_port: u16, sip_port: u16) -> Server {
        Self::start_with(http_port, sip_port, None)
    }

    /// [`start`](Self::start) with a `callbot.toml`.
    pub fn start_with(http_port: u16, sip_port: u16, config: Option<&Path>) -> Server {
        let data_dir = tempfile::tempdir().expect("tempdir");
        let log = data_dir.path().join("serve.log");
        let mut command = super::callbot();
        if let Some(config) = config {
            command.arg("serve").arg("--config").arg(config);
        } else {
            command.arg("serve");
        }
        let mut child = command
            .args(["--http", &format!("127.0.0.1:{http_port}"), "--sip", &format!("127.0.0.1:{sip_port}")])
            .arg("--data-dir")
            .arg(data_dir.path())
            .env("RUST_LOG", "callbot=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("callbot serve starts");
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        let log_path = log.clone();
        std::thread::spawn(move || {
            let mut file = std::fs::File::create(&log_path).expect("log file");
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                use std::io::Write;
                let _ = writeln!(file, "{line}");
                if line.contains("callbot is answering") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(180)).is_err() {
            let _ = child.kill();
            panic!("callbot serve did not start:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
        }
        Server { child, http: format!("http://127.0.0.1:{http_port}"), sip_port, data_dir, log }
    }

    pub fn get(&self, path: &str) -> Value {
        let mut resp = ureq::get(&format!("{}{path}", self.http)).call().expect("API answers");
        let text = resp.body_mut().read_to_string().expect("body");
        serde_json::from_str(&text).expect("JSON")
    }

    /// One series' value on the Prometheus page, e.g. `callbot_calls_total{channel="sip"}`;
    /// 0 for a series not (yet) there.
    pub fn metric(&self, series: &str) -> f64 {
        let mut resp = ureq::get(&format!("{}/metrics", self.http)).call().expect("metrics answer");
        let page = resp.body_mut().read_to_string().expect("body");
        page.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
            .map_or(0.0, |v| v.trim().parse().expect("a number"))
    }

    pub fn calls(&self) -> Vec<Value> {
        self.get("/api/calls")["calls"].as_array().cloned().unwrap_or_default()
    }

    pub fn call(&self, id: &str) -> Value {
        self.get(&format!("/api/calls/{id}"))
    }

    /// Waits until `pred` holds for the list of calls, or panics after `timeout`.
    pub fn wait_calls(&self, timeout: Duration, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.calls();
            if pred(&calls) {
                return calls;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {calls:#?}\n{}", self.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, and the exit status of the graceful shutdown. The data directory stays until
    /// the `Server` is dropped.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.child.wait().expect("serve exits")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The caller's final lines of a call, joined.
pub fn caller_text(call: &Value) -> String {
    lines(call, "caller")
}

pub fn bot_text(call: &Value) -> String {
    lines(call, "bot")
}

fn lines(call: &Value, speaker: &str) -> String {
    call["transcript"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter(|l| l["speaker"] == speaker && l["final"] == true)
                .filter_map(|l| l["text"].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// A recording as 8 kHz mono µ-law WAV (what SIPp streams), via sox.
pub fn ulaw_8k(src: &Path, dir: &Path) -> PathBuf {
    sox_8k(src, dir, "ulaw", &["-e", "mu-law"])
}

/// A recording as 8 kHz mono 16-bit WAV (what baresip's aufile plays).
pub fn pcm_8k(src: &Path, dir: &Path) -> PathBuf {
    sox_8k(src, dir, "8k", &["-e", "signed-integer", "-b", "16"])
}

fn sox_8k(src: &Path, dir: &Path, tag: &str, encoding: &[&str]) -> PathBuf {
    let stem = src.file_stem().and_then(|s| s.to_str()).unwrap_or("clip");
    let out = dir.join(format!("{stem}.{tag}.wav"));
    let status = Command::new("sox")
        .arg(src)
        .args(encoding)
        .args(["-r", "8000", "-c", "1"])
        .arg(&out)
        .status()
        .expect("sox runs (apt install sox)");
    assert!(status.success(), "sox converted {}", src.display());
    out
}

/// Fraction of the reference's words found in the hypothesis (order ignored): robust to the
/// odd word an 8 kHz line loses.
pub fn word_recall(reference: &str, hypothesis: &str) -> f64 {
    let hyp = super::words(hypothesis);
    let hyp: Vec<&str> = hyp.split_whitespace().collect();
    let refw = super::words(reference);
    let refw: Vec<&str> = refw.split_whitespace().collect();
    let found = refw.iter().filter(|w| hyp.contains(w)).count();
    found as f64 / refw.len().max(1) as f64
}
