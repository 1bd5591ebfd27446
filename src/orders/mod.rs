//! The shop's order data, as the bot sees it: where an order is, its returns and refunds, and the
//! few writes a caller may ask for (cancel, change address, request a return).
//!
//! Two backends implement [`OrderStore`]: [`SqliteStore`], an embedded database seeded from a
//! human-readable file (the demo shop), and [`HttpStore`], which lets a real shop plug in over a
//! small JSON webhook API (`docs/orders-api.md`). The serde shapes below are that API's contract.
//!
//! The store enforces data integrity only (unknown order, cancelling what has shipped). Policy,
//! such as the return window or custom-made items, is decided by the dialog engine from dialplan
//! rules, so every shop can have its own without touching the store.

pub mod http;
pub mod seed;
pub mod sqlite;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use http::{HttpConfig, HttpStore};
pub use seed::{Seed, SeedDate, SeedError};
pub use sqlite::{SeedOutcome, SqliteStore};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The number the caller reads out, e.g. "20231188".
    pub id: String,
    pub customer_id: String,
    pub placed_on: NaiveDate,
    pub status: OrderStatus,
    pub items: Vec<Item>,
    pub total_cents: i64,
    /// ISO 4217 code, e.g. "CNY", "USD".
    pub currency: String,
    pub shipping_address: String,
    #[serde(default)]
    pub invoice: Option<Invoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub sku: String,
    pub name: String,
    /// Chinese product name, spoken to Mandarin callers; may be empty for an English-only shop.
    #[serde(default)]
    pub name_zh: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
    pub category: String,
    /// Made or personalised for this customer (engraving, made to measure).
    #[serde(default)]
    pub custom_made: bool,
    /// Sold as final sale (clearance): the shop's rules usually exclude it from returns.
    #[serde(default)]
    pub final_sale: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub number: String,
    pub issued_on: NaiveDate,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub order_id: String,
    pub carrier: String,
    #[serde(default)]
    pub carrier_zh: String,
    pub tracking_number: String,
    pub status: ShipmentStatus,
    pub shipped_on: NaiveDate,
    pub expected_on: NaiveDate,
    #[serde(default)]
    pub delivered_on: Option<NaiveDate>,
    #[serde(default)]
    pub last_event: Option<String>,
    #[serde(default)]
    pub last_event_zh: Option<String>,
    /// Day of the last tracking event: how long a parcel has not moved ("stuck for 10 days").
    #[serde(default)]
    pub last_event_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRequest {
    pub id: String,
    pub order_id: String,
    pub status: ReturnStatus,
    pub requested_on: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub order_id: String,
    pub amount_cents: i64,
    pub status: RefundStatus,
    pub requested_on: NaiveDate,
    #[serde(default)]
    pub completed_on: Option<NaiveDate>,
    /// How the money goes back, e.g. "original payment", "Alipay", "store credit".
    pub method: String,
}

/// Everything the bot may need to answer about one order, fetched in one go so a turn of the
/// dialog costs one lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub order: Order,
    pub customer: Customer,
    #[serde(default)]
    pub shipments: Vec<Shipment>,
    #[serde(default)]
    pub returns: Vec<ReturnRequest>,
    #[serde(default)]
    pub refunds: Vec<Refund>,
}

/// Status enums travel as lowercase snake_case strings, in JSON and in SQLite alike.
macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownStatus;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownStatus { kind: stringify!($name), value: other.to_string() }),
                }
            }
        }
    };
}

status_enum!(OrderStatus {
    Pending = "pending",
    Paid = "paid",
    Shipped = "shipped",
    Delivered = "delivered",
    Cancelled = "cancelled",
});
status_enum!(ShipmentStatus {
    LabelCreated = "label_created",
    InTransit = "in_transit",
    OutForDelivery = "out_for_delivery",
    Delivered = "delivered",
    Exception = "exception",
    Lost = "lost",
});
status_enum!(ReturnStatus {
    Requested = "requested",
    Approved = "approved",
    Received = "received",
    Rejected = "rejected",
});
status_enum!(RefundStatus {
    Pending = "pending",
    Processing = "processing",
    Completed = "completed",
    Rejected = "rejected",
});

impl OrderStatus {
    /// Nothing has left the warehouse yet, so the order can still be cancelled or redirected.
    pub fn before_shipping(self) -> bool {
        matches!(self, OrderStatus::Pending | OrderStatus::Paid)
    }
}

impl ReturnStatus {
    /// Still being handled: a second return for the same order would be a duplicate.
    pub fn is_open(self) -> bool {
        matches!(self, ReturnStatus::Requested | ReturnStatus::Approved | ReturnStatus::Received)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownStatus {
    pub kind: &'static str,
    pub value: String,
}

/// Read and write access to the shop's orders. Implementations are shared between calls, hence
/// `Send + Sync`; every method is a blocking call meant for a driver thread, not the dialog.
pub trait OrderStore: Send + Sync {
    /// The order with this number, or `None` if the shop has no such order.
    fn order(&self, id: &str) -> Result<Option<OrderRecord>, StoreError>;

    /// All orders of the customer(s) with this phone number, newest first. Formatting and a
    /// +86 / +1 country code are ignored, so caller ID and spoken digits both match.
    fn orders_by_phone(&self, phone: &str) -> Result<Vec<OrderRecord>, StoreError>;

    /// Cancels a pending or paid order; anything further along is [`StoreError::NotAllowed`].
    fn cancel_order(&self, id: &str) -> Result<Order, StoreError>;

    /// Replaces the shipping address of an order that has not shipped yet.
    fn change_address(&self, id: &str, new_address: &str) -> Result<Order, StoreError>;

    /// Opens a return for a shipped or delivered order that has no open return already.
    fn request_return(&self, id: &str, reason: &str) -> Result<ReturnRequest, StoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("order {0} not found")]
    NotFound(String),
    /// The data forbids it (e.g. the order has shipped). `reason` is meant for logs and for the
    /// dialog to pick a prompt, not to be read to the caller verbatim.
    #[error("not allowed: {reason}")]
    NotAllowed { reason: String },
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("cannot open order database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("{path} is not a usable order database ({why}); it was left untouched")]
    NotADatabase { path: PathBuf, why: String },
    #[error("order database {path} has schema version {found}, newer than this callbot supports ({supported})")]
    SchemaTooNew { path: PathBuf, found: i64, supported: i64 },
    #[error("order database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("order database holds invalid data: {0}")]
    BadData(String),
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("order service {url} unreachable: {why}")]
    Unreachable { url: String, why: String },
    #[error("order service {url} answered HTTP {status}: {message}")]
    Status { url: String, status: u16, message: String },
    #[error("order service {url} sent an invalid response: {why}")]
    BadResponse { url: String, why: String },
}

/// The key a phone number is stored and looked up by: its national digits, without formatting,
/// international prefix ("+" or "00") or a +86 / +1 country code.
pub fn phone_key(raw: &str) -> String {
    let trimmed = raw.trim_start();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let (international, digits) = match digits.strip_prefix("00") {
        Some(rest) => (true, rest.to_string()),
        None => (trimmed.starts_with('+'), digits),
    };
    if international {
        for code in ["86", "1"] {
            if let Some(national) = digits.strip_prefix(code) {
                return national.to_string();
            }
        }
        return digits;
    }
    // Caller ID often carries the country code without the "+": 86 + an 11-digit mobile.
    if digits.len() == 13 && digits.starts_with("861") {
        return digits[2..].to_string();
    }
    digits
}

/// A second key to try when [`phone_key`] matches nobody: "14155550100" typed without "+" is
/// ambiguous with an 11-digit Chinese mobile, so the North American reading comes second.
pub fn phone_key_fallback(raw: &str) -> Option<String> {
    let key = phone_key(raw);
    (key.len() == 11 && key.starts_with('1')).then(|| key[1..].to_string())
}

/// The demo shop's seed file, which the tests of every backend load. In callbot this is
/// `dialplans/demo/shop.toml`.
#[cfg(test)]
pub(crate) fn demo_seed_path() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/demo/shop.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_keys_ignore_formatting_and_country_codes() {
        for raw in
            ["13800138000", "138-0013-8000", "138 0013 8000", "+86 138 0013 8000", "008613800138000", "8613800138000"]
        {
            assert_eq!(phone_key(raw), "13800138000", "{raw}");
        }
        for raw in ["(415) 555-0100", "+1 415 555 0100", "001-415-555-0100", "415.555.0100"] {
            assert_eq!(phone_key(raw), "4155550100", "{raw}");
        }
        assert_eq!(phone_key_fallback("1 415 555 0100").as_deref(), Some("4155550100"));
        assert_eq!(phone_key_fallback("4155550100"), None);
        assert_eq!(phone_key("+44 20 7946 0000"), "442079460000");
        assert_eq!(phone_key("no digits"), "");
    }

    #[test]
    fn statuses_round_trip_as_snake_case() {
        for s in ShipmentStatus::ALL {
            assert_eq!(s.as_str().parse::<ShipmentStatus>(), Ok(*s));
            assert_eq!(serde_json::to_string(s).ok(), Some(format!("\"{}\"", s.as_str())));
        }
        let err = "shipped".parse::<RefundStatus>().unwrap_err();
        assert_eq!(err.to_string(), "unknown RefundStatus \"shipped\"");
    }

    #[test]
    fn record_json_tolerates_omitted_optional_fields() {
        let json = r#"{
            "order": {"id": "1", "customer_id": "c", "placed_on": "2026-11-01", "status": "paid",
                      "items": [{"sku": "s", "name": "n", "quantity": 1, "unit_price_cents": 5, "category": "x"}],
                      "total_cents": 5, "currency": "USD", "shipping_address": "a"},
            "customer": {"id": "c", "name": "N", "phone": "1", "email": "e"}
        }"#;
        let record: OrderRecord = serde_json::from_str(json).unwrap();
        assert_eq!(record.order.placed_on, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert!(record.order.invoice.is_none() && record.shipments.is_empty());
        assert!(!record.order.items[0].custom_made);
    }
}
