-- Order store schema, version 1. Dates are ISO "YYYY-MM-DD" text; statuses are the snake_case
-- strings of the JSON contract; money is integer cents.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE customers (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    phone     TEXT NOT NULL,
    -- National digits only (see orders::phone_key), what phone lookups compare.
    phone_key TEXT NOT NULL,
    email     TEXT NOT NULL
);
CREATE INDEX customers_by_phone ON customers (phone_key);

CREATE TABLE orders (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL REFERENCES customers (id),
    placed_on         TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    total_cents       INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    shipping_address  TEXT NOT NULL,
    invoice_number    TEXT,
    invoice_issued_on TEXT,
    invoice_url       TEXT,
    CHECK ((invoice_number IS NULL) = (invoice_issued_on IS NULL) AND (invoice_number IS NULL) = (invoice_url IS NULL))
);
CREATE INDEX orders_by_customer ON orders (customer_id, placed_on);

CREATE TABLE items (
    order_id         TEXT NOT NULL REFERENCES orders (id),
    position         INTEGER NOT NULL,
    sku              TEXT NOT NULL,
    name             TEXT NOT NULL,
    name_zh          TEXT NOT NULL,
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_cents INTEGER NOT NULL,
    category         TEXT NOT NULL,
    custom_made      INTEGER NOT NULL,
    final_sale       INTEGER NOT NULL,
    PRIMARY KEY (order_id, position)
);

CREATE TABLE shipments (
    seq             INTEGER PRIMARY KEY,
    order_id        TEXT NOT NULL REFERENCES orders (id),
    carrier         TEXT NOT NULL,
    carrier_zh      TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('label_created', 'in_transit', 'out_for_delivery', 'delivered',
                                                    'exception', 'lost')),
    shipped_on      TEXT NOT NULL,
    expected_on     TEXT NOT NULL,
    delivered_on    TEXT,
    last_event      TEXT,
    last_event_zh   TEXT,
    last_event_on   TEXT
);
CREATE INDEX shipments_by_order ON shipments (order_id);

CREATE TABLE returns (
    id           TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL REFERENCES orders (id),
    status       TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'received', 'rejected')),
    requested_on TEXT NOT NULL,
    reason       TEXT NOT NULL
);
CREATE INDEX returns_by_order ON returns (order_id);

CREATE TABLE refunds (
    id           TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL REFERENCES orders (id),
    amount_cents INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'rejected')),
    requested_on TEXT NOT NULL,
    completed_on TEXT,
    method       TEXT NOT NULL
);
CREATE INDEX refunds_by_order ON refunds (order_id);
