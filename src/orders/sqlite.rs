//! The embedded order store: one SQLite file (or memory), seeded from a [`Seed`], with real,
//! transactional writes. The schema is versioned with `PRAGMA user_version`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::NaiveDate;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::seed::{Seed, SeedData};
use super::{
    Customer, Invoice, Item, Order, OrderRecord, OrderStatus, OrderStore, Refund, RefundStatus, ReturnRequest,
    ReturnStatus, Shipment, ShipmentStatus, StoreError, phone_key, phone_key_fallback,
};

/// `MIGRATIONS[v]` takes a database from schema version `v` to `v + 1`.
const MIGRATIONS: &[&str] = &[include_str!("schema_v1.sql")];
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// What [`SqliteStore::seed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedOutcome {
    Seeded {
        customers: usize,
        orders: usize,
    },
    /// The database already had data and was left alone; `today` is the day it was seeded for,
    /// if a seed put the data there, so a caller can reseed when relative dates have gone stale.
    AlreadySeeded {
        today: Option<NaiveDate>,
    },
}

type Clock = Box<dyn Fn() -> NaiveDate + Send + Sync>;

pub struct SqliteStore {
    // rusqlite's Connection is Send but not Sync; calls are short, so one lock is enough.
    conn: Mutex<Connection>,
    path: PathBuf,
    today: Clock,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path` and brings its schema up to date. A
    /// file that is not an SQLite database, or belongs to another application, is refused and
    /// left as it was.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path).map_err(|source| StoreError::Open { path: path.clone(), source })?;
        Self::init(conn, path)
    }

    pub fn in_memory() -> Result<Self, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open { path: path.clone(), source })?;
        Self::init(conn, path)
    }

    /// Replaces the clock that dates new returns (the local date by default); tests pin it.
    pub fn with_today(mut self, today: impl Fn() -> NaiveDate + Send + Sync + 'static) -> Self {
        self.today = Box::new(today);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn init(mut conn: Connection, path: PathBuf) -> Result<Self, StoreError> {
        conn.busy_timeout(Duration::from_secs(5))?;
        // The first read of the header is where SQLite notices a file is not a database; nothing
        // has been written to it yet at this point.
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| refuse(&path, e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew { path, found: version, supported: SCHEMA_VERSION });
        }
        if version == 0 {
            let tables: i64 =
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).map_err(|e| refuse(&path, e))?;
            if tables > 0 {
                let why = "it is an SQLite database with tables but no callbot order schema".to_string();
                return Err(StoreError::NotADatabase { path, why });
            }
        }
        if version < SCHEMA_VERSION {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
            for migration in &MIGRATIONS[version as usize..] {
                tx.execute_batch(migration)?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        }
        conn.pragma_update(None, "foreign_keys", true)?;
        Ok(SqliteStore { conn: Mutex::new(conn), path, today: Box::new(|| chrono::Local::now().date_naive()) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-call leaves no half-done write (the transaction rolls back on drop), so a
        // poisoned lock still guards a consistent connection.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the seed's customers and orders, with relative dates counted from `today`, unless
    /// the database already holds data: seeding twice is harmless.
    pub fn seed(&self, seed: &Seed, today: NaiveDate) -> Result<SeedOutcome, StoreError> {
        self.write_seed(seed, today, false)
    }

    /// Deletes every customer, order, shipment, return and refund, then seeds afresh.
    pub fn reseed(&self, seed: &Seed, today: NaiveDate) -> Result<SeedOutcome, StoreError> {
        self.write_seed(seed, today, true)
    }

    /// Loads the seed file at `path` and seeds from it (see [`SqliteStore::seed`]).
    pub fn seed_file(&self, path: &Path, today: NaiveDate) -> Result<SeedOutcome, StoreError> {
        self.seed(&Seed::load(path)?, today)
    }

    fn write_seed(&self, seed: &Seed, today: NaiveDate, reset: bool) -> Result<SeedOutcome, StoreError> {
        let data = seed.resolve(today)?;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if reset {
            tx.execute_batch(
                "DELETE FROM refunds; DELETE FROM returns; DELETE FROM shipments; DELETE FROM items;
                 DELETE FROM orders; DELETE FROM customers; DELETE FROM meta;",
            )?;
        } else {
            let seeded_for: Option<NaiveDate> =
                tx.query_row("SELECT value FROM meta WHERE key = 'seed_today'", [], |r| r.get(0)).optional()?;
            let customers: i64 = tx.query_row("SELECT count(*) FROM customers", [], |r| r.get(0))?;
            if seeded_for.is_some() || customers > 0 {
                return Ok(SeedOutcome::AlreadySeeded { today: seeded_for });
            }
        }
        insert_seed(&tx, &data)?;
        tx.execute("INSERT INTO meta (key, value) VALUES ('seed_today', ?1)", [today])?;
        tx.execute("INSERT INTO meta (key, value) VALUES ('seed_origin', ?1)", [&seed.origin])?;
        tx.commit()?;
        Ok(SeedOutcome::Seeded { customers: data.customers.len(), orders: data.records.len() })
    }
}

/// Turns "this file is no database" into a refusal that names the file; other errors pass.
fn refuse(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::NotADatabase { path: path.to_path_buf(), why: e.to_string() }
        }
        _ => StoreError::Open { path: path.to_path_buf(), source: e },
    }
}

fn insert_seed(tx: &Transaction, data: &SeedData) -> Result<(), StoreError> {
    for c in &data.customers {
        tx.execute(
            "INSERT INTO customers (id, name, phone, phone_key, email) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![c.id, c.name, c.phone, phone_key(&c.phone), c.email],
        )?;
    }
    for record in &data.records {
        let o = &record.order;
        let invoice = o.invoice.as_ref();
        tx.execute(
            "INSERT INTO orders (id, customer_id, placed_on, status, total_cents, currency, shipping_address,
                                 invoice_number, invoice_issued_on, invoice_url)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                o.id,
                o.customer_id,
                o.placed_on,
                o.status,
                o.total_cents,
                o.currency,
                o.shipping_address,
                invoice.map(|i| &i.number),
                invoice.map(|i| i.issued_on),
                invoice.map(|i| &i.url),
            ],
        )?;
        for (position, i) in o.items.iter().enumerate() {
            tx.execute(
                "INSERT INTO items (order_id, position, sku, name, name_zh, quantity, unit_price_cents, category,
                                    custom_made, final_sale)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    o.id,
                    position as i64,
                    i.sku,
                    i.name,
                    i.name_zh,
                    i.quantity,
                    i.unit_price_cents,
                    i.category,
                    i.custom_made,
                    i.final_sale
                ],
            )?;
        }
        for s in &record.shipments {
            tx.execute(
                "INSERT INTO shipments (order_id, carrier, carrier_zh, tracking_number, status, shipped_on,
                                        expected_on, delivered_on, last_event, last_event_zh, last_event_on)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    s.order_id,
                    s.carrier,
                    s.carrier_zh,
                    s.tracking_number,
                    s.status,
                    s.shipped_on,
                    s.expected_on,
                    s.delivered_on,
                    s.last_event,
                    s.last_event_zh,
                    s.last_event_on
                ],
            )?;
        }
        for r in &record.returns {
            tx.execute(
                "INSERT INTO returns (id, order_id, status, requested_on, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![r.id, r.order_id, r.status, r.requested_on, r.reason],
            )?;
        }
        for r in &record.refunds {
            tx.execute(
                "INSERT INTO refunds (id, order_id, amount_cents, status, requested_on, completed_on, method)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![r.id, r.order_id, r.amount_cents, r.status, r.requested_on, r.completed_on, r.method],
            )?;
        }
    }
    Ok(())
}

impl OrderStore for SqliteStore {
    fn order(&self, id: &str) -> Result<Option<OrderRecord>, StoreError> {
        load_record(&self.lock(), id)
    }

    fn orders_by_phone(&self, phone: &str) -> Result<Vec<OrderRecord>, StoreError> {
        let conn = self.lock();
        let key = phone_key(phone);
        let has_customer = |key: &str| -> rusqlite::Result<bool> {
            conn.query_row("SELECT EXISTS (SELECT 1 FROM customers WHERE phone_key = ?1)", [key], |r| r.get(0))
        };
        let key = match phone_key_fallback(phone) {
            Some(fallback) if !has_customer(&key)? => fallback,
            _ => key,
        };
        if key.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = conn.prepare(
            "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id
             WHERE c.phone_key = ?1 ORDER BY o.placed_on DESC, o.id DESC",
        )?;
        let ids = stmt.query_map([&key], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            records.extend(load_record(&conn, &id)?);
        }
        Ok(records)
    }

    fn cancel_order(&self, id: &str) -> Result<Order, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status = order_status(&tx, id)?;
        if !status.before_shipping() {
            return Err(too_late(id, status, "cancelled"));
        }
        tx.execute("UPDATE orders SET status = ?2 WHERE id = ?1", params![id, OrderStatus::Cancelled])?;
        let order = load_order(&tx, id)?.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        tx.commit()?;
        Ok(order)
    }

    fn change_address(&self, id: &str, new_address: &str) -> Result<Order, StoreError> {
        let address = new_address.trim();
        if address.is_empty() {
            return Err(StoreError::Invalid("the new shipping address is empty".into()));
        }
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status = order_status(&tx, id)?;
        if !status.before_shipping() {
            return Err(too_late(id, status, "given a new address"));
        }
        tx.execute("UPDATE orders SET shipping_address = ?2 WHERE id = ?1", params![id, address])?;
        let order = load_order(&tx, id)?.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        tx.commit()?;
        Ok(order)
    }

    fn request_return(&self, id: &str, reason: &str) -> Result<ReturnRequest, StoreError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid("a return needs a reason".into()));
        }
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status = order_status(&tx, id)?;
        if !matches!(status, OrderStatus::Shipped | OrderStatus::Delivered) {
            let reason = format!("order {id} is {status}; only shipped or delivered orders can be returned");
            return Err(StoreError::NotAllowed { reason });
        }
        let returns = load_returns(&tx, id)?;
        if let Some(open) = returns.iter().find(|r| r.status.is_open()) {
            let reason = format!("order {id} already has return {} ({})", open.id, open.status);
            return Err(StoreError::NotAllowed { reason });
        }
        // Readable ids the bot can speak: R<order>-<n>, skipping any n already taken.
        let taken = |candidate: &str| returns.iter().any(|r| r.id == candidate);
        let mut n = returns.len() + 1;
        let mut return_id = format!("R{id}-{n}");
        while taken(&return_id) {
            n += 1;
            return_id = format!("R{id}-{n}");
        }
        let request = ReturnRequest {
            id: return_id,
            order_id: id.to_string(),
            status: ReturnStatus::Requested,
            requested_on: (self.today)(),
            reason: reason.to_string(),
        };
        tx.execute(
            "INSERT INTO returns (id, order_id, status, requested_on, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![request.id, request.order_id, request.status, request.requested_on, request.reason],
        )?;
        tx.commit()?;
        Ok(request)
    }
}

fn order_status(conn: &Connection, id: &str) -> Result<OrderStatus, StoreError> {
    conn.query_row("SELECT status FROM orders WHERE id = ?1", [id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(id.to_string()))
}

fn too_late(id: &str, status: OrderStatus, action: &str) -> StoreError {
    let reason = match status {
        OrderStatus::Cancelled => format!("order {id} is cancelled"),
        OrderStatus::Delivered => format!("order {id} has been delivered and can no longer be {action}"),
        _ => format!("order {id} has shipped and can no longer be {action}"),
    };
    StoreError::NotAllowed { reason }
}

fn load_record(conn: &Connection, id: &str) -> Result<Option<OrderRecord>, StoreError> {
    let Some(order) = load_order(conn, id)? else { return Ok(None) };
    let customer = conn
        .query_row("SELECT id, name, phone, email FROM customers WHERE id = ?1", [&order.customer_id], |r| {
            Ok(Customer { id: r.get(0)?, name: r.get(1)?, phone: r.get(2)?, email: r.get(3)? })
        })
        .optional()?
        .ok_or_else(|| StoreError::BadData(format!("order {id} names unknown customer {}", order.customer_id)))?;
    let shipments = conn
        .prepare(
            "SELECT order_id, carrier, carrier_zh, tracking_number, status, shipped_on, expected_on, delivered_on,
                    last_event, last_event_zh, last_event_on
             FROM shipments WHERE order_id = ?1 ORDER BY shipped_on, seq",
        )?
        .query_map([id], |r| {
            Ok(Shipment {
                order_id: r.get(0)?,
                carrier: r.get(1)?,
                carrier_zh: r.get(2)?,
                tracking_number: r.get(3)?,
                status: r.get(4)?,
                shipped_on: r.get(5)?,
                expected_on: r.get(6)?,
                delivered_on: r.get(7)?,
                last_event: r.get(8)?,
                last_event_zh: r.get(9)?,
                last_event_on: r.get(10)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let refunds = conn
        .prepare(
            "SELECT id, order_id, amount_cents, status, requested_on, completed_on, method
             FROM refunds WHERE order_id = ?1 ORDER BY requested_on, id",
        )?
        .query_map([id], |r| {
            Ok(Refund {
                id: r.get(0)?,
                order_id: r.get(1)?,
                amount_cents: r.get(2)?,
                status: r.get(3)?,
                requested_on: r.get(4)?,
                completed_on: r.get(5)?,
                method: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let returns = load_returns(conn, id)?;
    Ok(Some(OrderRecord { order, customer, shipments, returns, refunds }))
}

fn load_order(conn: &Connection, id: &str) -> Result<Option<Order>, StoreError> {
    let row = |r: &Row| -> rusqlite::Result<Order> {
        let invoice_number: Option<String> = r.get(7)?;
        let invoice = match invoice_number {
            Some(number) => Some(Invoice { number, issued_on: r.get(8)?, url: r.get(9)? }),
            None => None,
        };
        Ok(Order {
            id: r.get(0)?,
            customer_id: r.get(1)?,
            placed_on: r.get(2)?,
            status: r.get(3)?,
            items: Vec::new(),
            total_cents: r.get(4)?,
            currency: r.get(5)?,
            shipping_address: r.get(6)?,
            invoice,
        })
    };
    let Some(mut order) = conn
        .query_row(
            "SELECT id, customer_id, placed_on, status, total_cents, currency, shipping_address,
                    invoice_number, invoice_issued_on, invoice_url
             FROM orders WHERE id = ?1",
            [id],
            row,
        )
        .optional()?
    else {
        return Ok(None);
    };
    order.items = conn
        .prepare(
            "SELECT sku, name, name_zh, quantity, unit_price_cents, category, custom_made, final_sale
             FROM items WHERE order_id = ?1 ORDER BY position",
        )?
        .query_map([id], |r| {
            Ok(Item {
                sku: r.get(0)?,
                name: r.get(1)?,
                name_zh: r.get(2)?,
                quantity: r.get(3)?,
                unit_price_cents: r.get(4)?,
                category: r.get(5)?,
                custom_made: r.get(6)?,
                final_sale: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(order))
}

fn load_returns(conn: &Connection, id: &str) -> Result<Vec<ReturnRequest>, StoreError> {
    let returns = conn
        .prepare(
            "SELECT id, order_id, status, requested_on, reason FROM returns
             WHERE order_id = ?1 ORDER BY requested_on, id",
        )?
        .query_map([id], |r| {
            Ok(ReturnRequest {
                id: r.get(0)?,
                order_id: r.get(1)?,
                status: r.get(2)?,
                requested_on: r.get(3)?,
                reason: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(returns)
}

/// Statuses are stored as the same snake_case text as in JSON.
macro_rules! sql_text_enum {
    ($($name:ident),+) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value.as_str()?.parse().map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    )+};
}

sql_text_enum!(OrderStatus, ShipmentStatus, ReturnStatus, RefundStatus);

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const TODAY: &str = "2026-11-20";

    fn demo_seed() -> Seed {
        Seed::load(&crate::orders::demo_seed_path()).unwrap()
    }

    fn demo_store() -> SqliteStore {
        let store = SqliteStore::in_memory().unwrap().with_today(|| day(TODAY));
        assert!(matches!(store.seed(&demo_seed(), day(TODAY)).unwrap(), SeedOutcome::Seeded { .. }));
        store
    }

    #[test]
    fn demo_order_20231188_ships_with_sf_express() {
        let store = demo_store();
        let record = store.order("20231188").unwrap().expect("20231188 is in the demo shop");
        assert_eq!(record.order.status, OrderStatus::Shipped);
        assert_eq!(record.customer.name, "张伟");
        let shipment = &record.shipments[0];
        assert_eq!((shipment.carrier.as_str(), shipment.carrier_zh.as_str()), ("SF Express", "顺丰速运"));
        assert_eq!(shipment.tracking_number, "SF1428365079012");
        assert_eq!(shipment.status, ShipmentStatus::InTransit);
        assert_eq!(shipment.shipped_on, day("2026-11-18"));
        assert_eq!(shipment.expected_on, day("2026-11-21"));
        assert_eq!(store.order("99999999").unwrap(), None);
    }

    #[test]
    fn demo_stuck_and_lost_parcels() {
        let store = demo_store();
        let stuck = &store.order("20231105").unwrap().unwrap().shipments[0];
        assert_eq!((stuck.status, stuck.last_event_on), (ShipmentStatus::Exception, Some(day("2026-11-10"))));
        let lost = store.order("20231098").unwrap().unwrap();
        assert_eq!(lost.shipments[0].status, ShipmentStatus::Lost);
        assert_eq!(lost.refunds[0].status, RefundStatus::Processing);
    }

    #[test]
    fn demo_seed_covers_every_status() {
        let store = demo_store();
        let conn = store.lock();
        let distinct = |sql: &str| -> Vec<String> {
            conn.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
        };
        assert_eq!(distinct("SELECT DISTINCT status FROM orders").len(), OrderStatus::ALL.len());
        assert_eq!(distinct("SELECT DISTINCT status FROM shipments").len(), ShipmentStatus::ALL.len());
        assert_eq!(distinct("SELECT DISTINCT status FROM returns").len(), ReturnStatus::ALL.len());
        assert_eq!(distinct("SELECT DISTINCT status FROM refunds").len(), RefundStatus::ALL.len());
        assert!(!distinct("SELECT order_id FROM items WHERE custom_made").is_empty());
        assert!(!distinct("SELECT order_id FROM items WHERE final_sale").is_empty());
        let customers = distinct("SELECT id FROM customers");
        let orders = distinct("SELECT id FROM orders");
        assert!(customers.len() >= 12 && orders.len() >= 25, "{} customers, {} orders", customers.len(), orders.len());
    }

    #[test]
    fn phone_lookup_ignores_formatting_and_sorts_newest_first() {
        let store = demo_store();
        let plain = store.orders_by_phone("13800138000").unwrap();
        assert!(plain.len() >= 3, "张伟 has several orders");
        assert!(plain.windows(2).all(|w| w[0].order.placed_on >= w[1].order.placed_on));
        assert!(plain.iter().all(|r| r.customer.name == "张伟"));
        for variant in ["138-0013-8000", "+86 138 0013 8000", "8613800138000", "0086 13800138000"] {
            assert_eq!(store.orders_by_phone(variant).unwrap(), plain, "{variant}");
        }
        let us = store.orders_by_phone("(415) 555-0142").unwrap();
        assert!(!us.is_empty());
        for variant in ["+1 415 555 0142", "14155550142", "415.555.0142"] {
            assert_eq!(store.orders_by_phone(variant).unwrap(), us, "{variant}");
        }
        assert!(store.orders_by_phone("10000000000").unwrap().is_empty());
        assert!(store.orders_by_phone("").unwrap().is_empty());
    }

    #[test]
    fn cancel_and_address_change_only_before_shipping() {
        let store = demo_store();
        let pending = store.orders_by_phone("13800138000").unwrap();
        let pending = pending.iter().find(|r| r.order.status == OrderStatus::Pending).unwrap();
        let moved = store.change_address(&pending.order.id, "  上海市浦东新区世纪大道100号  ").unwrap();
        assert_eq!(moved.shipping_address, "上海市浦东新区世纪大道100号");
        assert_eq!(store.cancel_order(&pending.order.id).unwrap().status, OrderStatus::Cancelled);

        let err = store.cancel_order(&pending.order.id).unwrap_err();
        assert!(matches!(err, StoreError::NotAllowed { ref reason } if reason.contains("cancelled")), "{err}");
        let err = store.cancel_order("20231188").unwrap_err();
        assert!(matches!(err, StoreError::NotAllowed { ref reason } if reason.contains("shipped")), "{err}");
        let err = store.change_address("20231188", "elsewhere").unwrap_err();
        assert!(matches!(err, StoreError::NotAllowed { .. }), "{err}");
        assert!(matches!(store.cancel_order("99999999"), Err(StoreError::NotFound(_))));
        assert!(matches!(store.change_address(&pending.order.id, " "), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn returns_are_numbered_and_not_duplicated() {
        let store = demo_store();
        let request = store.request_return("20231188", "wrong size").unwrap();
        assert_eq!(request.id, "R20231188-1");
        assert_eq!(request.requested_on, day(TODAY));
        assert_eq!(store.order("20231188").unwrap().unwrap().returns, vec![request]);
        let err = store.request_return("20231188", "again").unwrap_err();
        assert!(matches!(err, StoreError::NotAllowed { ref reason } if reason.contains("R20231188-1")), "{err}");
        assert!(matches!(store.request_return("99999999", "x"), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn seeding_twice_keeps_data_unless_reset() {
        let store = demo_store();
        store.cancel_order(&first_pending(&store)).unwrap();
        let again = store.seed(&demo_seed(), day("2026-12-01")).unwrap();
        assert_eq!(again, SeedOutcome::AlreadySeeded { today: Some(day(TODAY)) });
        assert_eq!(first_pending_count(&store), pending_count_in_seed() - 1);
        assert!(matches!(store.reseed(&demo_seed(), day(TODAY)).unwrap(), SeedOutcome::Seeded { .. }));
        assert_eq!(first_pending_count(&store), pending_count_in_seed());
    }

    fn first_pending(store: &SqliteStore) -> String {
        store.lock().query_row("SELECT id FROM orders WHERE status = 'pending' ORDER BY id", [], |r| r.get(0)).unwrap()
    }

    fn first_pending_count(store: &SqliteStore) -> usize {
        let n: i64 =
            store.lock().query_row("SELECT count(*) FROM orders WHERE status = 'pending'", [], |r| r.get(0)).unwrap();
        n as usize
    }

    fn pending_count_in_seed() -> usize {
        demo_seed().orders.iter().filter(|o| o.status == OrderStatus::Pending).count()
    }

    #[test]
    fn writes_persist_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.db");
        let pending;
        {
            let store = SqliteStore::open(&path).unwrap().with_today(|| day(TODAY));
            store.seed(&demo_seed(), day(TODAY)).unwrap();
            pending = first_pending(&store);
            store.cancel_order(&pending).unwrap();
            store.change_address(&first_pending(&store), "1 New Road, Springfield").unwrap();
            store.request_return("20231188", "damaged").unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert!(matches!(store.seed(&demo_seed(), day(TODAY)).unwrap(), SeedOutcome::AlreadySeeded { .. }));
        assert_eq!(store.order(&pending).unwrap().unwrap().order.status, OrderStatus::Cancelled);
        assert_eq!(
            store.order(&first_pending(&store)).unwrap().unwrap().order.shipping_address,
            "1 New Road, Springfield"
        );
        assert_eq!(store.order("20231188").unwrap().unwrap().returns.last().unwrap().reason, "damaged");
        let version: i64 = store.lock().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn non_database_files_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orders.db");
        let junk: Vec<u8> = (0..8192u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        std::fs::write(&path, &junk).unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
        assert!(err.to_string().contains("orders.db") && err.to_string().contains("left untouched"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), junk);

        let other = dir.path().join("other.db");
        Connection::open(&other).unwrap().execute_batch("CREATE TABLE notes (text TEXT)").unwrap();
        let err = SqliteStore::open(&other).unwrap_err();
        assert!(err.to_string().contains("no callbot order schema"), "{err}");

        let newer = dir.path().join("newer.db");
        Connection::open(&newer).unwrap().pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(SqliteStore::open(&newer), Err(StoreError::SchemaTooNew { found: 99, .. })));

        let missing_dir = dir.path().join("no/such/dir/orders.db");
        assert!(matches!(SqliteStore::open(&missing_dir), Err(StoreError::Open { .. })));
    }

    #[test]
    fn bad_seed_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.toml");
        std::fs::write(&path, "[[orders]]\nid = \"1\"\nplaced_on = \"yesterday\"\n").unwrap();
        let store = SqliteStore::in_memory().unwrap();
        let err = store.seed_file(&path, day(TODAY)).unwrap_err().to_string();
        assert!(err.contains("shop.toml:3:") && err.contains("\"yesterday\""), "{err}");
        let err = store.seed_file(&dir.path().join("absent.toml"), day(TODAY)).unwrap_err().to_string();
        assert!(err.starts_with("cannot read seed file") && err.contains("absent.toml"), "{err}");
    }
}
