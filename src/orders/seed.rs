//! The seed file: a hand-written TOML description of a shop's customers and orders (the demo shop
//! lives in `dialplans/demo/shop.toml`).
//!
//! Dates may be absolute ("2026-11-21") or relative to the day the database is seeded ("today",
//! "today-2", "today+1"), so the demo always has an order that shipped two days ago and arrives
//! tomorrow. Everything is checked when the file is parsed, before anything is written.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chrono::{Days, NaiveDate};
use serde::Deserialize;
use toml::Spanned;

use super::{
    Customer, Invoice, Item, Order, OrderRecord, OrderStatus, Refund, RefundStatus, ReturnRequest, ReturnStatus,
    Shipment, ShipmentStatus,
};

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{origin}{}: {message}", at(*line, *column))]
    Parse { origin: String, line: Option<usize>, column: Option<usize>, message: String },
    #[error("{origin}{}: {problem}", at(*line, None))]
    Invalid { origin: String, line: Option<usize>, problem: String },
    #[error("{origin}: date {date} is out of range when today is {today}")]
    DateOutOfRange { origin: String, date: SeedDate, today: NaiveDate },
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(":{line}:{column}"),
        (Some(line), None) => format!(":{line}"),
        _ => String::new(),
    }
}

/// A date in a seed file: a calendar date, or a number of days from the seeding day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedDate {
    On(NaiveDate),
    Today(i64),
}

impl SeedDate {
    pub fn resolve(self, today: NaiveDate) -> Option<NaiveDate> {
        match self {
            SeedDate::On(date) => Some(date),
            SeedDate::Today(days) if days >= 0 => today.checked_add_days(Days::new(days.unsigned_abs())),
            SeedDate::Today(days) => today.checked_sub_days(Days::new(days.unsigned_abs())),
        }
    }
}

impl FromStr for SeedDate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid date {s:?}: expected \"YYYY-MM-DD\", \"today\", \"today-N\" or \"today+N\"");
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let Some(offset) = compact.strip_prefix("today") else {
            return NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map(SeedDate::On).map_err(|_| bad());
        };
        if offset.is_empty() {
            return Ok(SeedDate::Today(0));
        }
        let (sign, digits) = match offset.split_at(1) {
            ("+", digits) => (1, digits),
            ("-", digits) => (-1, digits),
            _ => return Err(bad()),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        // Anything beyond a few centuries is a typo, and the bound keeps the arithmetic in range.
        let days: i64 = digits.parse().ok().filter(|d| *d <= 100_000).ok_or_else(bad)?;
        Ok(SeedDate::Today(sign * days))
    }
}

impl fmt::Display for SeedDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedDate::On(date) => write!(f, "{date}"),
            SeedDate::Today(0) => f.write_str("today"),
            SeedDate::Today(days) => write!(f, "today{days:+}"),
        }
    }
}

impl<'de> Deserialize<'de> for SeedDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SeedDate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quoted date: \"YYYY-MM-DD\", \"today\", \"today-N\" or \"today+N\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<SeedDate, E> {
                s.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// A parsed and checked seed file. Relative dates stay relative until [`Seed::resolve`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Where the text came from, for error messages.
    #[serde(skip)]
    pub origin: String,
    #[serde(default)]
    pub customers: Vec<Customer>,
    #[serde(default)]
    pub orders: Vec<SeedOrder>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOrder {
    pub id: Spanned<String>,
    pub customer_id: String,
    pub placed_on: SeedDate,
    pub status: OrderStatus,
    pub items: Vec<SeedItem>,
    /// Defaults to the sum of the items; give it when shipping or discounts change the total.
    pub total_cents: Option<i64>,
    pub currency: String,
    pub shipping_address: String,
    pub invoice: Option<SeedInvoice>,
    #[serde(default)]
    pub shipments: Vec<SeedShipment>,
    #[serde(default)]
    pub returns: Vec<SeedReturn>,
    #[serde(default)]
    pub refunds: Vec<SeedRefund>,
}

/// Same fields as [`Item`], but a misspelt flag in a hand-written file is an error, not `false`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedItem {
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub name_zh: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
    pub category: String,
    #[serde(default)]
    pub custom_made: bool,
    #[serde(default)]
    pub final_sale: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedInvoice {
    pub number: String,
    pub issued_on: SeedDate,
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedShipment {
    pub carrier: String,
    #[serde(default)]
    pub carrier_zh: String,
    pub tracking_number: String,
    pub status: ShipmentStatus,
    pub shipped_on: SeedDate,
    pub expected_on: SeedDate,
    pub delivered_on: Option<SeedDate>,
    pub last_event: Option<String>,
    pub last_event_zh: Option<String>,
    pub last_event_on: Option<SeedDate>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedReturn {
    pub id: String,
    pub status: ReturnStatus,
    pub requested_on: SeedDate,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRefund {
    pub id: String,
    pub amount_cents: i64,
    pub status: RefundStatus,
    pub requested_on: SeedDate,
    pub completed_on: Option<SeedDate>,
    pub method: String,
}

/// Customers and orders with every date made absolute, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedData {
    pub customers: Vec<Customer>,
    pub records: Vec<OrderRecord>,
}

impl Seed {
    pub fn load(path: &Path) -> Result<Seed, SeedError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| SeedError::Read { path: path.display().to_string(), source })?;
        Seed::parse(&text, &path.display().to_string())
    }

    /// Parses and checks seed text; `origin` names it in errors (usually the file path).
    pub fn parse(text: &str, origin: &str) -> Result<Seed, SeedError> {
        let mut seed: Seed = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|span| line_col(text, span.start)).unzip();
            SeedError::Parse { origin: origin.to_string(), line, column, message: e.message().trim().to_string() }
        })?;
        seed.origin = origin.to_string();
        seed.check(text)?;
        Ok(seed)
    }

    /// Integrity checks a database would otherwise reject with a less helpful message.
    fn check(&self, text: &str) -> Result<(), SeedError> {
        let invalid =
            |line: Option<usize>, problem: String| SeedError::Invalid { origin: self.origin.clone(), line, problem };
        let mut customers = HashSet::new();
        for c in &self.customers {
            if c.id.trim().is_empty() {
                return Err(invalid(None, format!("customer {:?} has an empty id", c.name)));
            }
            if !customers.insert(c.id.as_str()) {
                return Err(invalid(None, format!("customer id {:?} is used twice", c.id)));
            }
            if super::phone_key(&c.phone).is_empty() {
                return Err(invalid(None, format!("customer {}: phone {:?} has no digits", c.id, c.phone)));
            }
        }
        let (mut orders, mut returns, mut refunds) = (HashSet::new(), HashSet::new(), HashSet::new());
        for o in &self.orders {
            let id = o.id.get_ref();
            let line = Some(line_col(text, o.id.span().start).0);
            let problem = |what: String| invalid(line, format!("order {id}: {what}"));
            if id.trim().is_empty() {
                return Err(invalid(line, "order with an empty id".into()));
            }
            if !orders.insert(id.as_str()) {
                return Err(problem("this order id is used twice".into()));
            }
            if !customers.contains(o.customer_id.as_str()) {
                return Err(problem(format!("customer_id {:?} is not a customer in this file", o.customer_id)));
            }
            if o.items.is_empty() {
                return Err(problem("has no items".into()));
            }
            if let Some(item) = o.items.iter().find(|i| i.quantity == 0 || i.unit_price_cents < 0) {
                return Err(problem(format!("item {} needs a quantity above 0 and a price of 0 or more", item.sku)));
            }
            if o.total_cents.is_some_and(|t| t < 0) {
                return Err(problem("total_cents is negative".into()));
            }
            for s in &o.shipments {
                if (s.status == ShipmentStatus::Delivered) != s.delivered_on.is_some() {
                    return Err(problem(format!(
                        "shipment {} must have delivered_on exactly when its status is delivered",
                        s.tracking_number
                    )));
                }
            }
            for r in &o.returns {
                if !returns.insert(r.id.as_str()) {
                    return Err(problem(format!("return id {:?} is used twice", r.id)));
                }
            }
            for r in &o.refunds {
                if !refunds.insert(r.id.as_str()) {
                    return Err(problem(format!("refund id {:?} is used twice", r.id)));
                }
                if r.amount_cents < 0 {
                    return Err(problem(format!("refund {} has a negative amount", r.id)));
                }
            }
        }
        Ok(())
    }

    /// Makes every date absolute, counting relative ones from `today`.
    pub fn resolve(&self, today: NaiveDate) -> Result<SeedData, SeedError> {
        let date = |d: SeedDate| {
            d.resolve(today).ok_or_else(|| SeedError::DateOutOfRange { origin: self.origin.clone(), date: d, today })
        };
        let mut records = Vec::with_capacity(self.orders.len());
        for o in &self.orders {
            let id = o.id.get_ref().clone();
            // Checked in `check`: every order names a customer of this file.
            let Some(customer) = self.customers.iter().find(|c| c.id == o.customer_id) else { continue };
            let items: Vec<Item> = o
                .items
                .iter()
                .map(|i| Item {
                    sku: i.sku.clone(),
                    name: i.name.clone(),
                    name_zh: i.name_zh.clone(),
                    quantity: i.quantity,
                    unit_price_cents: i.unit_price_cents,
                    category: i.category.clone(),
                    custom_made: i.custom_made,
                    final_sale: i.final_sale,
                })
                .collect();
            let sum = items.iter().map(|i| i.unit_price_cents.saturating_mul(i64::from(i.quantity))).sum();
            let invoice = match &o.invoice {
                Some(i) => {
                    Some(Invoice { number: i.number.clone(), issued_on: date(i.issued_on)?, url: i.url.clone() })
                }
                None => None,
            };
            let order = Order {
                id: id.clone(),
                customer_id: o.customer_id.clone(),
                placed_on: date(o.placed_on)?,
                status: o.status,
                items,
                total_cents: o.total_cents.unwrap_or(sum),
                currency: o.currency.clone(),
                shipping_address: o.shipping_address.clone(),
                invoice,
            };
            let mut shipments = Vec::new();
            for s in &o.shipments {
                shipments.push(Shipment {
                    order_id: id.clone(),
                    carrier: s.carrier.clone(),
                    carrier_zh: s.carrier_zh.clone(),
                    tracking_number: s.tracking_number.clone(),
                    status: s.status,
                    shipped_on: date(s.shipped_on)?,
                    expected_on: date(s.expected_on)?,
                    delivered_on: s.delivered_on.map(date).transpose()?,
                    last_event: s.last_event.clone(),
                    last_event_zh: s.last_event_zh.clone(),
                    last_event_on: s.last_event_on.map(date).transpose()?,
                });
            }
            let mut returns = Vec::new();
            for r in &o.returns {
                returns.push(ReturnRequest {
                    id: r.id.clone(),
                    order_id: id.clone(),
                    status: r.status,
                    requested_on: date(r.requested_on)?,
                    reason: r.reason.clone(),
                });
            }
            let mut refunds = Vec::new();
            for r in &o.refunds {
                refunds.push(Refund {
                    id: r.id.clone(),
                    order_id: id.clone(),
                    amount_cents: r.amount_cents,
                    status: r.status,
                    requested_on: date(r.requested_on)?,
                    completed_on: r.completed_on.map(date).transpose()?,
                    method: r.method.clone(),
                });
            }
            records.push(OrderRecord { order, customer: customer.clone(), shipments, returns, refunds });
        }
        Ok(SeedData { customers: self.customers.clone(), records })
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const MINIMAL: &str = r#"
[[customers]]
id = "C1"
name = "Ada"
phone = "+1 415 555 0100"
email = "ada@example.com"

[[orders]]
id = "10000001"
customer_id = "C1"
placed_on = "today-3"
status = "shipped"
currency = "USD"
shipping_address = "1 Main St"
items = [{ sku = "A", name = "Mug", quantity = 2, unit_price_cents = 1500, category = "kitchen" }]

[[orders.shipments]]
carrier = "UPS"
tracking_number = "1Z999"
status = "in_transit"
shipped_on = "today - 2"
expected_on = "today+1"
"#;

    #[test]
    fn relative_dates_resolve_against_today() {
        assert_eq!("today".parse(), Ok(SeedDate::Today(0)));
        assert_eq!("today+1".parse(), Ok(SeedDate::Today(1)));
        assert_eq!(" today - 12 ".parse(), Ok(SeedDate::Today(-12)));
        assert_eq!("2026-11-21".parse(), Ok(SeedDate::On(day("2026-11-21"))));
        for bad in ["tomorrow", "today*2", "today+", "today+1d", "2026-13-01", "21/11/2026"] {
            assert!(bad.parse::<SeedDate>().is_err(), "{bad}");
        }
        assert_eq!(SeedDate::Today(-2).resolve(day("2026-03-01")), Some(day("2026-02-27")));
        assert_eq!(SeedDate::Today(-2).to_string(), "today-2");
    }

    #[test]
    fn minimal_seed_resolves() {
        let seed = Seed::parse(MINIMAL, "mini.toml").unwrap();
        let data = seed.resolve(day("2026-11-20")).unwrap();
        let record = &data.records[0];
        assert_eq!(record.order.total_cents, 3000);
        assert_eq!(record.order.placed_on, day("2026-11-17"));
        assert_eq!(record.shipments[0].expected_on, day("2026-11-21"));
        assert_eq!(record.shipments[0].order_id, "10000001");
        assert_eq!(record.customer.name, "Ada");
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let text = MINIMAL.replace("status = \"shipped\"", "status = shipped");
        let err = Seed::parse(&text, "shop.toml").unwrap_err().to_string();
        assert!(err.starts_with("shop.toml:12:"), "{err}");
    }

    #[test]
    fn bad_values_name_the_problem_and_line() {
        let text = MINIMAL.replace("\"in_transit\"", "\"in_transmit\"");
        let err = Seed::parse(&text, "shop.toml").unwrap_err().to_string();
        assert!(err.starts_with("shop.toml:20:") && err.contains("in_transmit"), "{err}");

        let text = MINIMAL.replace("\"today+1\"", "\"tomorrow\"");
        let err = Seed::parse(&text, "shop.toml").unwrap_err().to_string();
        assert!(err.starts_with("shop.toml:22:") && err.contains("invalid date \"tomorrow\""), "{err}");

        let text = MINIMAL.replace("category = \"kitchen\"", "category = \"kitchen\", custommade = true");
        let err = Seed::parse(&text, "shop.toml").unwrap_err().to_string();
        assert!(err.contains("custommade"), "{err}");
    }

    #[test]
    fn integrity_problems_name_the_order() {
        let text = MINIMAL.replace("customer_id = \"C1\"", "customer_id = \"C9\"");
        let err = Seed::parse(&text, "shop.toml").unwrap_err().to_string();
        assert_eq!(err, "shop.toml:9: order 10000001: customer_id \"C9\" is not a customer in this file");

        let twice = format!("{MINIMAL}\n{}", &MINIMAL[MINIMAL.find("[[orders]]").unwrap()..]);
        let err = Seed::parse(&twice, "shop.toml").unwrap_err().to_string();
        assert!(err.contains("order 10000001: this order id is used twice"), "{err}");

        let text = MINIMAL.replace("status = \"in_transit\"", "status = \"delivered\"");
        let err = Seed::parse(&text, "shop.toml").unwrap_err().to_string();
        assert!(err.contains("delivered_on"), "{err}");
    }
}
