//! A real shop plugs in over HTTP: a few JSON endpoints on its side (`docs/orders-api.md`), called
//! here with a blocking client. Every call has a deadline, because a caller is waiting on the line.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Order, OrderRecord, OrderStore, ReturnRequest, StoreError};

/// Larger answers than this are a misconfigured endpoint, not a customer's order history.
const MAX_BODY_BYTES: u64 = 4 << 20;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Everything before `/orders`, e.g. "https://shop.example.com/callbot/v1".
    pub base_url: String,
    /// Sent as `Authorization: Bearer <token>` when set.
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Deadline for a whole request, connecting included.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_connect_timeout_ms() -> u64 {
    2_000
}

fn default_timeout_ms() -> u64 {
    5_000
}

impl HttpConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        HttpConfig {
            base_url: base_url.into(),
            token: None,
            connect_timeout_ms: default_connect_timeout_ms(),
            timeout_ms: default_timeout_ms(),
        }
    }
}

// Hand-written so the token never reaches a log line.
impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

pub struct HttpStore {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
    timeout_ms: u64,
}

impl fmt::Debug for HttpStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpStore").field("base", &self.base).finish_non_exhaustive()
    }
}

/// An answer of any status; the caller decides what each status means for its endpoint.
struct Reply {
    status: u16,
    body: String,
    url: String,
}

impl HttpStore {
    pub fn new(config: HttpConfig) -> Result<Self, StoreError> {
        let base = config.base_url.trim().trim_end_matches('/').to_string();
        let scheme_ok = base.starts_with("http://") || base.starts_with("https://");
        let uri = base.parse::<ureq::http::Uri>().ok().filter(|_| scheme_ok);
        let Some(uri) = uri else {
            return Err(StoreError::Invalid(format!(
                "order service base_url {:?} is not an http:// or https:// URL",
                config.base_url
            )));
        };
        let tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::NativeTls).build();
        // ureq takes a proxy from the environment; a proxy cannot reach this machine's loopback.
        let proxy = if uri.host().is_some_and(is_loopback) { None } else { ureq::Proxy::try_from_env() };
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .proxy(proxy)
            // Statuses are part of the contract (404, 409), so they come back as replies.
            .http_status_as_error(false)
            // A redirected POST could act twice or lose its body; the base URL should be exact.
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_millis(config.connect_timeout_ms)))
            .timeout_global(Some(Duration::from_millis(config.timeout_ms)))
            .user_agent(concat!("callbot/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let token = config.token.filter(|t| !t.trim().is_empty());
        Ok(HttpStore { agent, base, token, timeout_ms: config.timeout_ms })
    }

    fn get(&self, path: &str, phone: Option<&str>) -> Result<Reply, StoreError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url).header("Accept", "application/json");
        if let Some(phone) = phone {
            request = request.query("phone", phone);
        }
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        // The phone number stays out of error messages, which end up in logs.
        let shown = if phone.is_some() { format!("{url}?phone=…") } else { url };
        self.finish(request.call(), shown)
    }

    fn post(&self, path: &str, body: &serde_json::Value) -> Result<Reply, StoreError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.post(&url).header("Accept", "application/json");
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let body = body.to_string();
        let sent = request.content_type("application/json").send(body.as_bytes());
        self.finish(sent, url)
    }

    fn finish(
        &self,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        url: String,
    ) -> Result<Reply, StoreError> {
        let mut response = sent.map_err(|e| self.unreachable(&url, e))?;
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().limit(MAX_BODY_BYTES).read_to_string();
        let body = match body {
            Ok(body) => body,
            Err(e @ ureq::Error::Timeout(_)) => return Err(self.unreachable(&url, e)),
            Err(e) => return Err(StoreError::BadResponse { url, why: format!("cannot read the body: {e}") }),
        };
        Ok(Reply { status, body, url })
    }

    fn unreachable(&self, url: &str, e: ureq::Error) -> StoreError {
        let why = match e {
            ureq::Error::Timeout(_) => format!("no complete answer within {} ms", self.timeout_ms),
            ureq::Error::Io(io) => io.to_string(),
            other => other.to_string(),
        };
        StoreError::Unreachable { url: url.to_string(), why }
    }
}

impl Reply {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, StoreError> {
        serde_json::from_str(&self.body).map_err(|e| StoreError::BadResponse {
            url: self.url.clone(),
            why: format!("invalid JSON for {what}: {e}"),
        })
    }

    /// The shop's `{"error": "..."}`, or the start of whatever else it sent.
    fn message(&self) -> String {
        #[derive(Deserialize)]
        struct ErrorBody {
            error: String,
        }
        if let Ok(body) = serde_json::from_str::<ErrorBody>(&self.body) {
            return body.error;
        }
        let text = self.body.trim();
        if text.is_empty() {
            return "(empty body)".to_string();
        }
        let mut short: String = text.chars().take(200).collect();
        if short.len() < text.len() {
            short.push('…');
        }
        short
    }

    fn status_error(&self) -> StoreError {
        StoreError::Status { url: self.url.clone(), status: self.status, message: self.message() }
    }

    /// The answer to a write on order `id`, read by the contract's status codes.
    fn write_result<T: DeserializeOwned>(&self, id: &str, what: &str) -> Result<T, StoreError> {
        match self.status {
            _ if self.ok() => self.json(what),
            404 => Err(StoreError::NotFound(id.to_string())),
            409 => Err(StoreError::NotAllowed { reason: self.message() }),
            400 | 422 => Err(StoreError::Invalid(self.message())),
            _ => Err(self.status_error()),
        }
    }

    fn same_order(&self, asked: &str, got: &str) -> Result<(), StoreError> {
        // A shop answering with the wrong order would tell a caller about someone else's parcel.
        if asked == got {
            Ok(())
        } else {
            Err(StoreError::BadResponse { url: self.url.clone(), why: format!("asked for order {asked}, got {got}") })
        }
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Order ids go into the URL path; anything but letters, digits, '-' and '_' cannot be an order
/// and could change the path ("../"), so it is answered as unknown without a request.
fn path_safe(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Digits only, with a leading "+" when the number was given in international form, so the
/// shop's side compares one plain format.
fn phone_param(raw: &str) -> Option<String> {
    let trimmed = raw.trim_start();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    Some(match digits.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None if trimmed.starts_with('+') => format!("+{digits}"),
        None => digits,
    })
}

impl OrderStore for HttpStore {
    fn order(&self, id: &str) -> Result<Option<OrderRecord>, StoreError> {
        if !path_safe(id) {
            return Ok(None);
        }
        let reply = self.get(&format!("/orders/{id}"), None)?;
        match reply.status {
            404 => Ok(None),
            _ if reply.ok() => {
                let record: OrderRecord = reply.json("an order record")?;
                reply.same_order(id, &record.order.id)?;
                Ok(Some(record))
            }
            _ => Err(reply.status_error()),
        }
    }

    fn orders_by_phone(&self, phone: &str) -> Result<Vec<OrderRecord>, StoreError> {
        #[derive(Deserialize)]
        struct Orders {
            orders: Vec<OrderRecord>,
        }
        let Some(phone) = phone_param(phone) else { return Ok(Vec::new()) };
        let reply = self.get("/orders", Some(&phone))?;
        match reply.status {
            404 => Ok(Vec::new()),
            _ if reply.ok() => {
                let mut records = reply.json::<Orders>("an order list")?.orders;
                // The contract says newest first; sorting again costs nothing and spares the
                // dialog a shop that forgot.
                records.sort_by_key(|r| std::cmp::Reverse(r.order.placed_on));
                Ok(records)
            }
            _ => Err(reply.status_error()),
        }
    }

    fn cancel_order(&self, id: &str) -> Result<Order, StoreError> {
        if !path_safe(id) {
            return Err(StoreError::NotFound(id.to_string()));
        }
        let reply = self.post(&format!("/orders/{id}/cancel"), &json!({}))?;
        let order: Order = reply.write_result(id, "an order")?;
        reply.same_order(id, &order.id)?;
        Ok(order)
    }

    fn change_address(&self, id: &str, new_address: &str) -> Result<Order, StoreError> {
        if !path_safe(id) {
            return Err(StoreError::NotFound(id.to_string()));
        }
        let address = new_address.trim();
        if address.is_empty() {
            return Err(StoreError::Invalid("the new shipping address is empty".into()));
        }
        let reply = self.post(&format!("/orders/{id}/address"), &json!({ "address": address }))?;
        let order: Order = reply.write_result(id, "an order")?;
        reply.same_order(id, &order.id)?;
        Ok(order)
    }

    fn request_return(&self, id: &str, reason: &str) -> Result<ReturnRequest, StoreError> {
        if !path_safe(id) {
            return Err(StoreError::NotFound(id.to_string()));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid("a return needs a reason".into()));
        }
        let reply = self.post(&format!("/orders/{id}/returns"), &json!({ "reason": reason }))?;
        let request: ReturnRequest = reply.write_result(id, "a return request")?;
        reply.same_order(id, &request.order_id)?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests;
