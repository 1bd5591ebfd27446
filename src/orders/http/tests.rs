//! The adapter against a real HTTP server on 127.0.0.1 that implements the contract on top of a
//! seeded [`SqliteStore`]: a reference for what a shop's side has to do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use chrono::NaiveDate;

use super::*;
use crate::orders::{OrderStatus, Seed, SqliteStore};

const TOKEN: &str = "s3cret";

struct TestServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start() -> TestServer {
        let today = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let store = SqliteStore::in_memory().unwrap().with_today(move || today);
        let seed = Seed::load(&crate::orders::demo_seed_path()).unwrap();
        store.seed(&seed, today).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    // One connection at a time is plenty for these tests.
                    let _ = handle(stream, &store);
                }
            }
        });
        TestServer { addr, stop, thread: Some(thread) }
    }

    fn store(&self, prefix: &str, token: Option<&str>) -> HttpStore {
        let mut config = HttpConfig::new(format!("http://{}{prefix}", self.addr));
        config.token = token.map(str::to_string);
        // Generous: a loaded CI machine must not turn a slow answer into a failed test.
        config.timeout_ms = 10_000;
        HttpStore::new(config).unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    query: Option<String>,
    authorization: Option<String>,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let target = words.next().unwrap_or_default().to_string();
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), Some(query.to_string())),
        None => (target, None),
    };
    let (mut length, mut authorization) = (0usize, None);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => authorization = Some(value.trim().to_string()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Request { method, path, query, authorization, body })
}

fn respond(mut stream: &TcpStream, status: u16, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn error_json(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

/// The contract, served from the SQLite store; `/broken`, `/slow` and `/html` misbehave on purpose.
fn handle(stream: TcpStream, store: &SqliteStore) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let request = read_request(&stream)?;
    if request.path.starts_with("/broken") {
        return respond(&stream, 200, "{\"order\": {\"id\": \"20231188\",");
    }
    if request.path.starts_with("/slow") {
        std::thread::sleep(Duration::from_millis(2_000));
        return respond(&stream, 200, "{}");
    }
    if request.path.starts_with("/html") {
        return respond(&stream, 502, "<html><body>Bad Gateway</body></html>");
    }
    if request.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return respond(&stream, 401, &error_json("missing or wrong bearer token"));
    }
    let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    let field = |name: &str| -> Option<String> {
        let body: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
        body.get(name)?.as_str().map(str::to_string)
    };
    let result: Result<(u16, String), StoreError> = match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["orders"]) => {
            let phone = request.query.as_deref().and_then(|q| q.strip_prefix("phone=")).map(percent_decode);
            store.orders_by_phone(&phone.unwrap_or_default()).map(|orders| {
                let list = serde_json::json!({ "orders": orders });
                (200, list.to_string())
            })
        }
        ("GET", ["orders", id]) => store.order(id).map(|record| match record {
            Some(record) => (200, serde_json::to_string(&record).unwrap_or_default()),
            None => (404, error_json("unknown order")),
        }),
        ("POST", ["orders", id, "cancel"]) => {
            store.cancel_order(id).map(|o| (200, serde_json::to_string(&o).unwrap_or_default()))
        }
        ("POST", ["orders", id, "address"]) => store
            .change_address(id, &field("address").unwrap_or_default())
            .map(|o| (200, serde_json::to_string(&o).unwrap_or_default())),
        ("POST", ["orders", id, "returns"]) => store
            .request_return(id, &field("reason").unwrap_or_default())
            .map(|r| (201, serde_json::to_string(&r).unwrap_or_default())),
        _ => Ok((404, error_json("no such endpoint"))),
    };
    match result {
        Ok((status, body)) => respond(&stream, status, &body),
        Err(StoreError::NotFound(id)) => respond(&stream, 404, &error_json(&format!("unknown order {id}"))),
        Err(StoreError::NotAllowed { reason }) => respond(&stream, 409, &error_json(&reason)),
        Err(StoreError::Invalid(why)) => respond(&stream, 422, &error_json(&why)),
        Err(other) => respond(&stream, 500, &error_json(&other.to_string())),
    }
}

#[test]
fn lookups_go_through_the_contract() {
    let server = TestServer::start();
    let shop = server.store("/", Some(TOKEN));
    let record = shop.order("20231188").unwrap().unwrap();
    assert_eq!(record.shipments[0].carrier_zh, "顺丰速运");
    assert_eq!(record.shipments[0].tracking_number, "SF1428365079012");
    assert_eq!(record.shipments[0].expected_on, NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
    assert_eq!(shop.order("99999999").unwrap(), None);
    assert_eq!(shop.order("../admin").unwrap(), None);

    let orders = shop.orders_by_phone("+86 138-0013-8000").unwrap();
    assert!(orders.len() >= 3 && orders.iter().any(|r| r.order.id == "20231188"));
    assert!(orders.windows(2).all(|w| w[0].order.placed_on >= w[1].order.placed_on));
    assert!(shop.orders_by_phone("(415) 555-0142").unwrap().iter().all(|r| r.customer.phone.contains("555")));
    assert!(shop.orders_by_phone("10000000000").unwrap().is_empty());
}

#[test]
fn writes_map_status_codes_to_errors() {
    let server = TestServer::start();
    let shop = server.store("", Some(TOKEN));
    let pending = shop.orders_by_phone("13800138000").unwrap();
    let pending = pending.iter().find(|r| r.order.status == OrderStatus::Pending).unwrap().order.id.clone();

    let moved = shop.change_address(&pending, "北京市朝阳区建国路88号").unwrap();
    assert_eq!(moved.shipping_address, "北京市朝阳区建国路88号");
    assert_eq!(shop.cancel_order(&pending).unwrap().status, OrderStatus::Cancelled);
    assert_eq!(shop.order(&pending).unwrap().unwrap().order.status, OrderStatus::Cancelled);

    let err = shop.cancel_order("20231188").unwrap_err();
    assert!(matches!(err, StoreError::NotAllowed { ref reason } if reason.contains("shipped")), "{err}");
    assert!(matches!(shop.cancel_order("99999999"), Err(StoreError::NotFound(_))));

    let request = shop.request_return("20231188", "too small").unwrap();
    assert_eq!((request.id.as_str(), request.order_id.as_str()), ("R20231188-1", "20231188"));
    assert!(matches!(shop.request_return("20231188", "again"), Err(StoreError::NotAllowed { .. })));
}

#[test]
fn bad_answers_are_clear_errors() {
    let server = TestServer::start();

    let err = server.store("", Some("wrong")).order("20231188").unwrap_err();
    assert!(matches!(err, StoreError::Status { status: 401, .. }), "{err}");
    assert!(err.to_string().contains("missing or wrong bearer token"), "{err}");
    let err = server.store("", None).orders_by_phone("13800138000").unwrap_err();
    assert!(matches!(err, StoreError::Status { status: 401, .. }), "{err}");
    assert!(!err.to_string().contains("13800138000"), "phone numbers stay out of errors: {err}");

    let err = server.store("/broken", None).order("20231188").unwrap_err();
    assert!(matches!(err, StoreError::BadResponse { .. }), "{err}");
    assert!(err.to_string().contains("invalid JSON for an order record"), "{err}");

    let err = server.store("/html", None).cancel_order("20231188").unwrap_err();
    assert!(matches!(err, StoreError::Status { status: 502, .. }), "{err}");
    assert!(err.to_string().contains("Bad Gateway"), "{err}");

    let mut config = HttpConfig::new(format!("http://{}/slow", server.addr));
    config.timeout_ms = 500;
    let err = HttpStore::new(config).unwrap().order("20231188").unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("within 500 ms"), "{err}");
}

#[test]
fn connection_refused_is_a_clear_error() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let shop = HttpStore::new(HttpConfig::new(format!("http://127.0.0.1:{port}"))).unwrap();
    let err = shop.order("20231188").unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}/orders/20231188")), "{err}");
}

#[test]
fn config_is_checked_and_keeps_the_token_out_of_debug() {
    assert!(matches!(HttpStore::new(HttpConfig::new("shop.example.com")), Err(StoreError::Invalid(_))));
    let mut config = HttpConfig::new("http://127.0.0.1:9/");
    config.token = Some("hunter2".into());
    assert!(!format!("{config:?}").contains("hunter2"));
    let parsed: HttpConfig = toml::from_str("base_url = \"http://127.0.0.1:9\"\ntoken = \"t\"").unwrap();
    assert_eq!((parsed.connect_timeout_ms, parsed.timeout_ms), (2_000, 5_000));
    assert_eq!(phone_param("+86 138 0013 8000").as_deref(), Some("+8613800138000"));
    assert_eq!(phone_param("0086-138").as_deref(), Some("+86138"));
    assert_eq!(phone_param("(415) 555-0142").as_deref(), Some("4155550142"));
    assert_eq!(phone_param("none"), None);
    assert!(is_loopback("127.0.0.1") && is_loopback("[::1]") && is_loopback("LOCALHOST"));
    assert!(!is_loopback("shop.example.com") && !is_loopback("10.0.0.1"));
}
